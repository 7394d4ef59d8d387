"""The one place that reads the environment.

Every variable Hearth reads starts with ``HEARTH_`` and is parsed here, with a type, so that
web, worker and cron agree on configuration. Production mode refuses insecure or missing
secrets and names the variable that is wrong; dev mode works with zero configuration.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

DEV_S3_ACCESS_KEY = "hearth"
DEV_S3_SECRET_KEY = "hearth-dev-secret-not-for-production"
_INSECURE_MARKERS = ("insecure", "changeme", "change-me", "secret", "dev")


class ConfigError(Exception):
    """A HEARTH_* variable is missing or unsafe; the message names it."""


def _str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _int(name: str, default: int) -> int:
    raw = _str(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = _str(name).lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _seconds(name: str, default: float) -> float:
    raw = _str(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


def _seconds_list(name: str) -> tuple[float, ...] | None:
    raw = _str(name)
    if not raw:
        return None
    try:
        values = tuple(float(p) for p in raw.split(",") if p.strip())
    except ValueError as exc:
        raise ConfigError(f"{name} must be comma-separated seconds, got {raw!r}") from exc
    if not values or any(v < 0 for v in values):
        raise ConfigError(f"{name} must list non-negative seconds, got {raw!r}")
    return values


def _positive_int(name: str) -> int | None:
    raw = _str(name)
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)


def _list(name: str, default: list[str]) -> list[str]:
    raw = _str(name)
    return [p.strip() for p in raw.split(",") if p.strip()] if raw else list(default)


@dataclass(frozen=True)
class Env:
    """Parsed configuration shared by every Hearth process."""

    mode: str
    secret_key: str
    allowed_hosts: list[str]
    data_dir: Path
    host: str
    port: int
    web_workers: int
    nats_url: str
    nats_monitor_url: str
    s3_endpoint: str
    s3_public_url: str
    s3_access_key: str
    s3_secret_key: str
    s3_region: str
    bucket_public: str
    bucket_private: str
    bucket_backup: str
    offsite_endpoint: str
    offsite_access_key: str
    offsite_secret_key: str
    offsite_bucket: str
    litestream_url: str
    nats_port: int
    nats_monitor_port: int
    s3_port: int
    litestream_port: int
    app_checkpoints: bool
    log_level: str
    # CIDRs of reverse proxies whose X-Forwarded-For is believed (ingest client IP); empty =
    # use the socket peer only. Parsed and validated by web.ingest.clientip.
    trusted_proxies: tuple[str, ...] = ()
    # Days raw analytics events are kept in data.db (the hot window; an event leaves it only
    # once sealed into the columnar history). Rollups and issues are kept forever.
    analytics_retention_days: int = 90
    # Days the columnar history (data_dir/history, Parquet) keeps events; 0 = forever.
    analytics_history_days: int = 0
    # Outgoing email (console backend in dev unless HEARTH_SMTP_HOST is set).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_tls: bool = True
    email_from: str = "Hearth <no-reply@localhost>"
    # Alerts and reports: extra recipients and an optional HMAC-signed webhook.
    alert_emails: tuple[str, ...] = ()
    report_emails: tuple[str, ...] = ()
    alert_webhook_url: str = ""
    alert_webhook_secret: str = ""
    # Bearer token for /metrics in production (besides a staff session); empty = staff only.
    metrics_token: str = ""
    # Work queue tunables (web/messaging/config.py applies them; None = per-family default).
    jobs_ack_wait_s: float | None = None
    jobs_max_deliver: int | None = None
    jobs_backoff_s: tuple[float, ...] | None = None
    jobs_duplicate_window_s: float = 20 * 60
    jobs_puback_timeout_s: float = 1.0
    jobs_pipeline_stall_s: float = 3.0
    jobs_relay_interval_s: float = 1.0
    # Worker: SIGTERM drain bound, families to consume, handler modules (tests use these).
    worker_drain_s: float = 12.0
    worker_families: tuple[str, ...] = ()
    worker_jobs: tuple[str, ...] = ()
    worker_extra_jobs: tuple[str, ...] = ()
    # RSS/Atom items carry each post's whole HTML instead of its excerpt (web/blog/feeds.py).
    feed_full_content: bool = False

    @property
    def production(self) -> bool:
        return self.mode == "production"

    @property
    def data_db(self) -> Path:
        return self.data_dir / "data.db"

    @property
    def history_dir(self) -> Path:
        """The columnar history's Parquet segments (web/analytics/history)."""
        return self.data_dir / "history"

    @property
    def ttl_db(self) -> Path:
        return self.data_dir / "ttl.db"

    @property
    def site_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def _dev_secret_key(data_dir: Path) -> str:
    """A random key kept in the data dir, so dev sessions survive restarts."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(key)
    tmp.chmod(0o600)
    tmp.replace(path)
    return key


def _check_production(env: Env) -> None:
    key = env.secret_key
    if not key:
        raise ConfigError("HEARTH_SECRET_KEY is required in production mode")
    if len(key) < 50 or len(set(key)) < 5 or any(m in key.lower() for m in _INSECURE_MARKERS):
        raise ConfigError(
            "HEARTH_SECRET_KEY is insecure: use at least 50 random characters, for example "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`"
        )
    if not env.allowed_hosts or "*" in env.allowed_hosts:
        raise ConfigError("HEARTH_ALLOWED_HOSTS must list the site's host names in production mode")
    if env.alert_webhook_url and len(env.alert_webhook_secret) < 16:
        raise ConfigError(
            "HEARTH_ALERT_WEBHOOK_SECRET must be 16+ characters when a webhook is set"
        )
    if env.metrics_token and len(env.metrics_token) < 32:
        raise ConfigError("HEARTH_METRICS_TOKEN must be 32+ random characters when set")
    if env.s3_secret_key == DEV_S3_SECRET_KEY or len(env.s3_secret_key) < 16:
        raise ConfigError("HEARTH_S3_SECRET_KEY must be set to a real secret in production mode")


def load() -> Env:
    """Read and validate every HEARTH_* variable; raise ConfigError naming the bad one."""
    mode = _str("HEARTH_MODE", "dev").lower()
    if mode not in {"dev", "production"}:
        raise ConfigError(f"HEARTH_MODE must be 'dev' or 'production', got {mode!r}")
    data_dir = Path(_str("HEARTH_DATA_DIR") or REPO_ROOT / "var").expanduser().resolve()
    host = _str("HEARTH_HOST", "127.0.0.1")
    port = _int("HEARTH_PORT", 8000)
    s3_endpoint = _str("HEARTH_S3_ENDPOINT", "http://127.0.0.1:8333").rstrip("/")
    secret_key = _str("HEARTH_SECRET_KEY")
    if mode == "dev" and not secret_key:
        secret_key = _dev_secret_key(data_dir)
    env = Env(
        mode=mode,
        secret_key=secret_key,
        allowed_hosts=_list(
            "HEARTH_ALLOWED_HOSTS", [] if mode == "production" else ["127.0.0.1", "localhost"]
        ),
        data_dir=data_dir,
        host=host,
        port=port,
        web_workers=_int("HEARTH_WEB_WORKERS", 2),
        nats_url=_str("HEARTH_NATS_URL", "nats://127.0.0.1:4222"),
        nats_monitor_url=_str("HEARTH_NATS_MONITOR_URL", "http://127.0.0.1:8222").rstrip("/"),
        s3_endpoint=s3_endpoint,
        s3_public_url=_str("HEARTH_S3_PUBLIC_URL", s3_endpoint).rstrip("/"),
        s3_access_key=_str("HEARTH_S3_ACCESS_KEY", DEV_S3_ACCESS_KEY if mode == "dev" else ""),
        s3_secret_key=_str("HEARTH_S3_SECRET_KEY", DEV_S3_SECRET_KEY if mode == "dev" else ""),
        s3_region=_str("HEARTH_S3_REGION", "us-east-1"),
        bucket_public=_str("HEARTH_BUCKET_PUBLIC", "public"),
        bucket_private=_str("HEARTH_BUCKET_PRIVATE", "private"),
        bucket_backup=_str("HEARTH_BUCKET_BACKUP", "backup"),
        offsite_endpoint=_str("HEARTH_OFFSITE_ENDPOINT").rstrip("/"),
        offsite_access_key=_str("HEARTH_OFFSITE_ACCESS_KEY"),
        offsite_secret_key=_str("HEARTH_OFFSITE_SECRET_KEY"),
        offsite_bucket=_str("HEARTH_OFFSITE_BUCKET", "offsite"),
        litestream_url=_str("HEARTH_LITESTREAM_URL").rstrip("/"),
        # Ports of the embedded stack's servers; 0 picks a free loopback port at start.
        nats_port=_int("HEARTH_NATS_PORT", 0),
        nats_monitor_port=_int("HEARTH_NATS_MONITOR_PORT", 0),
        s3_port=_int("HEARTH_S3_PORT", 0),
        litestream_port=_int("HEARTH_LITESTREAM_PORT", 0),
        # See ADR-3: Litestream is the only checkpointer of data.db unless told otherwise.
        app_checkpoints=_bool("HEARTH_APP_CHECKPOINTS", False),
        log_level=_str("HEARTH_LOG_LEVEL", "INFO").upper(),
        trusted_proxies=tuple(_list("HEARTH_TRUSTED_PROXIES", [])),
        analytics_retention_days=_int("HEARTH_ANALYTICS_RETENTION_DAYS", 90),
        analytics_history_days=_int("HEARTH_ANALYTICS_HISTORY_DAYS", 0),
        smtp_host=_str("HEARTH_SMTP_HOST"),
        smtp_port=_int("HEARTH_SMTP_PORT", 587),
        smtp_user=_str("HEARTH_SMTP_USER"),
        smtp_password=_str("HEARTH_SMTP_PASSWORD"),
        smtp_tls=_bool("HEARTH_SMTP_TLS", True),
        email_from=_str("HEARTH_EMAIL_FROM", "Hearth <no-reply@localhost>"),
        alert_emails=tuple(_list("HEARTH_ALERT_EMAILS", [])),
        report_emails=tuple(_list("HEARTH_REPORT_EMAILS", [])),
        alert_webhook_url=_str("HEARTH_ALERT_WEBHOOK_URL"),
        alert_webhook_secret=_str("HEARTH_ALERT_WEBHOOK_SECRET"),
        metrics_token=_str("HEARTH_METRICS_TOKEN"),
        jobs_ack_wait_s=_seconds("HEARTH_JOBS_ACK_WAIT_S", 0.0) or None,
        jobs_max_deliver=_positive_int("HEARTH_JOBS_MAX_DELIVER"),
        jobs_backoff_s=_seconds_list("HEARTH_JOBS_BACKOFF_S"),
        jobs_duplicate_window_s=_seconds("HEARTH_JOBS_DUPLICATE_WINDOW_S", 20 * 60),
        jobs_puback_timeout_s=_seconds("HEARTH_JOBS_PUBACK_TIMEOUT_S", 1.0),
        # Measured: PubAck gaps of 0.2 s idle and over 1 s when the shared disk is busy.
        jobs_pipeline_stall_s=_seconds("HEARTH_JOBS_PIPELINE_STALL_S", 3.0),
        jobs_relay_interval_s=_seconds("HEARTH_JOBS_RELAY_INTERVAL_S", 1.0),
        worker_drain_s=_seconds("HEARTH_WORKER_DRAIN_S", 12.0),
        worker_families=tuple(_list("HEARTH_WORKER_FAMILIES", [])),
        worker_jobs=tuple(_list("HEARTH_WORKER_JOBS", [])),
        worker_extra_jobs=tuple(_list("HEARTH_WORKER_EXTRA_JOBS", [])),
        feed_full_content=_bool("HEARTH_FEED_FULL_CONTENT", False),
    )
    if env.production:
        _check_production(env)
    return env
