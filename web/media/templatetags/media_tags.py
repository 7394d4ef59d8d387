"""`{% picture image sizes="..." %}`: responsive <picture> with width/height and lazy loading."""

from __future__ import annotations

from django import template

from web.media.selectors import picture as picture_of

register = template.Library()


@register.inclusion_tag("media/picture.html")
def picture(
    image: object,
    sizes: str = "(max-width: 720px) 100vw, 720px",
    loading: str = "lazy",
    thumb: bool = False,
    css_class: str = "",
) -> dict[str, object]:
    return {
        "pic": picture_of(image, thumb=thumb),  # type: ignore[arg-type]
        "sizes": sizes,
        "loading": loading,
        "css_class": css_class,
    }


@register.filter
def public_url(key: str) -> str:
    """Anonymous URL of a public-bucket key."""
    from django.conf import settings

    from web.media.storage import variant_url

    return variant_url(settings.ENV, key)


@register.filter
def media_pictures(body_html: str) -> str:
    """Post body HTML (already sanitised) with `media:<id>` images as <picture> elements."""
    from django.utils.safestring import mark_safe

    from web.media.selectors import expand_media_images

    return mark_safe(expand_media_images(body_html))
