"""Trend charts of published estimates (PNG or SVG), drawn with matplotlib's object API.

`trend_chart_for` reads what one chart needs (through `surveys.publish`, so the region scope
and the publication rule apply) and `draw_trend` draws it from plain values. No pyplot: a
Figure per call keeps the drawing free of global state and safe in threaded servers. Every
text is drawn as plain text (no mathtext, no TeX): a region name such as ``Kota $x$`` is
printed as written.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext_noop as _noop

from surveys import language, publish
from surveys.models import ALL_REGIONS, OVERALL, Dimension, Programme, Region

#: the charts' words: key -> English msgid (Indonesian in locale/id, surveys/i18n.py)
LABELS: dict[str, str] = {
    # Translators: id: Nilai indeks
    "estimate": _noop("Index value"),
    # Translators: id: Selang kepercayaan 95 %
    "ci": _noop("95 % confidence interval"),
    # Translators: id: Target
    "target": _noop("Target"),
    # Translators: id: Perubahan signifikan (p < 0,05)
    "significant": _noop("Significant change (p < 0.05)"),
    # Translators: id: Tidak ditampilkan (responden < 30)
    "suppressed": _noop("Not shown (fewer than 30 respondents)"),
    # Translators: id: Estimasi model / model-based
    "model": _noop("Model-based estimate"),
    # Translators: id: Program kantor
    "programme": _noop("Office programme"),
    # Translators: id: Tahun
    "year": _noop("Year"),
    # Translators: id: Nilai (0–100)
    "score": _noop("Score (0–100)"),
    # Translators: id: Indeks keseluruhan
    "overall": _noop("Overall index"),
    # Translators: id: Seluruh wilayah survei
    "all": _noop("Whole survey area"),
    # Translators: id: Versi instrumen berganti
    "version": _noop("Instrument version changed"),
    # Translators: id: Deret putus (butir tertaut < 3)
    "break": _noop("Series break (fewer than 3 linked items)"),
    # Translators: id: Estimasi jembatan (butir tertaut)
    "bridge": _noop("Bridge estimate (linked items)"),
}

#: figure sizes (inches at 100 dpi): ``wide`` for a card at 1280 px, ``phone`` drawn for a
#: 360-390 px screen so that its text stays legible at its displayed size
SIZES = {"wide": (7.0, 3.8), "phone": (4.0, 4.2)}
Z95 = 1.959963984540054
MODEL_COLOUR = "#6c3483"
PROGRAMME_COLOUR = "#d5f5e3"

ESTIMATE_COLOUR = "#1f4e79"
TARGET_COLOUR = "#b22222"
SIGNIFICANT_COLOUR = "#d4a017"
BRIDGE_COLOUR = "#117a65"
VERSION_COLOUR = "#555555"


@dataclass(frozen=True)
class TrendPoint:
    year: int
    estimate: float | None  # None: suppressed (a gap)
    ci_low: float | None
    ci_high: float | None
    segment: int = 0  # instrument version; a new version breaks the line


@dataclass(frozen=True)
class TrendChart:
    title: str
    points: Sequence[TrendPoint]
    targets: dict[int, float] = field(default_factory=dict)
    significant: dict[int, float] = field(default_factory=dict)  # to_wave -> delta
    #: model-based (small-area) estimates of suppressed/unsurveyed years: year -> (estimate,
    #: ci_low, ci_high); drawn apart (hollow, dashed), never joined to the survey line
    models: dict[int, tuple[float, float, float]] = field(default_factory=dict)
    #: the office's own programmes as (start year, end year): shaded periods
    programmes: Sequence[tuple[int, int]] = ()
    #: instrument version boundaries: (first year of the new version, the series breaks there)
    boundaries: Sequence[tuple[int, bool]] = ()
    #: bridge (linked-item) estimates of the latest series when it spans versions; the
    #: significant marks of changes on that basis (``linked``) sit on these points
    bridge: Sequence[TrendPoint] = ()
    linked: frozenset[int] = frozenset()


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def draw_trend(chart: TrendChart, *, fmt: str, lang: str = "id", size: str = "wide") -> bytes:
    """Draw `chart` as ``png`` or ``svg`` bytes. SVG text stays text (searchable, labelled).
    ``size`` is ``wide`` or ``phone`` (`SIZES`); the title wraps to the figure's width."""
    import textwrap

    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    labels = language.words(LABELS, lang)
    years = sorted({p.year for p in chart.points} | set(chart.models))
    phone = size == "phone"
    # plain text only: "$" in a label is a character, never mathtext (or TeX)
    style = {"svg.fonttype": "none", "svg.hashsalt": "nilai", "font.size": 11,
             "text.parse_math": False, "text.usetex": False}
    with matplotlib.rc_context(style):
        fig = Figure(figsize=SIZES.get(size, SIZES["wide"]), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        for i, (start, end) in enumerate(sorted(chart.programmes)):
            span = ax.axvspan(start - 0.45, end + 0.45, color=PROGRAMME_COLOUR, alpha=0.9,
                              linewidth=0, zorder=0, label=labels["programme"] if i == 0 else None)
            span.set_gid(f"programme-{i}")
        first = True
        for segment in sorted({p.segment for p in chart.points}):
            points = [p for p in chart.points if p.segment == segment]
            xs = [p.year for p in points]
            band = ax.fill_between(
                xs,
                [_nan(p.ci_low) for p in points],
                [_nan(p.ci_high) for p in points],
                color=ESTIMATE_COLOUR,
                alpha=0.18,
                linewidth=0,
                label=labels["ci"] if first else None,
            )
            band.set_gid(f"ci95-{segment}")
            shown = [p for p in points if p.ci_low is not None and p.ci_high is not None]
            if shown:
                # whiskers keep the CI visible for a year whose neighbours are gaps
                bars = ax.vlines(
                    [p.year for p in shown],
                    [p.ci_low for p in shown],
                    [p.ci_high for p in shown],
                    color=ESTIMATE_COLOUR,
                    alpha=0.5,
                    linewidth=1,
                )
                bars.set_gid(f"ci95-bars-{segment}")
            (line,) = ax.plot(
                xs,
                [_nan(p.estimate) for p in points],
                color=ESTIMATE_COLOUR,
                marker="o",
                linewidth=2,
                label=labels["estimate"] if first else None,
            )
            line.set_gid(f"estimate-{segment}")
            first = False
        hidden = [p.year for p in chart.points if p.estimate is None]
        if hidden:
            (marks,) = ax.plot(
                hidden,
                [0.04] * len(hidden),
                transform=ax.get_xaxis_transform(),
                linestyle="none",
                marker="x",
                color="#777777",
                label=labels["suppressed"],
            )
            marks.set_gid("suppressed")
        if chart.models:
            model_years = sorted(chart.models)
            values = [chart.models[y][0] for y in model_years]
            bars = ax.errorbar(
                model_years, values,
                yerr=[[v - chart.models[y][1] for y, v in zip(model_years, values, strict=True)],
                      [chart.models[y][2] - v for y, v in zip(model_years, values, strict=True)]],
                fmt="D", markersize=7, markerfacecolor="white", color=MODEL_COLOUR,
                ecolor=MODEL_COLOUR, elinewidth=1.5, capsize=4, linestyle="none",
                label=labels["model"])
            bars[2][0].set_linestyle("--")
            bars[0].set_gid("model-based")
        if chart.targets:
            target_years = sorted(chart.targets)
            (target,) = ax.plot(
                target_years,
                [chart.targets[y] for y in target_years],
                color=TARGET_COLOUR,
                linestyle="--",
                marker="_",
                markersize=14,
                label=labels["target"],
            )
            target.set_gid("target")
        seen: set[str] = set()
        for year, broken in sorted(chart.boundaries):
            key = "break" if broken else "version"
            vline = ax.axvline(year - 0.5, color=VERSION_COLOUR, linewidth=1.5 if broken else 1,
                               linestyle="-" if broken else ":",
                               label=labels[key] if key not in seen else None)
            seen.add(key)
            vline.set_gid(f"version-{'break' if broken else 'change'}-{year}")
        if chart.bridge:
            (bridge,) = ax.plot([p.year for p in chart.bridge],
                                [_nan(p.estimate) for p in chart.bridge], color=BRIDGE_COLOUR,
                                marker="s", markersize=5, linestyle="--", linewidth=1.5,
                                label=labels["bridge"])
            bridge.set_gid("bridge")
        by_year = {p.year: p.estimate for p in chart.points}
        by_year.update({p.year: p.estimate for p in chart.bridge if p.year in chart.linked})
        flagged = [y for y in sorted(chart.significant) if by_year.get(y) is not None]
        if flagged:
            marks = ax.scatter(
                flagged,
                [by_year[y] for y in flagged],
                s=150,
                facecolors="none",
                edgecolors=SIGNIFICANT_COLOUR,
                linewidths=2.2,
                zorder=5,
                label=labels["significant"],
            )
            marks.set_gid("significant")
        ax.set_title(textwrap.fill(chart.title, 40 if phone else 75), fontsize=11)
        ax.set_xlabel(labels["year"])
        ax.set_ylabel(labels["score"])
        ax.set_xticks(years, [str(y) for y in years])
        if years:
            ax.set_xlim(min(years) - 0.4, max(years) + 0.4)
        if lang != "en":
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}".replace(".", ",")))
        ax.margins(y=0.12)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1 if phone else 2,
                  fontsize=10 if phone else 9, frameon=False)
        out = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(out, format=fmt, metadata=metadata)
    return out.getvalue()


