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

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as _noop

from analysis import trends
from surveys import publish
from surveys.language import both, in_language
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


def _err(msgid: str, **params: object) -> ReportError:
    """A report error in both languages (`surveys.language.both`; `msgid` marked _noop)."""
    return ReportError(both(msgid, **params))


def province_name() -> str | None:
    return (Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code")
            .values_list("name", flat=True).first())


def region_label(region: str, lang: str) -> tuple[str, str]:
    """(name, name with its codes) of a region; ALL is the whole survey area (the province)."""
    if region == ALL_REGIONS:
        with in_language(lang):
            name = province_name() or _("Whole survey area")
            # Translators: id: seluruh wilayah survei
            whole = _("whole survey area")
        return name, f"{name} ({whole}, ALL)"
    row = Region.objects.filter(code=region).values_list("name", "code_kemendagri").first()
    if row is None:
        # Translators: id: wilayah {region} tidak dikenal
        raise _err(_noop("unknown region {region}"), region=region)
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
            # Translators: id: tidak ada estimasi instrumen {instrument} untuk wilayah {region}
            # tahun {year}
            raise _err(_noop("no estimates of instrument {instrument} for region {region} in "
                             "{year}"), instrument=instrument, region=region, year=year)
        return instrument
    if not found:
        years = sorted(set(publish.rows("estimates", regions=regions, region=region,
                                        dimension=OVERALL)
                           .values_list("wave__year", flat=True)))
        have = ", ".join(str(y) for y in years) or "-"
        # Translators: id: tidak ada estimasi untuk wilayah {region} tahun {year} (tahun
        # tersedia: {have})
        raise _err(_noop("no estimates for region {region} in {year} (years available: "
                         "{have})"), region=region, year=year, have=have)
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
    """Assemble the report of `region` for `year` as the caller (`regions`) may see it, its
    words in `lang` (gettext)."""
    lang = "en" if lang == "en" else "id"
    with in_language(lang):
        return _build_report(region=region, year=year, regions=regions, lang=lang,
                             instrument=instrument, today=today)


def _build_report(*, region: str, year: int, regions: set[str] | None, lang: str,
                  instrument: str | None, today: dt.date | None) -> Report:
    w = tx.words(lang)
    if regions is not None and region not in regions:
        # Translators: id: wilayah {region} di luar cakupan akun ini
        raise _err(_noop("region {region} is outside this account's scope"), region=region)
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
        regions=regions, region=region, instrument=instrument)
        if c.to_wave <= year and c.delta is not None}  # blank across a series break
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
        # Translators: id: Indeks tahun {year} belum tersedia untuk {name}.
        return _("No index for {name} in {year} yet.").format(name=name, year=data.year)
    if e.suppressed or e.estimate is None:
        # Translators: id: Indeks Internalisasi Nilai Pancasila {name} tahun {year} tidak
        #   ditampilkan: hanya {n} responden (kurang dari 30).
        text = _("The Pancasila values index of {name} in {year} is not shown: only {n} "
                 "respondents (fewer than 30).").format(name=name, year=data.year, n=e.n)
        if model is not None:
            low = model["model_estimate"] - 1.959964 * model["model_se"]
            high = model["model_estimate"] + 1.959964 * model["model_se"]
            # Translators: id: Estimasi model / model-based (Fay-Herriot, bukan hasil survei):
            #   {value} (selang 95 % {interval}).
            text += " " + _("Model-based estimate (Fay-Herriot, not a survey result): {value} "
                            "(95 % interval {interval}).").format(
                value=tx.index(model["model_estimate"], lang),
                interval=tx.interval(low, high, lang))
        return text
    # Translators: id: Indeks Internalisasi Nilai Pancasila {name} tahun {year} adalah {value}
    #   dari 100, kategori {category} (selang kepercayaan 95 % {interval}; {n} responden).
    return _("The Pancasila values index of {name} in {year} is {value} out of 100, category "
             "{category} (95 % confidence interval {interval}; {n} respondents).").format(
        name=name, year=data.year, value=tx.index(e.estimate, lang),
        category=tx.category(e.category, lang), interval=tx.interval(e.ci_low, e.ci_high, lang),
        n=e.n)


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
            # Translators: id: {label} {delta} poin ({test})
            part = _("{label} {delta} points ({test})").format(
                label=label, delta=tx.number(change.delta, 1, lang, sign=True),
                test=tx.pvalue(change.p, lang))
            (ups if change.delta > 0 else downs).append(part)
        else:
            flat.append(f"{label} ({tx.number(change.delta, 1, lang, sign=True)}, MDC "
                        f"{tx.number(change.mdc, 1, lang)})")
    current = _current(data, OVERALL)
    if not (ups or downs or flat) and current is not None and current.suppressed:
        # Translators: id: Perubahan dari tahun sebelumnya tidak dihitung: angka {year} tidak
        #   ditampilkan (responden < 30).
        return [_("No change from the previous year: the {year} figures are not shown (fewer "
                  "than 30 respondents).").format(year=data.year)]
    if not (ups or downs or flat):
        # Translators: id: Belum ada tahun sebelumnya yang dapat dibandingkan dengan {year}.
        return [_("There is no earlier published year to compare {year} with.").format(
            year=data.year)]
    since = ", ".join(str(y) for y in sorted(previous))
    out = []
    if ups:
        # Translators: id: Dibanding {since}, naik secara signifikan (p < 0,05): {list}.
        out.append(_("Since {since}, significant rises (p < .05): {list}.").format(
            since=since, list="; ".join(ups)))
    if downs:
        # Translators: id: Dibanding {since}, turun secara signifikan (p < 0,05): {list}.
        out.append(_("Since {since}, significant falls (p < .05): {list}.").format(
            since=since, list="; ".join(downs)))
    if flat:
        # Translators: id: Belum berubah secara signifikan dibanding {since}: {list}; perubahan
        #   yang lebih kecil dari MDC (perubahan minimum terdeteksi) belum dapat dibedakan dari
        #   galat sampel.
        out.append(_("Not significantly changed since {since}: {list}; a change smaller than "
                     "the MDC (minimum detectable change) cannot be told from sampling "
                     "noise.").format(since=since, list="; ".join(flat)))
    return out


