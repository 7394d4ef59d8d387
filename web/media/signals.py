"""Every way an Image row goes also purges its S3 objects.

`services.image_delete` is the way to delete an image, but the admin, a shell session or a
cascade can still call `.delete()` on a row or a QuerySet. Django sends `pre_delete` for
each Image in all of those cases (a listener also turns off the fast-delete shortcut), so
the purge is enqueued here, once the deletion commits, whatever path deleted the row.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from web.media.models import Image, Variant


@receiver(pre_delete, sender=Image, dispatch_uid="media.purge_on_delete")
def purge_objects_of_deleted_image(
    sender: type[Image], instance: Image, using: str, **_: Any
) -> None:
    from web.media.services import enqueue_purge

    image_id = instance.pk
    # Variants still exist here: the Collector sends every pre_delete before deleting rows.
    public = sorted(
        Variant.objects.using(using).filter(image_id=image_id).values_list("key", flat=True)
    )
    private = [instance.original_key] if instance.original_key else []
    transaction.on_commit(
        lambda: enqueue_purge(image_id, public=public, private=private), using=using
    )
