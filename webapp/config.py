"""Configuration from environment variables.

Every variable is documented in README.md. With neither DATABASE_URL nor REDIS_URL set the
app runs "embedded": SQLite under the instance folder, an in-process Redis stand-in and an
in-process worker.
"""

import os


def _int(name, default):
    return int(os.environ.get(name, default))


def _bool(name, default):
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


class Config:
    def __init__(self, instance_path):
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or _instance_secret(instance_path)
        self.ENCRYPTION_KEY = os.environ.get("CALLBATCH_ENCRYPTION_KEY", "")
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or (
            "sqlite:///" + os.path.join(instance_path, "callbatch.sqlite3")
        )
        self.REDIS_URL = os.environ.get("REDIS_URL", "")
        self.EMBEDDED = not os.environ.get("DATABASE_URL") and not self.REDIS_URL
        self.SQLALCHEMY_ENGINE_OPTIONS = _engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.QUEUE_PREFIX = os.environ.get("CALLBATCH_QUEUE_PREFIX", "callbatch")
        self.HEARTBEAT_SECONDS = _int("CALLBATCH_HEARTBEAT_SECONDS", 10)
        self.STALE_AFTER_SECONDS = _int("CALLBATCH_STALE_AFTER_SECONDS", 60)
        self.READY_REQUIRES_WORKER = _bool("CALLBATCH_READY_REQUIRES_WORKER", False)
        self.TICK_SECONDS = _int("CALLBATCH_TICK_SECONDS", 10)
        self.FILE_JOB_TIMEOUT = _int("CALLBATCH_FILE_JOB_TIMEOUT", 3600)
        self.WORKER_GRACE_SECONDS = _int("CALLBATCH_WORKER_GRACE_SECONDS", 50)  # under compose's 60 s stop_grace_period
        self.WORKER_MAX_FILES = _int("CALLBATCH_WORKER_MAX_FILES", 0)  # 0: no limit
        self.WORKER_MAX_RSS_MB = _int("CALLBATCH_WORKER_MAX_RSS_MB", 0)  # 0: no limit
        self.DOWNLOAD_MARGIN_MB = _int("CALLBATCH_DOWNLOAD_MARGIN_MB", 64)  # kept free beyond a download's size
        self.TIMEZONE = os.environ.get("TIMEZONE", "UTC")
        # The installation's language: notification texts, unless a channel names its own (en, he).
        self.LANGUAGE = os.environ.get("CALLBATCH_LANGUAGE", "en")
        self.LOCAL_ROOTS = [
            p for p in os.environ.get("CALLBATCH_LOCAL_ROOTS", "").split(os.pathsep) if os.path.isabs(p)
        ]
        self.MODELS_DIR = os.environ.get("CALLBATCH_MODELS_DIR", os.path.join(instance_path, "models"))
        self.BASE_URL = os.environ.get("CALLBATCH_BASE_URL", "http://localhost:5000").rstrip("/")
        self.ALLOW_PRIVATE_TARGETS = _bool("CALLBATCH_ALLOW_PRIVATE_TARGETS", False)
        self.NOTIFY_RETRY_DELAYS = [
            int(s) for s in os.environ.get("CALLBATCH_NOTIFY_RETRY_DELAYS", "30,120,600").split(",") if s.strip()
        ]
        self.NOTIFY_TIMEOUT_SECONDS = _int("CALLBATCH_NOTIFY_TIMEOUT_SECONDS", 10)
        self.TWILIO_API_BASE = os.environ.get("CALLBATCH_TWILIO_API_BASE", "")
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
        self.PROXY_HOPS = _int("CALLBATCH_PROXY_HOPS", 0)  # trusted proxies in front (X-Forwarded-*)
        # JSON API (webapp/api)
        self.MAX_CONTENT_LENGTH = _int("CALLBATCH_MAX_BODY_BYTES", 1024 * 1024)
        self.METRICS_TOKEN = os.environ.get("CALLBATCH_METRICS_TOKEN", "")
        self.EVENTS_TOKEN = os.environ.get("CALLBATCH_EVENTS_TOKEN", "")
        self.SNS_SUBSCRIBE_URL_PATTERN = os.environ.get(
            "CALLBATCH_SNS_SUBSCRIBE_URL_PATTERN", r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"
        )
        self.LIVE_HEARTBEAT_SECONDS = _int("CALLBATCH_LIVE_HEARTBEAT_SECONDS", 15)
        self.LIVE_STREAM_SECONDS = _int("CALLBATCH_LIVE_STREAM_SECONDS", 3600)
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.PERMANENT_SESSION_LIFETIME = _int("SESSION_LIFETIME_HOURS", 12) * 3600
        self.WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
        self.LOGIN_MAX_ATTEMPTS = _int("CALLBATCH_LOGIN_MAX_ATTEMPTS", 5)
        self.LOGIN_WINDOW_SECONDS = _int("CALLBATCH_LOGIN_WINDOW_SECONDS", 900)


def _engine_options(url):
    if url.startswith("sqlite"):
        # The embedded worker thread and the web server share the file.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}


def _instance_secret(instance_path):
    """A random key kept in the instance folder, so sessions survive restarts."""
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        os.makedirs(instance_path, exist_ok=True)
        with open(path, "w") as f:
            f.write(os.urandom(32).hex())
        os.chmod(path, 0o600)
    with open(path) as f:
        return f.read().strip()
