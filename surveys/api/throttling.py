"""Per-account throttling of writes, at the "submissions" rate of settings.REST_FRAMEWORK.

Counters live in the default cache; with several gunicorn workers that must be a shared cache
(Redis) for the limit to be exact, otherwise each worker counts on its own.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import APIView


class SubmissionRateThrottle(UserRateThrottle):
    """Keyed by the authenticated user (one token per user), so per token.

    A fixed-window counter (one atomic `incr` per request) instead of DRF's sliding log, which
    reads and rewrites the list of every request time in the window on each request: at high
    rates that list is what costs. A client can get up to twice the rate across a window
    boundary; the limit is against floods, not an exact quota.
    """

    scope = "submissions"

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        self._window_end = (window + 1) * self.duration
        self.now = now
        key = f"{key}:{window}"
        # add() is a no-op when the key exists; incr() is atomic on Redis
        cache.add(key, 0, timeout=self.duration + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=self.duration + 1)
            count = 1
        return count <= self.num_requests

    def wait(self) -> float | None:
        return max(0.0, self._window_end - self.now)


class InvitationRateThrottle(AnonRateThrottle):
    """Redeeming codes is anonymous: limit guessing per client address."""

    scope = "anon"
