"""Run the real site (web.asgi under uvicorn) on a throwaway data dir for browser tests.

`seed()` migrates the data dir in a subprocess and creates: a staff user and a reader with
sessions, a published post whose cover image went through the real upload + images.process
path against the test S3 server, and one more post. The server then runs with the same
HEARTH_* environment, so it talks to the same NATS and S3.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from web.core.litestream import without_ca_bundle
from web.core.testing import run_json, session_key_for


def site_env(nats_server: Any, s3_server: Any, data_dir: Path) -> dict[str, str]:
    """HEARTH_* for a site process using the session's real NATS and S3 servers."""
    env = without_ca_bundle(os.environ)
    env.update(
        HEARTH_MODE="dev",
        HEARTH_DATA_DIR=str(data_dir),
        HEARTH_NATS_URL=nats_server.url,
        HEARTH_S3_ENDPOINT=s3_server.endpoint,
        HEARTH_S3_PUBLIC_URL=s3_server.endpoint,
        HEARTH_S3_ACCESS_KEY=s3_server.server.access_key,
        HEARTH_S3_SECRET_KEY=s3_server.server.secret_key,
        HEARTH_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="web.settings",
    )
    return env


def seed(env: dict[str, str]) -> dict[str, Any]:
    return run_json("-m", "web.core.testing.site", "seed", env=env, timeout=120)


def _seed_main() -> None:
    import io

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from PIL import Image as PILImage

    from web.accounts.models import Profile
    from web.blog import services
    from web.blog.models import Post
    from web.media.services import image_process, image_upload

    for db in ("default", "ttl"):
        call_command("migrate", database=db, verbosity=0)
    User = get_user_model()
    staff = User.objects.create_user(username="staff@example.com", is_staff=True, is_superuser=True)
    reader = User.objects.create_user(username="reader@example.com")
    Profile.objects.create(user=reader, display_name="Rita Reader")

    im = PILImage.radial_gradient("L").resize((2000, 1500)).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    cover = image_upload(data=buf.getvalue(), alt="A soft radial gradient", uploaded_by=staff)
    image_process(image_id=cover.pk)  # what the images.process job runs

    post = services.post_save(
        post=Post(
            title="Pictures and comments",
            body_md="An intro paragraph.\n\n" + "More text. " * 60,
            status="published",
            cover=cover,
        )
    )
    print(
        json.dumps(
            {
                "post_id": post.pk,
                "post_url": post.get_absolute_url(),
                "staff_session": session_key_for(staff),
                "reader_session": session_key_for(reader),
            }
        )
    )


if __name__ == "__main__" and sys.argv[1:] == ["seed"]:
    _seed_main()
