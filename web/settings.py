"""Django settings: everything configurable comes from web.env (HEARTH_* variables)."""

from __future__ import annotations

from web import env as _env
from web.sqlite import database_settings

ENV = _env.load()

BASE_DIR = _env.REPO_ROOT
DATA_DIR = ENV.data_dir
DEBUG = not ENV.production
SECRET_KEY = ENV.secret_key
ALLOWED_HOSTS = ENV.allowed_hosts + (["testserver"] if not ENV.production else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_eventstream",
    "web.core",
    "web.stack",
    "web.messaging",
    "web.live",
    "web.analytics",
    "web.ingest",
    "web.dashboard",
    "web.accounts",
    "web.blog",
    "web.media",
    "web.backups",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "web.urls"
ASGI_APPLICATION = "web.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "web" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": database_settings(ENV.data_db, app_checkpoints=ENV.app_checkpoints),
    # ttl.db is not replicated by Litestream, so SQLite checkpoints it itself.
    "ttl": database_settings(ENV.ttl_db, app_checkpoints=True),
}
DATABASE_ROUTERS = ["web.db_router.HearthRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "web" / "static"]
WHITENOISE_USE_FINDERS = True

if ENV.production:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": ENV.log_level},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# django-eventstream: admin channels (see docs/architecture/queues-and-subjects.md).
EVENTSTREAM_STORAGE_CLASS = "django_eventstream.storage.DjangoModelStorage"

# --- live ---
# Admin channels: django-eventstream reads replay from the per-process hub fed by NATS, not from
# the database (see "Live subjects and SSE" in docs/architecture/queues-and-subjects.md).
EVENTSTREAM_STORAGE_CLASS = "web.live.eventstream.HubStorage"
EVENTSTREAM_CHANNELMANAGER_CLASS = "web.live.eventstream.StaffChannelManager"
LIVE_RING_SIZE = 100  # events kept per channel per process for Last-Event-ID replay
LIVE_MAX_CHANNELS = 10_000  # channels with a ring per process (least recently used dropped)

# --- backups ---
# Cron failure alerts are emailed to ADMINS through EMAIL_BACKEND (console unless configured).
ADMINS = globals().get("ADMINS") or ["admin@localhost"]
SERVER_EMAIL = globals().get("SERVER_EMAIL", "Hearth cron <cron@localhost>")
