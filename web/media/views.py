"""Staff-only media views: a redirect to a presigned URL of a private original, and the
progress of an image's variants (polled by the admin while the worker renders them)."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.cache import never_cache

from web.media.models import Image
from web.media.selectors import image_progress, original_url_for, picture


@never_cache
@staff_member_required
def original(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    image = get_object_or_404(Image, pk=pk)
    return HttpResponseRedirect(original_url_for(image=image, user=request.user))


@never_cache
@staff_member_required
def progress(request: HttpRequest, pk: int) -> JsonResponse:
    """{"status", "done", "total", "label", "thumb"}: thumb is the thumbnail URL once READY."""
    image = get_object_or_404(Image.objects.prefetch_related("variants"), pk=pk)
    p = image_progress(image)
    pic = picture(image, thumb=True)
    return JsonResponse(
        {
            "status": p.status,
            "done": p.done,
            "total": p.total,
            "label": p.label,
            "thumb": pic.src if pic else None,
            "thumb_height": round(120 * pic.height / pic.width) if pic else None,
        }
    )
