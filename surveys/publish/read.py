"""Reading published results: the only way to get stored result numbers out of the database
for the API, the exports, the charts and the dashboard.

Two rules are applied here, in the query, and nowhere else:

* region scope: every region-keyed table is cut to `regions`, the set returned by
  `surveys.selectors.access.visible_region_codes` for the caller (``None`` = every region);
* the publication rule (METHODS section 4): a suppressed estimate (n < 30) keeps its n and its
  flag, but its estimate, SE, CI and category are read as NULL - the rows handed out never
  carry the stored numbers (there is no function here that returns `EstimateResult` objects).

`rows` answers a values queryset (dicts keyed by the catalogue's lookups) for any table of
`catalogue.TABLES`; the helpers below build on it. Rows that print related objects (trends,
changes, achievements: no suppressed fields) are also available as model querysets with their
related rows joined, so a page costs a fixed number of queries whatever its length.

Every queryset built here reads from `surveys.routers.read_alias()`: the read replica when
``DATABASE_REPLICA_URL`` is set, else the default database.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from surveys.models import (
    ALL_REGIONS,
    INDEX_CODE,
    OVERALL,
    AchievementResult,
    ChangeResult,
    Indicator,
    IndicatorValue,
    ProxyValidationResult,
    Region,
    Target,
    TrendResult,
)
from surveys.publish.catalogue import TABLES, ResultTable
from surveys.routers import read_alias


def scope_regions(
    queryset: QuerySet, regions: set[str] | None, *, field: str = "region_code"
) -> QuerySet:
    """Keep the rows whose `field` is one of `regions`; ``None`` keeps everything."""
    if regions is None:
        return queryset
    return queryset.filter(**{f"{field}__in": sorted(regions)})


def _filter(queryset: QuerySet, **lookups: object) -> QuerySet:
    """Apply the lookups whose value was given (None = no filter)."""
    given = {key: value for key, value in lookups.items() if value is not None}
    return queryset.filter(**given) if given else queryset


def _scoped(table: ResultTable, regions: set[str] | None, filters: dict[str, object]
            ) -> QuerySet:
    unknown = set(filters) - set(table.filters)
    if unknown:
        raise TypeError(f"{table.name}: unknown filter(s) {sorted(unknown)}")
    queryset = _filter(table.model.objects.using(read_alias()).all(),
                       **{table.filters[key]: value for key, value in filters.items()})
    if table.region_lookup is not None:
        queryset = scope_regions(queryset, regions, field=table.region_lookup)
    return queryset


def rows(
    table: str | ResultTable,
    *,
    regions: set[str] | None,
    extra: tuple[str, ...] = (),
    exported_only: bool = False,
    **filters: object,
) -> QuerySet:
    """The published rows of one result table as a values queryset in the table's order.

    Keys are the catalogue's lookups (`Column.lookup`) plus `extra` lookups; suppressed numbers
    are NULL already. `filters` are the table's query parameters (`ResultTable.filters`; None =
    not filtered). `regions` is ignored by tables that are not region-keyed."""
    spec = TABLES[table] if isinstance(table, str) else table
    queryset = _scoped(spec, regions, filters)
    if spec.expressions is not None:
        queryset = queryset.annotate(**spec.expressions())
    return queryset.order_by(*spec.order).values(
        *spec.lookups(exported_only=exported_only), *extra
    )


def estimates(*, regions: set[str] | None, **filters: object) -> QuerySet:
    """Published estimates (values rows; see `rows`)."""
    return rows("estimates", regions=regions, **filters)


@dataclass(frozen=True)
class PublishedEstimate:
    """One estimate as published: numbers are None when the row is suppressed."""

    year: int
    instrument: str
    version_id: int
    region: str
    dimension: str
    n: int
    n_eff: float | None
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    df: int | None
    suppressed: bool
    category: str | None


def published_estimates(*, regions: set[str] | None, **filters: object
                        ) -> list[PublishedEstimate]:
    """Published estimates as objects, in wave order (charts and dashboard)."""
    queryset = rows("estimates", regions=regions, extra=("wave__version_id",), **filters)
    return [
        PublishedEstimate(
            year=row["wave__year"], instrument=row["wave__instrument__code"],
            version_id=row["wave__version_id"], region=row["region_code"],
            dimension=row["dimension"], n=row["n"], n_eff=row["n_eff"],
            estimate=row["pub_estimate"], se=row["pub_se"], ci_low=row["pub_ci_low"],
            ci_high=row["pub_ci_high"], df=row["df"], suppressed=bool(row["suppressed"]),
            category=row["pub_category"],
        )
        for row in queryset.order_by("wave__year", "wave__instrument__code", "dimension",
                                     "region_code")
    ]


def published_series(
    *, regions: set[str] | None, region: str, dimension: str, instrument: str
) -> list[PublishedEstimate]:
    """The yearly series of one region x dimension of one instrument, in wave order."""
    return published_estimates(regions=regions, region=region, dimension=dimension,
                               instrument=instrument)


def latest_instrument(*, regions: set[str] | None, region: str | None = None,
                      dimension: str = OVERALL) -> str | None:
    """The instrument of the most recent wave with estimates the caller may see."""
    return (
        _scoped(TABLES["estimates"], regions, {"region": region, "dimension": dimension})
        .order_by("-wave__year", "wave__instrument__code")
        .values_list("wave__instrument__code", flat=True)
        .first()
    )


def regions_with_estimates(
    *, regions: set[str] | None, instrument: str | None = None
) -> list[str]:
    """Region codes with at least one stored estimate the caller may see, ``ALL`` first."""
    queryset = _scoped(TABLES["estimates"], regions,
                       {"instrument": instrument, "dimension": OVERALL})
    codes = sorted(set(queryset.order_by().values_list("region_code", flat=True)))
    if ALL_REGIONS in codes:
        codes.remove(ALL_REGIONS)
        codes.insert(0, ALL_REGIONS)
    return codes


# --- model querysets of the tables without suppressed fields -----------------------------------


def trends(*, regions: set[str] | None, **filters: object) -> QuerySet[TrendResult]:
    return _scoped(TABLES["trends"], regions, filters).select_related("instrument")


def changes(*, regions: set[str] | None, **filters: object) -> QuerySet[ChangeResult]:
    """Year-over-year changes; `wave` selects the changes arriving in that wave (to_wave)."""
    return _scoped(TABLES["changes"], regions, filters).select_related("instrument")


def achievements(*, regions: set[str] | None, **filters: object
                 ) -> QuerySet[AchievementResult]:
    return _scoped(TABLES["achievements"], regions, filters).select_related("indicator")


def proxy_validation(**filters: object) -> QuerySet[ProxyValidationResult]:
    """Province-wide (not region-keyed): every reader sees all of it."""
    return _scoped(TABLES["proxy_validation"], None, filters).select_related("indicator")


def indicators(
    *,
    regions: set[str] | None,
    indicator: str | None = None,
    region: str | None = None,
    year: int | None = None,
    level: str | None = None,
    dimension: str | None = None,
) -> QuerySet[Indicator]:
    """Indicators with their values and targets prefetched, both cut to the caller's regions
    and to `region` / `year` when given. Every indicator keeps its `level` tag: outputs are
    listed beside the outcome, never folded into it."""
    values = _filter(
        IndicatorValue.objects.using(read_alias()).select_related("region"),
        region__code=region, year=year,
    )
    targets = _filter(Target.objects.using(read_alias()).select_related("region"),
                      region__code=region, year=year)
    values = scope_regions(values, regions, field="region__code")
    targets = scope_regions(targets, regions, field="region__code")
    queryset = _filter(
        Indicator.objects.using(read_alias()).all(), code=indicator, level=level,
        dimension_code=dimension,
    )
    return queryset.prefetch_related(
        Prefetch(
            "values", queryset=values.order_by("region__code", "year"), to_attr="scoped_values"
        ),
        Prefetch(
            "targets", queryset=targets.order_by("region__code", "year"), to_attr="scoped_targets"
        ),
    )


def index_targets(*, regions: set[str] | None, region: str) -> dict[int, float]:
    """The INDEX targets of one region the caller may see, by year."""
    queryset = scope_regions(
        Target.objects.using(read_alias()).filter(indicator__code=INDEX_CODE,
                                                  region__code=region), regions,
        field="region__code",
    )
    return dict(queryset.values_list("year", "target"))


def region_names(codes: set[str] | list[str]) -> dict[str, str]:
    """Display names of region codes; ``ALL`` is the whole design (the province)."""
    names = dict(Region.objects.using(read_alias()).filter(code__in=sorted(codes))
                 .values_list("code", "name"))
    if ALL_REGIONS in codes:
        names[ALL_REGIONS] = names.get(ALL_REGIONS, "Seluruh wilayah survei")
    return names
