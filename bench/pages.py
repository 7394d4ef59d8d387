"""Page benchmark: server time of a post detail page with 50 approved comments.

Runs in a child process on a throwaway data dir (migrated data.db and ttl.db), in production
mode, through the full Django middleware stack (security, sessions, CSRF, CSP, auth) with
the test client over "https", so the time
is the server's own work: URL routing, queries, template rendering. No network, no browser.

- ``post_p50_ms`` / ``post_p95_ms``: per request, over 400 requests after 20 warm-ups.
- ``home_p50_ms``: the home page (10 posts with covers) for comparison.

Run: ``python -m bench.pages`` (or ``make bench BENCH=pages``).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from web.core.testing import production_env, run_json

REPO = Path(__file__).resolve().parent.parent
REQUESTS = 400
HOST = "blog.example.org"
WARMUP = 20


def _setup_data() -> str:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from web.accounts.models import Profile
    from web.blog import services
    from web.blog.models import Comment, Post, Tag
    from web.media.models import Image, Variant

    User = get_user_model()
    users = []
    for i in range(10):
        u = User.objects.create_user(username=f"reader{i}@example.com")
        Profile.objects.create(user=u, display_name=f"Reader {i}")
        users.append(u)
    tags = [Tag.objects.create(name=f"tag{i}", slug=f"tag{i}") for i in range(3)]
    body = "\n\n".join(
        f"## Section {i}\n\nSome *text* with `code` and [a link](https://example.com/{i}).\n\n"
        "```python\nprint('hello')\n```"
        for i in range(8)
    )
    target = None
    for n in range(12):
        image = Image.objects.create(
            alt=f"Cover {n}", original_key=f"originals/x/{n}.jpg", sha256=f"{n:064d}",
            content_type="image/jpeg", width=4000, height=3000, size=1, status="ready",
        )  # fmt: skip
        Variant.objects.bulk_create(
            Variant(image=image, kind=k, format=f, width=w, height=w * 3 // 4,
                    key=f"img/{image.pk}/{k}-abc.{f}", size=1)
            for k, w in (("w320", 320), ("w640", 640), ("w1024", 1024), ("w1600", 1600),
                         ("thumb", 400))
            for f in ("webp", "jpeg")
        )  # fmt: skip
        post = Post(title=f"Post {n}", body_md=body, status="published", cover=image,
                    published_at=timezone.now() - timedelta(hours=n + 1))  # fmt: skip
        services.post_save(post=post, tags=tags)
        target = target or post
    assert target is not None
    Comment.objects.bulk_create(
        Comment(post=target, author=users[i % 10], body_md=f"Comment {i}",
                body_html=f"<p>Comment {i} with <strong>bold</strong> text.</p>",
                status="approved")
        for i in range(50)
    )  # fmt: skip
    return target.get_absolute_url()


def _time(client, url: str) -> list[float]:  # type: ignore[no-untyped-def]
    for _ in range(WARMUP):
        assert client.get(url, secure=True).status_code == 200
    samples = []
    for _ in range(REQUESTS):
        t = time.perf_counter()
        r = client.get(url, secure=True)
        samples.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
    return samples


def _child() -> dict[str, float]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    for db in ("default", "ttl"):
        call_command("migrate", database=db, verbosity=0)
    url = _setup_data()
    # HTTPS as behind the reverse proxy, so SECURE_SSL_REDIRECT does not answer 301.
    client = Client(HTTP_HOST=HOST)
    r = client.get(url, secure=True)
    assert r.status_code == 200, r.status_code
    body = r.content.decode()
    assert body.count('class="comment"') == 50, body[:3000]
    post = sorted(_time(client, url))
    home = sorted(_time(client, "/"))

    def pct(s: list[float], p: float) -> float:
        return round(s[min(len(s) - 1, int(len(s) * p))], 2)

    return {
        "post_p50_ms": round(statistics.median(post), 2),
        "post_p95_ms": pct(post, 0.95),
        "home_p50_ms": round(statistics.median(home), 2),
    }


def run() -> dict[str, float]:
    """Run in a child process on a throwaway data dir; return its metrics."""
    with tempfile.TemporaryDirectory(prefix="hearth-bench-pages-") as data:
        # Production mode (DEBUG off, all security middleware on), as the site really runs.
        env = production_env(Path(data), HEARTH_ALLOWED_HOSTS=HOST, HEARTH_LOG_LEVEL="WARNING")
        return run_json("-m", "bench.pages", "--child", env=env, timeout=600)


def main() -> None:
    if "--child" in sys.argv:
        print(json.dumps(_child()))
        return
    from bench import format_table, write_result

    result = run()
    print(format_table("pages", result))
    write_result("pages", result)


if __name__ == "__main__":
    main()
