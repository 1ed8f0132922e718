"""Pseudonymous respondent keys (UU PDP 27/2022: no direct identifiers are stored)."""

from __future__ import annotations

import hashlib
import hmac
import re

from django.conf import settings

from surveys.models import Respondent

# A 16-digit number is what a NIK (national id number) looks like; 10-13 digits starting with
# 08 or 62 look like a phone number. Neither may be stored as a panel key in clear.
_LOOKS_IDENTIFYING = re.compile(r"^(\d{16}|(\+?62|0)8\d{7,11})$")
MAX_EXTERNAL_ID = 64


class IdentifyingKeyError(ValueError):
    """The respondent id looks like a direct identifier and no PANEL_KEY_SECRET is set."""


def panel_key_for(external_id: str, *, secret: str | None = None) -> str:
    """Return the stored panel key for an external respondent id.

    With a secret (argument or settings.PANEL_KEY_SECRET) the key is
    HMAC-SHA256(secret, external_id) as 64 hex digits, so the same person links across waves
    while the raw id is never stored. Without one, the id itself is kept (it must already be a
    pseudonymous code) and anything that looks like a NIK or phone number is refused.
    """
    external_id = external_id.strip()
    if not external_id:
        raise ValueError("respondent id is empty")
    key = settings.PANEL_KEY_SECRET if secret is None else secret
    if key:
        return hmac.new(key.encode(), external_id.encode(), hashlib.sha256).hexdigest()
    if len(external_id) > MAX_EXTERNAL_ID:
        raise ValueError(f"respondent id longer than {MAX_EXTERNAL_ID} characters")
    if _LOOKS_IDENTIFYING.match(external_id):
        raise IdentifyingKeyError(
            "respondent id looks like a NIK or phone number; use a pseudonymous code "
            "or set PANEL_KEY_SECRET so that it is stored only as an HMAC"
        )
    return external_id


def respondent_get_or_create(*, external_id: str) -> Respondent:
    respondent, _ = Respondent.objects.get_or_create(panel_key=panel_key_for(external_id))
    return respondent
