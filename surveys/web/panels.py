"""What the dashboard shows for one region, assembled from published results.

Everything is read through `surveys.publish`, so the caller's region scope and the
publication rule (suppressed estimates are blank) hold here exactly as in the API. The result is
plain data for the template; the page does no arithmetic of its own.

Model-based (small-area) estimates fill a suppressed or unsurveyed region-year only as a
separate, labelled cell (`YearRow.model`); the verdict, the changes and the achievement are
computed from published survey estimates alone.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from analysis.trends import OfficeVerdict, office_verdict
from surveys import publish
from surveys.language import in_language
from surveys.models import (
    ALL_REGIONS,
    INDEX_CODE,
    OVERALL,
    AchievementResult,
    ChangeResult,
    Dimension,
    Indicator,
    IndicatorLevel,
    Instrument,
    Polarity,
    Programme,
    ProxyValidationResult,
    Region,
    RegionLevel,
    TrendResult,
)
from surveys.reports import text as fmt
from surveys.services import longitudinal

Z95 = 1.959963984540054
#: demo data are recognised by the demo's programme codes (surveys/services/demo.py) or by the
#: NILAI_DEMO_DATA setting (DECISIONS)
DEMO_PROGRAMME_PREFIX = "DM-"


@dataclass(frozen=True)
class ModelCell:
    """A model-based (Fay-Herriot) estimate shown where no survey estimate is published."""

    year: int
    estimate: float
    ci_low: float
    ci_high: float
    method: str


@dataclass(frozen=True)
class YearRow:
    year: int
    estimate: publish.PublishedEstimate | None  # None: the region was not surveyed that year
    change: ChangeResult | None  # the change INTO this year, when one was computed
    model: ModelCell | None = None  # only for a suppressed or unsurveyed year
    category_text: str = ""  # the category band in the page's language


@dataclass(frozen=True)
class DimensionPanel:
    code: str
    name: str
    rows: list[YearRow]
    trend: TrendResult | None
    verdict: OfficeVerdict | None = None
    verdict_text: str = ""
    #: instrument version boundaries of the series: bridged (linked items) or broken
    version_notes: tuple[str, ...] = ()

    @property
    def latest(self) -> publish.PublishedEstimate | None:
        shown = [r.estimate for r in self.rows if r.estimate is not None]
        return shown[-1] if shown else None


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
    cells: list[tuple[int, float | None, float | None]] = field(default_factory=list)
    negative: bool = False
    region_name: str = ""


@dataclass(frozen=True)
class AchievementRow:
    """One row of the capaian table: a stored achievement, or a year whose realisation is not
    shown (suppressed), with its reason."""

    indicator_code: str
    indicator_name: str
    negative: bool
    region: str
    region_name: str
    year: int
    target: float | None
    result: AchievementResult | None
    reason: str = ""


@dataclass(frozen=True)
class FirstCard:
    """The first card of a region: index, category, CI, this year's target and capaian, and
    the METHODS 6 verdict in one sentence."""

    year: int
    estimate: publish.PublishedEstimate
    category: str
    model: ModelCell | None
    target: float | None
    achievement: AchievementResult | None
    sentence: str


@dataclass(frozen=True)
class RankDot:
    region: str
    name: str
    estimate: float
    ci_low: float
    ci_high: float
    model: bool  # a model-based estimate (suppressed / not surveyed)
    y: int = 0
    x: float = 0.0
    x_low: float = 0.0
    x_high: float = 0.0
    label: str = ""  # "65,0 (62,5–67,5)" in the page's language


@dataclass
class Ranking:
    year: int
    dots: list[RankDot]
    ticks: list[tuple[float, str]]
    height: int
    zero: float | None = None

    @property
    def has_model(self) -> bool:
        return any(d.model for d in self.dots)


@dataclass
class ProgrammeRow:
    code: str
    name: str
    region: str
    region_name: str
    type: str
    start_year: int
    end_year: int
    budget: str
    participants: int | None
    effect: dict[str, Any] | None
    own: bool


@dataclass
class LearnPanel:
    dimension: str
    dimension_name: str
    choices: list[tuple[str, str]]
    programmes: list[ProgrammeRow]
    forest: Ranking | None
    pooled: list[dict[str, Any]]


@dataclass
class Dashboard:
    region: str
    region_name: str
    instrument: str
    years: list[int]
    dimensions: list[DimensionPanel]
    instrument_name: str = ""
    region_codes: str = ""  # "BPS 6401 · Kemendagri 64.01"
    outcomes: list[IndicatorRow] = field(default_factory=list)
    outputs: list[IndicatorRow] = field(default_factory=list)
    indicator_years: list[int] = field(default_factory=list)
    achievements: list[AchievementRow] = field(default_factory=list)
    first: FirstCard | None = None
    ranking: Ranking | None = None
    learn: LearnPanel | None = None
    notices: list[dict[str, Any]] = field(default_factory=list)
    index_targets: dict[int, float] = field(default_factory=dict)
    demo: bool = False
    has_model: bool = False
    own_programmes: bool = False

    @property
    def overall(self) -> DimensionPanel | None:
        return next((d for d in self.dimensions if d.code == OVERALL), None)


def latest_instrument(*, regions: set[str] | None) -> str | None:
    """The instrument of the most recent wave with estimates the caller may see."""
    return publish.latest_instrument(regions=regions)


# --- numbers as an office writes them ---------------------------------------------------------


def num(value: float | None, digits: int, lang: str) -> str:
    return fmt.number(value, digits, lang)


def signed(value: float, digits: int, lang: str) -> str:
    return fmt.number(value, digits, lang, sign=value > 0)


def p_text(p: float, lang: str) -> str:
    return fmt.pvalue(p, lang)


def rupiah(value: Any, lang: str) -> str:
    if value is None:
        return "–"
    return "Rp " + num(float(value), 0, lang)


# --- the region's names and codes -------------------------------------------------------------


def region_labels(codes: set[str] | list[str]) -> dict[str, tuple[str, str]]:
    """code -> (name, kemendagri code) for the region codes given."""
    return {
        code: (name, kemendagri or "")
        for code, name, kemendagri in Region.objects.filter(code__in=sorted(codes))
        .values_list("code", "name", "code_kemendagri")
    }


def codes_text(code: str, kemendagri: str) -> str:
    parts = [f"BPS {code}"]
    if kemendagri:
        parts.append(f"Kemendagri {kemendagri}")
    return " · ".join(parts)


def instrument_name(code: str, lang: str) -> str:
    row = Instrument.objects.filter(code=code).values_list("title_id", "title_en").first()
    if not row:
        return code
    title_id, title_en = row
    return (title_en if lang == "en" and title_en else title_id) or code


# --- the board --------------------------------------------------------------------------------


def build_dashboard(
    *,
    regions: set[str] | None,
    region: str,
    instrument: str,
    lang: str = "id",
    region_name: str | None = None,
    sila: str | None = None,
    own_regions: set[str] | None = None,
) -> Dashboard:
    """The region's board, its words in `lang` (gettext)."""
    with in_language(lang):
        return _build_dashboard(regions=regions, region=region, instrument=instrument,
                                lang=lang, region_name=region_name, sila=sila,
                                own_regions=own_regions)


