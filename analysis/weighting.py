"""Final weights: raking (iterative proportional fitting), trimming and Kish effective size.

METHODS.md section 3: per wave, rake the base weights to the population margins region x sex and
region x age_group, stopping when the largest relative change of any weight over a full cycle is
below 1e-10; non-convergence is an error, never a silent result. Margins are restricted to the
regions surveyed in the wave; a sample cell without population, or a population cell with a
positive total but no sample, is an error.

Stopping rule: this module's own (METHODS.md), not R's. R ``survey::rake`` (Lumley) stops when
the largest absolute change, from one cycle to the next, of the weighted table of all raking
variables (``svytable``) is below ``epsilon``: by default ``control = list(maxit = 10,
epsilon = 1)``, i.e. one unit of weight, an ``epsilon`` below 1 being read as a fraction of the
total sampling weight; after ``maxit`` cycles it only warns ("Raking did not converge") and
returns the weights. Here the code stops when ``max_i |w_i^new / w_i^old - 1| < tol`` over a
full cycle (``tol`` 1e-10, :data:`DEFAULT_TOL`), allows up to :data:`DEFAULT_MAX_ITER` (1000)
cycles, raises :class:`RakingError` when they are used up, and then checks that every margin is
met. Converged to that rule the weights agree with R's converged ``rake`` (the reference
weights, test_vectors.md item 3); with R's defaults R may stop earlier, within 1 unit of weight
per table cell.

Sources: Deming & Stephan (1940) for IPF; R ``survey::rake`` (Lumley), for the margins and the
comparison above; Kish (1965) for the effective sample size.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis._validation import (
    as_float_1d,
    check_length,
    check_positive_finite,
    factorize,
    factorize_str,
)

__all__ = [
    "DEFAULT_MAX_ITER",
    "DEFAULT_TOL",
    "KishResult",
    "Margin",
    "RakeResult",
    "RakingError",
    "kish",
    "rake",
    "rake_wave",
    "trim_weights",
]

DEFAULT_TOL = 1e-10
"""Convergence tolerance: largest relative weight change over one full IPF cycle."""

DEFAULT_MAX_ITER = 1000
"""Default maximum number of full IPF cycles before :class:`RakingError`."""


class RakingError(ValueError):
    """Raking cannot produce valid weights: non-convergence or a sample/population mismatch."""


@dataclass(frozen=True)
class Margin:
    """One raking margin.

    Attributes
    ----------
    codes : array_like, shape (n,)
        Category label of every respondent (any hashable labels; no missing).
    totals : Mapping
        Population total per category label (finite, >= 0). Categories with total 0 and no
        respondents are ignored.
    name : str
        Used in error messages.
    """

    codes: np.ndarray | Sequence[Hashable]
    totals: Mapping[Hashable, float]
    name: str = "margin"


@dataclass(frozen=True)
class RakeResult:
    """Result of raking.

    Attributes
    ----------
    weights : ndarray, shape (n,)
        Final weights, aligned with the input respondents.
    iterations : int
        Number of full IPF cycles run (summed over re-rakes when trimming).
    max_change : float
        Largest relative weight change ``max |w_new / w_old - 1|`` over the last cycle (< tol;
        this module's stopping rule, not R ``rake``'s table-change rule).
    n_trimmed : int
        Number of weights capped by trimming (0 when trimming is off).
    """

    weights: np.ndarray
    iterations: int
    max_change: float
    n_trimmed: int = 0

    @property
    def kish(self) -> KishResult:
        """Kish effective size of all the final weights."""
        return kish(self.weights)


@dataclass(frozen=True)
class KishResult:
    """Kish effective sample size: ``n``, ``n_eff = (sum w)^2 / sum w^2``, ``deff_w = n/n_eff``."""

    n: int
    n_eff: float
    deff_w: float


def kish(weights: Sequence[float] | np.ndarray) -> KishResult:
    """Kish effective sample size and weighting design effect.

    Formulas: ``n_eff = (sum w)^2 / sum w^2`` and ``deff_w = n / n_eff`` (Kish 1965; METHODS.md
    section 3).

    Parameters
    ----------
    weights : array_like, shape (n,)
        Positive finite weights of the respondents in the domain (a missing score means the
        respondent is simply not passed here).

    Returns
    -------
    KishResult
        For ``n = 0``: ``n_eff = 0`` and ``deff_w = NaN``.

    Raises
    ------
    ValueError
        If a weight is not finite and > 0.

    References
    ----------
    Kish, L. (1965). Survey Sampling. Wiley, section 11.7; METHODS.md section 3.
    """
    w = as_float_1d(weights, "weights")
    check_positive_finite(w, "weights")
    if w.size == 0:
        return KishResult(n=0, n_eff=0.0, deff_w=float("nan"))
    n_eff = float(w.sum() ** 2 / np.dot(w, w))
    return KishResult(n=int(w.size), n_eff=n_eff, deff_w=float(w.size / n_eff))


def _aligned_totals(labels: Sequence[Hashable], totals: Mapping[Hashable, float],
                    name: str) -> np.ndarray:
    """Population totals aligned with the sample categories ``labels``; check both directions."""
    present = set(labels)
    for key, value in totals.items():
        v = float(value)
        if not np.isfinite(v) or v < 0:
            raise RakingError(f"margin {name}: population total of {key!r} must be finite and "
                              f">= 0, got {value!r}")
        if v > 0 and key not in present:
            raise RakingError(f"margin {name}: population cell {key!r} (total {v:g}) has no "
                              f"respondent in the sample")
    out = np.empty(len(labels))
    for k, label in enumerate(labels):
        total = totals.get(label)
        if total is None or float(total) == 0:
            raise RakingError(f"margin {name}: sample cell {label!r} has no population "
                              f"(total {total!r})")
        out[k] = float(total)
    return out


def _ipf(w0: np.ndarray, coded: Sequence[tuple[np.ndarray, np.ndarray]], names: Sequence[str],
         tol: float, max_iter: int) -> tuple[np.ndarray, int, float]:
    """IPF on integer-coded margins; returns (weights, cycles, last max relative change)."""
    w = w0.copy()
    change = float("inf")
    for cycle in range(1, max_iter + 1):
        old = w.copy()
        for codes, target in coded:
            sums = np.bincount(codes, weights=w, minlength=target.size)
            w *= (target / sums)[codes]
        change = float(np.max(np.abs(w / old - 1.0))) if w.size else 0.0
        if change < tol:
            _check_margins_met(w, coded, names, tol)
            return w, cycle, change
    raise RakingError(f"raking did not converge in {max_iter} cycles (largest relative change "
                      f"in the last cycle {change:.3g}, tolerance {tol:g})")


def _check_margins_met(w: np.ndarray, coded: Sequence[tuple[np.ndarray, np.ndarray]],
                       names: Sequence[str], tol: float) -> None:
    """Raise if a margin is missed after the weights stopped changing.

    Margins with different grand totals make IPF settle into a fixed cycle whose weights no
    longer change from one full cycle to the next although only the last margin is met; the
    stopping rule alone would accept that.
    """
    rtol = max(1e-6, 10 * tol)
    for (codes, target), name in zip(coded, names, strict=True):
        sums = np.bincount(codes, weights=w, minlength=target.size)
        worst = float(np.max(np.abs(sums / target - 1.0)))
        if worst > rtol:
            raise RakingError(
                f"margin {name} cannot be met together with the others (largest relative gap "
                f"{worst:.3g}); margins sum to {sorted({float(t.sum()) for _, t in coded})}")


def _check_controls(tol: float, max_iter: int) -> None:
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be finite and > 0, got {tol!r}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")


def rake(base_weights: Sequence[float] | np.ndarray,
         margins: Sequence[Margin],
         *,
         tol: float = DEFAULT_TOL,
         max_iter: int = DEFAULT_MAX_ITER) -> RakeResult:
    """Rake weights to any number of margins by iterative proportional fitting.

    One cycle post-stratifies to each margin in turn: ``w_i <- w_i T_c / sum_{j in c} w_j`` for
    the category ``c`` of respondent ``i``. Cycles repeat until
    ``max_i |w_i^new / w_i^old - 1| < tol`` over a full cycle (METHODS.md section 3,
    ``tol = 1e-10``). This is a relative rule on the weights, not R ``survey::rake``'s, which
    stops when the largest absolute change of the weighted table of the raking variables is
    below ``epsilon`` (default 1 unit of weight, ``maxit`` 10, and only a warning when not
    converged); see the module docstring.

    Parameters
    ----------
    base_weights : array_like, shape (n,)
        Starting (design) weights, finite and > 0.
    margins : sequence of Margin
        Each with per-respondent labels and population totals per label.
    tol : float, default 1e-10
    max_iter : int, default 1000
        Maximum number of full cycles.

    Returns
    -------
    RakeResult

    Raises
    ------
    RakingError
        On non-convergence within ``max_iter`` cycles; when the weights have stopped changing
        but a margin is missed by more than ``max(1e-6, 10 tol)`` relative (inconsistent
        margins, which R ``rake`` would accept silently); on a sample category without
        population (absent or total 0); or on a population category with a positive total and
        no sample.
    ValueError
        On invalid weights, a missing label, a length mismatch or invalid controls.

    Notes
    -----
    Missing data: a respondent without a label for a margin cannot be raked; it is an error.
    Margins whose totals differ (e.g. sex sums to 1000, age to 1010) cannot all be met: IPF then
    settles into a cycle that passes the stopping rule, so every margin is checked afterwards.

    References
    ----------
    Deming, W. E. & Stephan, F. F. (1940). On a least squares adjustment of a sampled
    frequency table when the expected marginal totals are known. Ann. Math. Stat. 11, 427-444.
    Lumley, T. R package survey, ``rake()`` (stops on ``max|oldtable - newtable| < epsilon`` of
    the weighted table, ``control = list(maxit = 10, epsilon = 1)`` by default).
    METHODS.md section 3.
    """
    _check_controls(tol, max_iter)
    w0 = as_float_1d(base_weights, "base_weights")
    check_positive_finite(w0, "base_weights")
    if len(margins) == 0:
        raise ValueError("rake needs at least one margin")
    coded = []
    for m in margins:
        check_length(m.codes, w0.size, f"margin {m.name} codes", "base_weights")
        codes, labels = factorize(m.codes, f"margin {m.name} codes")
        coded.append((codes, _aligned_totals(list(labels), m.totals, m.name)))
    w, cycles, change = _ipf(w0, coded, [m.name for m in margins], tol, int(max_iter))
    return RakeResult(weights=w, iterations=cycles, max_change=change)


def trim_weights(weights: Sequence[float] | np.ndarray,
                 groups: Sequence[Hashable] | np.ndarray,
                 *,
                 iqr_multiplier: float = 3.5,
                 mean_multiplier: float = 5.0) -> np.ndarray:
    """Cap weights within groups at ``min(median + 3.5 IQR, 5 mean)`` (METHODS.md section 3).

    Parameters
    ----------
    weights : array_like, shape (n,)
        Positive finite weights.
    groups : array_like, shape (n,)
        Group label of each weight (the region); median, IQR (quartiles by linear
        interpolation, R's type 7) and mean are taken within the group.
    iqr_multiplier, mean_multiplier : float

    Returns
    -------
    ndarray, shape (n,)
        ``min(w_i, cap_g(i))``. Trimming breaks the margins: re-rake afterwards
        (:func:`rake_wave` does so with ``trim=True``).

    References
    ----------
    METHODS.md section 3 (trimming, optional); Potter, F. (1990). A study of procedures
    to identify and trim extreme sampling weights. Proc. ASA Survey Research Methods Section.
    Missing data: weights and groups must be complete (ValueError otherwise).
    """
    w = as_float_1d(weights, "weights")
    check_positive_finite(w, "weights")
    check_length(groups, w.size, "groups", "weights")
    codes, _ = factorize(groups, "groups")
    grouped = pd.Series(w).groupby(codes)
    q1 = grouped.quantile(0.25).to_numpy()
    q2 = grouped.quantile(0.5).to_numpy()
    q3 = grouped.quantile(0.75).to_numpy()
    mean = grouped.mean().to_numpy()
    cap = np.minimum(q2 + iqr_multiplier * (q3 - q1), mean_multiplier * mean)
    return np.minimum(w, cap[codes])


def _cell_codes(first: np.ndarray, first_labels: Sequence[str], second: np.ndarray,
                second_labels: Sequence[str]) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Codes 0..m-1 of the (first, second) cells that occur, and their label pairs."""
    n_second = len(second_labels)
    pair = first * n_second + second
    present = np.bincount(pair, minlength=len(first_labels) * n_second) > 0
    cells = np.flatnonzero(present)
    position = np.cumsum(present) - 1
    labels = [(first_labels[u // n_second], second_labels[u % n_second])
              for u in cells.tolist()]
    return position[pair].astype(np.intp, copy=False), labels


def rake_wave(*,
              region: Sequence[Hashable] | np.ndarray,
              sex: Sequence[Hashable] | np.ndarray,
              age_group: Sequence[Hashable] | np.ndarray,
              base_weight: Sequence[float] | np.ndarray,
              population: pd.DataFrame,
              year: int | None = None,
              tol: float = DEFAULT_TOL,
              max_iter: int = DEFAULT_MAX_ITER,
              trim: bool = False,
              trim_rounds: int = 1) -> RakeResult:
    """Final weights of one wave: rake to region x sex and region x age_group (METHODS.md 3).

    Margins: population totals summed from ``population`` over age groups (for region x sex)
    and over sexes (for region x age_group), restricted to the regions that have respondents in
    the wave. Labels are compared as strings (``6401`` and ``"6401"`` are the same region).

    Parameters
    ----------
    region, sex, age_group : array_like, shape (n,)
        Per-respondent labels (no missing).
    base_weight : array_like, shape (n,)
        Design weights, finite and > 0.
    population : DataFrame
        Columns ``region, sex, age_group, population`` and optionally ``year``.
    year : int, optional
        Keep only population rows of this year; required when ``population`` holds several
        years.
    tol, max_iter : see :func:`rake`.
    trim : bool, default False
        When True, after raking cap weights within region with :func:`trim_weights` and re-rake,
        ``trim_rounds`` times (the caps are recomputed each round; the final re-raked weights
        meet the margins exactly but may again exceed a cap slightly).
    trim_rounds : int, default 1

    Returns
    -------
    RakeResult

    Raises
    ------
    RakingError
        Non-convergence; a sample cell (region x sex or region x age_group) without population;
        a population cell of a surveyed region with positive total and no respondent.
    ValueError
        Missing labels, bad weights, missing population columns, several years without ``year``.

    References
    ----------
    METHODS.md section 3; reference/README.md (R survey 4.1 ``rake`` to the same margins).

    Examples
    --------
    >>> import pandas as pd
    >>> pop = pd.DataFrame({"region": ["A"] * 4, "sex": ["L", "L", "P", "P"],
    ...                     "age_group": ["y", "o", "y", "o"], "population": [30, 20, 25, 25]})
    >>> r = rake_wave(region=["A"] * 4, sex=["L", "L", "P", "P"], age_group=["y", "o", "y", "o"],
    ...               base_weight=[1, 1, 1, 1], population=pop)
    >>> [round(float(x), 6) for x in r.weights]  # margins L 50, P 50; young 55, old 45
    [27.5, 22.5, 27.5, 22.5]
    """
    _check_controls(tol, max_iter)
    w0 = as_float_1d(base_weight, "base_weight")
    check_positive_finite(w0, "base_weight")
    for arr, name in ((region, "region"), (sex, "sex"), (age_group, "age_group")):
        check_length(arr, w0.size, name, "base_weight")
    required = {"region", "sex", "age_group", "population"}
    absent = sorted(required - set(population.columns))
    if absent:
        raise ValueError(f"population lacks the column(s) {absent}")
    pop = population
    if year is not None:
        if "year" not in pop.columns:
            raise ValueError("year given but population has no 'year' column")
        pop = pop[pd.to_numeric(pop["year"]) == int(year)]
        if pop.empty:
            raise RakingError(f"population has no row for year {year}")
    elif "year" in pop.columns and pop["year"].nunique() > 1:
        raise ValueError("population holds several years: pass year=")
    r_codes, r_labels = factorize_str(region, "region")
    s_codes, s_labels = factorize_str(sex, "sex")
    a_codes, a_labels = factorize_str(age_group, "age_group")

    pop = pop.assign(region=pop["region"].astype(str), sex=pop["sex"].astype(str),
                     age_group=pop["age_group"].astype(str),
                     population=pd.to_numeric(pop["population"], errors="raise"))
    pop = pop[pop["region"].isin(set(r_labels))]
    missing_regions = sorted(set(r_labels) - set(pop["region"]))
    if missing_regions:
        raise RakingError(f"surveyed region(s) {missing_regions} have no population rows")
    by_sex = pop.groupby(["region", "sex"])["population"].sum().to_dict()
    by_age = pop.groupby(["region", "age_group"])["population"].sum().to_dict()

    rs_codes, rs_labels = _cell_codes(r_codes, r_labels, s_codes, s_labels)
    ra_codes, ra_labels = _cell_codes(r_codes, r_labels, a_codes, a_labels)
    coded = [
        (rs_codes, _aligned_totals(rs_labels, by_sex, "region x sex")),
        (ra_codes, _aligned_totals(ra_labels, by_age, "region x age_group")),
    ]
    names = ["region x sex", "region x age_group"]
    w, cycles, change = _ipf(w0, coded, names, tol, int(max_iter))
    n_trimmed = 0
    if trim:
        for _ in range(int(trim_rounds)):
            capped = trim_weights(w, r_codes)
            n_trimmed += int(np.count_nonzero(capped < w))
            w, more, change = _ipf(capped, coded, names, tol, int(max_iter))
            cycles += more
    return RakeResult(weights=w, iterations=cycles, max_change=change, n_trimmed=n_trimmed)