def verdict_sentence(data: _Data, code: str) -> str:
    """METHODS 6 for one series of the report, worded by surveys.reports.text.verdict_sentence
    (the dashboard's sentence), with the series' name and its minimum detectable change."""
    points = _verdict_points(data, code)
    verdict = trends.office_verdict(*zip(*points, strict=True)) if points else None
    return tx.verdict_sentence(verdict, data.lang, subject=_dim_label(data, code), mdc=True)


def _verdict_points(data: _Data, code: str) -> list[tuple[int, float, float]]:
    """The published points the verdict rests on: never across a series break (DECISIONS on
    instrument versions), as the dashboard's. The latest series' bridge estimates when it spans
    instrument versions; else the full estimates from the start of the series that holds the
    report's year."""
    from surveys.services import bridges

    series = bridges.current_series(regions={data.region}, region=data.region, dimension=code,
                                    instrument=data.instrument)
    if (series is not None and series.basis == "linked"
            and (series.first_wave is None or series.first_wave <= data.year)):
        return [(p.year, p.estimate, p.se) for p in series.points
                if p.year <= data.year and not p.suppressed
                and p.estimate is not None and p.se is not None]
    starts = [] if series is None else [*series.breaks, series.first_wave or 0]
    start = max((y for y in starts if y <= data.year), default=0)
    return [(p.year, p.estimate, p.se) for p in _published_points(data, code)
            if p.year >= start]


def _target_sentence(data: _Data, achieved: list[dict[str, Any]]) -> str:
    if not achieved:
        # Translators: id: Tidak ada indikator bertarget tahun {year}.
        return _("No indicator has a target for {year}.").format(year=data.year)
    measured = [a for a in achieved if a["achievement"] is not None]
    met = [a for a in measured if a["met"]]
    sure = [a for a in met if a["met_with_confidence"]]
    missed = [a for a in measured if not a["met"]]
    open_ = [a for a in achieved if a["achievement"] is None]
    names = lambda rows: ", ".join(a["name"] for a in rows)  # noqa: E731
    # Translators: id: Dari {n} indikator bertarget tahun {year}, {met} tercapai
    text = _("Of {n} indicator(s) with a target for {year}, {met} met").format(
        n=len(achieved), year=data.year, met=len(met))
    if met:
        text += f" ({names(met)})"
    survey_met = [a for a in met if a["met_with_confidence"] is not None]
    if survey_met:
        # Translators: id: , {n} di antaranya tercapai pada keyakinan 95 %
        text += _(", {n} of them with 95 % confidence").format(n=len(sure))
    # Translators: id: ; {n} belum tercapai
    text += _("; {n} missed").format(n=len(missed)) + (f" ({names(missed)})" if missed else "")
    if open_:
        # Translators: id: ; {n} tanpa realisasi ({names})
        text += _("; {n} without a realisation ({names})").format(n=len(open_),
                                                                  names=names(open_))
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
    if not significant:
        # Translators: id: tidak berbeda secara signifikan dari
        where = _("not significantly different from")
    elif delta > 0:
        # Translators: id: lebih tinggi daripada
        where = _("higher than")
    else:
        # Translators: id: lebih rendah daripada
        where = _("lower than")
    # Translators: id: {name} {where} provinsi secara keseluruhan ({province} {value}, selang
    #   kepercayaan 95 % {interval}; selisih {delta}, {test}).
    return _("{name} is {where} the whole province ({province} {value}, 95 % confidence "
             "interval {interval}; difference {delta}, {test}).").format(
        name=name, where=where, province=province, value=tx.index(whole.estimate, lang),
        interval=tx.interval(whole.ci_low, whole.ci_high, lang),
        delta=tx.number(delta, 1, lang, sign=True), test=tx.pvalue(p, lang))


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
    out = [_(COMPARABILITY[v]) if v in COMPARABILITY else v for v in sorted(verdicts)]
    return tx.words(data.lang)["comparability"].format(verdict="; ".join(out))


