"""The fingerprint of a response (one definition, used by the API and the file import) and the
derived submission id of imported responses.

A response is identified by its wave and respondent (and, through the API, its
`submission_id`); its *content* is everything else the writer states:
`FINGERPRINT_FIELDS` plus the answers. `content_hash` is the SHA-256 of a canonical JSON text of
that content (sorted keys, no spaces, missing answers left out, so key order and null-vs-absent
do not matter). Identity is not hashed: a replay is recognised by comparing wave, respondent and
fingerprint, and the import matches stored rows on (wave, respondent) and compares
fingerprints, so the same response reached through either path has the same fingerprint.

An imported row that comes without an id of its own (ODK/Kobo instance ids are kept as given)
has a *derived* submission id, `derived_submission_id(respondent pk, wave pk)`, computed when
needed and not stored (the column holds NULL: `Response.effective_submission_id`,
docs/DECISIONS.md 80): a UUID version 8
(RFC 9562 section 5.8, custom layout), no hashing. Its 122 free bits, from the most significant
on, are the respondent's primary key (48 bits, big-endian: the first 6 bytes), the wave's primary
key (32 bits) and a fixed tag (42 bits: "Nilai" in ASCII, so the last 5 bytes read 4e696c6169);
the version nibble (8) and the variant bits (10) sit where RFC 9562 puts them (byte 6's high
nibble, byte 8's two high bits). PostgreSQL compares uuid bytewise, so derived ids sort exactly
like (respondent, wave) (imports stored them until DECISIONS 80, in that order, so their unique
index filled front to back). (respondent, wave) is unique, so derived ids are unique by
construction. They replaced uuid5(instrument code, year, panel key) (docs/DECISIONS.md); ids
stored either way stay valid: the import matches stored rows by (wave, respondent) and compares
their content, never by submission id.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

#: What the fingerprint covers besides the answers, in the canonical (sorted) order.
FINGERPRINT_FIELDS = ("age_group", "base_weight", "probability_sample", "psu", "region", "sex",
                      "status", "stratum")
#: Derived submission ids (module docstring): bit widths of the two keys and the tag.
DERIVED_RESPONDENT_BITS = 48
DERIVED_WAVE_BITS = 32
_TAG_BITS = 122 - DERIVED_RESPONDENT_BITS - DERIVED_WAVE_BITS  # 42
#: The fixed tag of a derived id: "Nilai" in ASCII (40 bits; the tag's two top bits are 0).
DERIVED_TAG = int.from_bytes(b"Nilai", "big")
_WAVE_LOW_BITS = 62 - _TAG_BITS  # wave bits after the variant (20); the other 12 before it
_VERSION_8 = 0x8
_VARIANT_RFC = 0b10


def content_hash(fields: Mapping[str, Any], answers: Mapping[str, int | None]) -> str:
    """Fingerprint of a response's content: every name of FINGERPRINT_FIELDS (region as its
    BPS code, base_weight as a float, probability_sample as a bool, status as stored) and
    the answers (item code -> int or None)."""
    missing = [name for name in FINGERPRINT_FIELDS if name not in fields]
    if missing:
        raise ValueError(f"fingerprint fields missing: {', '.join(missing)}")
    values = {name: fields[name] for name in FINGERPRINT_FIELDS}
    values["base_weight"] = float(values["base_weight"])
    values["probability_sample"] = bool(values["probability_sample"])
    canonical = {
        "fields": values,
        "answers": {k: answers[k] for k in sorted(answers) if answers[k] is not None},
    }
    blob = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _check_keys(respondent: int, wave: int) -> None:
    """Refuse keys that do not fit the layout."""
    for name, key, bits in (("respondent", respondent, DERIVED_RESPONDENT_BITS),
                            ("wave", wave, DERIVED_WAVE_BITS)):
        if key < 0 or key >= 1 << bits:
            raise ValueError(f"{name} primary key outside 0..2**{bits}-1: no derived "
                             "submission id")


def derived_submission_id(respondent_id: int, wave_id: int) -> uuid.UUID:
    """The submission id of an imported row without an id of its own: a UUID version 8 built
    from the primary keys of its respondent and wave (layout in the module docstring); the
    same row always gets the same id, and the ids sort like (respondent, wave)."""
    _check_keys(respondent_id, wave_id)
    high = ((respondent_id << 16) | (_VERSION_8 << 12)
            | (wave_id >> _WAVE_LOW_BITS))
    low = ((_VARIANT_RFC << 62) | ((wave_id & ((1 << _WAVE_LOW_BITS) - 1)) << _TAG_BITS)
           | DERIVED_TAG)
    return uuid.UUID(int=(high << 64) | low)


def is_derived_submission_id(value: uuid.UUID) -> bool:
    """Whether `value` has the layout of a derived submission id (version 8, RFC variant, the
    Nilai tag); says nothing about whether such a row exists."""
    return (value.version == _VERSION_8 and value.variant == uuid.RFC_4122
            and value.int & ((1 << _TAG_BITS) - 1) == DERIVED_TAG)


def derived_submission_keys(value: uuid.UUID) -> tuple[int, int] | None:
    """(respondent pk, wave pk) of a derived submission id, None for any other UUID."""
    if not is_derived_submission_id(value):
        return None
    high, low = value.int >> 64, value.int & ((1 << 64) - 1)
    wave_low = (low >> _TAG_BITS) & ((1 << _WAVE_LOW_BITS) - 1)
    return high >> 16, ((high & 0xFFF) << _WAVE_LOW_BITS) | wave_low
