"""Instrument versions: linked items, series segments, bridge scoring and segmented trends.

METHODS.md section 1: "a methodology change breaks a series: never fit one trend across a
break". A new instrument version links each of its items to the item of the previous version
it continues (``same``, ``reworded``) or to none (``new``). This module decides, from those
links, what may be compared across versions (docs/DECISIONS.md 53-59):

* **linked items** of a dimension between versions ``a < b``: the items of ``b`` whose chain of
  links reaches ``a`` (every intermediate version included), inside the same dimension;
* a **series** (segment) of a dimension is a run of waves in which every version boundary keeps
  at least :data:`MIN_LINKED_ITEMS` linked items of that dimension over the whole run; where it
  would keep fewer the series **breaks** and a new one starts at the new version. The overall
  ``INDEX`` breaks wherever any dimension breaks (each of its dimensions needs the minimum);
* a series with one version is on the **full** basis (the full-instrument estimates); a series
  spanning versions is on the **linked** basis: every wave of it is scored again on the linked
  items only (METHODS 2, with ``min_valid_share`` applied to the linked item count; the index
  with the wave's version weights) and these *bridge* estimates carry its trend;
* a year-over-year change between two waves of the same version is on the full basis; across a
  version boundary inside a series it is the bridge change (both sides on the linked items);
  across a break it is blank with the reason ``series_break``.

Pure: numpy/pandas and `analysis.trends` only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import trends
from analysis.scoring import INDEX_CODE, DimensionSpec, InstrumentSpec

__all__ = [
    "BASIS_FULL",
    "BASIS_LINKED",
    "CHANGE_COLUMNS",
    "MIN_LINKED_ITEMS",
    "REASON_BRIDGE_MISSING",
    "REASON_SERIES_BREAK",
    "TREND_COLUMNS",
    "ScoringTask",
    "Segment",
    "VersionItems",
    "linked_items",
    "linked_spec",
    "plan_segments",
    "scoring_tasks",
    "segmented_tables",
]

#: A dimension needs at least this many linked items for its series to continue.
MIN_LINKED_ITEMS = 3
BASIS_FULL = "full"
BASIS_LINKED = "linked"
#: change across a series break: no number
REASON_SERIES_BREAK = "series_break"
#: change across a version boundary whose bridge estimate is missing or suppressed on a side
REASON_BRIDGE_MISSING = "bridge_missing"

TREND_COLUMNS: tuple[str, ...] = (*trends.TREND_COLUMNS, "series", "basis", "from_version",
                                  "to_version")
CHANGE_COLUMNS: tuple[str, ...] = (*trends.CHANGE_COLUMNS, "basis", "reason", "from_version",
                                   "to_version")


@dataclass(frozen=True)
class VersionItems:
    """The items of one instrument version and their links to the previous version.

    ``dimensions``: dimension code -> item codes (scoring order); ``predecessor``: item code ->
    the item of version ``version - 1`` it continues, or None (a new item). Version 1 (or any
    version loaded without links) has an empty ``predecessor``: nothing links back from it.
    """

    version: int
    dimensions: Mapping[str, tuple[str, ...]]
    predecessor: Mapping[str, str | None]


def linked_items(versions: Mapping[int, VersionItems], first: int, last: int
                 ) -> dict[int, dict[str, tuple[str, ...]]]:
    """Items of every version ``first..last`` that belong to a chain of links from ``last``
    back to ``first`` within one dimension.

    Returns version -> dimension -> item codes (in that version's order); a dimension without
    linked items maps to ``()``. A missing intermediate version links nothing.
    """
    if first > last:
        raise ValueError(f"first version {first} is after last version {last}")
    span = range(first, last + 1)
    out: dict[int, dict[str, set[str]]] = {v: {} for v in span}
    if any(v not in versions for v in span):
        chains: list[list[str]] = []
    else:
        chains = []
        dim_of = {v: {c: d for d, codes in versions[v].dimensions.items() for c in codes}
                  for v in span}
        for codes in versions[last].dimensions.values():
            for code in codes:
                chain = [code]
                ok = True
                for v in range(last, first, -1):
                    prev = versions[v].predecessor.get(chain[-1])
                    if prev is None or dim_of[v - 1].get(prev) != dim_of[v][chain[-1]]:
                        ok = False
                        break
                    chain.append(prev)
                if ok:
                    chains.append(chain)
        for chain in chains:
            for v, code in zip(range(last, first - 1, -1), chain, strict=True):
                out[v].setdefault(dim_of[v][code], set()).add(code)
    result: dict[int, dict[str, tuple[str, ...]]] = {}
    for v in span:
        if v not in versions:
            result[v] = {}
            continue
        result[v] = {d: tuple(c for c in codes if c in out[v].get(d, set()))
                     for d, codes in versions[v].dimensions.items()}
    return result


@dataclass(frozen=True)
class Segment:
    """One series of a dimension (or ``INDEX``): its waves (years), the versions they use and,
    on the linked basis, the items each version is scored on (version -> dimension -> codes;
    ``None`` on the full basis)."""

    code: str
    series: int
    waves: tuple[int, ...]
    versions: tuple[int, ...]
    items: Mapping[int, Mapping[str, tuple[str, ...]]] | None

    @property
    def basis(self) -> str:
        return BASIS_LINKED if len(self.versions) > 1 else BASIS_FULL

    @property
    def from_version(self) -> int:
        return self.versions[0]

    @property
    def to_version(self) -> int:
        return self.versions[-1]


def _linked_for(versions: Mapping[int, VersionItems], seg_versions: Sequence[int],
                needed: Sequence[str], minimum: int
                ) -> dict[int, dict[str, tuple[str, ...]]] | None:
    """Linked items of ``needed`` dimensions over ``seg_versions`` (ascending), or None when a
    dimension keeps fewer than ``minimum`` or the versions are not ascending."""
    if any(b <= a for a, b in zip(seg_versions, seg_versions[1:], strict=False)):
        return None
    common = linked_items(versions, seg_versions[0], seg_versions[-1])
    if any(len(common[seg_versions[-1]].get(d, ())) < minimum for d in needed):
        return None
    return {v: {d: common[v][d] for d in needed} for v in seg_versions}


def plan_segments(wave_versions: Sequence[tuple[int, int]],
                  versions: Mapping[int, VersionItems],
                  *, minimum: int = MIN_LINKED_ITEMS) -> dict[str, list[Segment]]:
    """The series of every dimension and of ``INDEX`` over an instrument's waves.

    Parameters
    ----------
    wave_versions : sequence of (year, version)
        Every wave of the instrument (any order; sorted by year).
    versions : mapping version -> VersionItems
        Every loaded version (intermediate versions without waves included).
    minimum : int
        Linked items a dimension keeps for its series to continue (METHODS: 3).

    Returns
    -------
    dict
        Code (dimension codes of the versions, then ``INDEX``) -> its segments in wave order,
        numbered from 1. Greedy: a segment grows wave by wave while the linked items over all
        its versions stay at ``minimum`` or more for the code (every dimension for ``INDEX``);
        a version lower than one already in the segment breaks it too.
    """
    waves = sorted(wave_versions)
    if not waves:
        return {}
    dims: list[str] = []
    for _, v in waves:
        for d in versions[v].dimensions if v in versions else ():
            if d not in dims:
                dims.append(d)
    out: dict[str, list[Segment]] = {}
    for code in [*dims, INDEX_CODE]:
        segments: list[Segment] = []
        cur_waves: list[int] = []
        cur_versions: list[int] = []
        cur_items: dict[int, dict[str, tuple[str, ...]]] | None = None
        for year, v in waves:
            if cur_waves and v == cur_versions[-1]:
                cur_waves.append(year)
                continue
            if cur_waves:
                present = set(versions[v].dimensions) if v in versions else set()
                needed = dims if code == INDEX_CODE else [code]
                items = None
                if all(d in present for d in needed) and v not in cur_versions:
                    items = _linked_for(versions, [*cur_versions, v], needed, minimum)
                if items is not None:
                    cur_waves.append(year)
                    cur_versions.append(v)
                    cur_items = items
                    continue
                segments.append(Segment(code, len(segments) + 1, tuple(cur_waves),
                                        tuple(cur_versions), cur_items))
            cur_waves, cur_versions, cur_items = [year], [v], None
        segments.append(Segment(code, len(segments) + 1, tuple(cur_waves), tuple(cur_versions),
                                cur_items))
        out[code] = segments
    return out


@dataclass(frozen=True)
class ScoringTask:
    """One extra scoring pass of a wave: the dimensions' linked items and the codes (dimension
    codes, ``INDEX``) to publish from it, each with its series number."""

    items: Mapping[str, tuple[str, ...]]
    publish: Mapping[str, int]


def scoring_tasks(plan: Mapping[str, list[Segment]], year: int, version: int
                  ) -> list[ScoringTask]:
    """The bridge scorings a wave needs: none when none of its series is on the linked basis.
    The index shares its pass with the dimensions whose linked items are the same; the other
    dimensions get one more pass (at most two per wave)."""
    linked: dict[str, Segment] = {}
    for code, segments in plan.items():
        for seg in segments:
            if year in seg.waves and seg.items is not None:
                linked[code] = seg
    if not linked:
        return []
    tasks: list[ScoringTask] = []
    rest = {c: s for c, s in linked.items() if c != INDEX_CODE}
    index = linked.get(INDEX_CODE)
    if index is not None:
        items = dict(index.items[version])  # type: ignore[index]
        publish = {INDEX_CODE: index.series}
        for code, seg in list(rest.items()):
            if seg.items is not None and seg.items[version][code] == items.get(code):
                publish[code] = seg.series
                del rest[code]
        tasks.append(ScoringTask(items, publish))
    if rest:
        items = {c: s.items[version][c] for c, s in rest.items()}  # type: ignore[index]
        tasks.append(ScoringTask(items, {c: s.series for c, s in rest.items()}))
    return tasks


def linked_spec(spec: InstrumentSpec, items: Mapping[str, tuple[str, ...]]
                ) -> tuple[InstrumentSpec, np.ndarray]:
    """The spec restricted to ``items`` (dimensions in ``spec`` order, the wave's weights,
    scale and ``min_valid_share``) and the answer columns (indices into ``spec.item_codes``)
    that feed it, in the restricted spec's order."""
    position = {c: j for j, c in enumerate(spec.item_codes)}
    dims: list[DimensionSpec] = []
    cols: list[int] = []
    for dim in spec.dimensions:
        if dim.code not in items:
            continue
        keep = set(items[dim.code])
        codes = tuple(c for c in dim.item_codes if c in keep)
        missing = keep - set(codes)
        if missing:
            raise ValueError(f"dimension {dim.code} has no item(s) {sorted(missing)}")
        if not codes:
            raise ValueError(f"dimension {dim.code}: no linked items to score")
        rev = dict(zip(dim.item_codes, dim.reverse, strict=True))
        dims.append(DimensionSpec(dim.code, dim.weight, codes, tuple(rev[c] for c in codes)))
        cols += [position[c] for c in codes]
    unknown = set(items) - {d.code for d in dims}
    if unknown:
        raise ValueError(f"unknown dimension(s) {sorted(unknown)}")
    sub = InstrumentSpec(scale_min=spec.scale_min, scale_max=spec.scale_max,
                         min_valid_share=spec.min_valid_share, dimensions=tuple(dims))
    return sub, np.asarray(cols, dtype=np.intp)


