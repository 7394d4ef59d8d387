"""Worker handlers `notify.email` and `notify.sms` (see web/messaging/contract.md)."""

from __future__ import annotations

from web.accounts import notify
from web.messaging.handlers import JobContext, Permanent, handler


@handler("notify.email")
def notify_email(payload: dict, ctx: JobContext) -> None:
    try:
        notify.email_send(to=payload["to"], subject=payload["subject"], body=payload["body"])
    except (KeyError, ValueError) as exc:
        raise Permanent(f"bad notify.email payload: {exc}") from exc


@handler("notify.sms")
def notify_sms(payload: dict, ctx: JobContext) -> None:
    try:
        notify.sms_send(to=payload["to"], body=payload["body"])
    except (KeyError, ValueError) as exc:
        raise Permanent(f"bad notify.sms payload: {exc}") from exc
