"""Test settings: fast hashing, eager Celery; the database follows DATABASE_URL (SQLite default)."""

from .base import *  # noqa: F401,F403
from .base import REST_FRAMEWORK

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
# Tests that check the automatic recompute switch it on themselves.
NILAI_AUTO_RECOMPUTE = False
CELERY_BROKER_URL = ""
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"submissions": "10000/min", "anon": "10000/min"},
}
# Django's test client logs in without a request, which django-axes refuses; the login
# throttling tests (tests/test_security_login.py) switch it on themselves.
AXES_ENABLED = False
