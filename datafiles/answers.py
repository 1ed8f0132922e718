"""The packed answers codec (no Django): one unsigned byte per item of an instrument version, in
`Item.position` order, with ANSWER_MISSING (255) for no answer.

`Response.answers` stores this layout; the write paths (API and file import, both built on
`surveys.ingest`) pack with it and the readers (wave reads, microdata export) decode with
`answers_matrix`. Building an `ItemLayout` from the database is `surveys.ingest.layout_for`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Byte value that marks a missing answer.
ANSWER_MISSING = 255


@dataclass(frozen=True)
class ItemLayout:
    """Item codes in byte order plus the scale of one instrument version."""

    codes: tuple[str, ...]
    scale_min: int
    scale_max: int

    @property
    def index(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.codes)}


class AnswerError(ValueError):
    """Answers failed validation; `errors` maps item code -> list of reason codes
    ("unknown_item", "not_integer", "out_of_range", "required")."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def validate_answers(
    layout: ItemLayout, answers: Mapping[str, Any], *, require_all: bool = False
) -> dict[str, int | None]:
    """Check answers against the layout: known codes, integers inside the scale.

    Returns a dict item code -> int or None (missing) for every item of the layout. Raises
    AnswerError listing every bad item. A float with an integral value (5.0) is that integer;
    a bool is not a number.
    """
    errors: dict[str, list[str]] = {}
    index = layout.index
    clean: dict[str, int | None] = dict.fromkeys(layout.codes)
    for code, value in answers.items():
        if code not in index:
            errors.setdefault(code, []).append("unknown_item")
            continue
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                errors.setdefault(code, []).append("not_integer")
                continue
        if not layout.scale_min <= value <= layout.scale_max:
            errors.setdefault(code, []).append("out_of_range")
            continue
        clean[code] = value
    if require_all:
        for code in layout.codes:
            if clean[code] is None and code not in errors:
                errors.setdefault(code, []).append("required")
    if errors:
        raise AnswerError(errors)
    return clean


def pack_answers(layout: ItemLayout, answers: Mapping[str, int | None]) -> bytes:
    """Pack validated answers (item code -> int or None) into the byte layout."""
    buf = bytearray([ANSWER_MISSING]) * len(layout.codes)
    for i, code in enumerate(layout.codes):
        value = answers.get(code)
        if value is not None:
            buf[i] = value
    return bytes(buf)


def unpack_answers(layout: ItemLayout, packed: bytes) -> dict[str, int | None]:
    return {
        code: (None if b == ANSWER_MISSING else b)
        for code, b in zip(layout.codes, packed, strict=True)
    }


def answers_matrix(packed: np.ndarray, n: int, n_items: int) -> np.ndarray:
    """The packed answers of ``n`` responses (uint8, the blobs concatenated or already an
    (n, n_items) matrix) -> (n, n_items) float64 in byte (Item.position) order, NaN =
    missing."""
    if packed.size != n * n_items:
        raise ValueError("packed answers do not match the instrument's item count")
    raw = packed.reshape(n, n_items)
    out = raw.astype(np.float64)
    out[raw == ANSWER_MISSING] = np.nan
    return out
