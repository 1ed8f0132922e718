"""Nilai's deploy checks (`manage.py check --deploy`), in one place.

nilai.E101: the default cache is per process (CACHE_URL unset). Throttle counters and the
caller-revocation generations (surveys.signals) must be shared by every worker: with a
per-process cache each of N workers allows the full rate (N times in all) and a revoked token
keeps working on the other workers for up to 30 s.

nilai.E201: PANEL_KEY_SECRET is not set. Without it respondent ids are stored in clear (only
ids that look like a NIK or phone number are refused), so a production deployment must set it:
then only HMAC-SHA256(secret, id) is stored (surveys.ingest.keys, docs/DECISIONS.md item 2).

nilai.W301 (every run, not only --deploy): a translation catalogue is not compiled or older than
its .po (surveys/i18n.py).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.checks import Warning as CheckWarning

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


@register(Tags.security, deploy=True)
def panel_key_secret_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if getattr(settings, "PANEL_KEY_SECRET", ""):
        return []
    return [
        Error(
            "PANEL_KEY_SECRET belum disetel: ID responden akan tersimpan apa adanya / "
            "PANEL_KEY_SECRET is not set: respondent ids would be stored in clear.",
            hint="Set PANEL_KEY_SECRET to a long random value (e.g. head -c 48 /dev/urandom | "
            "base64) and keep it: changing it breaks the panel links across waves.",
            id="nilai.E201",
        )
    ]


@register(Tags.translation)
def compiled_catalogue_check(app_configs: Any = None, **kwargs: Any) -> list[CheckWarning]:
    """nilai.W301: a gettext catalogue (locale/<lang>/LC_MESSAGES/django.po) has no compiled
    .mo, or an older one: the pages would show the English msgids, or stale words."""
    from surveys.i18n import stale

    return [
        CheckWarning(
            f"Katalog terjemahan {lang} belum dikompilasi / the {lang} translation catalogue "
            f"is not compiled: {reason}.",
            hint="Run `make setup`, `python -m surveys.i18n compile` or "
            "`python manage.py compilemessages`.",
            id="nilai.W301",
        )
        for lang, reason in stale()
    ]