def _build_dashboard(*, regions: set[str] | None, region: str, instrument: str, lang: str,
                     region_name: str | None, sila: str | None,
                     own_regions: set[str] | None) -> Dashboard:
    estimates = publish.published_estimates(
        regions=regions, region=region, instrument=instrument
    )
    changes = {
        (c.dimension, c.to_wave): c
        for c in publish.changes(regions=regions, region=region, instrument=instrument)
    }
    # one row per series (docs/DECISIONS.md 53-59): in series order, so the latest wins
    trends = {tr.dimension: tr for tr in publish.trends(
        regions=regions, region=region, instrument=instrument
    ).order_by("dimension", "series")}
    bridge_points = _bridge_points(regions=regions, region=region, instrument=instrument)
    boundaries = bridge_boundaries(instrument) if instrument else []
    models = _model_cells(regions=regions, region=region, instrument=instrument)
    names, order = _dimension_names(instrument, lang)
    by_dimension: dict[str, dict[int, publish.PublishedEstimate]] = defaultdict(dict)
    for estimate in estimates:
        by_dimension[estimate.dimension][estimate.year] = estimate
    if region_name is None:
        region_name = publish.region_names({region}).get(region, region)
    codes = sorted(by_dimension, key=lambda c: (c != OVERALL, order.get(c, 999), c))
    panels = []
    for code in codes:
        cells = models.get(code, {})
        years = sorted(set(by_dimension[code]) | set(cells))
        rows = []
        for year in years:
            estimate = by_dimension[code].get(year)
            shown = estimate is not None and not estimate.suppressed
            rows.append(YearRow(year, estimate, changes.get((code, year)),
                                None if shown else cells.get(year),
                                fmt.category(estimate.category, empty="") if shown else ""))
        trend = trends.get(code)
        verdict = _verdict(rows, trend, bridge_points.get(code, {}))
        name = _("Overall index") if code == OVERALL else names.get(code, code)
        panels.append(DimensionPanel(
            code=code, name=name, rows=rows, trend=trend, verdict=verdict,
            verdict_text=fmt.verdict_sentence(verdict) if verdict else "",
            version_notes=_version_notes(boundaries, trend,
                                         bridge_points.get(code, {}))))
    dashboard = Dashboard(
        region=region,
        region_name=region_name,
        instrument=instrument,
        instrument_name=instrument_name(instrument, lang) if instrument else "",
        years=sorted({e.year for e in estimates}),
        dimensions=panels,
    )
    if region != ALL_REGIONS:
        label = region_labels({region}).get(region)
        dashboard.region_codes = codes_text(region, label[1] if label else "")
    dashboard.has_model = any(r.model for p in panels for r in p.rows)
    if region != ALL_REGIONS:
        dashboard.index_targets = publish.index_targets(regions=regions, region=region)
    _add_indicators(dashboard, regions=regions, lang=lang)
    _add_achievements(dashboard, regions=regions, lang=lang)
    dashboard.first = _first_card(dashboard, regions=regions, lang=lang)
    if region == ALL_REGIONS and instrument:
        dashboard.ranking = _ranking(regions=regions, instrument=instrument, lang=lang)
    if instrument:
        dashboard.learn = _learn(dashboard, sila=sila, lang=lang, names=names, order=order,
                                 own_regions=own_regions or set())
    dashboard.demo = bool(getattr(settings, "NILAI_DEMO_DATA", False)) or (
        Programme.objects.filter(code__startswith=DEMO_PROGRAMME_PREFIX).exists())
    dashboard.longitudinal = longitudinal.dashboard_panel(  # type: ignore[attr-defined]
        regions=regions, region=region, instrument=instrument, lang=lang)
    return dashboard


