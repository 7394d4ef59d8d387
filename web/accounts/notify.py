"""Delivery of notifications; called by the worker jobs, so SMTP latency never blocks a page."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from web.accounts.sms import get_sender


def email_send(*, to: str, subject: str, body: str) -> None:
    """Send one email through Django's configured backend (console by default).

    Raises ValueError for an address with a newline (header injection); backend errors
    propagate so the job is retried.
    """
    if not to or "\n" in to or "\r" in to or "\n" in subject:
        raise ValueError("invalid recipient or subject")
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)


def sms_send(*, to: str, body: str) -> None:
    if not to or not to.lstrip("+").isdigit():
        raise ValueError("an SMS recipient is a phone number in international form")
    get_sender().send(to=to, body=body)
