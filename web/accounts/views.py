"""Sign-in pages. Thin: the rules live in services.py."""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from web.accounts import services
from web.ingest.clientip import parse_trusted

log = logging.getLogger(__name__)

SESSION_EMAIL = "accounts.signin_email"
SESSION_NEXT = "accounts.signin_next"


def client_ip(request: HttpRequest) -> str:
    """The client address for rate limits: REMOTE_ADDR, which web/asgi.py has already taken
    from X-Forwarded-For when the peer is one of HEARTH_TRUSTED_PROXIES (ADR-8); the header
    itself is not believed here."""
    ip = request.META.get("REMOTE_ADDR") or "unknown"
    if "HTTP_X_FORWARDED_FOR" in request.META and not _proxy_warned:
        _warn_untrusted_proxy(ip, request.META["HTTP_X_FORWARDED_FOR"])
    return ip


_proxy_warned = False


def _warn_untrusted_proxy(peer: str, forwarded_for: str) -> None:
    """Log once per process, in production, that a peer we do not trust sends
    X-Forwarded-For: then every client behind that proxy shares one set of per-IP sign-in
    limits, and one noisy reader locks all the others out (issue 15, security 6)."""
    global _proxy_warned
    env = settings.ENV
    if not env.production:
        return
    if peer in {h.strip() for h in forwarded_for.split(",")}:
        return  # web/asgi.py took the client from a trusted proxy's header
    try:
        addr = ipaddress.ip_address(peer)
        if any(addr in net for net in parse_trusted(env.trusted_proxies)):
            return  # a trusted proxy whose header named no client; nothing to fix
    except ValueError:
        pass
    _proxy_warned = True
    log.warning(
        "X-Forwarded-For from %s is ignored: HEARTH_TRUSTED_PROXIES %s, so every client "
        "behind that proxy shares one sign-in rate limit. Set HEARTH_TRUSTED_PROXIES to the "
        "proxy's address or network (comma-separated IPs or CIDRs, e.g. %s).",
        peer,
        f"is {','.join(env.trusted_proxies)!r} and does not list it"
        if env.trusted_proxies
        else "is not set",
        peer,
    )


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