def _published(frame: pd.DataFrame) -> pd.DataFrame:
    keep = ~frame["suppressed"].astype(bool) & frame["estimate"].notna()
    return frame.loc[keep]


def segmented_tables(full: pd.DataFrame, bridge: pd.DataFrame,
                     plan: Mapping[str, list[Segment]], wave_version: Mapping[int, int]
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trends and year-over-year changes that respect version boundaries and breaks.

    Parameters
    ----------
    full : DataFrame
        Full-instrument estimates: ``wave, region, dimension, estimate, se, suppressed``.
    bridge : DataFrame
        Linked-item estimates: the same columns plus ``series`` (may be empty).
    plan : from :func:`plan_segments`
    wave_version : year -> version number of that wave

    Returns
    -------
    (trends, changes)
        ``trends``: :data:`TREND_COLUMNS`, one row per region x code x series with at least one
        published point (full basis: the full estimates of its waves; linked basis: its bridge
        estimates); statistics of :func:`analysis.trends.series_trend`.
        ``changes``: :data:`CHANGE_COLUMNS`, between consecutive published full points of a
        region x code (suppressed or absent waves bridged, as in `analysis.trends`): the full
        change within a version; across a version boundary inside a series the bridge change
        (``basis = linked``), blank with ``reason = bridge_missing`` when a side's bridge
        estimate is not published; across a series break blank with ``reason = series_break``.
        Numbers of blank rows are NaN (``significant`` False).
    """
    pub = _published(full)
    bpub = _published(bridge) if len(bridge) else bridge
    bridge_at: dict[tuple[str, str, int, int], tuple[float, float]] = {}
    if len(bpub):
        for region_b, code_b, series_b, wave_b, est_b, se_b in zip(
                bpub["region"].astype(str), bpub["dimension"].astype(str),
                bpub["series"].astype("int64"), bpub["wave"].astype("int64"),
                bpub["estimate"].astype(float), bpub["se"].astype(float), strict=True):
            bridge_at[(region_b, code_b, int(series_b), int(wave_b))] = (float(est_b),
                                                                         float(se_b))
    series_of: dict[tuple[str, int], Segment] = {}
    for code, segments in plan.items():
        for seg in segments:
            for year in seg.waves:
                series_of[(code, year)] = seg
    trend_rows: list[dict[str, object]] = []
    change_rows: list[dict[str, object]] = []
    # every series first, then their statistics at once (trends.series_trends/year_changes:
    # the results of series_trend/year_change, computed vectorised -- issue 15)
    trend_years: list[np.ndarray] = []
    trend_values: list[np.ndarray] = []
    change_args: list[tuple[int, int, float, float, float, float]] = []
    change_at: list[int] = []  # index in change_rows of each computed change
    nan = float("nan")
    order, keys, _ = trends.series_order(pub)
    region_col = pub["region"].to_numpy()[order]
    code_col = pub["dimension"].to_numpy()[order]
    wave_col = pub["wave"].to_numpy(np.int64)[order]
    est_col = pub["estimate"].to_numpy(float)[order]
    se_col = pub["se"].to_numpy(float)[order]
    bounds = np.r_[0, np.flatnonzero(np.diff(keys)) + 1, keys.size]
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if lo == hi:  # no published row at all
            continue
        region, code = str(region_col[lo]), str(code_col[lo])
        years, est, se = wave_col[lo:hi], est_col[lo:hi], se_col[lo:hi]
        for seg in plan.get(code, []):
            if seg.basis == BASIS_FULL:
                mask = np.isin(years, seg.waves)
                ys, vs = years[mask], est[mask]
            else:
                pts = sorted((y, bridge_at[(region, code, seg.series, y)][0])
                             for y in seg.waves if (region, code, seg.series, y) in bridge_at)
                ys = np.array([p[0] for p in pts], dtype=int)
                vs = np.array([p[1] for p in pts], dtype=float)
            if ys.size == 0:
                continue
            trend_years.append(ys)
            trend_values.append(vs)
            trend_rows.append({"region": region, "dimension": code,
                               "series": seg.series, "basis": seg.basis,
                               "from_version": seg.from_version, "to_version": seg.to_version})
        for i in range(1, years.size):
            a, b = int(years[i - 1]), int(years[i])
            seg_a, seg_b = series_of.get((code, a)), series_of.get((code, b))
            va, vb = wave_version.get(a), wave_version.get(b)
            row: dict[str, object] = {"region": region, "dimension": code, "from_wave": a,
                                      "to_wave": b, "from_version": va, "to_version": vb}
            blank = {"delta": nan, "se": nan, "z": nan, "p": nan, "significant": False,
                     "mdc": nan}
            if seg_a is None or seg_a is not seg_b:
                change_rows.append({**row, **blank, "basis": "", "reason": REASON_SERIES_BREAK})
            elif va == vb:
                change_at.append(len(change_rows))
                change_args.append((a, b, est[i - 1], se[i - 1], est[i], se[i]))
                change_rows.append({**row, "basis": BASIS_FULL, "reason": ""})
            else:
                left = bridge_at.get((region, code, seg_a.series, a))
                right = bridge_at.get((region, code, seg_a.series, b))
                if left is None or right is None:
                    change_rows.append({**row, **blank, "basis": BASIS_LINKED,
                                        "reason": REASON_BRIDGE_MISSING})
                else:
                    change_at.append(len(change_rows))
                    change_args.append((a, b, left[0], left[1], right[0], right[1]))
                    change_rows.append({**row, "basis": BASIS_LINKED, "reason": ""})
    for meta, res in zip(trend_rows, trends.series_trends(trend_years, trend_values),
                         strict=True):
        meta.update(vars(res))  # its fields are numbers and text: no deep copy (asdict)
    if change_args:
        cols = list(zip(*change_args, strict=True))
        computed = trends.year_changes(*(np.asarray(c) for c in cols))
        for k, rec in zip(change_at, computed.to_dict("records"), strict=True):
            change_rows[k].update({str(key): value for key, value in rec.items()})
    trend_df = pd.DataFrame(trend_rows, columns=list(TREND_COLUMNS))
    change_df = pd.DataFrame(change_rows, columns=list(CHANGE_COLUMNS))
    trend_df = trend_df.astype({"n_points": "int64", "first_wave": "int64", "last_wave": "int64",
                                "series": "int64"})
    change_df = change_df.astype({"from_wave": "int64", "to_wave": "int64",
                                  "significant": "bool"})
    return trend_df, change_df
