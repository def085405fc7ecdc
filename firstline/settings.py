"""Firstline settings: every value comes from the environment, with a default that works on a laptop.

Bad values stop start-up with ImproperlyConfigured naming the variable. A secret may also be given as
``<NAME>_FILE`` (a path whose content is the value), as container secrets are.
"""

from __future__ import annotations

import os
import zoneinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent


def env(name: str, default: str | None = None) -> str | None:
    """Read NAME, or the content of the file named by NAME_FILE."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = env(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = env(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from exc
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (or give SECRET_KEY_FILE).")
    SECRET_KEY = "insecure-development-key-only-for-debug-mode"  # noqa: S105 - DEBUG only
elif not DEBUG and len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" + (",testserver" if DEBUG else ""))
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
for origin in CSRF_TRUSTED_ORIGINS:
    if not origin.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"CSRF_TRUSTED_ORIGINS entry {origin!r} must start with http:// or https://")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "firstline.core",
    "firstline.regions",
    "firstline.accounts",
    "firstline.people",
    "firstline.dispatch",
    "firstline.riskareas",
    "firstline.policy",
    "firstline.screening",
    "firstline.tracing",
    "firstline.quarantine",
    "firstline.community",
    "firstline.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The public check-in (场所码 scans) is answered here: it carries no credentials (see the module).
    "firstline.tracing.venues.middleware.CheckinFastPathMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "firstline.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "firstline.core.middleware.RequestContextMiddleware",
    "firstline.accounts.middleware.OtpRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "firstline.urls"
WSGI_APPLICATION = "firstline.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "firstline.accounts.context_processors.navigation",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------------------
DATA_DIR = Path(env("DATA_DIR", str(BASE_DIR / "data")) or BASE_DIR / "data")
_database_url = env("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'firstline.sqlite3'}"
try:
    _database = dj_database_url.parse(_database_url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))
except Exception as exc:  # dj_database_url raises bare ValueError/KeyError subclasses
    raise ImproperlyConfigured(f"DATABASE_URL={_database_url!r} cannot be parsed: {exc}") from exc
if _database["ENGINE"] not in {"django.db.backends.sqlite3", "django.db.backends.postgresql"}:
    raise ImproperlyConfigured(
        f"DATABASE_URL uses {_database['ENGINE']}; Firstline supports sqlite:// and postgres:// only."
    )
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # A fresh checkout has no data folder yet: SQLite can create the file but not its directory.
    if _database["NAME"] and _database["NAME"] != ":memory:":
        Path(_database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _database["OPTIONS"] = {
        # WAL lets pages read while an import writes; IMMEDIATE avoids "database is locked" on upgrade.
        # case_sensitive_like lets SQLite use the path indexes for the jurisdiction prefix (LIKE 'x%') queries, and
        # makes `contains`/`startswith` case-sensitive as on PostgreSQL; case-insensitive searches use Lower().
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000; "
            "PRAGMA case_sensitive_like=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    _database["CONN_MAX_AGE"] = 0
else:
    # Compiling plans to machine code (JIT) costs seconds on large OLTP plans (co-presence over 10 million
    # check-ins: up to 9 s of compiling for a 60 ms query) and gains nothing for this workload.
    _options = _database.setdefault("OPTIONS", {})
    _options["options"] = (str(_options.get("options", "")) + " -c jit=off").strip()
DATABASES: dict[str, Any] = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth and login security -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 30, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_ENABLED = env_bool("AXES_ENABLED", True)

OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "Firstline")

SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = True  # the age counts from the last request: an idle timeout
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# --- Internationalisation ------------------------------------------------------------------------------------
LANGUAGE_CODE = env("LANGUAGE_CODE", "zh-hans") or "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
# ISO dates first in every language (see firstline/formats/zh_Hans/formats.py).
FORMAT_MODULE_PATH = ["firstline.formats"]
if LANGUAGE_CODE not in {code for code, _name in LANGUAGES}:
    raise ImproperlyConfigured(f"LANGUAGE_CODE={LANGUAGE_CODE!r} must be one of zh-hans, en.")
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai") or "Asia/Shanghai"
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
    raise ImproperlyConfigured(f"TIME_ZONE={TIME_ZONE!r} is not a known time zone (e.g. Asia/Shanghai).") from exc
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")) or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = DATA_DIR / "media"

# --- API ------------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "firstline.accounts.authentication.SecondFactorAwareTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50, minimum=1),
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "firstline.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Firstline API",
    "DESCRIPTION": "Community epidemic-prevention platform (第一道防线). All lists are scoped to the caller.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The measure types appear in several serializers: one enum in the schema.
    "ENUM_NAME_OVERRIDES": {
        "MeasureTypeEnum": "firstline.policy.models.MeasureType",
        "CareCategoryEnum": "firstline.community.models.CareCategory",
        "CareStatusEnum": "firstline.community.models.CareStatus",
        "CareSourceEnum": "firstline.community.models.CareSource",
        "CareUrgencyEnum": "firstline.community.models.CareUrgency",
        "FrontlinePostEnum": "firstline.community.models.FrontlinePost",
        "PlacementKindEnum": "firstline.quarantine.models.PlacementKind",
        "PlacementStatusEnum": "firstline.quarantine.models.PlacementStatus",
        "CheckSourceEnum": "firstline.quarantine.models.CheckSource",
        "SamplingStatusEnum": "firstline.quarantine.models.SamplingStatus",
        # Choice sets whose field names ("status", "source", "id_type", "outcome", "level") collide.
        "IdTypeEnum": "firstline.people.models.IdType",
        "ArrivalSourceEnum": "firstline.screening.models.ArrivalSource",
        "ArrivalStatusEnum": "firstline.screening.models.ArrivalStatus",
        "ReevaluationStatusEnum": "firstline.screening.models.ReevaluationStatus",
        "VisitOutcomeEnum": "firstline.screening.models.VisitOutcome",
        "CaseOutcomeEnum": "firstline.tracing.models.Outcome",
        "ExposureStatusEnum": "firstline.tracing.models.ExposureStatus",
        "RiskLevelEnum": "firstline.riskareas.models.RiskLevel",
    },
}

# --- Background work -----------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "") or ""
# No broker configured: tasks run inline in the web process (the embedded default needs no extra server).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", "") or None
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "escalate-overdue-tasks": {
        "task": "firstline.dispatch.tasks.escalate_overdue",
        "schedule": env_int("ESCALATION_INTERVAL_SECONDS", 300, minimum=30),
    },
    "escalate-assist": {
        "task": "firstline.screening.assist.tasks.escalate_assist",
        "schedule": env_int("ESCALATION_INTERVAL_SECONDS", 300, minimum=30),
    },
    # Co-presence for the day's cases again: check-ins of the day keep arriving after a case is reported.
    "copresence-today": {
        "task": "firstline.tracing.tasks.copresence_today",
        "schedule": env_int("COPRESENCE_INTERVAL_SECONDS", 3600, minimum=60),
    },
    # Tomorrow's check-in partitions, and yesterday's beyond the retention period dropped.
    "purge-checkins": {
        "task": "firstline.tracing.venues.tasks.purge_checkins",
        "schedule": env_int("CHECKIN_PURGE_INTERVAL_SECONDS", 3600, minimum=60),
    },
    # Missed health checks (lost to follow-up) and overdue samplings.
    "quarantine-watch": {
        "task": "firstline.quarantine.tasks.watch",
        "schedule": env_int("QUARANTINE_WATCH_INTERVAL_SECONDS", 900, minimum=60),
    },
    # Home-quarantine needs turned into care requests; care escalations written to the request's timeline.
    "care-sync": {
        "task": "firstline.community.care.tasks.sync",
        "schedule": env_int("CARE_SYNC_INTERVAL_SECONDS", 300, minimum=60),
    },
    # Planned duty shifts whose end passed without a check-in are marked missed.
    "roster-missed-shifts": {
        "task": "firstline.community.roster.tasks.mark_missed_shifts",
        "schedule": env_int("ROSTER_MISSED_INTERVAL_SECONDS", 900, minimum=60),
    },
    # The safety net behind the recomputation queued by each write.
    "recompute-clusters": {
        "task": "firstline.tracing.clusters.tasks.recompute_clusters",
        "schedule": env_int("CLUSTER_RECOMPUTE_INTERVAL_SECONDS", 900, minimum=60),
    },
}
# Task modules outside an app's tasks.py (autodiscovery only looks there).
CELERY_IMPORTS = (
    "firstline.screening.assist.tasks",
    "firstline.screening.imports.tasks",
    "firstline.screening.reevaluation",
    "firstline.tracing.clusters.tasks",
    "firstline.tracing.venues.tasks",
    "firstline.community.care.tasks",
    "firstline.community.roster.tasks",
)

# --- Logging ---------------------------------------------------------------------------------------------------
LOG_LEVEL = (env("LOG_LEVEL", "INFO") or "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r} must be DEBUG, INFO, WARNING, ERROR or CRITICAL.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "axes": {"level": "WARNING"},
        # Inline (eager) Celery without a broker: kombu's "no hostname" notice and per-task lines are noise.
        "kombu": {"level": "ERROR"},
        "celery.app.trace": {"level": "WARNING"},
    },
}

# --- Firstline -------------------------------------------------------------------------------------------------
# The city this installation serves: its division code roots the command centre's scope and the demo.
FIRSTLINE_CITY_CODE = env("FIRSTLINE_CITY_CODE", "632701") or "632701"
if not FIRSTLINE_CITY_CODE.isdigit() or len(FIRSTLINE_CITY_CODE) not in {2, 4, 6, 9, 12}:
    raise ImproperlyConfigured(f"FIRSTLINE_CITY_CODE={FIRSTLINE_CITY_CODE!r} must be a division code (digits).")
# Roles whose accounts must use a TOTP second factor.
OTP_REQUIRED_ROLES = env_list("OTP_REQUIRED_ROLES", "city_command,data_admin,auditor")
# Default hours a new task has before it is overdue, and escalation steps.
TASK_DEFAULT_DUE_HOURS = env_int("TASK_DEFAULT_DUE_HOURS", 24, minimum=1)
# After an escalation the new assignee gets this many hours before the task escalates again.
TASK_ESCALATION_GRACE_HOURS = env_int("TASK_ESCALATION_GRACE_HOURS", 4, minimum=1)
# Hours a grid has to visit an arrival who needs quarantine (centralised or at home).
TASK_URGENT_DUE_HOURS = env_int("TASK_URGENT_DUE_HOURS", 2, minimum=1)

# --- Screening -------------------------------------------------------------------------------------------------
# 协查 batches: hours to report back, to locate each person, and to have them under control (local standards).
ASSIST_DEADLINE_HOURS = env_int("ASSIST_DEADLINE_HOURS", 24, minimum=1)
ASSIST_LOCATE_HOURS = env_int("ASSIST_LOCATE_HOURS", 2, minimum=1)
ASSIST_CONTROL_HOURS = env_int("ASSIST_CONTROL_HOURS", 8, minimum=1)
# Uploads of arrival/协查 lists, and how many rows an import writes per transaction step.
IMPORT_MAX_UPLOAD_MB = env_int("IMPORT_MAX_UPLOAD_MB", 100, minimum=1)
IMPORT_CHUNK_ROWS = env_int("IMPORT_CHUNK_ROWS", 5000, minimum=100)
# Public pages (self-registration …): requests allowed per client address, as "<count>/<s|m|h|d>".
PUBLIC_RATE_LIMIT = env("PUBLIC_RATE_LIMIT", "30/h") or "30/h"
_rate = PUBLIC_RATE_LIMIT.split("/")
if len(_rate) != 2 or not _rate[0].isdigit() or int(_rate[0]) < 1 or _rate[1] not in {"s", "m", "h", "d"}:
    raise ImproperlyConfigured(f"PUBLIC_RATE_LIMIT={PUBLIC_RATE_LIMIT!r} must look like 30/h (count/s|m|h|d).")
# Days of arrivals that a new risk area or edition re-evaluates (at least the longest look-back of any edition).
REEVALUATION_WINDOW_DAYS = env_int("REEVALUATION_WINDOW_DAYS", 21, minimum=1)

# --- Tracing ---------------------------------------------------------------------------------------------------
# Origins of automatic exposures counted at once (marked "pending verification"); others wait as candidates.
TRACING_AUTO_ACCEPT = env_list("TRACING_AUTO_ACCEPT", "household,copresence")
_bad_origins = set(TRACING_AUTO_ACCEPT) - {"household", "copresence", "imported"}
if _bad_origins:
    raise ImproperlyConfigured(
        f"TRACING_AUTO_ACCEPT has {sorted(_bad_origins)!r}: use household, copresence and/or imported."
    )
# Venue check-ins: days kept, minutes within which a repeated scan is the same visit, the longest stay a visit may
# have (bounds the co-presence search), and the minimum overlap (minutes) that makes two visits an exposure.
CHECKIN_RETENTION_DAYS = env_int("CHECKIN_RETENTION_DAYS", 28, minimum=1)
CHECKIN_DEDUP_MINUTES = env_int("CHECKIN_DEDUP_MINUTES", 5, minimum=0)
CHECKIN_MAX_STAY_HOURS = env_int("CHECKIN_MAX_STAY_HOURS", 12, minimum=1)
COPRESENCE_MIN_OVERLAP_MINUTES = env_int("COPRESENCE_MIN_OVERLAP_MINUTES", 0, minimum=0)
# Public check-ins per client address (a venue's door sees many phones behind one carrier NAT address).
CHECKIN_RATE_LIMIT = env("CHECKIN_RATE_LIMIT", "600/m") or "600/m"
_rate = CHECKIN_RATE_LIMIT.split("/")
if len(_rate) != 2 or not _rate[0].isdigit() or int(_rate[0]) < 1 or _rate[1] not in {"s", "m", "h", "d"}:
    raise ImproperlyConfigured(f"CHECKIN_RATE_LIMIT={CHECKIN_RATE_LIMIT!r} must look like 600/m (count/s|m|h|d).")
# Clusters above this many persons are drawn aggregated by household/venue, with drill-down.
CLUSTER_GRAPH_MAX_NODES = env_int("CLUSTER_GRAPH_MAX_NODES", 2000, minimum=50)
# Seconds a clusters recomputation waits after the write that queued it (writes meanwhile ride along).
CLUSTER_RECOMPUTE_DELAY_SECONDS = env_int("CLUSTER_RECOMPUTE_DELAY_SECONDS", 10, minimum=0)

# --- Quarantine and health monitoring ---------------------------------------------------------------------------
# Daily health-check slots (local HH:MM, in order): a check belongs to the latest slot that has begun.
HEALTH_CHECK_TIMES = env_list("HEALTH_CHECK_TIMES", "08:00,15:00")
for _time in HEALTH_CHECK_TIMES:
    _parts = _time.split(":")
    if len(_parts) != 2 or not all(p.isdigit() for p in _parts) or int(_parts[0]) > 23 or int(_parts[1]) > 59:
        raise ImproperlyConfigured(f"HEALTH_CHECK_TIMES has {_time!r}: give times like 08:00,15:00.")
if sorted(HEALTH_CHECK_TIMES, key=lambda t: tuple(int(p) for p in t.split(":"))) != HEALTH_CHECK_TIMES:
    raise ImproperlyConfigured("HEALTH_CHECK_TIMES must be in order through the day.")
# A temperature at or above this (°C) raises an alert; readings outside the plausible range are refused.
FEVER_THRESHOLD_C = Decimal(env("FEVER_THRESHOLD_C", "37.3") or "37.3")
TEMPERATURE_MIN_C = Decimal(env("TEMPERATURE_MIN_C", "34") or "34")
TEMPERATURE_MAX_C = Decimal(env("TEMPERATURE_MAX_C", "43") or "43")
# Missed check slots in a row that make a person "lost to follow-up" (escalated).
HEALTH_CHECK_MISSED_LIMIT = env_int("HEALTH_CHECK_MISSED_LIMIT", 3, minimum=1)
# Hours a released room is expected to take to disinfect before it is flagged on the board.
DISINFECTION_HOURS = env_int("DISINFECTION_HOURS", 24, minimum=1)

# --- Community: frontline care, notices, public reports ----------------------------------------------------------
# Hours a care request has before it is overdue (and escalates like a task), by urgency: normal, high, urgent.
_care_hours = env_list("CARE_DUE_HOURS", "48,24,4")
CARE_DUE_HOURS = [int(h) for h in _care_hours if h.isdigit()]
if len(CARE_DUE_HOURS) != 3 or len(_care_hours) != 3 or min(CARE_DUE_HOURS) < 1:
    raise ImproperlyConfigured("CARE_DUE_HOURS must be three whole numbers of hours: normal,high,urgent, e.g. 48,24,4.")
# Public reports: the largest photo accepted, and reports per address.
REPORT_PHOTO_MAX_MB = env_int("REPORT_PHOTO_MAX_MB", 5, minimum=1)
REPORT_RATE_LIMIT = env("REPORT_RATE_LIMIT", "10/h") or "10/h"
_rate = REPORT_RATE_LIMIT.split("/")
if len(_rate) != 2 or not _rate[0].isdigit() or int(_rate[0]) < 1 or _rate[1] not in {"s", "m", "h", "d"}:
    raise ImproperlyConfigured(f"REPORT_RATE_LIMIT={REPORT_RATE_LIMIT!r} must look like 10/h (count/s|m|h|d).")
# Minutes before a duty shift's start that its member may check in.
SHIFT_CHECKIN_EARLY_MINUTES = env_int("SHIFT_CHECKIN_EARLY_MINUTES", 30, minimum=0)
# Notice attachments: the largest file accepted.
NOTICE_ATTACHMENT_MAX_MB = env_int("NOTICE_ATTACHMENT_MAX_MB", 20, minimum=1)

# --- Cache (rate limits of public pages). Several web processes must share it: set CACHE_URL=redis://… there.
CACHE_URL = env("CACHE_URL", "") or ""
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r} must be a redis:// URL (or unset for a per-process cache).")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "firstline"}
    )
}
