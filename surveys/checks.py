"""Deploy checks of the response contract (`manage.py check --deploy`).

nilai.E201: PANEL_KEY_SECRET is not set. Without it respondent ids are stored in clear (only
ids that look like a NIK or phone number are refused), so a production deployment must set it:
then only HMAC-SHA256(secret, id) is stored (surveys.ingest.keys, docs/DECISIONS.md item 2).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


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
