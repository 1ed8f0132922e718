"""The fingerprint of a response (one definition, used by the API and the file import) and the
derived submission id of imported responses.

A response is identified by its wave and respondent (and, through the API, its
`submission_id`); its *content* is everything else the writer states:
`FINGERPRINT_FIELDS` plus the answers. `content_hash` is the SHA-256 of a canonical JSON text of
that content (sorted keys, no spaces, missing answers left out, so key order and null-vs-absent
do not matter). Identity is not hashed: a replay is recognised by comparing wave, respondent and
fingerprint, and the import matches stored rows on (wave, respondent) and compares
fingerprints, so the same response reached through either path has the same fingerprint.

`content_hashes` is the column-wise version for files of millions of rows; tests check it
equals `content_hash` row by row.

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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datafiles.answers import ANSWER_MISSING, ItemLayout, unpack_answers

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


def _check_keys(respondent: tuple[int, int], wave: tuple[int, int]) -> None:
    """Refuse keys (given as their smallest and largest value) that do not fit the layout."""
    for name, (lo, hi), bits in (("respondent", respondent, DERIVED_RESPONDENT_BITS),
                                 ("wave", wave, DERIVED_WAVE_BITS)):
        if lo < 0 or hi >= 1 << bits:
            raise ValueError(f"{name} primary key outside 0..2**{bits}-1: no derived "
                             "submission id")


def derived_submission_id(respondent_id: int, wave_id: int) -> uuid.UUID:
    """The submission id of an imported row without an id of its own: a UUID version 8 built
    from the primary keys of its respondent and wave (layout in the module docstring); the
    same row always gets the same id, and the ids sort like (respondent, wave)."""
    _check_keys((respondent_id, respondent_id), (wave_id, wave_id))
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


# --- column-wise ------------------------------------------------------------------------------

_NEEDS_ESCAPE = r'[^\x20\x21\x23-\x5b\x5d-\x7e]'
_HASH_CHUNK = 16_384  # rows per block: keeps the byte tables in cache


def _string_array(lengths: np.ndarray, data: np.ndarray) -> pa.Array:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.StringArray.from_buffers(len(lengths), pa.py_buffer(offsets), pa.py_buffer(data))


def _float_repr(values: np.ndarray) -> pa.Array:
    """Python's repr() of many floats (what json.dumps writes). Arrow's shortest round-trip
    text has the same digits; it differs only in style (no ".0" on integers, exponent
    thresholds), so it is used where the styles agree and repr() elsewhere."""
    text = pc.cast(pa.array(values, type=pa.float64()), pa.string())
    with np.errstate(invalid="ignore"):
        plain = ((values >= 1e-4) & (values < 1e16)
                 & ~pc.match_substring(text, "e").to_numpy(zero_copy_only=False))
        integral = plain & (values == np.floor(values))
    if integral.any():
        text = pc.if_else(pa.array(integral), pc.binary_join_element_wise(text, ".0", ""), text)
    odd = np.flatnonzero(~plain)
    if odd.size:
        mask = np.zeros(len(values), dtype=bool)
        mask[odd] = True
        text = pc.replace_with_mask(
            text, pa.array(mask), pa.array([repr(float(values[i])) for i in odd.tolist()]))
    return text


def _answers_json(layout: ItemLayout, answers: np.ndarray) -> pa.Array:
    """The inside of the canonical `answers` object for every row: `"code":value` pairs in code
    order, missing answers left out. Every item owns a fixed-width byte slot (its key, then
    its digits) in a row template; a missing answer zeroes its slot; dropping the zero bytes
    leaves each row's text."""
    n, k = answers.shape
    order = sorted(range(k), key=lambda j: layout.codes[j])
    digits = len(str(layout.scale_max))
    keys = [f",{json.dumps(layout.codes[j])}:".encode() for j in order]
    width = sum(len(key) + digits for key in keys)
    template = np.zeros(width, dtype=np.uint8)
    owner = np.empty(width, dtype=np.int64)
    slot_start = np.empty(k, dtype=np.int64)
    digit_at = np.empty(k, dtype=np.int64)
    at = 0
    for t, key in enumerate(keys):
        slot_start[t] = at
        template[at: at + len(key)] = np.frombuffer(key, dtype=np.uint8)
        owner[at: at + len(key) + digits] = t
        digit_at[t] = at + len(key)
        at += len(key) + digits
    digit_table = np.zeros((256, digits), dtype=np.uint8)
    for value in range(layout.scale_min, layout.scale_max + 1):
        text = str(value).encode()
        digit_table[value, : len(text)] = np.frombuffer(text, dtype=np.uint8)
    chunks = []
    for lo in range(0, n, _HASH_CHUNK):
        block = answers[lo: lo + _HASH_CHUNK][:, order]
        present = block != ANSWER_MISSING
        text = template * np.take(present, owner, axis=1)  # C order: fast compaction
        for d in range(digits):
            text[:, digit_at + d] = digit_table[block, d]
        has = np.flatnonzero(present.any(axis=1))
        text[has, slot_start[present[has].argmax(axis=1)]] = 0  # no comma before the first
        keep = text != 0
        chunks.append(_string_array(np.count_nonzero(keep, axis=1), text[keep]))
    if not chunks:
        return pa.array([], type=pa.string())
    return pa.concat_arrays(chunks)