def _model_cells(*, regions: set[str] | None, region: str, instrument: str
                 ) -> dict[str, dict[int, ModelCell]]:
    """Model-based estimates of the region by dimension and year (`sae`, same region scope as
    the estimates); cells without a usable estimate are left out."""
    if not instrument:
        return {}
    out: dict[str, dict[int, ModelCell]] = defaultdict(dict)
    for row in publish.rows("sae", regions=regions, region=region, instrument=instrument):
        cell = _model_cell(row)
        if cell is not None:
            out[row["dimension"]][cell.year] = cell
    return out


def _model_cell(row: dict[str, Any]) -> ModelCell | None:
    value, se = row.get("model_estimate"), row.get("model_se")
    if value is None or se is None or not math.isfinite(value) or not math.isfinite(se):
        return None
    return ModelCell(row["wave__year"], value, value - Z95 * se, value + Z95 * se,
                     row.get("method") or "")


def _bridge_points(*, regions: set[str] | None, region: str, instrument: str
                   ) -> dict[str, dict[int, dict[int, tuple[float, float, int]]]]:
    """Published bridge estimates of the region: dimension -> series -> year -> (estimate,
    se, linked items)."""
    out: dict[str, dict[int, dict[int, tuple[float, float, int]]]] = defaultdict(dict)
    if not instrument:
        return out
    for row in publish.rows("bridges", regions=regions, region=region, instrument=instrument):
        if row["pub_estimate"] is None or row["pub_se"] is None:
            continue
        out[row["dimension"]].setdefault(row["series"], {})[row["wave__year"]] = (
            row["pub_estimate"], row["pub_se"], row["linked_items"])
    return out


