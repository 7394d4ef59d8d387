"""`manage.py queue list|show|replay|purge|stats|relay`: operate the job queue."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from web.messaging import selectors, services
from web.messaging.models import DeadLetter
from web.stack.live import use_live_stack


class Command(BaseCommand):
    help = "Dead letters (list, show, replay, purge), queue stats, and a one-shot outbox relay."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ls = sub.add_parser("list", help="list dead letters")
        ls.add_argument("--status", choices=[s.value for s in DeadLetter.Status], default=None)
        ls.add_argument("--type", dest="job_type", default=None)
        ls.add_argument("--limit", type=int, default=50)
        ls.add_argument("--json", action="store_true")
        show = sub.add_parser("show", help="one dead letter with payload and error")
        show.add_argument("id", type=int)
        show.add_argument("--json", action="store_true")
        rp = sub.add_parser("replay", help="publish dead letters again")
        rp.add_argument("ids", type=int, nargs="*")
        rp.add_argument("--all", action="store_true", help="every dead letter still dead")
        pg = sub.add_parser("purge", help="delete dead letters")
        pg.add_argument("ids", type=int, nargs="*")
        pg.add_argument("--all", action="store_true")
        pg.add_argument("--replayed", action="store_true", help="only those already replayed")
        st = sub.add_parser("stats", help="queue summary (lag, counters, outbox, dead letters)")
        st.add_argument("--json", action="store_true")
        sub.add_parser("relay", help="republish the outbox now (the worker does this itself)")

    def handle(self, *args: Any, **opts: Any) -> None:
        use_live_stack()  # the running stack's NATS (manage.py did it; call_command too)
        getattr(self, f"_{opts['action']}")(opts)

    def _list(self, opts: dict[str, Any]) -> None:
        rows = selectors.deadletters(status=opts["status"], job_type=opts["job_type"])
        rows = list(rows[: opts["limit"]])
        if opts["json"]:
            self.stdout.write(json.dumps([_as_dict(d, full=False) for d in rows], indent=2))
            return
        if not rows:
            self.stdout.write("no dead letters")
            return
        self.stdout.write(f"{'id':>6} {'status':<8} {'reason':<14} {'dlv':>3} {'type':<28} job_id")
        for d in rows:
            self.stdout.write(
                f"{d.id:>6} {d.status:<8} {d.reason:<14} {d.deliveries:>3} {d.type:<28} {d.job_id}"
            )

    def _show(self, opts: dict[str, Any]) -> None:
        d = _get(opts["id"])
        if opts["json"]:
            self.stdout.write(json.dumps(_as_dict(d, full=True), indent=2))
            return
        for k, v in _as_dict(d, full=True).items():
            if k not in ("payload", "error"):
                self.stdout.write(f"{k:>14}: {v}")
        self.stdout.write(f"\npayload:\n{d.payload_text}\n\nerror:\n{d.error}")

    def _targets(self, opts: dict[str, Any]) -> list[DeadLetter]:
        if opts["all"]:
            return list(DeadLetter.objects.filter(status=DeadLetter.Status.DEAD))
        if not opts["ids"]:
            raise CommandError("give dead-letter ids or --all")
        found = list(DeadLetter.objects.filter(id__in=opts["ids"]))
        missing = set(opts["ids"]) - {d.id for d in found}
        if missing:
            raise CommandError(f"no dead letter with id {', '.join(map(str, sorted(missing)))}")
        return found

    def _replay(self, opts: dict[str, Any]) -> None:
        targets = self._targets(opts)
        for d in targets:
            msg_id = services.deadletter_replay(dead_letter=d)
            self.stdout.write(f"replayed {d.id} ({d.type} {d.job_id}) as {msg_id}")
        self.stdout.write(f"{len(targets)} replayed")

    def _purge(self, opts: dict[str, Any]) -> None:
        if opts["replayed"]:
            n = services.deadletter_purge(status=DeadLetter.Status.REPLAYED)
        elif opts["all"]:
            n = services.deadletter_purge()
        else:
            n = services.deadletter_purge(ids=[d.id for d in self._targets(opts)])
        self.stdout.write(f"{n} purged")

    def _stats(self, opts: dict[str, Any]) -> None:
        s = selectors.queue_summary()
        if opts["json"]:
            self.stdout.write(json.dumps(s, indent=2))
            return
        w = self.stdout.write
        w(
            f"{'family':<12} {'lag':>7} {'unacked':>7} {'processed':>10} {'failed':>7} "
            f"{'redeliv':>7} {'dead':>6}"
        )
        for name, f in s["families"].items():
            w(
                f"{name:<12} {_n(f['lag']):>7} {_n(f['ack_pending']):>7} {f['processed']:>10} "
                f"{f['failed']:>7} {f['redelivered']:>7} {f['dead_lettered']:>6}"
            )
        w(f"outbox: {_n(s['outbox'])}   dead letters: {_n(s['dead_letters'])}")
        for e in s["errors"]:
            w(f"error: {e}")

    def _relay(self, opts: dict[str, Any]) -> None:
        from web.messaging.client import connect

        async def go() -> int:
            nc = await asyncio.wait_for(connect(settings.ENV.nats_url, name="queue-relay"), 10)
            try:
                total = 0
                while n := await services.outbox_relay_once(nc.jetstream(), timeout=5):
                    total += n
                return total
            finally:
                await nc.close()

        try:
            self.stdout.write(f"{asyncio.run(go())} republished")
        except TimeoutError as exc:
            raise CommandError(f"NATS at {settings.ENV.nats_url} is unreachable") from exc


def _n(v: Any) -> str:
    return "?" if v is None else str(v)


def _get(pk: int) -> DeadLetter:
    try:
        return DeadLetter.objects.get(pk=pk)
    except DeadLetter.DoesNotExist as exc:
        raise CommandError(f"no dead letter with id {pk}") from exc


def _as_dict(d: DeadLetter, *, full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": d.id,
        "job_id": d.job_id,
        "type": d.type,
        "status": d.status,
        "reason": d.reason,
        "deliveries": d.deliveries,
        "times_dead": d.times_dead,
        "replays": d.replays,
        "last_dead_at": d.last_dead_at.isoformat(),
    }
    if full:
        out |= {
            "subject": d.subject,
            "stream_seq": d.stream_seq,
            "headers": d.headers,
            "first_dead_at": d.first_dead_at.isoformat(),
            "replayed_at": d.replayed_at.isoformat() if d.replayed_at else None,
            "payload": d.payload_text,
            "error": d.error,
        }
    return out
