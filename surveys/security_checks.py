"""Deploy checks of the hardening settings (`manage.py check --deploy`).

nilai.E101: the default cache is per process (CACHE_URL unset). Throttle counters and the
caller-revocation generations (surveys.signals) must be shared by every worker: with a
per-process cache each of N workers allows the full rate (N times in all) and a revoked token
keeps working on the other workers for up to 30 s.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(Tags.caches, Tags.security, deploy=True)
def shared_cache_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend in PER_PROCESS_CACHES:
        return [
            Error(
                "Cache bawaan hanya per proses; setel CACHE_URL (mis. redis://127.0.0.1:6379/1) "
                "/ the default cache is per process: set CACHE_URL (e.g. "
                "redis://127.0.0.1:6379/1).",
                hint="Throttling and immediate token revocation need one cache shared by all "
                "workers.",
                id="nilai.E101",
            )
        ]
    return []
