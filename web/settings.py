"""Django settings: everything configurable comes from web.env (HEARTH_* variables)."""

from __future__ import annotations

from web import env as _env
from web.sqlite import database_settings

ENV = _env.load()

BASE_DIR = _env.REPO_ROOT
DATA_DIR = ENV.data_dir
# The columnar analytics history (Parquet segments; web/analytics/history).
HISTORY_DIR = ENV.history_dir
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
    "web.jobs",
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
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        # Without a handler, Python's last-resort handler would print the record anyway.
        "null": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": ENV.log_level},
    "loggers": {
        # Replaces Django's default "django" logger, whose mail_admins handler sent a
        # synchronous email per 500 and per bad Host (a bare 500 with no reachable MTA).
        # Exceptions propagate to the root handlers: the console and error_capture, which
        # records them as issues. Nothing on a request path talks SMTP.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # A bad Host header is scanner noise: answered 400 (SecurityMiddleware/CommonMiddleware),
        # with no traceback, email or issue.
        "django.security.DisallowedHost": {"handlers": ["null"], "propagate": False},
        "django.db.backends": {"level": "INFO"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# --- live ---
# Admin channels: django-eventstream reads replay from the per-process hub fed by NATS, not from
# the database (see "Live subjects and SSE" in docs/architecture/queues-and-subjects.md).
EVENTSTREAM_STORAGE_CLASS = "web.live.eventstream.HubStorage"
EVENTSTREAM_CHANNELMANAGER_CLASS = "web.live.eventstream.StaffChannelManager"
LIVE_RING_SIZE = 100  # events kept per channel per process for Last-Event-ID replay
LIVE_MAX_CHANNELS = 10_000  # channels with a ring per process (least recently used dropped)

# --- blog ---
# Public site, sign-in and media (docs/architecture/site.md). CSP with per-request nonces:
# Django's built-in middleware; templates use {{ csp_nonce }} / {% csp_nonce_attr %}.
from django.utils.csp import CSP as _CSP  # noqa: E402

MIDDLEWARE += ["django.middleware.csp.ContentSecurityPolicyMiddleware"]
TEMPLATES[0]["OPTIONS"]["context_processors"] += [
    "django.template.context_processors.csp",
    "web.blog.context.site",
]
SECURE_CSP = {
    "default-src": [_CSP.SELF],
    "script-src": [_CSP.SELF, _CSP.NONCE],
    "style-src": [_CSP.SELF, _CSP.NONCE],
    # Variants are served from the public bucket's own origin.
    "img-src": [_CSP.SELF, "data:", ENV.s3_public_url],
    "connect-src": [_CSP.SELF],
    "font-src": [_CSP.SELF],
    "object-src": [_CSP.NONE],
    "base-uri": [_CSP.SELF],
    "form-action": [_CSP.SELF],
    "frame-ancestors": [_CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30
CSRF_COOKIE_SAMESITE = "Lax"
# Email: SMTP when HEARTH_SMTP_HOST is set; else console in dev and the box's own MTA on
# localhost:25 in production (Django refuses a console backend under check --deploy).
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
if ENV.smtp_host or ENV.production:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": ENV.smtp_host or "localhost",
                "port": ENV.smtp_port if ENV.smtp_host else 25,
                "username": ENV.smtp_user,
                "password": ENV.smtp_password,
                "use_tls": ENV.smtp_tls if ENV.smtp_host else False,
            },
        }
    }
if ENV.production:
    # The directive only allows preloading; submitting the domain stays the owner's choice.
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = [f"https://{h}" for h in ENV.allowed_hosts if not h.startswith(".")]
DEFAULT_FROM_EMAIL = ENV.email_from
LOGIN_URL = "/accounts/sign-in/"
BLOG_SITE_NAME = "Hearth"
BLOG_SITE_DESCRIPTION = "Notes and projects."
BLOG_COMMENT_TRUST_AFTER = 3  # approved comments before a reader's comments skip the queue
ACCOUNTS_OPEN_SIGNUP = True
ACCOUNTS_SMS_SENDER = "web.accounts.sms.ConsoleSmsSender"

# --- backups ---
# Cron failure alerts are emailed to ADMINS through EMAIL_BACKEND (console unless configured).
ADMINS = globals().get("ADMINS") or ["admin@localhost"]
SERVER_EMAIL = globals().get("SERVER_EMAIL", "Hearth cron <cron@localhost>")

# --- analytics ---
# Publish events.metrics.views.<site> after each worker batch (off only in unit tests/bench).
ANALYTICS_LIVE = True
# Exceptions logged with exc_info (django.request 500s, worker code) become issues on site 1.
LOGGING["handlers"]["error_capture"] = {
    "class": "web.analytics.errorlog.ErrorCaptureHandler",
    "level": "ERROR",
}
LOGGING["root"]["handlers"].append("error_capture")

# --- dashboard ---
# Alerts and reports (docs/architecture/dashboard.md): extra recipients besides active staff
# with an email address, and an optional HMAC-signed webhook for alerts.
DASHBOARD_ALERT_EMAILS: list[str] = list(ENV.alert_emails)
DASHBOARD_REPORT_EMAILS: list[str] = list(ENV.report_emails)
DASHBOARD_ALERT_WEBHOOK_URL = ENV.alert_webhook_url
DASHBOARD_ALERT_WEBHOOK_SECRET = ENV.alert_webhook_secret
