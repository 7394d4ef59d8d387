"""Admin: upload images (one or several at once, alt text required), follow their variants
being made, copy the embed snippet, see each variant, open originals via presign, delete
images (rows and S3 objects, through services.image_delete)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from web.media import services
from web.media.models import Image
from web.media.pipeline import MAX_UPLOAD_BYTES, UploadRejected
from web.media.selectors import embed_snippet, image_progress, picture
from web.media.storage import variant_url


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file input that takes several files; cleans to a list of (name, bytes)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[tuple[str, bytes]]:
        files = data if isinstance(data, list | tuple) else [data]
        out = []
        for f in files:
            f = super().clean(f, initial)
            if f.size > MAX_UPLOAD_BYTES:
                raise forms.ValidationError(f"{f.name}: the file is larger than 25 MB.")
            out.append((f.name, f.read()))
        return out


class ImageUploadForm(forms.ModelForm):
    """Stores the uploads during validation, so a bad file or an S3 outage becomes a form
    error (nothing stored) instead of a 500. The admin view runs in one transaction, so the
    images.process jobs are enqueued only once the whole add view has committed."""

    upload = MultipleFileField(
        label="Images",
        help_text=(
            "JPEG, PNG or WebP, up to 25 MB and 50 megapixels each. Choose several files to "
            f"upload them at once (up to {services.MAX_FILES}): each becomes its own image "
            "with this alt text, which you can then refine per image."
        ),
    )
    uploaded_by: Any = None

    class Meta:
        model = Image
        fields = ["alt"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.stored = services.image_upload_many(
                files=cleaned["upload"], alt=cleaned.get("alt", ""), uploaded_by=self.uploaded_by
            )
        except UploadRejected as exc:
            raise forms.ValidationError(str(exc)) from exc
        except services.StorageUnavailable as exc:
            raise forms.ValidationError(
                "The image store is not answering, so nothing was saved. Try again in a minute."
            ) from exc
        return cleaned


def _progress_html(image: Image, *, reload: bool) -> str:
    """A status line the admin script (media/admin-images.js) keeps current while PENDING."""
    p = image_progress(image)
    if p.status != Image.Status.PENDING:
        return format_html('<span class="media-progress">{}</span>', p.label)
    return format_html(
        '<span class="media-progress" data-progress-url="{}" data-reload="{}"'
        ' role="status">{}</span>',
        reverse("media:progress", args=[image.pk]),
        "1" if reload else "",
        p.label,
    )


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["preview", "alt", "width", "height", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["alt", "sha256"]

    class Media:
        js = ("media/admin-images.js",)
        css = {"all": ("media/admin-images.css",)}

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any):
        if obj is None:
            kw["form"] = type("UploadForm", (ImageUploadForm,), {"uploaded_by": request.user})
        return super().get_form(request, obj, change=change, **kw)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["upload", "alt"]
        fields = ["alt", "preview", "progress", "embed", "original", "error"]
        fields += ["width", "height", "file_size", "variant_list"]
        return fields if obj.error else [f for f in fields if f != "error"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return [
            "preview",
            "progress",
            "embed",
            "original",
            "error",
            "width",
            "height",
            "file_size",
            "variant_list",
        ]

    def save_model(self, request: HttpRequest, obj: Image, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["alt"])
            return
        image = form.stored[0]  # all stored by ImageUploadForm.clean()
        obj.__dict__.update({k: v for k, v in image.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False
        obj._state.db = image._state.db
        # (the same file twice in one upload is one image: uploads dedupe by content)
        obj.uploaded_with = len({i.pk for i in form.stored})  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: Image, post_url_continue: Any = None):
        stored = getattr(obj, "uploaded_with", 1)  # set by save_model (this request's obj)
        if stored <= 1:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request,
            f"{stored} images uploaded; their variants are being made.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:media_image_changelist"))

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
            if obj.status == Image.Status.PENDING:
                return _progress_html(obj, reload=False)
            return "-"
        # Sized by attributes: the admin runs under CSP, which blocks style="" attributes.
        return format_html(
            '<img src="{}" width="120" height="{}" alt="{}">',
            pic.src,
            round(120 * pic.height / pic.width),
            pic.alt,
        )

    @admin.display(description="status")
    def progress(self, obj: Image) -> str:
        return _progress_html(obj, reload=True)

    @admin.display(description="embed in a post")
    def embed(self, obj: Image) -> str:
        return format_html(
            '<input type="text" readonly class="vTextField media-embed" id="media-embed-{}"'
            ' value="{}" aria-label="Embed snippet"> '
            '<button type="button" class="button" data-copy="media-embed-{}">Copy</button>'
            '<div class="help">Paste it into a post body where the image should appear.'
            " It shows once the image is ready.</div>",
            obj.pk,
            embed_snippet(obj),
            obj.pk,
        )

    @admin.display(description="size")
    def file_size(self, obj: Image) -> str:
        """The original's size as a person reads it ("1.9 MB"), not a byte count."""
        return filesizeformat(obj.size)

    @admin.display(description="variants")
    def variant_list(self, obj: Image) -> str:
        """Each published variant once: kind, format, size, bytes, and a link to it."""
        from django.conf import settings

        rows = sorted(obj.variants.all(), key=lambda v: (v.kind == "thumb", v.width, v.format))
        if not rows:
            return "none yet"
        body = format_html_join(
            "",
            '<tr class="media-variant"><td>{}</td><td>{}</td><td>{}&times;{}</td><td>{}</td>'
            '<td class="media-key"><a href="{}">{}</a></td></tr>',
            (
                (
                    v.kind,
                    v.format,
                    v.width,
                    v.height,
                    f"{v.size / 1000:,.1f} kB",
                    variant_url(settings.ENV, v.key),
                    v.key,
                )
                for v in rows
            ),
        )
        return format_html(
            '<div class="media-variants-wrap"><table class="media-variants"><thead><tr>'
            "<th>kind</th><th>format</th><th>pixels</th><th>size</th><th>public URL</th>"
            "</tr></thead><tbody>{}</tbody></table></div>",
            body,
        )

    @admin.display(description="original")
    def original(self, obj: Image) -> str:
        url = reverse("media:original", args=[obj.pk])
        return format_html('<a href="{}">open original (link valid 5 minutes)</a>', url)
