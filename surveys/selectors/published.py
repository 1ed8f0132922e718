"""Stored results as every published output shows them (API, charts, dashboard).

Two rules live here and nowhere else in the read path:

* region scope: every region-keyed table is cut to `regions`, the set returned by
  `surveys.selectors.access.visible_region_codes` for the caller (``None`` = every region);
* the publication rule (METHODS section 4): a suppressed estimate (n < 30) keeps its n and its
  flag, but its estimate, SE, CI and category are blank.

Every function returns a queryset with the related rows it prints already joined, so that a
page costs a fixed number of queries whatever its length.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from surveys.models import (
    ALL_REGIONS,
    OVERALL,
    AchievementResult,
    CfaResult,
    ChangeResult,
    EstimateResult,
    Indicator,
    IndicatorValue,
    ItemResult,
    ProxyValidationResult,
    Region,
    ReliabilityResult,
    Target,
    TrendResult,
)

#: Estimate fields blanked when the row is suppressed.
SUPPRESSED_FIELDS = ("estimate", "se", "ci_low", "ci_high", "category")


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


def estimates(
    *,
    regions: set[str] | None,
    wave: int | None = None,
    region: str | None = None,
    dimension: str | None = None,
    instrument: str | None = None,
) -> QuerySet[EstimateResult]:
    queryset = EstimateResult.objects.select_related("wave__instrument")
    queryset = _filter(
        queryset,
        wave__year=wave,
        region_code=region,
        dimension=dimension,
        wave__instrument__code=instrument,
    )
    return scope_regions(queryset, regions)


def trends(
    *,
    regions: set[str] | None,
    region: str | None = None,
    dimension: str | None = None,
    instrument: str | None = None,
) -> QuerySet[TrendResult]:
    queryset = TrendResult.objects.select_related("instrument")
    queryset = _filter(
        queryset, region_code=region, dimension=dimension, instrument__code=instrument
    )
    return scope_regions(queryset, regions)


def changes(
    *,
    regions: set[str] | None,
    wave: int | None = None,
    region: str | None = None,
    dimension: str | None = None,
    instrument: str | None = None,
) -> QuerySet[ChangeResult]:
    """Year-over-year changes; `wave` selects the changes arriving in that wave (to_wave)."""
    queryset = ChangeResult.objects.select_related("instrument")
    queryset = _filter(
        queryset,
        to_wave=wave,
        region_code=region,
        dimension=dimension,
        instrument__code=instrument,
    )
    return scope_regions(queryset, regions)


def reliability(
    *, wave: int | None = None, dimension: str | None = None, instrument: str | None = None
) -> QuerySet[ReliabilityResult]:
    """Province-wide (not region-keyed): every reader sees all of it."""
    queryset = ReliabilityResult.objects.select_related("wave__instrument")
    return _filter(
        queryset, wave__year=wave, dimension=dimension, wave__instrument__code=instrument
    )


def items(
    *, wave: int | None = None, dimension: str | None = None, instrument: str | None = None
) -> QuerySet[ItemResult]:
    queryset = ItemResult.objects.select_related("wave__instrument")
    return _filter(
        queryset, wave__year=wave, dimension=dimension, wave__instrument__code=instrument
    )


def cfa(*, wave: int | None = None, instrument: str | None = None) -> QuerySet[CfaResult]:
    queryset = CfaResult.objects.select_related("wave__instrument")
    return _filter(queryset, wave__year=wave, wave__instrument__code=instrument)


def proxy_validation(*, indicator: str | None = None) -> QuerySet[ProxyValidationResult]:
    queryset = ProxyValidationResult.objects.select_related("indicator")
    return _filter(queryset, indicator__code=indicator)


def achievements(
    *,
    regions: set[str] | None,
    indicator: str | None = None,
    region: str | None = None,
    year: int | None = None,
    level: str | None = None,
) -> QuerySet[AchievementResult]:
    queryset = AchievementResult.objects.select_related("indicator")
    queryset = _filter(
        queryset,
        indicator__code=indicator,
        region_code=region,
        year=year,
        indicator__level=level,
    )
    return scope_regions(queryset, regions)


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
        IndicatorValue.objects.select_related("region"), region__code=region, year=year
    )
    targets = _filter(Target.objects.select_related("region"), region__code=region, year=year)
    values = scope_regions(values, regions, field="region__code")
    targets = scope_regions(targets, regions, field="region__code")
    queryset = _filter(
        Indicator.objects.all(), code=indicator, level=level, dimension_code=dimension
    )
    return queryset.prefetch_related(
        Prefetch(
            "values", queryset=values.order_by("region__code", "year"), to_attr="scoped_values"
        ),
        Prefetch(
            "targets", queryset=targets.order_by("region__code", "year"), to_attr="scoped_targets"
        ),
    )


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


def publish_estimate(row: EstimateResult) -> PublishedEstimate:
    """Apply the publication rule to one stored estimate (row.wave must be loaded)."""
    hide = row.suppressed
    return PublishedEstimate(
        year=row.wave.year,
        instrument=row.wave.instrument.code,
        version_id=row.wave.version_id,
        region=row.region_code,
        dimension=row.dimension,
        n=row.n,
        n_eff=row.n_eff,
        estimate=None if hide else row.estimate,
        se=None if hide else row.se,
        ci_low=None if hide else row.ci_low,
        ci_high=None if hide else row.ci_high,
        df=row.df,
        suppressed=row.suppressed,
        category=None if hide or not row.category else row.category,
    )


def published_series(
    *, regions: set[str] | None, region: str, dimension: str, instrument: str
) -> list[PublishedEstimate]:
    """The yearly series of one region x dimension of one instrument, in wave order."""
    rows = estimates(regions=regions, region=region, dimension=dimension, instrument=instrument)
    return [publish_estimate(row) for row in rows.order_by("wave__year")]


def region_names(codes: set[str] | list[str]) -> dict[str, str]:
    """Display names of region codes; ``ALL`` is the whole design (the province)."""
    names = dict(Region.objects.filter(code__in=sorted(codes)).values_list("code", "name"))
    if ALL_REGIONS in codes:
        names[ALL_REGIONS] = names.get(ALL_REGIONS, "Seluruh wilayah survei")
    return names


def regions_with_estimates(
    *, regions: set[str] | None, instrument: str | None = None
) -> list[str]:
    """Region codes with at least one stored estimate the caller may see, ``ALL`` first."""
    queryset = estimates(regions=regions, instrument=instrument, dimension=OVERALL)
    codes = sorted(set(queryset.order_by().values_list("region_code", flat=True)))
    if ALL_REGIONS in codes:
        codes.remove(ALL_REGIONS)
        codes.insert(0, ALL_REGIONS)
    return codes
