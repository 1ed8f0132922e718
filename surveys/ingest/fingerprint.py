"""The fingerprint of a response (one definition, used by the API and the file import) and the
deterministic submission id of imported responses.

A response is identified by its wave and respondent (and, through the API, its
`submission_id`); its *content* is everything else the writer states:
`FINGERPRINT_FIELDS` plus the answers. `content_hash` is the SHA-256 of a canonical JSON text of
that content (sorted keys, no spaces, missing answers left out, so key order and null-vs-absent
do not matter). Identity is not hashed: a replay is recognised by comparing wave, respondent and
fingerprint, and the import matches stored rows on (wave, respondent) and compares
fingerprints, so the same response reached through either path has the same fingerprint.

`content_hashes` is the column-wise version for files of millions of rows; tests check it
equals `content_hash` row by row.
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
#: Namespace of the deterministic submission ids of imported responses.
IMPORT_NAMESPACE = uuid.UUID("8b6f1c52-3f4e-5a7b-9c1d-2e3f4a5b6c7d")


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


def import_submission_id(instrument_code: str, year: int, panel_key: str) -> uuid.UUID:
    """The submission id of an imported response: stable across re-imports of the same row."""
    return uuid.uuid5(IMPORT_NAMESPACE, f"{instrument_code}:{year}:{panel_key}")


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
    for every row, as in a file import).

    Builds the same canonical JSON text with numpy byte tables and arrow string kernels, then
    hashes it row by row; rows whose strings would need JSON escaping go through content_hash
    itself.
    """
    n = answers.shape[0]
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
    hashes = [sha(buf[bounds[i]: bounds[i + 1]]).hexdigest() for i in range(n)]
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
        hashes[i] = content_hash(fields, unpack_answers(layout, answers[i].tobytes()))
    return hashes


def submission_ids_hex(instrument_code: str, years: np.ndarray, panel_keys: pa.Array
                       ) -> pa.Array:
    """import_submission_id for many rows, as 32 hex digits each (uuid5 = SHA-1 of namespace +
    name, truncated to 16 bytes, version and variant bits set)."""
    n = len(panel_keys)
    if n == 0:
        return pa.array([], type=pa.string())
    names = pc.binary_join_element_wise(
        instrument_code, pc.cast(pa.array(years, type=pa.int64()), pa.string()), panel_keys, ":")
    blob = pc.binary_join_element_wise(
        pa.scalar(IMPORT_NAMESPACE.bytes, pa.binary()), names.cast(pa.binary()),
        pa.scalar(b"", pa.binary()))
    offsets = np.frombuffer(blob.buffers()[1], dtype=np.int32)[blob.offset: blob.offset + n + 1]
    buf = memoryview(blob.buffers()[2])
    bounds = offsets.tolist()
    sha1 = hashlib.sha1
    digests = b"".join([sha1(buf[bounds[i]: bounds[i + 1]]).digest() for i in range(n)])
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 20)[:, :16].copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x50
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = np.frombuffer(raw.tobytes().hex().encode("ascii"), dtype="S32")
    return pa.array(hexed).cast(pa.string())
