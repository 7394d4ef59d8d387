"""Public pages, feeds, sitemap and robots: only published posts, valid XML, safe headers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db(databases=["default", "ttl"])


@pytest.fixture
def site(make_post):  # type: ignore[no-untyped-def]
    live = make_post("Live post", tags=["python"], excerpt="A live one.")
    project = make_post("A project", kind="project", tags=["python"])
    draft = make_post("Secret draft", status="draft", tags=["python"])
    future = make_post("Scheduled post", when=timezone.now() + timedelta(days=1), tags=["python"])
    return {"live": live, "project": project, "draft": draft, "future": future}


def test_home_lists_only_published_posts(site, client: Client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/")
    body = r.content.decode()
    assert r.status_code == 200
    assert "Live post" in body
    assert "Secret draft" not in body and "Scheduled post" not in body
    assert "A project" not in body  # projects have their own list
    assert "A project" in client.get("/projects/").content.decode()


def test_home_paginates(make_post, client: Client) -> None:  # type: ignore[no-untyped-def]
    for i in range(12):
        make_post(f"Post number {i:02d}", when=timezone.now() - timedelta(hours=i + 1))
    first = client.get("/").content.decode()
    second = client.get("/?page=2").content.decode()
    assert "Post number 00" in first and "Post number 09" in first
    assert "Post number 10" not in first and "Post number 10" in second
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert client.get("/?page=999").status_code == 200  # last page, not a 500


def test_detail_and_tag_pages_hide_unpublished(site, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = False
    assert client.get(site["live"].get_absolute_url()).status_code == 200
    for post in (site["draft"], site["future"]):
        r = client.get(post.get_absolute_url())
        assert r.status_code == 404
        assert b"Page not found" in r.content  # the custom 404 page
    tag = client.get("/tags/python/").content.decode()
    assert "Live post" in tag and "A project" in tag
    assert "Secret draft" not in tag and "Scheduled post" not in tag


def test_scheduled_post_appears_when_its_time_comes(site, client: Client) -> None:  # type: ignore[no-untyped-def]
    future = site["future"]
    assert client.get(future.get_absolute_url()).status_code == 404
    type(future).objects.filter(pk=future.pk).update(
        published_at=timezone.now() - timedelta(seconds=1)
    )
    assert client.get(future.get_absolute_url()).status_code == 200


def test_post_page_has_meta_csp_nonce_and_secure_headers(site, client: Client) -> None:  # type: ignore[no-untyped-def]
    r = client.get(site["live"].get_absolute_url())
    body = r.content.decode()
    assert '<meta property="og:title" content="Live post">' in body
    assert '<meta property="og:type" content="article">' in body
    assert '<meta name="twitter:card" content="summary">' in body
    assert '<meta name="description" content="A live one.">' in body
    csp = r["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["X-Frame-Options"] == "DENY"
    assert r["Referrer-Policy"] == "strict-origin-when-cross-origin"
    _scripts_allowed(body, csp)


def _scripts_allowed(body: str, csp: str) -> None:
    """Every <script> is same-origin by src or carries this response's nonce (Django only adds
    the nonce to the header when a template used it)."""
    m = re.search(r"'nonce-([^']+)'", csp)
    for tag in re.findall(r"<script[^>]*>", body):
        src = re.search(r'src="([^"]+)"', tag)
        if src:
            assert src.group(1).startswith("/"), tag
        else:
            assert m and f'nonce="{m.group(1)}"' in tag, tag


def _items(xml: bytes) -> list[str]:
    root = ET.fromstring(xml)
    return [el.text or "" for el in root.iter() if el.tag.split("}")[-1] in {"title"}]


def test_feeds_are_valid_xml_with_only_published_posts(site, client: Client) -> None:  # type: ignore[no-untyped-def]
    rss = client.get("/feed.rss")
    atom = client.get("/feed.atom")
    assert rss["Content-Type"].startswith("application/rss+xml")
    assert atom["Content-Type"].startswith("application/atom+xml")
    rss_root = ET.fromstring(rss.content)
    assert rss_root.tag == "rss"
    rss_titles = [i.findtext("title") for i in rss_root.iter("item")]
    atom_root = ET.fromstring(atom.content)
    ns = "{http://www.w3.org/2005/Atom}"
    assert atom_root.tag == f"{ns}feed"
    atom_titles = [e.findtext(f"{ns}title") for e in atom_root.iter(f"{ns}entry")]
    for titles in (rss_titles, atom_titles):
        assert sorted(titles) == ["A project", "Live post"]


def test_sitemap_is_valid_xml_with_only_published_posts(site, client: Client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/sitemap.xml")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    assert root.tag == f"{ns}urlset"
    locs = [u.findtext(f"{ns}loc") for u in root.iter(f"{ns}url")]
    assert "http://testserver" + site["live"].get_absolute_url() in locs
    assert "http://testserver" + site["project"].get_absolute_url() in locs
    assert not any("secret-draft" in loc or "scheduled-post" in loc for loc in locs)
    assert all(loc.startswith("http://testserver/") for loc in locs)


def test_robots_points_at_the_sitemap(client: Client) -> None:
    r = client.get("/robots.txt")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain")
    text = r.content.decode()
    assert "Disallow: /admin/" in text
    assert "Sitemap: http://testserver/sitemap.xml" in text


def test_server_error_page_is_custom(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    from django.test import RequestFactory
    from django.views.defaults import server_error

    settings.DEBUG = False
    r = server_error(RequestFactory().get("/"))
    assert r.status_code == 500 and b"Something went wrong" in r.content


def test_tracker_tag_renders_ingest_script_when_available(
    site, client: Client, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from web.blog.templatetags import site_tags

    monkeypatch.setattr(site_tags, "_script_tag_func", lambda: None)
    assert b"hearth-tracker-test" not in client.get("/").content
    monkeypatch.setattr(
        site_tags,
        "_script_tag_func",
        lambda: (
            lambda nonce="": (
                f'<script src="/t.js" nonce="{nonce}" id="hearth-tracker-test"></script>'
            )
        ),
    )
    r = client.get("/")
    body = r.content.decode()
    assert 'id="hearth-tracker-test"' in body
    nonce = re.search(r'nonce="([^"]+)" id="hearth-tracker-test"', body)
    assert nonce and nonce.group(1)
    assert f"'nonce-{nonce.group(1)}'" in r["Content-Security-Policy"]


def test_admin_works_under_csp(admin_client: Client) -> None:
    r = admin_client.get("/admin/blog/post/")
    assert r.status_code == 200
    _scripts_allowed(r.content.decode(), r["Content-Security-Policy"])
    assert admin_client.get("/admin/blog/comment/").status_code == 200
    assert admin_client.get("/admin/media/image/add/").status_code == 200


def test_every_public_page_includes_the_site_1_tracker(site, client: Client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from web.analytics.models import Site
    from web.blog.templatetags import site_tags

    monkeypatch.setattr(site_tags, "_key_cache", (0.0, None))
    key = Site.objects.get(pk=1).public_key
    for url in ("/", site["live"].get_absolute_url(), "/projects/", "/accounts/sign-in/"):
        body = client.get(url).content.decode()
        tags = [t for t in re.findall(r"<script[^>]*>", body) if f'data-site="{key}"' in t]
        assert len(tags) == 1, (url, body[:500])
        assert re.search(r'src="/[^"]+\.js"', tags[0])  # same origin: allowed by the CSP


def _ready_image(alt: str, status: str = "ready"):  # type: ignore[no-untyped-def]
    from web.media.models import Image, Variant

    image = Image.objects.create(
        alt=alt, original_key=f"originals/{alt}.jpg", sha256=alt.ljust(64, "0")[:64],
        content_type="image/jpeg", width=2000, height=1000, size=1, status=status,
    )  # fmt: skip
    Variant.objects.bulk_create(
        Variant(image=image, kind=f"w{w}", format=f, width=w, height=w // 2,
                key=f"img/{image.pk}/w{w}-abc.{f}", size=1)
        for w in (320, 640, 1024, 1600) for f in ("webp", "jpeg")
    )  # fmt: skip
    return image


def test_embedded_media_images_become_pictures_only_when_ready(make_post, client: Client) -> None:  # type: ignore[no-untyped-def]
    ready = _ready_image("ready")
    pending = _ready_image("pending", status="pending")
    post = make_post(
        "With pictures",
        body_md=f'![A "quoted" cat](media:{ready.pk})\n\n![x](media:{pending.pk})\n\n'
        "![gone](media:999999)",
        cover=ready,
    )
    body = client.get(post.get_absolute_url()).content.decode()
    inline = re.findall(r'<picture class="inline">.*?</picture>', body)
    assert len(inline) == 1, body
    assert 'alt="A &quot;quoted&quot; cat"' in inline[0]
    assert 'width="1024" height="512"' in inline[0] and 'loading="lazy"' in inline[0]
    assert f"img/{ready.pk}/w1600-abc.webp 1600w" in inline[0]
    assert "media:" not in body  # nothing points at an unprocessed or missing image
    # The cover: eager, same sizes, and og:image at 1024 px.
    assert re.search(r'<picture class="cover">.*?loading="eager"', body)
    assert re.search(r'<meta property="og:image" content="[^"]+/w1024-abc\.jpeg">', body)
    assert '<meta name="twitter:card" content="summary_large_image">' in body