#: measurement invariance verdicts (surveys.models.longitudinal) in words (msgids)
COMPARABILITY = {
    # Translators: id: sebanding (invariansi skalar): nilai rata-rata antartahun dapat
    #   dibandingkan
    "comparable": _noop("comparable (scalar invariance): means can be compared across years"),
    # Translators: id: sebagian (invariansi metrik): bandingkan hubungan, bukan rata-rata
    "partial": _noop("partial (metric invariance): compare relations, not means"),
    # Translators: id: tidak sebanding: perubahan rata-rata antartahun tidak dapat ditafsirkan
    "not": _noop("not comparable: changes of the means across years cannot be interpreted"),
}


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
    if e:
        # Translators: id: Sampel {year}: {n} responden di {name}
        sample = _("Sample {year}: {n} respondents in {name}").format(
            year=data.year, n=tx.number(e.n, 0, lang), name=name)
    else:
        # Translators: id: Sampel {year}: tidak ada di {name}
        sample = _("Sample {year}: none in {name}").format(year=data.year, name=name)
    if e and e.n_eff:
        # Translators: id: (ukuran sampel efektif {n})
        sample += " " + _("(effective sample size {n})").format(n=tx.number(e.n_eff, 0, lang))
    if whole:
        # Translators: id: ; {n} di seluruh provinsi
        sample += _("; {n} in the whole province").format(n=tx.number(whole.n, 0, lang))
    if suppressed:
        # Translators: id: Angka yang tidak ditampilkan: estimasi dari kurang dari 30 responden
        #   tidak ditampilkan dan tidak dipakai untuk tren, perubahan, maupun capaian (dalam
        #   laporan ini: {years}).
        suppression = _("Suppression: an estimate from fewer than 30 respondents is not shown "
                        "and takes no part in trends, changes or achievement (in this report: "
                        "{years}).").format(years=", ".join(map(str, suppressed)))
    else:
        # Translators: id: Angka yang tidak ditampilkan: estimasi dari kurang dari 30 responden
        #   tidak ditampilkan dan tidak dipakai untuk tren, perubahan, maupun capaian.
        suppression = _("Suppression: an estimate from fewer than 30 respondents is not shown "
                        "and takes no part in trends, changes or achievement.")
    texts = [
        sample + ".",
        # Translators: id: Pembobotan: bobot desain (populasi / ukuran sampel per strata),
        #   disesuaikan (raking) dengan marginal populasi menurut jenis kelamin dan kelompok
        #   umur; galat baku dengan linearisasi Taylor atas strata dan klaster (PSU); selang
        #   kepercayaan 95 % dengan derajat bebas desain.
        _("Weighting: design weights (population / sample size per stratum), raked to the "
          "population margins by sex and age group; standard errors by Taylor linearisation "
          "over strata and clusters (PSU); 95 % confidence intervals with the design's "
          "degrees of freedom."),
        suppression,
        # Translators: id: MDC (perubahan minimum terdeteksi, daya 80 %) = 2,80 × galat baku
        #   perubahan: perubahan yang lebih kecil dari MDC tidak dapat dibedakan dari galat
        #   sampel; kenaikan target yang lebih kecil dari MDC tidak dapat diverifikasi oleh
        #   survei.
        _("MDC (minimum detectable change, 80 % power) = 2.80 × SE of the change: a change "
          "smaller than the MDC cannot be told apart from sampling noise; a target gain "
          "smaller than the MDC cannot be verified by the survey."),
        # Translators: id: Sel estimasi model (estimasi area kecil Fay-Herriot dengan bantuan
        #   indikator proksi) selalu diberi label "estimasi model / model-based" dan tidak
        #   pernah menggantikan estimasi survei yang terbit.
        _("Model-based cells (Fay-Herriot small-area estimates, borrowing strength from proxy "
          "indicators) are always labelled \"model-based\" and never replace a published "
          "survey estimate."),
        # Translators: id: Perbandingan dengan provinsi memakai galat baku √(GB² wilayah + GB²
        #   provinsi), yang mengabaikan bahwa wilayah ini bagian dari provinsi: ujinya
        #   konservatif.
        _("The comparison with the province uses SE = √(SE² region + SE² province), which "
          "ignores that the region is part of the province: the test is conservative."),
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
