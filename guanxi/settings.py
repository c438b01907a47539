"""Django settings for Guanxi, read from the environment (see DESIGN.md, "Configuration").

GUANXI_HOME           data folder (default ./.guanxi): SQLite database, job store, uploads
GUANXI_DATABASE_URL   sqlite:///path or postgres://user@host:port/db (default: SQLite in GUANXI_HOME)
GUANXI_REDIS_URL      optional; the job queue uses Redis instead of SQLite
GUANXI_SECRET_KEY, GUANXI_DEBUG, GUANXI_ALLOWED_HOSTS, GUANXI_TIME_ZONE (default Asia/Shanghai)
GUANXI_BASE_URL       the public address, e.g. https://crm.example.com: allowed host, trusted origin, and (https)
                      secure cookies, HSTS and the redirect to HTTPS
GUANXI_TRUST_PROXY    1 behind a reverse proxy: X-Forwarded-Proto / -Host / -For from it are believed
GUANXI_SQLITE_BUSY_TIMEOUT_MS  how long a SQLite write waits for another writer (default 10000) before 503
"""

import os
import secrets
from pathlib import Path

from urllib.parse import urlsplit

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
GUANXI_HOME = Path(os.environ.get("GUANXI_HOME", Path.cwd() / ".guanxi")).resolve()
GUANXI_HOME.mkdir(parents=True, exist_ok=True)


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """The configured key, else one generated once and kept in GUANXI_HOME so sessions survive restarts."""
    if key := os.environ.get("GUANXI_SECRET_KEY"):
        return key
    path = GUANXI_HOME / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_flag("GUANXI_DEBUG")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("GUANXI_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]

BASE_URL = os.environ.get("GUANXI_BASE_URL", "").strip().rstrip("/")
CSRF_TRUSTED_ORIGINS: list[str] = []
if BASE_URL:
    _base = urlsplit(BASE_URL)
    if _base.scheme not in ("http", "https") or not _base.hostname:
        raise ValueError(f"GUANXI_BASE_URL must look like https://crm.example.com, not {BASE_URL!r}")
    ALLOWED_HOSTS.append(_base.hostname)
    # Behind a proxy the browser's Origin is the public address, not the one gunicorn listens on.
    CSRF_TRUSTED_ORIGINS.append(f"{_base.scheme}://{_base.netloc}")
    if _base.scheme == "https":
        SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
        SECURE_SSL_REDIRECT = True
        SECURE_HSTS_SECONDS = int(os.environ.get("GUANXI_HSTS_SECONDS", 365 * 24 * 3600))
        SECURE_HSTS_INCLUDE_SUBDOMAINS = True  # covers *.crm.example.com only, never the rest of example.com
        SECURE_HSTS_PRELOAD = _env_flag("GUANXI_HSTS_PRELOAD")
# Joining the browsers' preload list is a decision for the apex domain's owner (GUANXI_HSTS_PRELOAD=1), not a
# default a CRM on a sub-domain can make; check --deploy would otherwise warn about it on every install.
SILENCED_SYSTEM_CHECKS = [] if not BASE_URL or _env_flag("GUANXI_HSTS_PRELOAD") else ["security.W021"]

TRUST_PROXY = _env_flag("GUANXI_TRUST_PROXY")
if TRUST_PROXY:
    # Only safe because the proxy sets (overwrites) these headers; without one a client could forge them.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True  # still checked against ALLOWED_HOSTS

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # serves Swagger UI's files itself, so /api/v1/docs works offline (else ninja uses a CDN)
    "huey.contrib.djhuey",
    "guanxi.workspaces",
    "guanxi.customers",
    "guanxi.commerce",
    "guanxi.activities",
    "guanxi.imports",
    "guanxi.insight",
    "guanxi.segments",
    "guanxi.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "guanxi.web.middleware.ForwardedForMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "guanxi.web.middleware.UserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "guanxi.web.middleware.WorkspaceMiddleware",
    "guanxi.web.middleware.BusyDatabaseMiddleware",
]

ROOT_URLCONF = "guanxi.urls"
WSGI_APPLICATION = "guanxi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "guanxi.web.context.workspace",
            ],
        },
    },
]


SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("GUANXI_SQLITE_BUSY_TIMEOUT_MS", 10000))


def _database(url: str | None) -> dict:
    if not url:
        url = f"sqlite:///{GUANXI_HOME / 'guanxi.sqlite3'}"
    config = dj_database_url.parse(url, conn_max_age=60)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            # WAL lets the web server read while an import writes; IMMEDIATE avoids lock upgrades failing.
            # busy_timeout: how long a write waits for another writer's lock before "database is locked" (503).
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS};",
            "transaction_mode": "IMMEDIATE",
        }
        config["TEST"] = {"NAME": str(GUANXI_HOME / "test.sqlite3")} if _env_flag("GUANXI_TEST_FILE_DB") else {}
    elif "postgresql" in config["ENGINE"]:
        # A server that drops packets must not hang the CLI: fail after 10 s with the usual one-line error.
        config.setdefault("OPTIONS", {})["connect_timeout"] = 10
    return config


DATABASE_URL = os.environ.get("GUANXI_DATABASE_URL", "")
DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("简体中文"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("GUANXI_TIME_ZONE", "Asia/Shanghai")

STATIC_URL = "static/"
STATIC_ROOT = GUANXI_HOME / "static"
# `guanxi serve --production` runs collectstatic and sets GUANXI_STATIC_MANIFEST=1: WhiteNoise serves STATIC_ROOT
# (before sessions and the database: a stylesheet costs no query), and file names carry a hash of their content
# so browsers may cache them for ever. Development and tests use the plain names (the manifest exists only after
# collectstatic) and `guanxi serve` serves the apps' files itself.
STATIC_MANIFEST = _env_flag("GUANXI_STATIC_MANIFEST")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage" if STATIC_MANIFEST
                    else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if STATIC_MANIFEST:
    MIDDLEWARE.insert(MIDDLEWARE.index("guanxi.web.middleware.ForwardedForMiddleware") + 1,
                      "whitenoise.middleware.WhiteNoiseMiddleware")
MEDIA_ROOT = GUANXI_HOME / "uploads"

# Sessions live in a signed cookie, not a table: signing in and every page view then need no database write,
# so they keep working while an import holds SQLite's write lock, and any gunicorn worker or host can read them.
# The cost: signing out clears the browser's copy but a copied cookie stays valid until it expires (two weeks)
# or the password changes (the session carries a hash of it). Messages use the cookie as well.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie

REDIS_URL = os.environ.get("GUANXI_REDIS_URL", "")
if REDIS_URL:
    HUEY = {"huey_class": "huey.RedisHuey", "name": "guanxi", "url": REDIS_URL, "immediate": False}
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "guanxi",
        "filename": str(GUANXI_HOME / "jobs.sqlite3"),
        "immediate": False,
    }

# A running import with no heartbeat for this long had its worker killed: it is shown as interrupted (seconds).
IMPORT_JOB_STALE_SECONDS = float(os.environ.get("GUANXI_JOB_STALE_SECONDS", "60"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"guanxi": {"handlers": ["console"], "level": os.environ.get("GUANXI_LOG_LEVEL", "INFO")}},
}
