"""The k-anonymity planner of the microdata export (pure: no Django, no database).

Input: one record per wave x region x sex x age group cell - (year, region, sex, age group,
n, sum of final weights). Per wave x region the planner picks the least generalisation that
gives every cell at least k records:

* level 0 - keep;
* level 1 - merge age groups into 17-34 / 35-54 / 55+ (`WIDE_AGE`);
* level 2 - also blank sex.

Cells that still have fewer than k records at level 2 are suppressed. In a generalised wave x
region every record's final weight is replaced by the mean weight of its generalised cell
(raked weights otherwise reveal the original sex x age cell). `messages` lists every step in
Indonesian and English.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

#: Age groups and the wider bands they merge into.
WIDE_AGE = {"17-24": "17-34", "25-34": "17-34", "35-44": "35-54", "45-54": "35-54",
            "55+": "55+"}

Cell = tuple[int, str, str, str, int, float]  # year, region, sex, age group, n, weight sum
CellKey = tuple[int, str, str, str]  # year, region, sex ("" = blanked), age group


@dataclass
class KPlan:
    """What to do per wave x region (`level`), which generalised cells to drop (`suppress`)
    and the mean weight of each generalised cell (`mean_weight`)."""

    k: int
    level: dict[tuple[int, str], int] = field(default_factory=dict)
    suppress: set[CellKey] = field(default_factory=set)
    mean_weight: dict[CellKey, float] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    suppressed_records: int = 0

    def cell_key(self, year: int, region: str, sex: str, age: str) -> CellKey:
        """The (generalised) cell of a record under this plan."""
        level = self.level.get((year, region), 0)
        return (year, region, sex if level < 2 else "", age if level < 1 else _wide(age))


def _wide(age: str) -> str:
    try:
        return WIDE_AGE[age]
    except KeyError:
        raise ValueError(f"kelompok umur tidak dikenal / unknown age group {age!r}; "
                         f"pilih / choose one of {', '.join(WIDE_AGE)}") from None


def _merge(rows: list[tuple[str, str, int, float]], level: int) -> dict[tuple[str, str], list]:
    merged: dict[tuple[str, str], list] = {}
    for sex, age, n, w in rows:
        key = (sex if level < 2 else "", age if level < 1 else _wide(age))
        acc = merged.setdefault(key, [0, 0.0])
        acc[0] += n
        acc[1] += w
    return merged


def plan(cells: Iterable[Cell], k: int) -> KPlan:
    """Decide per wave x region: 0 keep, 1 merge age groups, 2 also blank sex; cells to drop.

    Raises ValueError for k < 1, or for an age group outside `WIDE_AGE` in a wave x region
    that needs merging."""
    if k < 1:
        raise ValueError("k harus >= 1 / k must be >= 1")
    groups: dict[tuple[int, str], list[tuple[str, str, int, float]]] = {}
    for year, region, sex, age, n, w in cells:
        groups.setdefault((year, region), []).append((sex, age, n, w))
    result = KPlan(k=k)
    for (year, region), rows in sorted(groups.items()):
        level = 0
        merged = _merge(rows, 0)
        while level < 2 and not all(n >= k for n, _ in merged.values()):
            level += 1
            merged = _merge(rows, level)
        result.level[(year, region)] = level
        if level:
            what = ("kelompok umur digabung / age groups merged" if level == 1 else
                    "kelompok umur digabung dan jenis kelamin dikosongkan / age groups merged "
                    "and sex blanked")
            result.messages.append(f"{year} {region}: {what}")
            for key, (n, w) in merged.items():
                result.mean_weight[(year, region, *key)] = w / n
        dropped = 0
        for key, (n, _) in merged.items():
            if n < k:
                result.suppress.add((year, region, *key))
                dropped += n
        if dropped:
            result.suppressed_records += dropped
            result.messages.append(f"{year} {region}: {dropped} rekaman ditekan (sel < {k}) "
                                   f"/ {dropped} records suppressed (cell < {k})")
    return result
