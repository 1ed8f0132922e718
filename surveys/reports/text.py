"""The report's words (Indonesian first, English second) and how it prints numbers.

Numbers are printed by the functions here and nowhere else, so the PDF, the Word file and the
tests that read them back agree to the character: Indonesian uses a decimal comma and a dot
between thousands ("1.234,5"), English the reverse. Index values and intervals carry one decimal;
targets and realisations up to two (trailing zeros dropped: 66,5 and 3); capaian one decimal.
"""

from __future__ import annotations

import datetime as dt
import math

MONTHS = {
    "id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
           "September", "Oktober", "November", "Desember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}

CATEGORY_EN = {"sangat rendah": "very low", "rendah": "low", "sedang": "moderate",
               "tinggi": "high", "sangat tinggi": "very high"}

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
    return f"{day.day} {MONTHS['en' if lang == 'en' else 'id'][day.month - 1]} {day.year}"


def category(value: str | None, lang: str) -> str:
    if not value:
        return DASH
    return CATEGORY_EN.get(value, value) if lang == "en" else value


def yes_no(value: bool | None, lang: str) -> str:
    if value is None:
        return DASH
    if lang == "en":
        return "yes" if value else "no"
    return "ya" if value else "tidak"


def bilingual(text: str, lang: str) -> str:
    """One language out of a registered "Indonesian / English" text (units such as
    "tahap dari 3 / stages of 3"); a text without " / " is returned as it is."""
    if " / " not in text:
        return text
    first, _, second = text.partition(" / ")
    return second.strip() if lang == "en" else first.strip()


#: fixed wording, by language
WORDS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Laporan Capaian Kinerja Internalisasi Nilai Pancasila",
        "subtitle": "Indikator RPJMD, realisasi tahun {year}",
        "region": "Wilayah",
        "year": "Tahun",
        "instrument": "Instrumen",
        "version": "versi",
        "scale": "skala jawaban",
        "date": "Tanggal",
        "source": "Sumber: Nilai",
        "source_note": ("Angka dibaca dari hasil terbit Nilai (perhitungan {run}); angka dengan "
                        "responden < 30 tidak ditampilkan."),
        "toc": "Daftar isi",
        "page": "Halaman",
        "of": "dari",
        "s_summary": "Ringkasan",
        "s_rpjmd": "Tabel indikator RPJMD",
        "s_sila": "Indeks dan sila",
        "s_outputs": "Output kegiatan",
        "s_programmes": "Program dan evaluasinya",
        "s_methods": "Metode dan catatan",
        "overall": "Indeks keseluruhan",
        "col_indicator": "Indikator",
        "col_unit": "Satuan",
        "col_target": "Target",
        "col_realisation": "Realisasi",
        "col_achievement": "Capaian (%)",
        "col_met": "Tercapai",
        "col_met_ci": "Tercapai pada keyakinan 95 %",
        "col_year": "Tahun",
        "col_value": "Nilai indeks",
        "col_ci": "Selang kepercayaan 95 %",
        "col_category": "Kategori",
        "col_n": "n",
        "col_change": "Perubahan dari tahun sebelumnya",
        "col_mdc": "MDC",
        "col_dimension": "Sila",
        "col_region": "Wilayah ini",
        "col_province": "Provinsi (ALL)",
        "col_difference": "Selisih",
        "col_programme": "Program",
        "col_years": "Tahun",
        "col_budget": "Anggaran (Rp)",
        "col_participants": "Peserta",
        "col_effect": "Dampak (DiD) [selang 95 %]",
        "col_p": "p",
        "col_mde": "MDE",
        "col_verdict": "Kesimpulan",
        "col_value_year": "Nilai {year}",
        "col_validated": "Valid sebagai proksi",
        "col_model": "Estimasi model / model-based",
        "col_model_ci": "Selang 95 % model",
        "col_method": "Metode",
        "col_alpha": "Alfa Cronbach",
        "col_omega": "Omega total",
        "suppressed": "tidak ditampilkan (responden < 30)",
        "index_unit": "skor 0–100",
        "significant": "signifikan",
        "not_significant": "tidak signifikan",
        "no_realisation": "belum ada realisasi",
        "no_realisation_suppressed": "tidak ditampilkan (responden < 30)",
        "no_targets": ("Tidak ada indikator bertarget untuk {region} tahun {year}: tabel RPJMD "
                       "kosong. Target dimuat dengan manage.py load_targets."),
        "rpjmd_note": ("Capaian = 100 × realisasi / target (indikator \"semakin kecil semakin "
                       "baik\": 100 × (2 − realisasi / target)); tercapai bila capaian ≥ 100. "
                       "\"Tercapai pada keyakinan 95 %\" hanya untuk indeks survei: ya bila batas "
                       "bawah selang kepercayaan 95 % ≥ target."),
        "negative": "semakin kecil semakin baik",
        "other_proxies": "Indikator proksi lain (tanpa target tahun ini)",
        "outputs_note": ("Output adalah kegiatan yang dilaksanakan kantor (mis. tahapan "
                         "Paskibraka, sosialisasi); dilaporkan terpisah dan tidak digabungkan ke "
                         "dalam indeks (outcome)."),
        "no_outputs": "Tidak ada indikator output untuk wilayah ini.",
        "no_programmes": "Tidak ada program terdaftar untuk wilayah ini sampai tahun {year}.",
        "programmes_note": ("Program tidak ditempatkan secara acak: selisih-dari-selisih (DiD) "
                            "adalah bukti, bukan kepastian; efek di bawah MDE (efek minimum "
                            "terdeteksi, daya 80 %) tidak dapat terlihat."),
        "status_ok": "dievaluasi",
        "status_no_pre": "tidak dapat dievaluasi: tanpa survei sebelum program",
        "status_no_post": "belum dapat dievaluasi: belum ada survei sesudah program",
        "status_no_comparison": "tidak dapat dievaluasi: tanpa wilayah pembanding",
        "effect_sig_up": "berdampak positif (p < 0,05)",
        "effect_sig_down": "berdampak negatif (p < 0,05)",
        "effect_none": "dampak belum terbukti (efek di bawah {mde} poin tidak terlihat)",
        "reliability": ("Reliabilitas {dimension} tahun {year} (seluruh sampel gelombang): alfa "
                        "Cronbach {alpha}, omega total {omega}."),
        "reliability_low": " Di bawah 0,70: tafsirkan dengan hati-hati.",
        "reliability_none": "Reliabilitas tidak dihitung untuk {dimension}.",
        "comparability": "Keterbandingan antartahun (invariansi pengukuran): {verdict}.",
        "comparability_versions": ("Seri ini memakai lebih dari satu versi instrumen ({versions}); "
                                   "garis grafik terputus pada pergantian versi."),
        "chart_alt": "Grafik {name} {region} dengan selang kepercayaan 95 % dan target",
        "model_row": ("Tahun {year}: {reason}; estimasi model / model-based (Fay-Herriot): "
                      "{value} (selang 95 % {low}–{high}). Bukan hasil survei; tidak dipakai "
                      "untuk tren, perubahan, maupun capaian."),
        "not_surveyed": "tidak disurvei",
    },
    "en": {
        "title": "Performance Report on the Internalisation of Pancasila Values",
        "subtitle": "RPJMD indicators, realisation for {year}",
        "region": "Region",
        "year": "Year",
        "instrument": "Instrument",
        "version": "version",
        "scale": "answer scale",
        "date": "Date",
        "source": "Source: Nilai",
        "source_note": ("Figures are Nilai's published results (run {run}); figures from fewer "
                        "than 30 respondents are not shown."),
        "toc": "Contents",
        "page": "Page",
        "of": "of",
        "s_summary": "Summary",
        "s_rpjmd": "RPJMD indicator table",
        "s_sila": "Index and sila",
        "s_outputs": "Outputs",
        "s_programmes": "Programmes and their evaluation",
        "s_methods": "Methods and caveats",
        "overall": "Overall index",
        "col_indicator": "Indicator",
        "col_unit": "Unit",
        "col_target": "Target",
        "col_realisation": "Realisation",
        "col_achievement": "Achievement (%)",
        "col_met": "Met",
        "col_met_ci": "Met with 95 % confidence",
        "col_year": "Year",
        "col_value": "Index value",
        "col_ci": "95 % confidence interval",
        "col_category": "Category",
        "col_n": "n",
        "col_change": "Change since the previous year",
        "col_mdc": "MDC",
        "col_dimension": "Sila",
        "col_region": "This region",
        "col_province": "Province (ALL)",
        "col_difference": "Difference",
        "col_programme": "Programme",
        "col_years": "Years",
        "col_budget": "Budget (Rp)",
        "col_participants": "Participants",
        "col_effect": "Effect (DiD) [95 % interval]",
        "col_p": "p",
        "col_mde": "MDE",
        "col_verdict": "Conclusion",
        "col_value_year": "Value {year}",
        "col_validated": "Valid as a proxy",
        "col_model": "Model-based estimate",
        "col_model_ci": "Model 95 % interval",
        "col_method": "Method",
        "col_alpha": "Cronbach's alpha",
        "col_omega": "Omega total",
        "suppressed": "not shown (fewer than 30 respondents)",
        "index_unit": "score 0–100",
        "significant": "significant",
        "not_significant": "not significant",
        "no_realisation": "no realisation yet",
        "no_realisation_suppressed": "not shown (fewer than 30 respondents)",
        "no_targets": ("No indicator has a target for {region} in {year}: the RPJMD table is "
                       "empty. Targets are loaded with manage.py load_targets."),
        "rpjmd_note": ("Achievement = 100 × realisation / target (\"lower is better\" "
                       "indicators: 100 × (2 − realisation / target)); met when achievement ≥ "
                       "100. \"Met with 95 % confidence\" applies to the survey index only: yes "
                       "when the lower bound of the 95 % confidence interval ≥ target."),
        "negative": "lower is better",
        "other_proxies": "Other proxy indicators (no target this year)",
        "outputs_note": ("Outputs are what the office delivers (e.g. Paskibraka stages, "
                         "outreach events); reported apart and never folded into the index "
                         "(the outcome)."),
        "no_outputs": "No output indicator for this region.",
        "no_programmes": "No programme registered for this region up to {year}.",
        "programmes_note": ("Programmes are not placed at random: a difference-in-differences "
                            "(DiD) is evidence, not proof; an effect below the MDE (minimum "
                            "detectable effect, 80 % power) cannot be seen."),
        "status_ok": "evaluated",
        "status_no_pre": "cannot be evaluated: no survey before the programme",
        "status_no_post": "not evaluable yet: no survey after the programme",
        "status_no_comparison": "cannot be evaluated: no comparison region",
        "effect_sig_up": "positive effect (p < .05)",
        "effect_sig_down": "negative effect (p < .05)",
        "effect_none": "no effect shown (an effect below {mde} points cannot be seen)",
        "reliability": ("Reliability of {dimension} in {year} (whole wave sample): Cronbach's "
                        "alpha {alpha}, omega total {omega}."),
        "reliability_low": " Below 0.70: read with caution.",
        "reliability_none": "No reliability computed for {dimension}.",
        "comparability": "Comparability across years (measurement invariance): {verdict}.",
        "comparability_versions": ("This series uses more than one instrument version "
                                   "({versions}); the chart's line breaks where the version "
                                   "changes."),
        "chart_alt": "Chart of {name}, {region}, with 95 % confidence interval and target",
        "model_row": ("{year}: {reason}; model-based estimate (Fay-Herriot): {value} (95 % "
                      "interval {low}–{high}). Not a survey result; not used for trends, "
                      "changes or achievement."),
        "not_surveyed": "not surveyed",
    },
}


def words(lang: str) -> dict[str, str]:
    return WORDS["en" if lang == "en" else "id"]
