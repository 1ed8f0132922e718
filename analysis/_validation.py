"""Shared input checks for ``analysis``: each raises ``ValueError`` with a precise message.

These helpers are private; public functions call them first so that bad input fails before any
computation, naming the argument and, where useful, the first offending position.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized

import numpy as np
import pandas as pd


def as_float_1d(values: object, name: str) -> np.ndarray:
    """Return ``values`` as a 1-D float64 array; raise ``ValueError`` if that is impossible."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def as_float_2d(values: object, name: str) -> np.ndarray:
    """Return ``values`` as a 2-D float64 array (NaN allowed); raise ``ValueError`` otherwise."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric (NaN for missing): {exc}") from exc
    if arr.ndim != 2:
        raise ValueError(f"{name} must be two-dimensional (respondents x columns), got shape "
                         f"{arr.shape}")
    return arr


def check_length(arr: Sized, expected: int, name: str, reference: str) -> None:
    """Raise ``ValueError`` unless ``len(arr) == expected``."""
    if len(arr) != expected:
        raise ValueError(f"{name} has length {len(arr)}, expected {expected} (as {reference})")


def check_positive_finite(arr: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` unless every element of ``arr`` is finite and > 0."""
    bad = ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be finite and > 0; position {i} is {float(arr[i])!r} "
                         f"({int(bad.sum())} bad value(s))")


def _factorize_fixed_width(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(arr, return_inverse=True)`` (codes, sorted labels) of a 1-D fixed-width
    string array, by hashing its bytes as 64-bit words (one exact ``pd.factorize`` per word,
    codes combined pairwise) instead of sorting strings: ~4x faster on a million short codes.
    Equal strings have equal bytes (numpy pads with NUL), so the codes are exact."""
    n, width = arr.size, arr.dtype.itemsize
    if n == 0 or width == 0:
        uniques, codes = np.unique(arr, return_inverse=True)
        return codes.reshape(-1), uniques
    raw = np.ascontiguousarray(arr).view(np.uint8).reshape(n, width)
    if width % 8:
        raw = np.concatenate([raw, np.zeros((n, 8 - width % 8), dtype=np.uint8)], axis=1)
    words = raw.view(np.uint64)
    codes, first = pd.factorize(words[:, 0])
    n_codes = len(first)
    for j in range(1, words.shape[1]):
        word, seen = pd.factorize(words[:, j])
        codes, combined = pd.factorize(codes.astype(np.int64) * len(seen) + word)
        n_codes = len(combined)
    # codes are numbered by first appearance: label k is the value where code k first occurs
    first_at = np.flatnonzero(np.r_[True, codes[1:] > np.maximum.accumulate(codes)[:-1]])
    labels = arr[first_at]
    order = np.argsort(labels, kind="stable")
    rank = np.empty(n_codes, dtype=np.intp)
    rank[order] = np.arange(n_codes)
    return rank[codes], labels[order]


def factorize(values: object, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..k-1 and the sorted unique labels of ``values`` (no missing allowed).

    Accepts lists, numpy arrays and pandas Series/Index/Categorical without converting them to
    Python objects first (that conversion dominated the run time on a million rows).
    """
    if isinstance(values, (pd.Series, pd.Index, pd.Categorical)) or (
        isinstance(values, np.ndarray) and values.dtype.kind not in "US"
    ):
        arr = values
    else:
        arr = np.asarray(values)
    if getattr(arr, "ndim", 1) != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {np.shape(arr)}")
    uniques: np.ndarray | pd.Index | pd.Categorical
    if isinstance(arr, np.ndarray) and arr.dtype.kind in "US":
        # Fixed-width strings cannot be missing: factorized on their bytes (exact)
        codes, uniques = _factorize_fixed_width(arr)
    else:
        codes, uniques = pd.factorize(arr, sort=True)
        missing = codes < 0
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise ValueError(f"{name} has a missing label at position {i} "
                             f"({int(missing.sum())} missing)")
    labels = np.empty(len(uniques), dtype=object)
    labels[:] = uniques.tolist()  # native Python labels, so messages read 'A', not np.str_('A')
    return np.asarray(codes, dtype=np.intp), labels


def factorize_str(values: object, name: str) -> tuple[np.ndarray, list[str]]:
    """Like :func:`factorize`, with labels compared as strings (``6401`` equals ``"6401"``).

    Labels are returned as ``str``, sorted as strings; raw labels with the same text share a
    code.
    """
    codes, raw = factorize(values, name)
    text = [str(x) for x in raw]
    labels = sorted(set(text))
    position = {label: k for k, label in enumerate(labels)}
    remap = np.array([position[t] for t in text], dtype=np.intp)
    return remap[codes], labels


def require_columns(df: pd.DataFrame, name: str, cols: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the columns of ``cols`` that ``df`` lacks."""
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{name} lack column(s) {missing}; need {list(cols)}")


def published_index(est: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``est`` not suppressed and with an estimate; ``suppressed`` must be all booleans."""
    supp = est["suppressed"]
    if supp.isna().any() or not supp.isin([True, False]).all():
        raise ValueError("estimates.suppressed must hold booleans only (no missing values)")
    return est.loc[~supp.astype(bool) & est["estimate"].notna()]


def check_unique(labels: Sequence[str], name: str) -> None:
    """Raise ``ValueError`` if ``labels`` holds a duplicate."""
    seen: set[str] = set()
    for label in labels:
        if label in seen:
            raise ValueError(f"{name} contains the duplicate {label!r}")
        seen.add(label)