def _verdict(rows: list[YearRow], trend: TrendResult | None = None,
             bridge: dict[int, dict[int, tuple[float, float, int]]] | None = None
             ) -> OfficeVerdict | None:
    """METHODS 6: the verdict of the published survey points only (never a model cell), on the
    latest series (never across a version break): its bridge estimates when it spans
    instrument versions, else the full estimates of its waves."""
    if trend is not None and trend.basis == "linked":
        linked = (bridge or {}).get(trend.series, {})
        points = [(y, v, se) for y, (v, se, _k) in sorted(linked.items())]
        return office_verdict(*zip(*points, strict=True)) if points else None
    start = trend.first_wave if trend is not None and trend.series > 1 else None
    points = [(r.year, r.estimate.estimate, r.estimate.se) for r in rows
              if r.estimate is not None and not r.estimate.suppressed
              and r.estimate.estimate is not None and r.estimate.se is not None
              and (start is None or r.year >= start)]
    if not points:
        return None
    return office_verdict(*zip(*points, strict=True))


def bridge_boundaries(instrument: str) -> list[tuple[int, int, int]]:
    from surveys.services.bridges import version_boundaries

    return version_boundaries(instrument)


def _version_notes(boundaries: list[tuple[int, int, int]], trend: TrendResult | None,
                   bridge: dict[int, dict[int, tuple[float, float, int]]]) -> tuple[str, ...]:
    """One sentence per instrument version boundary: the series breaks there (a new series
    starts) or it continues on the linked items, with the bridge estimates on both sides."""
    notes = []
    for year, before, after in boundaries:
        broken = trend is not None and trend.series > 1 and trend.first_wave is not None \
            and trend.first_wave >= year and not _spans(trend, year)
        if broken:
            # Translators: id: Versi instrumen berganti pada %(year)s (v%(before)s ke
            #   v%(after)s) dan deret putus: kurang dari 3 butir tertaut; tren dan perubahan
            #   mulai ulang.
            notes.append(_("The instrument version changed in %(year)s (v%(before)s to "
                           "v%(after)s) and the series breaks: fewer than 3 linked items; "
                           "trends and changes start again.")
                         % {"year": year, "before": before, "after": after})
            continue
        linked = (bridge or {}).get(trend.series, {}) if trend is not None else {}
        before_year = max((y for y in linked if y < year), default=None)
        if before_year is None or year not in linked:
            # Translators: id: Versi instrumen berganti pada %(year)s (v%(before)s ke v%(after)s).
            notes.append(_("The instrument version changed in %(year)s (v%(before)s to "
                           "v%(after)s).") % {"year": year, "before": before, "after": after})
            continue
        v0, _se0, k = linked[before_year]
        v1 = linked[year][0]
        # Translators: id: Versi instrumen berganti pada %(year)s (v%(before)s ke
        #   v%(after)s): perubahan dan tren lintas versi dihitung pada %(k)s butir tertaut
        #   (estimasi jembatan %(y0)s: %(v0)s, %(year)s: %(v1)s).
        notes.append(_("The instrument version changed in %(year)s (v%(before)s to "
                       "v%(after)s): the change and the trend across it use the %(k)s linked "
                       "items (bridge estimates %(y0)s: %(v0)s, %(year)s: %(v1)s).")
                     % {"year": year, "before": before, "after": after, "k": k,
                        "y0": before_year, "v0": fmt.number(v0, 1, _lang()),
                        "v1": fmt.number(v1, 1, _lang())})
    return tuple(notes)


