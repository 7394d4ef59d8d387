"""Admin: dead letters (inspect, replay, purge) with the queue summary above the list,
and the outbox (read-only: the relay owns it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from web.messaging import services
from web.messaging.models import DeadLetter, OutboxJob
from web.messaging.selectors import queue_summary


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "job_id", "reason", "status", "deliveries", "last_dead_at")
    list_filter = ("status", "reason", "type")
    search_fields = ("job_id", "type", "error")
    readonly_fields = [f.name for f in DeadLetter._meta.fields if f.name != "data"] + [
        "payload_pretty"
    ]
    exclude = ("data",)
    actions = ("replay", "purge")
    change_list_template = "admin/messaging/deadletter/change_list.html"

    @admin.display(description="payload")
    def payload_pretty(self, obj: DeadLetter) -> str:
        return format_html("<pre>{}</pre>", obj.payload_text)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return self.has_delete_permission(request)

    @admin.action(description="Replay selected dead letters", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        done, failed = 0, []
        for dl in queryset:
            try:
                services.deadletter_replay(dead_letter=dl)
                done += 1
            except Exception as exc:
                failed.append(f"{dl.job_id}: {exc!r}")
        if done:
            self.message_user(request, f"Replayed {done} job(s).", messages.SUCCESS)
        if failed:
            self.message_user(request, "Not replayed: " + "; ".join(failed), messages.ERROR)

    @admin.action(description="Purge selected dead letters", permissions=["delete"])
    def purge(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        n = services.deadletter_purge(ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"Purged {n} dead letter(s).", messages.SUCCESS)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {**(extra_context or {}), "queue_summary": queue_summary()}
        return super().changelist_view(request, extra_context=extra)


@admin.register(OutboxJob)
class OutboxJobAdmin(admin.ModelAdmin):
    list_display = ("id", "subject", "msg_id", "attempts", "created_at", "last_error")
    readonly_fields = ("msg_id", "subject", "headers", "created_at", "attempts", "last_error")
    exclude = ("data",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