def content_hashes(*, layout: ItemLayout, answers: np.ndarray, region: pa.Array, sex: pa.Array,
                   age_group: pa.Array, stratum: pa.Array, psu: pa.Array,
                   base_weight: np.ndarray, probability_sample: bool = True,
                   status: str = "submitted") -> list[str]:
    """Column-wise `content_hash` of many rows (`probability_sample` and `status` are the same
    for every row, as in a file import), as text; `content_hash_matrix` gives the same bytes."""
    matrix = content_hash_matrix(
        layout=layout, answers=answers, region=region, sex=sex, age_group=age_group,
        stratum=stratum, psu=psu, base_weight=base_weight,
        probability_sample=probability_sample, status=status)
    return hash_texts(matrix)


def hash_texts(matrix: np.ndarray) -> list[str]:
    """The rows of an (n, 64) hex-digit matrix (`content_hash_matrix`) as strings."""
    text = np.ascontiguousarray(matrix).tobytes().decode("ascii")
    return [text[i: i + 64] for i in range(0, len(text), 64)]


def content_hash_matrix(*, layout: ItemLayout, answers: np.ndarray, region: pa.Array,
                        sex: pa.Array, age_group: pa.Array, stratum: pa.Array, psu: pa.Array,
                        base_weight: np.ndarray, probability_sample: bool = True,
                        status: str = "submitted") -> np.ndarray:
    """`content_hash` of many rows as an (n, 64) uint8 matrix of lowercase hex digits (the
    bytes the import's binary COPY sends).

    Builds the same canonical JSON text with numpy byte tables and arrow string kernels, then
    hashes it row by row (binary digests, hex-encoded at once); rows whose strings would need
    JSON escaping go through content_hash itself.
    """
    n = answers.shape[0]
    if n == 0:
        return np.zeros((0, 64), dtype=np.uint8)
    answer_text = _answers_json(layout, answers)
    weight_text = _float_repr(base_weight)
    blob = pc.binary_join_element_wise(
        '{"answers":{', answer_text, '},"fields":{"age_group":"', age_group,
        '","base_weight":', weight_text,
        f',"probability_sample":{json.dumps(bool(probability_sample))},"psu":"', psu,
        '","region":"', region, '","sex":"', sex, f'","status":{json.dumps(status)},"stratum":"',
        stratum, '"}}', "",
    ).cast(pa.binary())
    offsets = np.frombuffer(blob.buffers()[1], dtype=np.int32)[blob.offset: blob.offset + n + 1]
    buf = memoryview(blob.buffers()[2])
    sha = hashlib.sha256
    bounds = offsets.tolist()
    digests = b"".join([sha(buf[a:b]).digest()
                        for a, b in zip(bounds, bounds[1:], strict=False)])
    matrix = np.frombuffer(bytearray(digests.hex().encode("ascii")),
                           dtype=np.uint8).reshape(n, 64)
    escape = np.zeros(n, dtype=bool)
    for col in (age_group, psu, region, sex, stratum):
        escape |= pc.match_substring_regex(col, _NEEDS_ESCAPE).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(escape).tolist():
        fields = {
            "region": region[i].as_py(), "sex": sex[i].as_py(),
            "age_group": age_group[i].as_py(), "stratum": stratum[i].as_py(),
            "psu": psu[i].as_py(), "base_weight": float(base_weight[i]),
            "probability_sample": probability_sample, "status": status,
        }
        exact = content_hash(fields, unpack_answers(layout, answers[i].tobytes()))
        matrix[i] = np.frombuffer(exact.encode("ascii"), dtype=np.uint8)
    return matrix


def derived_submission_ids(respondent_ids: np.ndarray, wave_ids: np.ndarray) -> np.ndarray:
    """`derived_submission_id` of many rows as an (n, 16) uint8 matrix (the UUIDs' bytes, as
    PostgreSQL's binary COPY takes them): two big-endian uint64 halves, no hashing."""
    respondent = np.asarray(respondent_ids, dtype=np.int64)
    wave = np.asarray(wave_ids, dtype=np.int64)
    if len(respondent):
        _check_keys((int(respondent.min()), int(respondent.max())),
                    (int(wave.min()), int(wave.max())))
    r, w = respondent.astype(np.uint64), wave.astype(np.uint64)
    halves = np.empty((len(r), 2), dtype=">u8")
    halves[:, 0] = ((r << np.uint64(16)) | np.uint64(_VERSION_8 << 12)
                    | (w >> np.uint64(_WAVE_LOW_BITS)))
    halves[:, 1] = (np.uint64(_VARIANT_RFC << 62)
                    | ((w & np.uint64((1 << _WAVE_LOW_BITS) - 1)) << np.uint64(_TAG_BITS))
                    | np.uint64(DERIVED_TAG))
    return halves.view(np.uint8).reshape(len(r), 16)


def submission_ids_hex(raw: np.ndarray) -> pa.Array:
    """(n, 16) UUID bytes as 32 lowercase hex digits each (the SQLite path stores them so)."""
    if len(raw) == 0:
        return pa.array([], type=pa.string())
    hexed = np.frombuffer(np.ascontiguousarray(raw).tobytes().hex().encode("ascii"), dtype="S32")
    return pa.array(hexed).cast(pa.string())