def _spans(trend: TrendResult, year: int) -> bool:
    """Whether the trend's series spans the boundary at ``year`` (it is on the linked basis and
    started before it)."""
    return trend.basis == "linked" and trend.first_wave is not None and trend.first_wave < year


def _lang() -> str:
    from django.utils.translation import get_language

    return "en" if (get_language() or "id").startswith("en") else "id"


def _first_card(dashboard: Dashboard, *, regions: set[str] | None, lang: str
                ) -> FirstCard | None:
    overall = dashboard.overall
    if overall is None or not overall.rows:
        return None
    last = overall.rows[-1]
    if last.estimate is None:  # the latest year only has a model-based cell
        shown = [r for r in overall.rows if r.estimate is not None]
        if not shown:
            return None
        last = shown[-1]
    estimate = last.estimate
    assert estimate is not None
    year = last.year
    target = None
    achievement = None
    if dashboard.region != ALL_REGIONS:
        target = dashboard.index_targets.get(year)
        achievement = next((a.result for a in dashboard.achievements
                            if a.indicator_code == INDEX_CODE and a.year == year
                            and a.region == dashboard.region and a.result is not None), None)
    category = fmt.category(estimate.category, empty="")
    parts = []
    where = {"region": dashboard.region_name, "year": year}
    if estimate.suppressed:
        # Translators: id: {region} {year}: nilai indeks tidak ditampilkan (responden < 30)
        parts.append(_("{region} {year}: index value not shown (fewer than 30 respondents)")
                     .format(**where))
        if last.model:
            # Translators: id: ; estimasi model / model-based {value} (selang kepercayaan 95 %
            #   {low}–{high})
            parts[-1] += _("; model-based estimate {value} (95 % confidence interval "
                           "{low}–{high})").format(
                value=num(last.model.estimate, 1, lang), low=num(last.model.ci_low, 1, lang),
                high=num(last.model.ci_high, 1, lang))
        parts[-1] += "."
    else:
        # Translators: id: {region} {year}: nilai indeks {value} ({category}; selang
        #   kepercayaan 95 % {low}–{high}).
        parts.append(_("{region} {year}: index value {value} ({category}; 95 % confidence "
                       "interval {low}–{high}).").format(
            **where, value=num(estimate.estimate, 1, lang), category=category,
            low=num(estimate.ci_low, 1, lang), high=num(estimate.ci_high, 1, lang)))
    if achievement is not None:
        met = _("met") if achievement.met else _("not met")
        sure = (_("certain at 95 % confidence") if achievement.met_with_confidence
                else _("not yet certain at 95 % confidence"))
        # Translators: id: Target {year}: {target}; capaian {pct} %, {met} ({sure}).
        parts.append(_("Target {year}: {target}; achievement {pct} %, {met} ({sure}).").format(
            year=year, target=num(achievement.target, 1, lang),
            pct=num(achievement.achievement_pct, 1, lang), met=met, sure=sure))
    elif target is not None:
        parts.append(f"Target {year}: {num(target, 1, lang)}.")
    if overall.verdict_text:
        parts.append(overall.verdict_text)
    return FirstCard(year=year, estimate=estimate, category=category, model=last.model,
                     target=target, achievement=achievement, sentence=" ".join(parts))


# --- ranking (province readers) ---------------------------------------------------------------

PLOT_LEFT, PLOT_RIGHT, ROW_H = 190, 620, 26


def _scale(lo: float, hi: float) -> tuple[float, float, list[float]]:
    step = 10.0 if hi - lo > 20 else 5.0 if hi - lo > 6 else 1.0
    lo = math.floor(lo / step) * step
    hi = math.ceil(hi / step) * step
    if hi == lo:
        hi = lo + step
    ticks = [lo + i * step for i in range(int(round((hi - lo) / step)) + 1)]
    return lo, hi, ticks


