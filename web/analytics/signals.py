"""A deleted site's events leave the columnar history too (after the delete commits)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from web.analytics.models import Site

log = logging.getLogger(__name__)


@receiver(post_delete, sender=Site, dispatch_uid="analytics.history_on_site_delete")
def site_deleted(sender: type[Site], instance: Site, using: str, **_: Any) -> None:
    site_id = instance.pk

    def purge() -> None:
        from web.analytics.history.services import history_delete_site

        got = history_delete_site(site_id=site_id)
        log.info("site %s deleted: %s history rows removed", site_id, got)

    # A failure raises to the admin action (the site row is gone already); running
    # ``history_delete_site`` again finishes the job.
    transaction.on_commit(purge, using=using)
