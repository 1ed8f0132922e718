"""What the dashboard shows for one region, assembled from published results.

Everything is read through `surveys.publish`, so the caller's region scope and the
publication rule (suppressed estimates are blank) hold here exactly as in the API. The result is
plain data for the template; the page does no arithmetic of its own.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from surveys import publish
from surveys.models import (
    ALL_REGIONS,
    OVERALL,
    AchievementResult,
    ChangeResult,
    Dimension,
    Indicator,
    IndicatorLevel,
    ProxyValidationResult,
    TrendResult,
)


@dataclass(frozen=True)
class YearRow:
    estimate: publish.PublishedEstimate
    change: ChangeResult | None  # the change INTO this year, when one was computed


@dataclass(frozen=True)
class DimensionPanel:
    code: str
    name: str
    rows: list[YearRow]
    trend: TrendResult | None

    @property
    def latest(self) -> publish.PublishedEstimate | None:
        return self.rows[-1].estimate if self.rows else None


@dataclass
class IndicatorRow:
    code: str
    name: str
    unit: str
    dimension: str
    region: str
    values: dict[int, float]
    targets: dict[int, float]
    validation: ProxyValidationResult | None = None
    cells: list[tuple[float | None, float | None]] = field(default_factory=list)


@dataclass
class Dashboard:
    region: str
    region_name: str
    instrument: str
    years: list[int]
    dimensions: list[DimensionPanel]
    outcomes: list[IndicatorRow] = field(default_factory=list)
    outputs: list[IndicatorRow] = field(default_factory=list)
    indicator_years: list[int] = field(default_factory=list)
    achievements: list[AchievementResult] = field(default_factory=list)

    @property
    def overall(self) -> DimensionPanel | None:
        return next((d for d in self.dimensions if d.code == OVERALL), None)


def latest_instrument(*, regions: set[str] | None) -> str | None:
    """The instrument of the most recent wave with estimates the caller may see."""
    return publish.latest_instrument(regions=regions)


def build_dashboard(
    *,
    regions: set[str] | None,
    region: str,
    instrument: str,
    lang: str = "id",
    region_name: str | None = None,
) -> Dashboard:
    estimates = publish.published_estimates(
        regions=regions, region=region, instrument=instrument
    )
    changes = {
        (c.dimension, c.to_wave): c
        for c in publish.changes(regions=regions, region=region, instrument=instrument)
    }
    trends = {t.dimension: t for t in publish.trends(
        regions=regions, region=region, instrument=instrument
    )}
    names, order = _dimension_names(instrument, lang)
    by_dimension: dict[str, list[YearRow]] = defaultdict(list)
    for estimate in estimates:
        by_dimension[estimate.dimension].append(
            YearRow(estimate, changes.get((estimate.dimension, estimate.year)))
        )
    overall_name = "Indeks keseluruhan" if lang != "en" else "Overall index"
    codes = sorted(by_dimension, key=lambda c: (c != OVERALL, order.get(c, 999), c))
    panels = [
        DimensionPanel(
            code=code,
            name=overall_name if code == OVERALL else names.get(code, code),
            rows=by_dimension[code],
            trend=trends.get(code),
        )
        for code in codes
    ]
    if region_name is None:
        region_name = publish.region_names({region}).get(region, region)
    dashboard = Dashboard(
        region=region,
        region_name=region_name,
        instrument=instrument,
        years=sorted({e.year for e in estimates}),
        dimensions=panels,
    )
    _add_indicators(dashboard, regions=regions, lang=lang)
    # ALL has no indicator values or targets of its own: show the visible regions' rows
    scope = None if region == ALL_REGIONS else region
    dashboard.achievements = list(
        publish.achievements(regions=regions, region=scope).order_by(
            "indicator__level", "indicator__code", "region_code", "year"
        )
    )
    return dashboard


def _dimension_names(instrument: str, lang: str) -> tuple[dict[str, str], dict[str, int]]:
    rows = Dimension.objects.filter(version__instrument__code=instrument).order_by(
        "version__version"
    )
    names: dict[str, str] = {}
    order: dict[str, int] = {}
    for row in rows.values_list("code", "name_id", "name_en", "position"):
        code, name_id, name_en, position = row
        names[code] = f"{code} {name_en if lang == 'en' and name_en else name_id}"
        order[code] = position
    return names, order


def _add_indicators(dashboard: Dashboard, *, regions: set[str] | None, lang: str) -> None:
    scope = None if dashboard.region == ALL_REGIONS else dashboard.region
    validation = {v.indicator_id: v for v in publish.proxy_validation()}
    years: set[int] = set()
    for indicator in publish.indicators(regions=regions, region=scope):
        if indicator.level == IndicatorLevel.INDEX:
            continue  # the index itself is the dimension panels above
        per_region: dict[str, IndicatorRow] = {}
        proxy = validation.get(indicator.pk)
        for value in indicator.scoped_values:
            code = value.region.code
            if code not in per_region:  # one row per region, built once
                per_region[code] = _indicator_row(indicator, code, lang, proxy)
            per_region[code].values[value.year] = value.value
            years.add(value.year)
        for target in indicator.scoped_targets:
            code = target.region.code
            if code not in per_region:
                per_region[code] = _indicator_row(indicator, code, lang, proxy)
            per_region[code].targets[target.year] = target.target
            years.add(target.year)
        rows = [per_region[code] for code in sorted(per_region)]
        if not rows:
            rows = [_indicator_row(indicator, "", lang, proxy)]
        # outputs are what an office delivers: listed apart, never folded into the outcome
        target_list = dashboard.outputs if indicator.level == IndicatorLevel.OUTPUT else (
            dashboard.outcomes
        )
        target_list.extend(rows)
    dashboard.indicator_years = sorted(years)
    for row in dashboard.outcomes + dashboard.outputs:
        row.cells = [(row.values.get(y), row.targets.get(y)) for y in dashboard.indicator_years]


def _indicator_row(
    indicator: Indicator, region: str, lang: str, validation: ProxyValidationResult | None
) -> IndicatorRow:
    name = indicator.name_en if lang == "en" and indicator.name_en else indicator.name_id
    return IndicatorRow(
        code=indicator.code,
        name=name,
        unit=indicator.unit,
        dimension=indicator.dimension_code,
        region=region,
        values={},
        targets={},
        validation=validation,
    )
