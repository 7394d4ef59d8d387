"""Staff-only redirect to a presigned URL of a private original."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.views.decorators.cache import never_cache

from web.media.models import Image
from web.media.selectors import original_url_for


@never_cache
@staff_member_required
def original(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    image = get_object_or_404(Image, pk=pk)
    return HttpResponseRedirect(original_url_for(image=image, user=request.user))
