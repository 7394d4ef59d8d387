"""Admin: upload images (alt text required), see their variants, open originals via presign,
delete images (rows and S3 objects, through services.image_delete)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from web.media import services
from web.media.models import Image, Variant
from web.media.pipeline import MAX_UPLOAD_BYTES, UploadRejected
from web.media.selectors import picture


class ImageUploadForm(forms.ModelForm):
    """Stores the upload during validation, so a bad file or an S3 outage becomes a form
    error (nothing stored) instead of a 500. The admin view runs in one transaction, so the
    images.process job is enqueued only once the whole add view has committed."""

    upload = forms.FileField(help_text="JPEG, PNG or WebP, up to 25 MB and 50 megapixels.")
    uploaded_by: Any = None

    class Meta:
        model = Image
        fields = ["alt"]

    def clean_upload(self) -> bytes:
        f = self.cleaned_data["upload"]
        if f.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 25 MB.")
        return f.read()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.stored = services.image_upload(
                data=cleaned["upload"], alt=cleaned.get("alt", ""), uploaded_by=self.uploaded_by
            )
        except UploadRejected as exc:
            raise forms.ValidationError(str(exc)) from exc
        except services.StorageUnavailable as exc:
            raise forms.ValidationError(
                "The image store is not answering, so nothing was saved. Try again in a minute."
            ) from exc
        return cleaned


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    can_delete = False
    fields = ["kind", "format", "width", "height", "size", "key"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["preview", "alt", "width", "height", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["alt", "sha256"]
    inlines = [VariantInline]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any):
        if obj is None:
            kw["form"] = type("UploadForm", (ImageUploadForm,), {"uploaded_by": request.user})
        return super().get_form(request, obj, change=change, **kw)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["upload", "alt"]
        return ["alt", "preview", "original", "status", "error", "width", "height", "size"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return ["preview", "original", "status", "error", "width", "height", "size"]

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        return self.inlines if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Image, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["alt"])
            return
        image = form.stored  # stored by ImageUploadForm.clean()
        obj.__dict__.update({k: v for k, v in image.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False
        obj._state.db = image._state.db

    def delete_model(self, request: HttpRequest, obj: Image) -> None:
        # Through the service, so the S3 objects are purged too (never a bare row delete).
        services.image_delete(image_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        """The "delete selected" action: one image_delete() (and one purge job) per image."""
        for pk in list(queryset.values_list("pk", flat=True)):
            services.image_delete(image_id=pk)

    @admin.display(description="preview")
    def preview(self, obj: Image) -> str:
        pic = picture(obj, thumb=True)
        if pic is None:
            return "(processing)" if obj.status == Image.Status.PENDING else "-"
        # Sized by attributes: the admin runs under CSP, which blocks style="" attributes.
        return format_html(
            '<img src="{}" width="120" height="{}" alt="{}">',
            pic.src,
            round(120 * pic.height / pic.width),
            pic.alt,
        )

    @admin.display(description="original")
    def original(self, obj: Image) -> str:
        url = reverse("media:original", args=[obj.pk])
        return format_html('<a href="{}">open original (link valid 5 minutes)</a>', url)