def _place(dots: list[RankDot], lang: str, *, zero: bool = False, digits: int = 1
           ) -> Ranking | None:
    if not dots:
        return None
    low = min(d.ci_low for d in dots)
    high = max(d.ci_high for d in dots)
    lo, hi, ticks = _scale(min(low, 0.0), max(high, 0.0)) if zero else _scale(low, high)

    def x(value: float) -> float:
        return round(PLOT_LEFT + (value - lo) / (hi - lo) * (PLOT_RIGHT - PLOT_LEFT), 1)

    placed = [
        RankDot(d.region, d.name, d.estimate, d.ci_low, d.ci_high, d.model, y=20 + i * ROW_H,
                x=x(d.estimate), x_low=x(d.ci_low), x_high=x(d.ci_high),
                label=(f"{num(d.estimate, digits, lang)} ({num(d.ci_low, digits, lang)}–"
                       f"{num(d.ci_high, digits, lang)})"))
        for i, d in enumerate(dots)
    ]
    tick_digits = 0 if all(float(v).is_integer() for v in ticks) else 1
    return Ranking(year=0, dots=placed,
                   ticks=[(x(v), num(v, tick_digits, lang)) for v in ticks],
                   height=30 + len(dots) * ROW_H, zero=x(0.0) if zero else None)


def _ranking(*, regions: set[str] | None, instrument: str, lang: str) -> Ranking | None:
    """Regencies/cities for the latest year with intervals; model-based cells marked."""
    year = (publish.rows("estimates", regions=regions, instrument=instrument,
                         dimension=OVERALL).order_by("-wave__year")
            .values_list("wave__year", flat=True).first())
    if year is None:
        return None
    levels = {RegionLevel.REGENCY, RegionLevel.CITY}
    kinds = dict(Region.objects.filter(level__in=levels).values_list("code", "level"))
    dots: dict[str, RankDot] = {}
    for e in publish.published_estimates(regions=regions, instrument=instrument,
                                         dimension=OVERALL, wave=year):
        if e.region in kinds and not e.suppressed and e.estimate is not None:
            dots[e.region] = RankDot(e.region, "", e.estimate, e.ci_low, e.ci_high, False)
    for row in publish.rows("sae", regions=regions, instrument=instrument, wave=year):
        cell = _model_cell(row)
        code = row["region_code"]
        if cell and code in kinds and code not in dots and row["dimension"] == OVERALL:
            dots[code] = RankDot(code, "", cell.estimate, cell.ci_low, cell.ci_high, True)
    labels = region_labels(set(dots))
    named = [RankDot(d.region, labels.get(d.region, (d.region, ""))[0], d.estimate, d.ci_low,
                     d.ci_high, d.model) for d in dots.values()]
    named.sort(key=lambda d: (-d.estimate, d.name))
    ranking = _place(named, lang)
    if ranking is not None:
        ranking.year = year
    return ranking


# --- learn from other regions -----------------------------------------------------------------


def _learn(dashboard: Dashboard, *, sila: str | None, lang: str, names: dict[str, str],
           order: dict[str, int], own_regions: set[str]) -> LearnPanel:
    """Programmes for the sila of concern (default: the region's lowest sila in the latest
    year), their DiD as a forest plot and the pooled effect by type. The registry and the
    evaluation are shared with every reader (DECISIONS 38)."""
    sila_codes = [p.code for p in dashboard.dimensions if p.code != OVERALL]
    programme_dims = set(Programme.objects.values_list("dimension_code", flat=True))
    known = sorted(set(sila_codes) | {d for d in programme_dims if d},
                   key=lambda c: (order.get(c, 999), c))
    choices = [(OVERALL, _("Overall index"))] + [(c, names.get(c, c)) for c in known]
    if sila not in {c for c, _ in choices}:
        latest = [(p.latest.estimate, p.code) for p in dashboard.dimensions
                  if p.code != OVERALL and p.latest and p.latest.estimate is not None]
        sila = min(latest)[1] if latest else OVERALL
    effects = {row["programme__code"]: row for row in publish.rows(
        "programme_effects", regions=None, dimension=sila)}
    programmes = Programme.objects.filter(
        dimension_code="" if sila == OVERALL else sila).select_related("region").order_by(
        "start_year", "region__code", "code")
    rows = []
    for p in programmes:
        rows.append(ProgrammeRow(
            code=p.code, name=p.name_en if lang == "en" and p.name_en else p.name_id,
            region=p.region.code, region_name=p.region.name, type=p.type,
            start_year=p.start_year, end_year=p.end_year, budget=rupiah(p.budget, lang),
            participants=p.participants, effect=effects.get(p.code),
            own=p.region.code in own_regions))
    dots = [RankDot(r.code, f"{r.region_name} · {r.type} {r.start_year}", r.effect["did"],
                    r.effect["did_ci_low"], r.effect["did_ci_high"], False)
            for r in rows if r.effect and r.effect.get("status") == "ok"
            and r.effect.get("did") is not None and r.effect.get("did_ci_low") is not None
            and r.effect.get("did_ci_high") is not None]
    types = {r.type for r in rows}
    pooled = [row for row in publish.rows("programme_types", regions=None)
              if row["type"] in types]
    return LearnPanel(dimension=sila, dimension_name=dict(choices).get(sila, sila),
                      choices=choices, programmes=rows,
                      forest=_place(dots, lang, zero=True, digits=2), pooled=pooled)


