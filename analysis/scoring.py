"""Scoring of Likert answers into item, dimension and overall-index scores (METHODS.md section 2).

Formulas, for an instrument on the scale ``min..max`` (``min = 1, max = K`` gives METHODS' form)::

    reverse-keyed:    x' = min + max - x                      ((K + 1) - x on 1..K)
    item score:       s  = 100 (x' - min) / (max - min)       -> 0..100
    dimension score:  D  = mean of the valid item scores of the dimension,
                           if (#valid / #items) >= min_valid_share - 1e-9, else missing
    overall index:    I  = sum_d w_d D_d / sum_d w_d          (missing if any D_d is missing)

Category bands of a 0-100 value: [0,20) sangat rendah, [20,40) rendah, [40,60) sedang,
[60,80) tinggi, [80,100] sangat tinggi (Kemenag KUB bands).

Missing data: an answer is missing when it is NaN; missing answers never count as valid items.

Sources: METHODS.md section 2; OECD/JRC Handbook on Constructing Composite Indicators (2008) for
the formative weighted-mean composite.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis._validation import as_float_1d, as_float_2d, check_unique

__all__ = [
    "CATEGORY_BANDS",
    "INDEX_CODE",
    "VALID_SHARE_TOLERANCE",
    "DimensionSpec",
    "InstrumentSpec",
    "ScoreResult",
    "answers_from_frame",
    "categorize",
    "item_scores",
    "reverse_key",
    "score",
]

INDEX_CODE = "INDEX"
"""Dimension code used for the overall index in every output table."""

VALID_SHARE_TOLERANCE = 1e-9
"""Tolerance of the ``valid/items >= min_valid_share`` comparison (METHODS.md section 2)."""

CATEGORY_BANDS: tuple[tuple[float, float, str], ...] = (
    (0.0, 20.0, "sangat rendah"),
    (20.0, 40.0, "rendah"),
    (40.0, 60.0, "sedang"),
    (60.0, 80.0, "tinggi"),
    (80.0, 100.0, "sangat tinggi"),
)
"""``(lower, upper, label)``; every band is ``[lower, upper)`` except the last, ``[80, 100]``."""

_CATEGORY_LABELS = np.array([band[2] for band in CATEGORY_BANDS], dtype=object)
_CATEGORY_CUTS = np.array([band[0] for band in CATEGORY_BANDS[1:]])
# A weighted mean of values in [0, 100] can land a rounding error outside the range.
_RANGE_SLACK = 1e-9


@dataclass(frozen=True)
class DimensionSpec:
    """One dimension (sila) of an instrument.

    Attributes
    ----------
    code : str
        Dimension code, e.g. ``"S1"``; must not be ``"INDEX"``.
    weight : float
        Weight of the dimension in the overall index (finite, >= 0).
    item_codes : tuple of str
        Codes of the dimension's items, in answer-matrix order.
    reverse : tuple of bool
        ``reverse[j]`` is True when ``item_codes[j]`` is reverse-keyed.
    """

    code: str
    weight: float
    item_codes: tuple[str, ...]
    reverse: tuple[bool, ...]

    def __post_init__(self) -> None:
        if not self.code or self.code == INDEX_CODE:
            raise ValueError(f"dimension code must be non-empty and not {INDEX_CODE!r}, "
                             f"got {self.code!r}")
        if not (np.isfinite(self.weight) and self.weight >= 0):
            raise ValueError(f"dimension {self.code}: weight must be finite and >= 0, "
                             f"got {self.weight!r}")
        if len(self.item_codes) == 0:
            raise ValueError(f"dimension {self.code} has no items")
        if len(self.reverse) != len(self.item_codes):
            raise ValueError(f"dimension {self.code}: {len(self.item_codes)} item codes but "
                             f"{len(self.reverse)} reverse flags")


@dataclass(frozen=True)
class InstrumentSpec:
    """The scoring-relevant part of an instrument version.

    Attributes
    ----------
    scale_min, scale_max : int
        Answer scale, e.g. 1 and 5 (or 1 and 7); ``scale_min < scale_max``.
    min_valid_share : float
        Share of valid items a dimension needs to be scored, in (0, 1]; METHODS default 2/3.
    dimensions : tuple of DimensionSpec
        The dimensions, in output order; item codes unique across the instrument and the
        sum of the weights positive.
    """

    scale_min: int
    scale_max: int
    min_valid_share: float
    dimensions: tuple[DimensionSpec, ...]

    def __post_init__(self) -> None:
        if not self.scale_min < self.scale_max:
            raise ValueError(f"scale_min ({self.scale_min}) must be below scale_max "
                             f"({self.scale_max})")
        if not 0 < self.min_valid_share <= 1:
            raise ValueError(f"min_valid_share must be in (0, 1], got {self.min_valid_share!r}")
        if len(self.dimensions) == 0:
            raise ValueError("an instrument needs at least one dimension")
        check_unique([d.code for d in self.dimensions], "dimension codes")
        check_unique(self.item_codes, "item codes")
        if sum(d.weight for d in self.dimensions) <= 0:
            raise ValueError("the dimension weights must have a positive sum")

    @property
    def item_codes(self) -> tuple[str, ...]:
        """All item codes, dimension by dimension: the column order of an answer matrix."""
        return tuple(code for d in self.dimensions for code in d.item_codes)

    @property
    def reverse(self) -> tuple[bool, ...]:
        """Reverse-keying flags aligned with :attr:`item_codes`."""
        return tuple(bool(r) for d in self.dimensions for r in d.reverse)

    @property
    def dimension_codes(self) -> tuple[str, ...]:
        """Dimension codes in order."""
        return tuple(d.code for d in self.dimensions)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> InstrumentSpec:
        """Build a spec from a parsed instrument JSON (INTERFACE.md section 1).

        Uses ``scale.min``, ``scale.max``, ``min_valid_share`` (default 2/3 when absent) and
        ``dimensions[].{code, weight, items[].{code, reverse}}``; texts and facets are ignored.
        """
        try:
            scale = data["scale"]
            dims = tuple(
                DimensionSpec(
                    code=str(d["code"]),
                    weight=float(d["weight"]),
                    item_codes=tuple(str(it["code"]) for it in d["items"]),
                    reverse=tuple(bool(it.get("reverse", False)) for it in d["items"]),
                )
                for d in data["dimensions"]
            )
            return cls(
                scale_min=int(scale["min"]),
                scale_max=int(scale["max"]),
                min_valid_share=float(data.get("min_valid_share", 2 / 3)),
                dimensions=dims,
            )
        except KeyError as exc:
            raise ValueError(f"instrument definition lacks the key {exc.args[0]!r}") from exc


@dataclass(frozen=True)
class ScoreResult:
    """Scores of ``n`` respondents.

    Attributes
    ----------
    items : ndarray, shape (n, p)
        Item scores 0..100 after reverse-keying, NaN where the answer is missing; columns in
        ``item_codes`` order.
    dimensions : ndarray, shape (n, d)
        Dimension scores 0..100, NaN where too few items are valid; columns in
        ``dimension_codes`` order.
    index : ndarray, shape (n,)
        Overall index 0..100, NaN where any dimension is missing.
    dimension_codes : tuple of str
    item_codes : tuple of str
    """

    items: np.ndarray
    dimensions: np.ndarray
    index: np.ndarray
    dimension_codes: tuple[str, ...]
    item_codes: tuple[str, ...]

    @property
    def all_codes(self) -> tuple[str, ...]:
        """Dimension codes followed by ``"INDEX"``: the columns of :attr:`all_scores`."""
        return (*self.dimension_codes, INDEX_CODE)

    @property
    def all_scores(self) -> np.ndarray:
        """``(n, d + 1)`` matrix of the dimension scores and the index (last column).

        Column-major, so that each score column is contiguous.
        """
        return np.vstack([self.dimensions.T, self.index]).T


def _check_answers(answers: object, spec: InstrumentSpec) -> np.ndarray:
    arr = as_float_2d(answers, "answers")
    p = len(spec.item_codes)
    if arr.shape[1] != p:
        raise ValueError(f"answers has {arr.shape[1]} columns but the instrument has {p} items "
                         f"(columns must follow spec.item_codes)")
    # NaN compares False, so missing answers pass; two cheap passes instead of a masked copy.
    if (arr < spec.scale_min).any() or (arr > spec.scale_max).any():
        bad = np.argwhere((arr < spec.scale_min) | (arr > spec.scale_max))[0]
        raise ValueError(
            f"answer {float(arr[bad[0], bad[1]])!r} of respondent row {bad[0]}, item "
            f"{spec.item_codes[bad[1]]} is outside the scale {spec.scale_min}..{spec.scale_max}")
    return arr


def answers_from_frame(frame: pd.DataFrame, spec: InstrumentSpec) -> np.ndarray:
    """Extract the ``(n, p)`` answer matrix of ``spec.item_codes`` from a wide frame.

    Parameters
    ----------
    frame : DataFrame
        One row per respondent; item columns named by item code; other columns are ignored.
    spec : InstrumentSpec

    Returns
    -------
    ndarray, shape (n, p), float64
        Empty strings / NaN become NaN (missing). An item column absent from ``frame`` is all
        missing (INTERFACE.md section 1).

    Raises
    ------
    ValueError
        If a present item column holds a non-numeric value.

    References
    ----------
    INTERFACE.md section 1 (responses CSV: an empty cell is a missing answer).
    """
    out = np.full((len(frame), len(spec.item_codes)), np.nan)
    for j, code in enumerate(spec.item_codes):
        if code not in frame.columns:
            continue
        col = frame[code]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            col = col.replace("", np.nan)
        try:
            out[:, j] = pd.to_numeric(col, errors="raise").to_numpy(dtype=np.float64,
                                                                    na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"item column {code} is not numeric: {exc}") from exc
    return out


def reverse_key(answers: np.ndarray, spec: InstrumentSpec) -> np.ndarray:
    """Reverse-key the raw answers: ``x' = scale_min + scale_max - x`` on reverse-keyed items.

    On a 1..K scale this is METHODS' ``x' = (K + 1) - x``. These are the values reliability
    (METHODS.md section 5) is computed on.

    Parameters
    ----------
    answers : ndarray, shape (n, p)
        Raw answers in ``spec.item_codes`` column order; NaN = missing (kept as NaN).
    spec : InstrumentSpec

    Returns
    -------
    ndarray, shape (n, p), float64
        A new array in column-major (Fortran) order; items that are not reverse-keyed are
        copied unchanged.

    Raises
    ------
    ValueError
        On a wrong number of columns or an answer outside ``scale_min..scale_max``.

    References
    ----------
    METHODS.md section 2 (scoring), ../shared/docs/METHODS.md.
    """
    arr = _check_answers(answers, spec)
    # Column-major copy: each item, and each dimension's block of items, is contiguous, which
    # makes the per-column and per-dimension passes below (and in reliability) cheap.
    out = np.array(arr, dtype=np.float64, order="F", copy=True)
    total = spec.scale_min + spec.scale_max
    for j in np.flatnonzero(spec.reverse):
        np.subtract(total, out[:, j], out=out[:, j])
    return out


def item_scores(answers: np.ndarray, spec: InstrumentSpec) -> np.ndarray:
    """Item scores ``s = 100 (x' - min) / (max - min)`` on 0..100, after reverse-keying.

    Parameters
    ----------
    answers : ndarray, shape (n, p)
        Raw answers in ``spec.item_codes`` order; NaN = missing (stays NaN).
    spec : InstrumentSpec

    Returns
    -------
    ndarray, shape (n, p), float64

    References
    ----------
    METHODS.md section 2 (scoring), ../shared/docs/METHODS.md.
    Missing data: NaN answers stay NaN.
    """
    keyed = reverse_key(answers, spec)
    keyed -= spec.scale_min
    keyed *= 100.0
    keyed /= spec.scale_max - spec.scale_min
    return keyed


def score(answers: np.ndarray, spec: InstrumentSpec) -> ScoreResult:
    """Score respondents: item scores, dimension scores and the overall index.

    Formulas (METHODS.md section 2)::

        x' = min + max - x (reverse-keyed items), s = 100 (x' - min) / (max - min)
        D  = mean of valid s in the dimension  if #valid / #items >= min_valid_share - 1e-9
        I  = sum_d w_d D_d / sum_d w_d

    Parameters
    ----------
    answers : ndarray, shape (n, p)
        Raw answers, columns in ``spec.item_codes`` order, NaN = missing.
    spec : InstrumentSpec

    Returns
    -------
    ScoreResult

    Notes
    -----
    Missing data: a dimension score averages the valid items only and is missing (NaN) when the
    share of valid items is below ``min_valid_share`` (with a 1e-9 tolerance so that 4/6 meets
    2/3); the index is missing when any dimension is missing. Dimensions may have different
    numbers of items. Vectorised: one pass per dimension over its contiguous block of items.

    Raises
    ------
    ValueError
        On a wrong number of columns or an answer outside the scale.

    References
    ----------
    METHODS.md section 2 (scoring), ../shared/docs/METHODS.md.
    OECD/JRC (2008), Handbook on Constructing Composite Indicators (weighted mean of
    dimensions as a formative composite).
    """
    items = item_scores(answers, spec)
    n = items.shape[0]
    dims_t = np.empty((len(spec.dimensions), n))
    start = 0
    for k, dim in enumerate(spec.dimensions):
        size = len(dim.item_codes)
        block = items[:, start:start + size]  # contiguous: items is column-major
        start += size
        valid = ~np.isnan(block)
        counts = valid.sum(axis=1)
        sums = np.where(valid, block, 0.0).sum(axis=1)
        ok = counts / size >= spec.min_valid_share - VALID_SHARE_TOLERANCE
        with np.errstate(invalid="ignore", divide="ignore"):
            dims_t[k] = np.where(ok, sums / counts, np.nan)
    dims = dims_t.T
    weights = np.array([dim.weight for dim in spec.dimensions])
    index = np.zeros(n)
    for k, w in enumerate(weights):
        index += w * dims_t[k]
    index /= weights.sum()
    # Masked explicitly: with a zero weight, 0 * NaN is NaN anyway, but METHODS' rule is
    # "missing if any dimension is missing" and it should not hinge on float arithmetic.
    index[np.isnan(dims_t).any(axis=0)] = np.nan
    return ScoreResult(
        items=items,
        dimensions=dims,
        index=index,
        dimension_codes=spec.dimension_codes,
        item_codes=spec.item_codes,
    )


def categorize(values: Sequence[float] | np.ndarray | float) -> np.ndarray:
    """Category band of 0-100 values.

    Bands: [0,20) ``sangat rendah``, [20,40) ``rendah``, [40,60) ``sedang``, [60,80) ``tinggi``,
    [80,100] ``sangat tinggi`` (METHODS.md section 2; Kemenag KUB bands).

    Parameters
    ----------
    values : array_like of float
        NaN / None means missing.

    Returns
    -------
    ndarray of object, same shape as ``values``
        The band label (str), or ``None`` where the value is missing.

    Raises
    ------
    ValueError
        If a value lies outside [0, 100] by more than 1e-9 (rounding slack).

    References
    ----------
    METHODS.md section 2; Kemenag Indeks Kerukunan Umat Beragama category bands.
    """
    arr = np.asarray(values, dtype=np.float64)
    flat = as_float_1d(arr.reshape(-1), "values")
    missing = np.isnan(flat)
    present = flat[~missing]
    if present.size and (present.min() < -_RANGE_SLACK or present.max() > 100 + _RANGE_SLACK):
        raise ValueError(f"category values must lie in [0, 100]; got min {present.min()!r}, "
                         f"max {present.max()!r}")
    out = np.full(flat.shape, None, dtype=object)
    out[~missing] = _CATEGORY_LABELS[np.searchsorted(_CATEGORY_CUTS, present, side="right")]
    return out.reshape(arr.shape)
