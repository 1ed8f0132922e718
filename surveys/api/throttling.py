"""Per-account throttling of writes, at the "submissions" rate of settings.REST_FRAMEWORK.

DRF keeps the counters in the default cache; with several gunicorn workers that must be a shared
cache (Redis) for the limit to be exact, otherwise each worker counts on its own.
"""

from __future__ import annotations

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class SubmissionRateThrottle(UserRateThrottle):
    """Keyed by the authenticated user (one token per user), so per token."""

    scope = "submissions"


class InvitationRateThrottle(AnonRateThrottle):
    """Redeeming codes is anonymous: limit guessing per client address."""

    scope = "anon"
