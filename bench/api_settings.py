"""Settings for bench/bench_api.py: the project's settings, production-like (DEBUG off), plus
one extra URL: a bare Django view that inserts one row, the yardstick for the API's cost."""

from backend.settings.base import *  # noqa: F401,F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.api_urls"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "ERROR"},
}