# --- indicators and achievements --------------------------------------------------------------


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


def _add_achievements(dashboard: Dashboard, *, regions: set[str] | None, lang: str) -> None:
    # ALL has no indicator values or targets of its own: show the visible regions' rows
    scope = None if dashboard.region == ALL_REGIONS else dashboard.region
    rows: list[AchievementRow] = []
    stored = list(publish.achievements(regions=regions, region=scope).order_by(
        "indicator__level", "indicator__code", "region_code", "year"))
    names = {code: name for code, (name, _) in
             region_labels({a.region_code for a in stored} | {dashboard.region}).items()}
    for a in stored:
        rows.append(AchievementRow(
            indicator_code=a.indicator.code, indicator_name=_indicator_name(a.indicator, lang),
            negative=a.indicator.polarity == Polarity.NEGATIVE, region=a.region_code,
            region_name=names.get(a.region_code, a.region_code), year=a.year,
            target=a.target, result=a))
    overall = dashboard.overall
    if scope is not None and overall is not None:
        # a year whose index is not shown keeps its row in the capaian table, with the reason
        targets = dashboard.index_targets
        have = {r.year for r in rows if r.indicator_code == INDEX_CODE}
        name = next((r.indicator_name for r in rows if r.indicator_code == INDEX_CODE),
                    _("Index value"))
        for row in overall.rows:
            if row.year in have or row.year not in targets:
                continue
            if row.estimate is None or row.estimate.suppressed:
                reason = (_("not shown (fewer than 30 respondents)") if row.estimate
                          else _("not surveyed"))
                rows.append(AchievementRow(INDEX_CODE, name, False, scope,
                                           names.get(scope, scope), row.year,
                                           targets[row.year], None, reason))
        rows.sort(key=lambda r: (r.indicator_code != INDEX_CODE, r.indicator_code, r.region,
                                 r.year))
    dashboard.achievements = rows


def _indicator_name(indicator: Indicator, lang: str) -> str:
    return indicator.name_en if lang == "en" and indicator.name_en else indicator.name_id


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
    names = region_labels({r.region for r in dashboard.outcomes + dashboard.outputs if r.region})
    for row in dashboard.outcomes + dashboard.outputs:
        row.region_name = names.get(row.region, (row.region, ""))[0]
        row.cells = [(y, row.values.get(y), row.targets.get(y))
                     for y in dashboard.indicator_years]


def _indicator_row(
    indicator: Indicator, region: str, lang: str, validation: ProxyValidationResult | None
) -> IndicatorRow:
    return IndicatorRow(
        code=indicator.code,
        name=_indicator_name(indicator, lang),
        unit=indicator.unit,
        dimension=indicator.dimension_code,
        region=region,
        values={},
        targets={},
        validation=validation,
        negative=indicator.polarity == Polarity.NEGATIVE,
    )
