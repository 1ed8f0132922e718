"""Respondent keys (UU PDP 27/2022: no direct identifiers are stored): the rule for the
respondent id a client or a file gives, and the stored panel key made from it.

One rule for both paths (the API and the file import call `panel_key_for`):

- printable: no control or invisible characters (Unicode categories Cc, Cf, Zl, Zp, e.g.
  U+202E, U+200B, newline, tab), and no leading formula character (``= + - @``), so a key can
  never become a live spreadsheet formula in an export;
- not a direct identifier: without PANEL_KEY_SECRET, an id whose digits (after NFKC, so
  full-width digits count, and with every non-digit dropped, so separators and prefixes do not
  hide it) look like a NIK (16 digits) or an Indonesian mobile number (08..., 628...) is
  refused; with a secret only HMAC-SHA256(secret, id) is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings

from surveys.exceptions import Msg

#: Longest respondent id kept in clear (the panel key column holds 64 characters).
MAX_EXTERNAL_ID = 64
#: Characters a spreadsheet reads as the start of a formula.
FORMULA_CHARS = ("=", "+", "-", "@")
_UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_NIK = re.compile(r"^\d{16}$")
_PHONE = re.compile(r"^(62|0)8\d{7,11}$")
_NON_DIGITS = re.compile(r"\D+")


class RespondentKeyError(ValueError):
    """The respondent id breaks the rule; `msg` says how (Indonesian and English)."""

    def __init__(self, msg: Msg):
        super().__init__(msg.render("en"))
        self.msg = msg


class IdentifyingKeyError(RespondentKeyError):
    """The respondent id looks like a direct identifier and no PANEL_KEY_SECRET is set."""


def looks_identifying(external_id: str) -> bool:
    """Whether the id's digits look like a NIK or a phone number, however they are written."""
    digits = _NON_DIGITS.sub("", unicodedata.normalize("NFKC", external_id))
    return bool(_NIK.match(digits) or _PHONE.match(digits))


def key_problem(external_id: str) -> Msg | None:
    """Why `external_id` (already stripped of surrounding whitespace) cannot be a respondent
    id whatever the secret, or None."""
    if not external_id:
        return Msg("respondent_empty")
    for char in external_id:
        if unicodedata.category(char) in _UNPRINTABLE_CATEGORIES:
            return Msg("respondent_unprintable", {"char": f"U+{ord(char):04X}"})
    if external_id.startswith(FORMULA_CHARS):
        return Msg("respondent_formula", {"char": external_id[0]})
    return None


def panel_key_for(external_id: str, *, secret: str | None = None) -> str:
    """Return the stored panel key for an external respondent id, or raise RespondentKeyError.

    With a secret (argument or settings.PANEL_KEY_SECRET) the key is
    HMAC-SHA256(secret, external_id) as 64 hex digits, so the same person links across waves
    while the raw id is never stored. Without one, the id itself is kept (it must already be a
    pseudonymous code) and anything that looks like a NIK or phone number is refused.
    """
    external_id = external_id.strip()
    problem = key_problem(external_id)
    if problem is not None:
        raise RespondentKeyError(problem)
    key = settings.PANEL_KEY_SECRET if secret is None else secret
    if key:
        return hmac.new(key.encode(), external_id.encode(), hashlib.sha256).hexdigest()
    if len(external_id) > MAX_EXTERNAL_ID:
        raise RespondentKeyError(Msg("respondent_too_long", {"max": MAX_EXTERNAL_ID}))
    if looks_identifying(external_id):
        raise IdentifyingKeyError(Msg("respondent_identifying"))
    return external_id


# --- column-wise ------------------------------------------------------------------------------

_ASCII_CONTROL_OR_EDGE_SPACE = r"[\x00-\x1f\x7f]|^ | $"
_IDENTIFYING_DIGITS = r"^(\d{16}|(62|0)8\d{7,11})$"


def panel_keys_for(external_ids: pa.Array, *, secret: str | None = None
                   ) -> tuple[list[str], dict[int, RespondentKeyError]]:
    """`panel_key_for` for many ids (a file's distinct respondent ids): the keys ("" where an
    id is refused) and the refusals by position.

    Plain ASCII ids (no control character, no surrounding space, no formula character first,
    and without a secret: at most MAX_EXTERNAL_ID characters and digits that look like no NIK
    or phone number) are checked with arrow kernels; every other id goes through
    `panel_key_for` itself, which words the refusal. Tests check both give the same keys."""
    key = settings.PANEL_KEY_SECRET if secret is None else secret
    n = len(external_ids)
    if n == 0:
        return [], {}
    ids = external_ids.fill_null("")
    plain = pc.and_(pc.string_is_ascii(ids), pc.greater(pc.utf8_length(ids), 0))
    plain = pc.and_(plain, pc.invert(pc.match_substring_regex(ids, _ASCII_CONTROL_OR_EDGE_SPACE)))
    for char in FORMULA_CHARS:
        plain = pc.and_(plain, pc.invert(pc.starts_with(ids, char)))
    if not key:
        digits = pc.replace_substring_regex(ids, r"\D+", "")
        plain = pc.and_(plain, pc.less_equal(pc.utf8_length(ids), MAX_EXTERNAL_ID))
        plain = pc.and_(plain, pc.invert(pc.match_substring_regex(digits, _IDENTIFYING_DIGITS)))
    plain_mask = plain.to_numpy(zero_copy_only=False)
    values = ids.to_pylist()
    keys: list[str] = values if not key else [""] * n
    if key:
        base = hmac.new(key.encode(), digestmod=hashlib.sha256)
        for i in np.flatnonzero(plain_mask).tolist():
            h = base.copy()
            h.update(values[i].encode())
            keys[i] = h.hexdigest()
    errors: dict[int, RespondentKeyError] = {}
    for i in np.flatnonzero(~plain_mask).tolist():
        try:
            keys[i] = panel_key_for(values[i], secret=key)
        except RespondentKeyError as exc:
            keys[i] = ""
            errors[i] = exc
    return keys, errors
