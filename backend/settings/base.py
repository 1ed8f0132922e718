"""Settings shared by every environment; everything site-specific comes from the environment.

Variables: DATABASE_URL, DATABASE_REPLICA_URL (optional read replica), SECRET_KEY, DEBUG,
ALLOWED_HOSTS, CELERY_BROKER_URL, PANEL_KEY_SECRET, SQLITE_BUSY_TIMEOUT (seconds). With none
set, Nilai runs on SQLite (db.sqlite3 next to manage.py).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parents[2]


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


def database_from_env(default_sqlite: Path | None, variable: str = "DATABASE_URL") -> dict:
    """Parse DATABASE_URL (or `variable`); SQLite gets WAL, BEGIN IMMEDIATE and a busy timeout.

    Default SQLite transactions start DEFERRED and upgrade to a write lock on the first write,
    which fails at once ("database is locked") when another writer holds it. BEGIN IMMEDIATE takes
    the write lock up front, so a concurrent writer waits for the busy timeout instead of failing;
    WAL lets readers continue while a writer works.
    """
    url = os.environ.get(variable, f"sqlite:///{default_sqlite}")
    config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        timeout = float(os.environ.get("SQLITE_BUSY_TIMEOUT", "30"))
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": timeout,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                f"PRAGMA busy_timeout={int(timeout * 1000)};"
                "PRAGMA foreign_keys=ON;"
            ),
        }
    elif config["ENGINE"] == "django.db.backends.postgresql":
        # no JIT compilation: the wave reads are large enough for the planner to compile them,
        # which cost ~0.5 s of a 1.1 s read of 500k responses and ~20 % more server CPU
        # (docs/DECISIONS.md 78); options given in the URL are kept
        options = config.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    return config


SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-dev-key-change-me-nilai-0000000000000000000000")
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "surveys",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "surveys.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "surveys.middleware.ApiRequestGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last: turns a locked-out login (django-axes) into the 429 page
    "axes.middleware.AxesMiddleware",
]

# Login throttling (django-axes) on every form login (/dashboard/login/, /admin/login/): after
# AXES_FAILURE_LIMIT failed passwords for one username from one address, that pair is locked
# for AXES_COOLOFF_TIME and answered 429 (surveys.middleware.lockout_response); a success
# resets the count. Admins unlock in the admin ("Access attempts": delete the row) or with
# `manage.py axes_reset_username NAME`. API tokens never pass through authenticate(), so token
# authentication is unaffected.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "surveys.middleware.lockout_response"
AXES_VERBOSE = False

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {"default": database_from_env(BASE_DIR / "db.sqlite3")}
# A read replica (streaming replication of the same database): the publish path and the exports
# read from it, everything else (writes, imports, the index run) stays on "default"
# (surveys.routers; docs/DECISIONS.md item 64). Never migrated; in tests it mirrors "default".
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = {**database_from_env(None, "DATABASE_REPLICA_URL"),
                            "TEST": {"MIRROR": "default"}}
NILAI_READ_REPLICA = "replica" in DATABASES
DATABASE_ROUTERS = ["surveys.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Indonesian first, English second. The words are gettext catalogues (locale/, surveys/i18n.py).
# LANGUAGE_CODE is the language of a request that asks for none and of management command
# output; NILAI_LANGUAGE=en switches it for one process (e.g. `NILAI_LANGUAGE=en python
# manage.py compute_indices`).
LANGUAGE_CODE = "en" if os.environ.get("NILAI_LANGUAGE", "").lower().startswith("en") else "id"
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
LOGIN_URL = "/admin/login/"

# Pseudonymous panel keys: with a secret, external respondent ids are stored only as
# HMAC-SHA256(secret, id). Without one the given id is stored as is (it must already be a
# pseudonymous code; values that look like a national id number are refused).
PANEL_KEY_SECRET = os.environ.get("PANEL_KEY_SECRET", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON with a depth limit and no NUL / lone surrogates (surveys.safejson)
    "DEFAULT_PARSER_CLASSES": [
        "surveys.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "surveys.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "submissions": os.environ.get("THROTTLE_SUBMISSIONS", "120/min"),
        "anon": "30/min",
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Nilai API",
    "DESCRIPTION": "Survei internalisasi nilai Pancasila / Pancasila value internalisation survey",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from the installed package (static files), never from a CDN
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "WaveStatusEnum": "surveys.models.WaveStatus",
        "ResponseStatusEnum": "surveys.models.ResponseStatus",
    },
}

# Throttle counters and the API's caller generations (token revocation, surveys.signals):
# per-process memory by default; CACHE_URL (e.g. redis://127.0.0.1:6379/1) is required in
# production (deploy check nilai.E101) so that limits and revocations hold across workers.
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "nilai"}
    )
}

# Recompute the indices after imports and when a wave closes (a Celery task queued on commit).
NILAI_AUTO_RECOMPUTE = env_bool("NILAI_AUTO_RECOMPUTE", True)
# Index runs split by province over Celery workers (surveys.services.compute_parallel, DECISIONS
# 55): "false" (default: one process), "true", or "auto" (when workers and a result backend are
# configured and the waves span 2+ provinces with NILAI_COMPUTE_PARALLEL_MIN responses or more).
NILAI_COMPUTE_PARALLEL = {"true": True, "false": False}.get(
    os.environ.get("NILAI_COMPUTE_PARALLEL", "false").lower(),
    os.environ.get("NILAI_COMPUTE_PARALLEL", "false").lower())
NILAI_COMPUTE_PARALLEL_MIN = int(os.environ.get("NILAI_COMPUTE_PARALLEL_MIN", "500000"))
NILAI_COMPUTE_SHARDS = int(os.environ.get("NILAI_COMPUTE_SHARDS", "2"))
# where a parallel run's parts leave their arrays and its stages their panel data for the
# workers of the same host, or of every host when shared (empty: chosen by
# surveys.services.compute_parallel._stage_dir)
NILAI_STAGE_DIR = os.environ.get("NILAI_STAGE_DIR", "")
# parts' arrays as files in NILAI_STAGE_DIR (true) or in the database (false: workers on several
# hosts that do not share NILAI_STAGE_DIR; DECISIONS 84)
NILAI_PART_FILES = env_bool("NILAI_PART_FILES", True)

# Export jobs write their files here (microdata and weights are only ever served from a job).
NILAI_EXPORT_DIR = Path(os.environ.get("NILAI_EXPORT_DIR", "") or BASE_DIR / "var" / "exports")

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# Without a broker tasks run eagerly in-process (zero set-up); with one they go to workers.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # an eager task still takes a producer: without a URL kombu would describe an AMQP
    # connection to an unnamed host and log "No hostname was supplied" on every queued task
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", None)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
