"""Test settings: fast hashing, eager Celery; the database follows DATABASE_URL (SQLite default)."""

from .base import *  # noqa: F401,F403
from .base import REST_FRAMEWORK

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
# Tests that check the automatic recompute switch it on themselves.
NILAI_AUTO_RECOMPUTE = False
CELERY_BROKER_URL = "memory://localhost/"  # eager; a named host keeps kombu quiet
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"submissions": "10000/min", "anon": "10000/min"},
}
# Django's test client logs in without a request, which django-axes refuses; the login
# throttling tests (tests/test_security_login.py) switch it on themselves.
AXES_ENABLED = False
# The "replica" alias always exists in tests, as a test mirror of "default" (same database,
# its own connection), so tests/test_replica.py can prove the publish and export reads use it;
# reads are routed to it only where a test switches NILAI_READ_REPLICA on.
if "replica" not in DATABASES:  # noqa: F405
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
NILAI_READ_REPLICA = False
