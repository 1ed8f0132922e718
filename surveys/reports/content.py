"""What the report says: every number read through `surveys.publish`, assembled into sections of
plain blocks (paragraphs, tables with their cells already printed, charts) that the PDF and the
Word writer both render, so the two documents hold the same tables to the character.

The caller's region scope (`regions`, from `visible_region_codes`) applies to every read, and a
suppressed estimate (n < 30) is blank here as everywhere else. The summary is built from the
figures: a change is called a rise or a fall only when it is significant (p < .05), and the trend
verdict is METHODS 6's (`analysis.trends.office_verdict`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from analysis import trends
from surveys import publish
from surveys.models import (
    ALL_REGIONS,
    OVERALL,
    Dimension,
    IndicatorLevel,
    Polarity,
    Programme,
    Region,
    RegionLevel,
    Wave,
)
from surveys.reports import text as tx
from surveys.services.charts import TrendChart, TrendPoint


class ReportError(ValueError):
    """The report cannot be made (unknown region, nothing published for that year, ...): the
    message says why, in Indonesian and English."""


# --- blocks ---------------------------------------------------------------------------------


@dataclass
class Paragraph:
    text: str
    #: "" plain, "lead" (summary sentence), "note" (small print), "model" (model-based label)
    kind: str = ""


@dataclass
class Table:
    key: str
    columns: list[str]
    rows: list[list[str]]
    #: indexes of the right-aligned (numeric) columns
    numeric: tuple[int, ...] = ()
    caption: str = ""


@dataclass
class Chart:
    key: str
    chart: TrendChart
    alt: str


Block = Paragraph | Table | Chart


@dataclass
class Section:
    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)


@dataclass
class Report:
    lang: str
    region: str
    region_name: str
    region_label: str
    year: int
    instrument: str
    instrument_title: str
    version: int
    created: dt.date
    title: str
    subtitle: str
    cover: list[tuple[str, str]]
    source_note: str
    sections: list[Section]

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
            for child in section.children:
                if child.key == key:
                    return child
        raise KeyError(key)

    def table(self, key: str) -> Table | None:
        for section in self.sections:
            for part in [section, *section.children]:
                for block in part.blocks:
                    if isinstance(block, Table) and block.key == key:
                        return block
        return None

    @property
    def file_stem(self) -> str:
        return f"laporan-{self.region}-{self.year}" if self.lang != "en" else (
            f"report-{self.region}-{self.year}")


# --- reading ----------------------------------------------------------------------------------


def _err(text_id: str, text_en: str) -> ReportError:
    return ReportError(f"{text_id} / {text_en}")


def province_name() -> str | None:
    return (Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code")
            .values_list("name", flat=True).first())


def region_label(region: str, lang: str) -> tuple[str, str]:
    """(name, name with its codes) of a region; ALL is the whole survey area (the province)."""
    if region == ALL_REGIONS:
        name = province_name() or ("Seluruh wilayah survei" if lang != "en" else
                                   "Whole survey area")
        whole = "seluruh wilayah survei" if lang != "en" else "whole survey area"
        return name, f"{name} ({whole}, ALL)"
    row = Region.objects.filter(code=region).values_list("name", "code_kemendagri").first()
    if row is None:
        raise _err(f"wilayah {region} tidak dikenal", f"unknown region {region}")
    name, kemendagri = row
    codes = f"BPS {region}" + (f" · Kemendagri {kemendagri}" if kemendagri else "")
    return name, f"{name} ({codes})"


def report_instrument(*, regions: set[str] | None, region: str, year: int,
                      instrument: str | None = None) -> str:
    """The instrument whose overall index the region has in `year` (the one asked for, else
    the first by code), or ReportError saying what is missing."""
    found = sorted(set(
        publish.rows("estimates", regions=regions, region=region, wave=year,
                     dimension=OVERALL).values_list("wave__instrument__code", flat=True)))
    if instrument is not None:
        if instrument not in found:
            raise _err(f"tidak ada estimasi instrumen {instrument} untuk wilayah {region} tahun "
                       f"{year}", f"no estimates of instrument {instrument} for region {region} "
                       f"in {year}")
        return instrument
    if not found:
        years = sorted(set(publish.rows("estimates", regions=regions, region=region,
                                        dimension=OVERALL)
                           .values_list("wave__year", flat=True)))
        have = ", ".join(str(y) for y in years) or "-"
        raise _err(f"tidak ada estimasi untuk wilayah {region} tahun {year} (tahun tersedia: "
                   f"{have})", f"no estimates for region {region} in {year} (years available: "
                   f"{have})")
    return found[0]


# --- building ---------------------------------------------------------------------------------


@dataclass
class _Data:
    lang: str
    region: str
    year: int
    instrument: str
    estimates: dict[str, list[publish.PublishedEstimate]]  # dimension -> years <= year
    province: dict[str, publish.PublishedEstimate]  # dimension -> ALL in `year`
    changes: dict[tuple[str, int], Any]  # (dimension, to_wave) -> ChangeResult
    names: dict[str, str]
    order: list[str]
    sae: dict[int, dict[str, Any]]
    versions: dict[int, int]  # version id -> version number


def build_report(*, region: str, year: int, regions: set[str] | None, lang: str = "id",
                 instrument: str | None = None, today: dt.date | None = None) -> Report:
    """Assemble the report of `region` for `year` as the caller (`regions`) may see it."""
    lang = "en" if lang == "en" else "id"
    w = tx.words(lang)
    if regions is not None and region not in regions:
        raise _err(f"wilayah {region} di luar cakupan akun ini",
                   f"region {region} is outside this account's scope")
    name, label = region_label(region, lang)
    instrument = report_instrument(regions=regions, region=region, year=year,
                                   instrument=instrument)
    wave = (Wave.objects.filter(instrument__code=instrument, year=year)
            .select_related("version", "instrument").get())
    data = _read(regions=regions, region=region, year=year, instrument=instrument, lang=lang)
    title_instrument = (wave.version.title_en if lang == "en" and wave.version.title_en
                        else wave.version.title_id)
    run = (publish.rows("estimates", regions=regions, region=region, wave=year,
                        instrument=instrument, dimension=OVERALL, extra=("run_id",))
           .values_list("run_id", flat=True).first())
    created = today or dt.date.today()
    report = Report(
        lang=lang, region=region, region_name=name, region_label=label, year=year,
        instrument=instrument, instrument_title=title_instrument,
        version=wave.version.version, created=created,
        title=w["title"], subtitle=w["subtitle"].format(year=year),
        cover=[(w["region"], label), (w["year"], str(year)),
               (w["instrument"], f"{title_instrument} ({instrument}, {w['version']} "
                                 f"{wave.version.version}, {w['scale']} "
                                 f"{wave.version.scale_min}–{wave.version.scale_max})"),
               (w["date"], tx.date(created, lang))],
        source_note=w["source_note"].format(run=f"#{run}" if run else "-"),
        sections=[],
    )
    rpjmd, achieved = _rpjmd_section(data, regions=regions, name=name)
    report.sections = [
        _summary_section(data, achieved, name=name),
        rpjmd,
        _sila_section(data, regions=regions, name=name),
        _outputs_section(data, regions=regions),
        _programmes_section(data),
        _methods_section(data, regions=regions, name=name),
    ]
    return report


def _read(*, regions: set[str] | None, region: str, year: int, instrument: str,
          lang: str) -> _Data:
    series: dict[str, list[publish.PublishedEstimate]] = defaultdict(list)
    versions: dict[int, int] = {}
    for e in publish.published_estimates(regions=regions, region=region, instrument=instrument):
        if e.year <= year:
            series[e.dimension].append(e)
            versions[e.version_id] = 0
    for vid, number in Wave.objects.filter(version_id__in=list(versions)).values_list(
            "version_id", "version__version"):
        versions[vid] = number
    province: dict[str, publish.PublishedEstimate] = {}
    if region != ALL_REGIONS and (regions is None or ALL_REGIONS in regions):
        for e in publish.published_estimates(regions=regions, region=ALL_REGIONS,
                                             instrument=instrument, wave=year):
            province[e.dimension] = e
    changes = {(c.dimension, c.to_wave): c for c in publish.changes(
        regions=regions, region=region, instrument=instrument) if c.to_wave <= year}
    names: dict[str, str] = {}
    positions: dict[str, int] = {}
    for code, name_id, name_en, position in (
            Dimension.objects.filter(version__instrument__code=instrument)
            .order_by("version__version").values_list("code", "name_id", "name_en", "position")):
        names[code] = name_en if lang == "en" and name_en else name_id
        positions[code] = position
    names[OVERALL] = tx.words(lang)["overall"]
    order = sorted(series, key=lambda c: (c != OVERALL, positions.get(c, 999), c))
    sae: dict[int, dict[str, Any]] = {}
    for row in publish.rows("sae", regions=regions, region=region, instrument=instrument):
        if row["wave__year"] <= year and row["status"] == "ok" and (
                row["model_estimate"] is not None):
            sae[row["wave__year"]] = row
    return _Data(lang=lang, region=region, year=year, instrument=instrument, estimates=series,
                 province=province, changes=changes, names=names, order=order, sae=sae,
                 versions=versions)


def _dim_label(data: _Data, code: str) -> str:
    name = data.names.get(code, code)
    return name if code == OVERALL else f"{code} {name}"


def _current(data: _Data, code: str) -> publish.PublishedEstimate | None:
    rows = [e for e in data.estimates.get(code, []) if e.year == data.year]
    return rows[0] if rows else None


def _published_points(data: _Data, code: str) -> list[publish.PublishedEstimate]:
    return [e for e in data.estimates.get(code, [])
            if not e.suppressed and e.estimate is not None and e.se is not None]


# --- 2. summary -------------------------------------------------------------------------------


def _overall_sentence(data: _Data, name: str) -> str:
    lang = data.lang
    e = _current(data, OVERALL)
    model = data.sae.get(data.year)
    if e is None:
        return (f"Indeks tahun {data.year} belum tersedia untuk {name}." if lang != "en" else
                f"No index for {name} in {data.year} yet.")
    if e.suppressed or e.estimate is None:
        text = (f"Indeks Internalisasi Nilai Pancasila {name} tahun {data.year} tidak "
                f"ditampilkan: hanya {e.n} responden (kurang dari 30)." if lang != "en" else
                f"The Pancasila values index of {name} in {data.year} is not shown: only {e.n} "
                f"respondents (fewer than 30).")
        if model is not None:
            low = model["model_estimate"] - 1.959964 * model["model_se"]
            high = model["model_estimate"] + 1.959964 * model["model_se"]
            text += (f" Estimasi model / model-based (Fay-Herriot, bukan hasil survei): "
                     f"{tx.index(model['model_estimate'], lang)} (selang 95 % "
                     f"{tx.interval(low, high, lang)})." if lang != "en" else
                     f" Model-based estimate (Fay-Herriot, not a survey result): "
                     f"{tx.index(model['model_estimate'], lang)} (95 % interval "
                     f"{tx.interval(low, high, lang)}).")
        return text
    if lang == "en":
        return (f"The Pancasila values index of {name} in {data.year} is "
                f"{tx.index(e.estimate, lang)} out of 100, category "
                f"{tx.category(e.category, lang)} "
                f"(95 % confidence interval {tx.interval(e.ci_low, e.ci_high, lang)}; "
                f"{e.n} respondents).")
    return (f"Indeks Internalisasi Nilai Pancasila {name} tahun {data.year} adalah "
            f"{tx.index(e.estimate, lang)} dari 100, kategori {tx.category(e.category, lang)} "
            f"(selang kepercayaan 95 % {tx.interval(e.ci_low, e.ci_high, lang)}; "
            f"{e.n} responden).")


def _change_sentences(data: _Data) -> list[str]:
    """Which sila changed significantly since the previous published year, and which did not."""
    lang = data.lang
    ups, downs, flat = [], [], []
    previous: set[int] = set()
    for code in data.order:
        change = data.changes.get((code, data.year))
        if change is None:
            continue
        previous.add(change.from_wave)
        label = _dim_label(data, code)
        if change.significant:
            part = (f"{label} {tx.number(change.delta, 1, lang, sign=True)} poin ("
                    f"{tx.pvalue(change.p, lang)})" if lang != "en" else
                    f"{label} {tx.number(change.delta, 1, lang, sign=True)} points ("
                    f"{tx.pvalue(change.p, lang)})")
            (ups if change.delta > 0 else downs).append(part)
        else:
            flat.append(f"{label} ({tx.number(change.delta, 1, lang, sign=True)}, MDC "
                        f"{tx.number(change.mdc, 1, lang)})")
    current = _current(data, OVERALL)
    if not (ups or downs or flat) and current is not None and current.suppressed:
        return [f"Perubahan dari tahun sebelumnya tidak dihitung: angka {data.year} tidak "
                "ditampilkan (responden < 30)." if lang != "en" else
                f"No change from the previous year: the {data.year} figures are not shown "
                "(fewer than 30 respondents)."]
    if not (ups or downs or flat):
        return [f"Belum ada tahun sebelumnya yang dapat dibandingkan dengan {data.year}."
                if lang != "en" else
                f"There is no earlier published year to compare {data.year} with."]
    since = ", ".join(str(y) for y in sorted(previous))
    out = []
    if lang == "en":
        if ups:
            out.append(f"Since {since}, significant rises (p < .05): {'; '.join(ups)}.")
        if downs:
            out.append(f"Since {since}, significant falls (p < .05): {'; '.join(downs)}.")
        if flat:
            out.append(f"Not significantly changed since {since}: {'; '.join(flat)}; a change "
                       "smaller than the MDC (minimum detectable change) cannot be told from "
                       "sampling noise.")
        return out
    if ups:
        out.append(f"Dibanding {since}, naik secara signifikan (p < 0,05): {'; '.join(ups)}.")
    if downs:
        out.append(f"Dibanding {since}, turun secara signifikan (p < 0,05): {'; '.join(downs)}.")
    if flat:
        out.append(f"Belum berubah secara signifikan dibanding {since}: {'; '.join(flat)}; "
                   "perubahan yang lebih kecil dari MDC (perubahan minimum terdeteksi) belum "
                   "dapat dibedakan dari galat sampel.")
    return out


def verdict_sentence(data: _Data, code: str) -> str:
    """METHODS 6: first-to-latest published change with its test; the Theil-Sen slope as the
    average change per year; never "no trend" when there are too few years to test one."""
    lang = data.lang
    points = _published_points(data, code)
    label = _dim_label(data, code)
    if len(points) < 2:
        return (f"{label}: baru {len(points)} tahun terbit; perubahan belum dapat dinilai."
                if lang != "en" else
                f"{label}: {len(points)} published year(s) only; no change can be judged yet.")
    verdict = trends.office_verdict([p.year for p in points], [p.estimate for p in points],
                                    [p.se for p in points])
    change = verdict.change
    assert change is not None
    first, last = points[0].year, points[-1].year
    delta = tx.number(change.delta, 1, lang, sign=True)
    size = tx.number(abs(change.delta), 1, lang)
    if lang == "en":
        if verdict.direction == "up":
            text = f"{label}: rose by {size} points from {first} to {last} ("
        elif verdict.direction == "down":
            text = f"{label}: fell by {size} points from {first} to {last} ("
        else:
            text = (f"{label}: not significantly changed from {first} to {last} ({delta} "
                    "points, ")
        text += f"{tx.pvalue(change.p, lang)}, MDC {tx.number(change.mdc, 1, lang)})"
        if not math.isnan(verdict.sen_slope):
            text += (f"; on average {tx.number(verdict.sen_slope, 1, lang, sign=True)} points "
                     "per year")
        if not verdict.trend_testable:
            text += "; too few years for a trend test"
        return text + "."
    if verdict.direction == "up":
        text = f"{label}: naik {size} poin dari {first} ke {last} ("
    elif verdict.direction == "down":
        text = f"{label}: turun {size} poin dari {first} ke {last} ("
    else:
        text = (f"{label}: belum berubah secara signifikan dari {first} ke {last} ({delta} "
                "poin, ")
    text += f"{tx.pvalue(change.p, lang)}, MDC {tx.number(change.mdc, 1, lang)})"
    if not math.isnan(verdict.sen_slope):
        text += (f"; rata-rata {tx.number(verdict.sen_slope, 1, lang, sign=True)} poin per "
                 "tahun")
    if not verdict.trend_testable:
        text += "; terlalu sedikit tahun untuk uji tren"
    return text + "."


def _target_sentence(data: _Data, achieved: list[dict[str, Any]]) -> str:
    lang = data.lang
    if not achieved:
        return (f"Tidak ada indikator bertarget tahun {data.year}." if lang != "en" else
                f"No indicator has a target for {data.year}.")
    measured = [a for a in achieved if a["achievement"] is not None]
    met = [a for a in measured if a["met"]]
    sure = [a for a in met if a["met_with_confidence"]]
    missed = [a for a in measured if not a["met"]]
    open_ = [a for a in achieved if a["achievement"] is None]
    names = lambda rows: ", ".join(a["name"] for a in rows)  # noqa: E731
    if lang == "en":
        text = f"Of {len(achieved)} indicator(s) with a target for {data.year}, {len(met)} met"
        if met:
            text += f" ({names(met)})"
        survey_met = [a for a in met if a["met_with_confidence"] is not None]
        if survey_met:
            text += f", {len(sure)} of them with 95 % confidence"
        text += f"; {len(missed)} missed" + (f" ({names(missed)})" if missed else "")
        if open_:
            text += f"; {len(open_)} without a realisation ({names(open_)})"
        return text + "."
    text = f"Dari {len(achieved)} indikator bertarget tahun {data.year}, {len(met)} tercapai"
    if met:
        text += f" ({names(met)})"
    survey_met = [a for a in met if a["met_with_confidence"] is not None]
    if survey_met:
        text += f", {len(sure)} di antaranya tercapai pada keyakinan 95 %"
    text += f"; {len(missed)} belum tercapai" + (f" ({names(missed)})" if missed else "")
    if open_:
        text += f"; {len(open_)} tanpa realisasi ({names(open_)})"
    return text + "."


def _province_sentence(data: _Data, name: str) -> str | None:
    lang = data.lang
    mine, whole = _current(data, OVERALL), data.province.get(OVERALL)
    if data.region == ALL_REGIONS or mine is None or whole is None:
        return None
    if mine.estimate is None or whole.estimate is None or mine.se is None or whole.se is None:
        return None
    delta, p, significant = _difference(mine, whole)
    province = province_name() or "ALL"
    if lang == "en":
        where = ("higher than" if delta > 0 else "lower than") if significant else (
            "not significantly different from")
        return (f"{name} is {where} the whole province ({province} "
                f"{tx.index(whole.estimate, lang)}, 95 % confidence interval "
                f"{tx.interval(whole.ci_low, whole.ci_high, lang)}; difference "
                f"{tx.number(delta, 1, lang, sign=True)}, {tx.pvalue(p, lang)}).")
    where = ("lebih tinggi daripada" if delta > 0 else "lebih rendah daripada") if significant \
        else "tidak berbeda secara signifikan dari"
    return (f"{name} {where} provinsi secara keseluruhan ({province} "
            f"{tx.index(whole.estimate, lang)}, selang kepercayaan 95 % "
            f"{tx.interval(whole.ci_low, whole.ci_high, lang)}; selisih "
            f"{tx.number(delta, 1, lang, sign=True)}, {tx.pvalue(p, lang)}).")


def _difference(mine: publish.PublishedEstimate, whole: publish.PublishedEstimate
                ) -> tuple[float, float, bool]:
    """Region minus province with a conservative z test: SE = sqrt(se1^2 + se2^2) ignores the
    positive covariance of a region with the province that contains it, which only widens
    the SE (docs/DECISIONS.md)."""
    from scipy.stats import norm

    assert mine.estimate is not None and whole.estimate is not None
    delta = mine.estimate - whole.estimate
    se = math.hypot(mine.se or 0.0, whole.se or 0.0)
    p = float(2 * norm.sf(abs(delta) / se)) if se > 0 else 1.0
    return delta, p, p < 0.05


def _summary_section(data: _Data, achieved: list[dict[str, Any]], *, name: str) -> Section:
    w = tx.words(data.lang)
    blocks: list[Block] = [Paragraph(_overall_sentence(data, name), "lead")]
    blocks += [Paragraph(s) for s in _change_sentences(data)]
    if OVERALL in data.estimates:
        blocks.append(Paragraph(verdict_sentence(data, OVERALL)))
    blocks.append(Paragraph(_target_sentence(data, achieved)))
    line = _province_sentence(data, name)
    if line:
        blocks.append(Paragraph(line))
    return Section("summary", w["s_summary"], blocks)


# --- 3. RPJMD table ---------------------------------------------------------------------------


def _indicator_name(indicator: Any, lang: str) -> str:
    return indicator.name_en if lang == "en" and indicator.name_en else indicator.name_id


def _unit(indicator: Any, lang: str) -> str:
    if indicator.level == IndicatorLevel.INDEX and not indicator.unit:
        return tx.words(lang)["index_unit"]
    unit = tx.bilingual(indicator.unit, lang)
    if indicator.polarity == Polarity.NEGATIVE:
        unit = f"{unit} ({tx.words(lang)['negative']})" if unit else tx.words(lang)["negative"]
    return unit


def _rpjmd_section(data: _Data, *, regions: set[str] | None, name: str
                   ) -> tuple[Section, list[dict[str, Any]]]:
    lang, w = data.lang, tx.words(data.lang)
    achievements = {a.indicator_id: a for a in publish.achievements(
        regions=regions, region=data.region, year=data.year)}
    current = _current(data, OVERALL)
    achieved: list[dict[str, Any]] = []
    rows: list[list[str]] = []
    proxies: list[list[str]] = []
    validation = {v.indicator_id: v for v in publish.proxy_validation()}
    level_order = {IndicatorLevel.INDEX: 0, IndicatorLevel.OUTCOME: 1, IndicatorLevel.OUTPUT: 2}
    indicators = sorted(publish.indicators(regions=regions, region=data.region, year=data.year),
                        key=lambda i: (level_order.get(i.level, 9), i.code))
    for indicator in indicators:
        if indicator.level == IndicatorLevel.OUTPUT:
            continue  # outputs have their own section
        target = next((t.target for t in indicator.scoped_targets), None)
        label = f"{_indicator_name(indicator, lang)} ({indicator.code})"
        if target is None:
            if indicator.level == IndicatorLevel.OUTCOME:
                value = next((v.value for v in indicator.scoped_values), None)
                if value is not None:
                    check = validation.get(indicator.pk)
                    proxies.append([label, _unit(indicator, lang), tx.amount(value, lang),
                                    tx.yes_no(check.accepted if check else None, lang)])
            continue
        a = achievements.get(indicator.pk)
        short = _indicator_name(indicator, lang)
        if a is None:
            hidden = (indicator.level == IndicatorLevel.INDEX and current is not None
                      and current.suppressed)
            reason = w["no_realisation_suppressed"] if hidden else w["no_realisation"]
            rows.append([label, _unit(indicator, lang), tx.amount(target, lang), reason,
                         tx.DASH, tx.DASH, tx.DASH])
            achieved.append({"name": short, "achievement": None, "met": None,
                             "met_with_confidence": None})
            continue
        rows.append([label, _unit(indicator, lang), tx.amount(a.target, lang),
                     tx.amount(a.realisation, lang), tx.pct(a.achievement_pct, lang),
                     tx.yes_no(a.met, lang), tx.yes_no(a.met_with_confidence, lang)])
        achieved.append({"name": short, "achievement": a.achievement_pct, "met": a.met,
                         "met_with_confidence": a.met_with_confidence})
    section = Section("rpjmd", w["s_rpjmd"])
    if rows:
        section.blocks.append(Table(
            "rpjmd", [w["col_indicator"], w["col_unit"], w["col_target"], w["col_realisation"],
                      w["col_achievement"], w["col_met"], w["col_met_ci"]],
            rows, numeric=(2, 3, 4),
            caption=f"{w['s_rpjmd']} — {name}, {data.year}"))
        section.blocks.append(Paragraph(w["rpjmd_note"], "note"))
    else:
        section.blocks.append(Paragraph(w["no_targets"].format(region=name, year=data.year)))
    if proxies:
        section.blocks.append(Paragraph(w["other_proxies"], "subhead"))
        section.blocks.append(Table(
            "proxies", [w["col_indicator"], w["col_unit"],
                        w["col_value_year"].format(year=data.year), w["col_validated"]],
            proxies, numeric=(2,)))
    return section, achieved


# --- 4. per sila ------------------------------------------------------------------------------


def _chart(data: _Data, code: str, *, regions: set[str] | None, name: str) -> Chart:
    points = [TrendPoint(e.year, e.estimate, e.ci_low, e.ci_high, segment=e.version_id)
              for e in data.estimates[code]]
    targets: dict[int, float] = {}
    if code == OVERALL and data.region != ALL_REGIONS:
        targets = {y: t for y, t in publish.index_targets(regions=regions, region=data.region)
                   .items() if y <= data.year}
    significant = {to: c.delta for (dim, to), c in data.changes.items()
                   if dim == code and c.significant}
    title = f"{_dim_label(data, code)} — {name}"
    extra: dict[str, Any] = {}
    if code == OVERALL and data.sae and "models" in TrendChart.__dataclass_fields__:
        # model-based cells of years without a published estimate, drawn apart and labelled
        shown = {e.year for e in data.estimates[code] if not e.suppressed}
        extra["models"] = {
            year: (row["model_estimate"], row["model_estimate"] - 1.959964 * row["model_se"],
                   row["model_estimate"] + 1.959964 * row["model_se"])
            for year, row in data.sae.items() if year not in shown}
    chart = TrendChart(title=title, points=points, targets=targets, significant=significant,
                       **extra)
    alt = tx.words(data.lang)["chart_alt"].format(name=_dim_label(data, code), region=name)
    return Chart(f"chart-{code}", chart, alt)


def _year_table(data: _Data, code: str) -> Table:
    lang, w = data.lang, tx.words(data.lang)
    rows = []
    for e in data.estimates[code]:
        change = data.changes.get((code, e.year))
        if change is None:
            moved, mdc = tx.DASH, tx.DASH
        else:
            word = w["significant"] if change.significant else w["not_significant"]
            moved = (f"{tx.number(change.delta, 1, lang, sign=True)} ({word}, "
                     f"{tx.pvalue(change.p, lang)})")
            if change.from_wave != e.year - 1:
                moved += f" {change.from_wave}→{change.to_wave}"
            mdc = tx.number(change.mdc, 1, lang)
        if e.suppressed or e.estimate is None:
            rows.append([str(e.year), w["suppressed"], tx.DASH, tx.DASH, str(e.n), moved, mdc])
        else:
            rows.append([str(e.year), tx.index(e.estimate, lang),
                         tx.interval(e.ci_low, e.ci_high, lang), tx.category(e.category, lang),
                         str(e.n), moved, mdc])
    return Table(f"years-{code}", [w["col_year"], w["col_value"], w["col_ci"],
                                   w["col_category"], w["col_n"], w["col_change"],
                                   w["col_mdc"]], rows, numeric=(1, 4, 6))


def _comparability(data: _Data) -> str | None:
    """The invariance verdict of the report year's instrument version, where one is stored and
    published (the `invariance` table, when the catalogue has it)."""
    spec = publish.TABLES.get("invariance")
    if spec is None:
        return None
    try:
        rows = list(publish.rows(spec, regions=None, instrument=data.instrument))
    except TypeError:  # the table filters differently: read it whole
        rows = list(publish.rows(spec, regions=None))
    verdicts = {r.get("comparability") for r in rows if r.get("comparability")}
    if not verdicts:
        return None
    words = {
        "comparable": ("sebanding (invariansi skalar): nilai rata-rata antartahun dapat "
                       "dibandingkan", "comparable (scalar invariance): means can be compared "
                                       "across years"),
        "partial": ("sebagian (invariansi metrik): bandingkan hubungan, bukan rata-rata",
                    "partial (metric invariance): compare relations, not means"),
        "not": ("tidak sebanding: perubahan rata-rata antartahun tidak dapat ditafsirkan",
                "not comparable: changes of the means across years cannot be interpreted"),
    }
    out = [words.get(v, (v, v))[1 if data.lang == "en" else 0] for v in sorted(verdicts)]
    return tx.words(data.lang)["comparability"].format(verdict="; ".join(out))


def _sila_section(data: _Data, *, regions: set[str] | None, name: str) -> Section:
    lang, w = data.lang, tx.words(data.lang)
    section = Section("sila", w["s_sila"])
    reliability = {r["dimension"]: r for r in publish.rows(
        "reliability", regions=regions, wave=data.year, instrument=data.instrument)}
    comparability = _comparability(data)
    for code in data.order:
        child = Section(f"sila-{code}", _dim_label(data, code))
        child.blocks.append(Paragraph(verdict_sentence(data, code), "lead"))
        child.blocks.append(_chart(data, code, regions=regions, name=name))
        child.blocks.append(_year_table(data, code))
        if code == OVERALL:
            for year, row in sorted(data.sae.items()):
                shown = next((e for e in data.estimates[code] if e.year == year), None)
                if shown is not None and not shown.suppressed:
                    continue  # a published direct estimate is never replaced
                reason = w["suppressed"] if shown is not None else w["not_surveyed"]
                low = row["model_estimate"] - 1.959964 * row["model_se"]
                high = row["model_estimate"] + 1.959964 * row["model_se"]
                child.blocks.append(Paragraph(w["model_row"].format(
                    year=year, reason=reason, value=tx.index(row["model_estimate"], lang),
                    low=tx.index(low, lang), high=tx.index(high, lang)), "model"))
        rel = reliability.get(code)
        if rel is not None and (rel["alpha"] is not None or rel["omega_total"] is not None):
            text = w["reliability"].format(dimension=_dim_label(data, code), year=data.year,
                                           alpha=tx.number(rel["alpha"], 2, lang),
                                           omega=tx.number(rel["omega_total"], 2, lang))
            low = [v for v in (rel["alpha"], rel["omega_total"]) if v is not None and v < 0.70]
            child.blocks.append(Paragraph(text + (w["reliability_low"] if low else ""), "note"))
        elif code != OVERALL:
            child.blocks.append(Paragraph(
                w["reliability_none"].format(dimension=_dim_label(data, code)), "note"))
        versions = sorted({data.versions.get(e.version_id, 0) for e in data.estimates[code]})
        if len(versions) > 1:
            child.blocks.append(Paragraph(w["comparability_versions"].format(
                versions=", ".join(str(v) for v in versions)), "note"))
        if comparability:
            child.blocks.append(Paragraph(comparability, "note"))
        section.children.append(child)
    return section


# --- 5. outputs -------------------------------------------------------------------------------


def _outputs_section(data: _Data, *, regions: set[str] | None) -> Section:
    lang, w = data.lang, tx.words(data.lang)
    section = Section("outputs", w["s_outputs"], [Paragraph(w["outputs_note"], "note")])
    achievements = {a.indicator_id: a for a in publish.achievements(
        regions=regions, region=data.region, year=data.year, level=IndicatorLevel.OUTPUT)}
    years = list(range(data.year - 4, data.year + 1))
    rows = []
    for indicator in publish.indicators(regions=regions, region=data.region,
                                        level=IndicatorLevel.OUTPUT):
        values = {v.year: v.value for v in indicator.scoped_values}
        targets = {t.year: t.target for t in indicator.scoped_targets}
        if not any(y in values or y in targets for y in years):
            continue
        a = achievements.get(indicator.pk)
        rows.append([f"{_indicator_name(indicator, lang)} ({indicator.code})",
                     _unit(indicator, lang), *[tx.amount(values.get(y), lang) for y in years],
                     tx.amount(targets.get(data.year), lang),
                     tx.pct(a.achievement_pct if a else None, lang)])
    if rows:
        section.blocks.append(Table(
            "outputs", [w["col_indicator"], w["col_unit"], *[str(y) for y in years],
                        f"{w['col_target']} {data.year}", w["col_achievement"]],
            rows, numeric=tuple(range(2, 2 + len(years) + 2))))
    else:
        section.blocks.append(Paragraph(w["no_outputs"]))
    return section


# --- 6. programmes ----------------------------------------------------------------------------


def _programmes_section(data: _Data) -> Section:
    lang, w = data.lang, tx.words(data.lang)
    section = Section("programmes", w["s_programmes"])
    if data.region == ALL_REGIONS:
        programmes = Programme.objects.filter(region__level=RegionLevel.PROVINCE)
    else:
        programmes = Programme.objects.filter(region__code=data.region)
    programmes = list(programmes.filter(start_year__lte=data.year)
                      .order_by("start_year", "code"))
    if not programmes:
        section.blocks.append(Paragraph(w["no_programmes"].format(year=data.year)))
        return section
    # programme evaluations are shared with every reader (not region-scoped)
    effects = {r["programme__code"]: r for r in publish.rows(
        "programme_effects", regions=None)
        if r["programme__code"] in {p.code for p in programmes}}
    rows = []
    for p in programmes:
        e = effects.get(p.code)
        years = str(p.start_year) if p.end_year == p.start_year else (
            f"{p.start_year}–{p.end_year}")
        effect = pv = mde = tx.DASH
        if e is None:
            verdict = w["status_no_post"]
        elif e["status"] != "ok" or e["did"] is None:
            verdict = w.get(f"status_{e['status']}", e["status"])
        else:
            effect = (f"{tx.number(e['did'], 1, lang, sign=True)} "
                      f"[{tx.number(e['did_ci_low'], 1, lang, sign=True)}; "
                      f"{tx.number(e['did_ci_high'], 1, lang, sign=True)}]")
            pv, mde = tx.pvalue(e["p"], lang), tx.number(e["mde"], 1, lang)
            if e["significant"]:
                verdict = w["effect_sig_up"] if e["did"] > 0 else w["effect_sig_down"]
            else:
                verdict = w["effect_none"].format(mde=mde)
        name = p.name_en if lang == "en" and p.name_en else p.name_id
        code = f"{p.code}" + (f", RPJMD {p.rpjmd_code}" if p.rpjmd_code else "")
        rows.append([f"{name} ({code})", p.dimension_code or OVERALL, years,
                     tx.amount(float(p.budget), lang) if p.budget is not None else tx.DASH,
                     str(p.participants) if p.participants is not None else tx.DASH,
                     effect, pv, mde, verdict])
    section.blocks.append(Table(
        "programmes", [w["col_programme"], w["col_dimension"], w["col_years"], w["col_budget"],
                       w["col_participants"], w["col_effect"], w["col_p"], w["col_mde"],
                       w["col_verdict"]], rows, numeric=(3, 4, 6, 7)))
    section.blocks.append(Paragraph(w["programmes_note"], "note"))
    return section


# --- 7. methods and caveats -------------------------------------------------------------------


def _methods_section(data: _Data, *, regions: set[str] | None, name: str) -> Section:
    lang, w = data.lang, tx.words(data.lang)
    section = Section("methods", w["s_methods"])
    e = _current(data, OVERALL)
    whole = data.province.get(OVERALL)
    suppressed = [x.year for x in data.estimates.get(OVERALL, []) if x.suppressed]
    if lang == "en":
        sample = (f"Sample {data.year}: {tx.number(e.n, 0, lang)} respondents in {name}" if e else
                  f"Sample {data.year}: none in {name}")
        if e and e.n_eff:
            sample += f" (effective sample size {tx.number(e.n_eff, 0, lang)})"
        if whole:
            sample += f"; {tx.number(whole.n, 0, lang)} in the whole province"
        texts = [
            sample + ".",
            "Weighting: design weights (population / sample size per stratum), raked to the "
            "population margins by sex and age group; standard errors by Taylor linearisation "
            "over strata and clusters (PSU); 95 % confidence intervals with the design's "
            "degrees of freedom.",
            "Suppression: an estimate from fewer than 30 respondents is not shown and takes no "
            "part in trends, changes or achievement"
            + (f" (in this report: {', '.join(map(str, suppressed))})." if suppressed else "."),
            "MDC (minimum detectable change, 80 % power) = 2.80 × SE of the change: a change "
            "smaller than the MDC cannot be told apart from sampling noise; a target gain "
            "smaller than the MDC cannot be verified by the survey.",
            "Model-based cells (Fay-Herriot small-area estimates, borrowing strength from proxy "
            "indicators) are always labelled \"model-based\" and never replace a published "
            "survey estimate.",
            "The comparison with the province uses SE = √(SE² region + SE² province), which "
            "ignores that the region is part of the province: the test is conservative.",
        ]
    else:
        sample = (f"Sampel {data.year}: {tx.number(e.n, 0, lang)} responden di {name}" if e else
                  f"Sampel {data.year}: tidak ada di {name}")
        if e and e.n_eff:
            sample += f" (ukuran sampel efektif {tx.number(e.n_eff, 0, lang)})"
        if whole:
            sample += f"; {tx.number(whole.n, 0, lang)} di seluruh provinsi"
        texts = [
            sample + ".",
            "Pembobotan: bobot desain (populasi / ukuran sampel per strata), disesuaikan "
            "(raking) dengan marginal populasi menurut jenis kelamin dan kelompok umur; galat "
            "baku dengan linearisasi Taylor atas strata dan klaster (PSU); selang kepercayaan "
            "95 % dengan derajat bebas desain.",
            "Angka yang tidak ditampilkan: estimasi dari kurang dari 30 responden tidak "
            "ditampilkan dan tidak "
            "dipakai untuk tren, perubahan, maupun capaian"
            + (f" (dalam laporan ini: {', '.join(map(str, suppressed))})." if suppressed
               else "."),
            "MDC (perubahan minimum terdeteksi, daya 80 %) = 2,80 × galat baku perubahan: "
            "perubahan yang lebih kecil dari MDC tidak dapat dibedakan dari galat sampel; "
            "kenaikan target yang lebih kecil dari MDC tidak dapat diverifikasi oleh survei.",
            "Sel estimasi model (estimasi area kecil Fay-Herriot dengan bantuan indikator "
            "proksi) selalu diberi label \"estimasi model / model-based\" dan tidak pernah "
            "menggantikan estimasi survei yang terbit.",
            "Perbandingan dengan provinsi memakai galat baku √(GB² wilayah + GB² provinsi), "
            "yang mengabaikan bahwa wilayah ini bagian dari provinsi: ujinya konservatif.",
        ]
    section.blocks += [Paragraph(t) for t in texts]
    if data.sae:
        rows = []
        for year, row in sorted(data.sae.items()):
            low = row["model_estimate"] - 1.959964 * row["model_se"]
            high = row["model_estimate"] + 1.959964 * row["model_se"]
            rows.append([str(year), tx.index(row["direct"], lang),
                         tx.index(row["model_estimate"], lang), tx.interval(low, high, lang),
                         row["method"]])
        section.blocks.append(Table(
            "model", [w["col_year"], w["col_value"], w["col_model"], w["col_model_ci"],
                      w["col_method"]], rows, numeric=(1, 2),
            caption=w["col_model"]))
    if data.province and data.region != ALL_REGIONS:
        rows = []
        for code in data.order:
            mine = _current(data, code)
            whole_dim = data.province.get(code)
            if mine is None or whole_dim is None:
                continue
            if mine.estimate is None or whole_dim.estimate is None:
                diff = tx.DASH
            else:
                delta, p, significant = _difference(mine, whole_dim)
                diff = (f"{tx.number(delta, 1, lang, sign=True)} "
                        f"({w['significant'] if significant else w['not_significant']}, "
                        f"{tx.pvalue(p, lang)})")
            rows.append([_dim_label(data, code),
                         _cell(mine, lang), _cell(whole_dim, lang), diff])
        if rows:
            section.blocks.append(Table(
                "province", [w["col_dimension"], w["col_region"], w["col_province"],
                             w["col_difference"]], rows,
                caption=(f"{name} — {province_name() or 'ALL'}, {data.year}")))
    return section


def _cell(e: publish.PublishedEstimate, lang: str) -> str:
    if e.suppressed or e.estimate is None:
        return tx.words(lang)["suppressed"]
    return f"{tx.index(e.estimate, lang)} [{tx.interval(e.ci_low, e.ci_high, lang)}]"
