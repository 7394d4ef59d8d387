"""Sign-in pages. Thin: the rules live in services.py."""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from web.accounts import services

SESSION_EMAIL = "accounts.signin_email"
SESSION_NEXT = "accounts.signin_next"


def client_ip(request: HttpRequest) -> str:
    """The peer address; the reverse proxy (if any) is trusted via SECURE_PROXY_SSL_HEADER only,
    so X-Forwarded-For is not believed here."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return "/"


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """Ask for an email. Every accepted POST answers the same 303, account or not."""
    if request.method == "GET":
        nxt = _safe_next(request, request.GET.get("next"))
        return render(request, "accounts/sign_in.html", {"next": nxt})
    try:
        email = services.normalize_email(request.POST.get("email", ""))
        services.code_request(email=email, ip=client_ip(request))
    except services.SignInError as exc:
        return render(
            request,
            "accounts/sign_in.html",
            {"error": str(exc), "next": _safe_next(request, request.POST.get("next"))},
            status=exc.status,
        )
    request.session[SESSION_EMAIL] = email
    request.session[SESSION_NEXT] = _safe_next(request, request.POST.get("next"))
    return HttpResponseRedirect(reverse("accounts:code"), status=303)


@never_cache
@require_http_methods(["GET", "POST"])
def enter_code(request: HttpRequest) -> HttpResponse:
    email = request.session.get(SESSION_EMAIL)
    if not email:
        return HttpResponseRedirect(reverse("accounts:sign_in"))
    if request.method == "GET":
        return render(request, "accounts/code.html", {})
    try:
        signed = services.code_verify(
            email=email, code=request.POST.get("code", ""), ip=client_ip(request)
        )
    except services.SignInError as exc:
        return render(request, "accounts/code.html", {"error": str(exc)}, status=exc.status)
    nxt = request.session.pop(SESSION_NEXT, "/")
    request.session.pop(SESSION_EMAIL, None)
    login(request, signed.user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponseRedirect(nxt, status=303)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect("/", status=303)
