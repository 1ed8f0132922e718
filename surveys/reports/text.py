"""The report's words (gettext: locale/id, locale/en) and how it prints numbers.

Numbers are printed by the functions here and nowhere else, so the PDF, the Word file and the
tests that read them back agree to the character: Indonesian uses a decimal comma and a dot
between thousands ("1.234,5"), English the reverse. Index values and intervals carry one decimal;
targets and realisations up to two (trailing zeros dropped: 66,5 and 3); capaian one decimal.
"""

from __future__ import annotations

import datetime as dt
import math

from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_noop as _noop

from analysis.trends import OfficeVerdict
from surveys import language
from surveys.language import Text, in_language

#: month names (gettext, context "month")
MONTHS = (
    ("month", _noop("January")), ("month", _noop("February")), ("month", _noop("March")),
    ("month", _noop("April")), ("month", _noop("May")), ("month", _noop("June")),
    ("month", _noop("July")), ("month", _noop("August")), ("month", _noop("September")),
    ("month", _noop("October")), ("month", _noop("November")), ("month", _noop("December")),
)

#: the category bands (analysis.scoring.CATEGORY_BANDS, stored in Indonesian) -> English msgid
CATEGORY: dict[str, str] = {
    "sangat rendah": _noop("very low"), "rendah": _noop("low"), "sedang": _noop("moderate"),
    "tinggi": _noop("high"), "sangat tinggi": _noop("very high"),
}

DASH = "–"