def trend_chart_for(
    *,
    regions: set[str] | None,
    region: str,
    dimension: str,
    instrument: str | None,
    fmt: str,
    lang: str = "id",
    size: str = "wide",
) -> bytes:
    """The trend chart of one region x dimension the caller may see.

    Raises LookupError when the region is outside `regions` or has no estimates, so that
    the caller cannot tell the two apart.
    """
    if regions is not None and region not in regions:
        raise LookupError(region)
    if instrument is None:
        instrument = publish.latest_instrument(
            regions=regions, region=region, dimension=dimension
        )
        if instrument is None:
            raise LookupError(region)
    series = publish.published_series(
        regions=regions, region=region, dimension=dimension, instrument=instrument
    )
    if not series:
        raise LookupError(region)
    shown = {p.year for p in series if p.estimate is not None}
    models = {}
    for row in publish.rows("sae", regions=regions, region=region, instrument=instrument):
        value, se = row["model_estimate"], row["model_se"]
        if (row["dimension"] == dimension and row["wave__year"] not in shown
                and value is not None and se is not None
                and math.isfinite(value) and math.isfinite(se)):
            models[row["wave__year"]] = (value, value - Z95 * se, value + Z95 * se)
    programmes = list(
        Programme.objects.filter(
            region__code=region, dimension_code="" if dimension == OVERALL else dimension)
        .values_list("start_year", "end_year")
    ) if region != ALL_REGIONS else []
    from surveys.services import bridges

    current = bridges.current_series(regions=regions, region=region, dimension=dimension,
                                     instrument=instrument)
    breaks = set(current.breaks) if current is not None else set()
    linked = current is not None and current.basis == "linked"
    changes = publish.changes(regions=regions, instrument=instrument, region=region,
                              dimension=dimension)
    chart = TrendChart(
        boundaries=[(year, year in breaks) for year, _, _ in
                    bridges.version_boundaries(instrument)],
        bridge=[TrendPoint(p.year, p.estimate, p.ci_low, p.ci_high) for p in current.points]
        if linked and current is not None else [],
        linked=frozenset(changes.filter(basis="linked").values_list("to_wave", flat=True)),
        title=_title(region=region, dimension=dimension, instrument=instrument, lang=lang),
        models=models,
        programmes=programmes,
        points=[
            TrendPoint(p.year, p.estimate, p.ci_low, p.ci_high, segment=p.version_id)
            for p in series
        ],
        targets=(
            publish.index_targets(regions=regions, region=region) if dimension == OVERALL
            else {}
        ),
        significant=dict(changes.filter(significant=True).values_list("to_wave", "delta")),
    )
    return draw_trend(chart, fmt=fmt, lang=lang, size=size)


def _title(*, region: str, dimension: str, instrument: str, lang: str) -> str:
    labels = language.words(LABELS, lang)
    if dimension == OVERALL:
        dimension_name = labels["overall"]
    else:
        row = (
            Dimension.objects.filter(version__instrument__code=instrument, code=dimension)
            .order_by("-version__version")
            .values_list("name_en" if lang == "en" else "name_id", "name_id")
            .first()
        )
        dimension_name = f"{dimension} {(row[0] or row[1]) if row else ''}".strip()
    if region == ALL_REGIONS:
        # the whole design is named after its province (the one province row), when known
        provinces = list(Region.objects.filter(level="province", parent__isnull=True)
                         .values_list("name", flat=True)[:2])
        region_name = provinces[0] if len(provinces) == 1 else labels["all"]
    else:
        region_name = publish.region_names({region}).get(region, region)
    return f"{dimension_name} — {region_name}"