def number(value: float | None, decimals: int, lang: str, *, sign: bool = False) -> str:
    """`value` rounded to `decimals` in the language's notation; None or NaN prints a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    text = f"{value:+,.{decimals}f}" if sign else f"{value:,.{decimals}f}"
    if text.lstrip("+-").strip("0.,") == "":  # -0,0 prints as 0,0
        text = text.replace("-", "+" if sign else "")
    if lang == "en":
        return text
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def amount(value: float | None, lang: str) -> str:
    """A target or realisation: up to two decimals, trailing zeros dropped (66,5; 3; 12,25)."""
    if value is None:
        return DASH
    text = number(value, 2, lang)
    point = "," if lang != "en" else "."
    if point in text:
        text = text.rstrip("0").rstrip(point)
    return text


def index(value: float | None, lang: str) -> str:
    return number(value, 1, lang)


def pct(value: float | None, lang: str) -> str:
    return number(value, 1, lang)


def pvalue(value: float | None, lang: str) -> str:
    """"p = 0,032", "p < 0,001"; a p just under .05 keeps a fourth decimal (0,0496), so that a
    significant change never reads "p = 0,050"."""
    if value is None:
        return f"p = {DASH}"
    if value < 0.001:
        return "p < " + number(0.001, 3, lang)
    if 0.0495 <= value < 0.05:
        return "p = " + number(value, 4, lang)
    return "p = " + number(value, 3, lang)


def interval(low: float | None, high: float | None, lang: str, decimals: int = 1) -> str:
    if low is None or high is None:
        return DASH
    return f"{number(low, decimals, lang)}–{number(high, decimals, lang)}"


def date(day: dt.date, lang: str) -> str:
    with in_language(lang):
        month = pgettext(*MONTHS[day.month - 1])
    return f"{day.day} {month} {day.year}"


def category(value: str | None, lang: str | None = None, *, empty: str = DASH) -> str:
    """A category band ("tinggi", as stored) in `lang` (default: the active language)."""
    if not value:
        return empty
    if value not in CATEGORY:
        return value
    with in_language(lang):
        return gettext(CATEGORY[value])


def yes_no(value: bool | None, lang: str | None = None) -> str:
    if value is None:
        return DASH
    with in_language(lang):
        return gettext("yes") if value else gettext("no")


def bilingual(text: str, lang: str) -> str:
    """One language out of a registered "Indonesian / English" text (units such as
    "tahap dari 3 / stages of 3"); a text without " / " is returned as it is."""
    if " / " not in text:
        return text
    first, _, second = text.partition(" / ")
    return second.strip() if lang == "en" else first.strip()


#: the report's fixed wording: key -> English msgid (Indonesian in locale/id)
WORDS: dict[str, Text] = {
    "title": _noop("Performance Report on the Internalisation of Pancasila Values"),
    "subtitle": _noop("RPJMD indicators, realisation for {year}"),
    "region": _noop("Region"),
    "year": _noop("Year"),
    "instrument": _noop("Instrument"),
    "version": _noop("version"),
    "scale": _noop("answer scale"),
    "date": _noop("Date"),
    "source": _noop("Source: Nilai"),
    "source_note": _noop(
        "Figures are Nilai's published results (run {run}); figures from fewer than 30 "
        "respondents are not shown."),
    "toc": _noop("Contents"),
    "page": _noop("Page"),
    "of": _noop("of"),
    "s_summary": _noop("Summary"),
    "s_rpjmd": _noop("RPJMD indicator table"),
    "s_sila": _noop("Index and sila"),
    "s_outputs": _noop("Outputs"),
    "s_programmes": _noop("Programmes and their evaluation"),
    "s_methods": _noop("Methods and caveats"),
    "overall": _noop("Overall index"),
    "col_indicator": _noop("Indicator"),
    "col_unit": _noop("Unit"),
    "col_target": _noop("Target"),
    "col_realisation": _noop("Realisation"),
    "col_achievement": _noop("Achievement (%)"),
    "col_met": _noop("Met"),
    "col_met_ci": _noop("Met with 95 % confidence"),
    "col_year": _noop("Year"),
    "col_value": _noop("Index value"),
    "col_ci": _noop("95 % confidence interval"),
    "col_category": _noop("Category"),
    "col_n": _noop("n"),
    "col_change": _noop("Change since the previous year"),
    "col_mdc": _noop("MDC"),
    "col_dimension": _noop("Sila"),
    "col_region": _noop("This region"),
    "col_province": _noop("Province (ALL)"),
    "col_difference": _noop("Difference"),
    "col_programme": ("report column", _noop("Programme")),
    "col_years": _noop("Years"),
    "col_budget": _noop("Budget (Rp)"),
    "col_participants": _noop("Participants"),
    "col_effect": _noop("Effect (DiD) [95 % interval]"),
    "col_p": _noop("p"),
    "col_mde": _noop("MDE"),
    "col_verdict": _noop("Conclusion"),
    "col_value_year": _noop("Value {year}"),
    "col_validated": _noop("Valid as a proxy"),
    "col_model": _noop("Model-based estimate"),
    "col_model_ci": _noop("Model 95 % interval"),
    "col_method": _noop("Method"),
    "col_alpha": _noop("Cronbach's alpha"),
    "col_omega": _noop("Omega total"),
    "suppressed": _noop("not shown (fewer than 30 respondents)"),
    "index_unit": _noop("score 0–100"),
    "significant": _noop("significant"),
    "not_significant": _noop("not significant"),
    "no_realisation": _noop("no realisation yet"),
    "no_realisation_suppressed": _noop("not shown (fewer than 30 respondents)"),
    "no_targets": _noop(
        "No indicator has a target for {region} in {year}: the RPJMD table is empty. Targets are "
        "loaded with manage.py load_targets."),
    "rpjmd_note": _noop(
        "Achievement = 100 × realisation / target (\"lower is better\" indicators: 100 × (2 − "
        "realisation / target)); met when achievement ≥ 100. \"Met with 95 % confidence\" "
        "applies to the survey index only: yes when the lower bound of the 95 % confidence "
        "interval ≥ target."),
    "negative": _noop("lower is better"),
    "other_proxies": _noop("Other proxy indicators (no target this year)"),
    "outputs_note": _noop(
        "Outputs are what the office delivers (e.g. Paskibraka stages, outreach events); "
        "reported apart and never folded into the index (the outcome)."),
    "no_outputs": _noop("No output indicator for this region."),
    "no_programmes": _noop("No programme registered for this region up to {year}."),
    "programmes_note": _noop(
        "Programmes are not placed at random: a difference-in-differences (DiD) is evidence, not "
        "proof; an effect below the MDE (minimum detectable effect, 80 % power) cannot be seen."),
    "status_ok": _noop("evaluated"),
    "status_no_pre": _noop("cannot be evaluated: no survey before the programme"),
    "status_no_post": _noop("not evaluable yet: no survey after the programme"),
    "status_no_comparison": _noop("cannot be evaluated: no comparison region"),
    "effect_sig_up": _noop("positive effect (p < .05)"),
    "effect_sig_down": _noop("negative effect (p < .05)"),
    "effect_none": _noop("no effect shown (an effect below {mde} points cannot be seen)"),
    "reliability": _noop(
        "Reliability of {dimension} in {year} (whole wave sample): Cronbach's alpha {alpha}, "
        "omega total {omega}."),
    "reliability_low": _noop(" Below 0.70: read with caution."),
    "reliability_none": _noop("No reliability computed for {dimension}."),
    "comparability": _noop("Comparability across years (measurement invariance): {verdict}."),
    "comparability_versions": _noop(
        "This series uses more than one instrument version ({versions}); the chart's line breaks "
        "where the version changes."),
    "chart_alt": _noop("Chart of {name}, {region}, with 95 % confidence interval and target"),
    "model_row": _noop(
        "{year}: {reason}; model-based estimate (Fay-Herriot): {value} (95 % interval "
        "{low}–{high}). Not a survey result; not used for trends, changes or achievement."),
    "not_surveyed": _noop("not surveyed"),
}


def words(lang: str) -> dict[str, str]:
    return language.words(WORDS, lang)


def verdict_sentence(verdict: OfficeVerdict | None, lang: str | None = None, *,
                     subject: str = "", mdc: bool = False) -> str:
    """The office's verdict of one published series (METHODS 6), in one sentence an office can
    paste: the change from the first to the latest published year with its test, the average
    change per year (Theil-Sen, a description), and "too few years for a trend test" where
    Mann-Kendall could not reach significance. The dashboard and the report both print this
    (`subject` names the series, e.g. "S1 Ketuhanan: ..."; `mdc` adds the minimum detectable
    change to the test)."""
    with in_language(lang):
        lang = language.request_language()
        text = _verdict_text(verdict, lang, mdc)
    return f"{subject}: {text}" if subject else text


def _verdict_text(verdict: OfficeVerdict | None, lang: str, mdc: bool) -> str:
    change = verdict.change if verdict is not None else None
    if verdict is None or verdict.n_points == 0:
        # Translators: id: Belum ada tahun yang ditampilkan: perubahan belum dapat dinilai.
        return gettext("No published year: no change can be stated yet.")
    if change is None:
        # Translators: id: Baru satu tahun yang ditampilkan: perubahan belum dapat dinilai.
        return gettext("Only one published year: no change can be stated yet.")
    test = pvalue(change.p, lang)
    if mdc:
        test += f"; MDC {number(change.mdc, 1, lang)}"
    params = {"first": change.from_wave, "last": change.to_wave, "test": test,
              "size": number(abs(change.delta), 1, lang),
              "delta": number(change.delta, 1, lang, sign=change.delta > 0)}
    if verdict.direction == "up":
        # Translators: id: Dari {first} ke {last} indeks naik {size} poin secara signifikan
        #   ({test})
        text = gettext("From {first} to {last} the index rose by {size} points, a significant "
                       "change ({test})").format(**params)
    elif verdict.direction == "down":
        # Translators: id: Dari {first} ke {last} indeks turun {size} poin secara signifikan
        #   ({test})
        text = gettext("From {first} to {last} the index fell by {size} points, a significant "
                       "change ({test})").format(**params)
    else:
        # Translators: id: Dari {first} ke {last} indeks belum berubah secara signifikan
        #   ({delta} poin, {test})
        text = gettext("From {first} to {last} the index has not changed significantly "
                       "({delta} points, {test})").format(**params)
    if not math.isnan(verdict.sen_slope):
        slope = number(abs(verdict.sen_slope), 2, lang)
        if verdict.sen_slope >= 0:
            # Translators: id: ; rata-rata kenaikan {slope} poin per tahun
            text += gettext("; on average +{slope} points per year").format(slope=slope)
        else:
            # Translators: id: ; rata-rata penurunan {slope} poin per tahun
            text += gettext("; on average -{slope} points per year").format(slope=slope)
    text += "."
    if not verdict.trend_testable:
        # Translators: id: Terlalu sedikit tahun untuk uji tren.
        text += " " + gettext("Too few years for a trend test.")
    return text
