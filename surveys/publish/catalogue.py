"""The column catalogue: one list of columns per published result table.

Each `Column` carries its name (as published: API key, export header, statistical variable),
its type, its label in Indonesian and English, its string width for .sav/.dta, whether it may
be null, the ORM lookup it is read from and how a person's spreadsheet shows it (`decimals`,
`unit`: the Excel number format; the value itself is never rounded). `NAME_COLUMNS` lists the
names the Excel download adds beside a code (region, sila, indicator, programme). The API
serializers (`surveys.api.results`), the exports (`surveys.services.exports`), the charts, the
dashboard and the index run's writer (`surveys.services.compute`) take their columns from here;
nothing else spells a result table's column list.

A column whose number the publication rule may blank (a suppressed estimate) is read from a
*published expression* (`ResultTable.expressions`), never from the stored field: see
`surveys.publish.read`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from django.db.models import Case, CharField, Expression, F, FloatField, Q, Value, When
from django.db.models.functions import NullIf

from surveys import models as m

Kind = Literal["int", "float", "str", "bool", "category", "sex", "age_group", "item"]

#: Estimate fields blanked when the row is suppressed (n < 30, METHODS section 4).
SUPPRESSED_FIELDS = ("estimate", "se", "ci_low", "ci_high", "category")


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    label_id: str
    label_en: str = ""
    #: ``str`` columns: width in UTF-8 bytes in .sav/.dta; None = sized from the data, which
    #: reads the whole table first (small tables only: the codebook).
    width: int | None = None
    #: ORM lookup the value is read from (default: `name`).
    source: str | None = None
    null: bool = True
    #: False: shown by the API only, not a column of the export file.
    exported: bool = True
    #: decimals shown in a spreadsheet (None: as stored); integers always show none
    decimals: int | None = None
    #: unit shown after the number in a spreadsheet ("%")
    unit: str = ""

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" and self.label_en else self.label_id

    @property
    def number_format(self) -> str | None:
        """The Excel number format of the column's number cells (display only), or None."""
        if self.kind in ("int", "item"):
            return "0"
        if self.kind != "float" or self.decimals is None:
            return None
        code = "0." + "0" * self.decimals if self.decimals else "0"
        return f'{code}" {self.unit}"' if self.unit else code

    @property
    def lookup(self) -> str:
        return self.source or self.name


#: Decimals a person's spreadsheet shows, by column name (one meaning per name across tables):
#: index points 1, standard errors and slopes 2, coefficients and fit indices 3, p-values 4
#: (a p just under .05 never reads 0.050), percentages 1 with "%". Unlisted floats: as stored.
DISPLAY_DECIMALS: dict[str, int] = {
    **dict.fromkeys((
        "estimate", "ci_low", "ci_high", "delta", "mdc", "direct", "model_estimate", "change",
        "cross_delta", "did", "did_ci_low", "did_ci_high", "treated_change",
        "comparison_change", "fe_estimate", "re_estimate", "re_ci_low", "re_ci_high", "mde",
        "achievement_pct", "retention_pct", "attrition_pct", "i2"), 1),
    **dict.fromkeys((
        "se", "ols_slope_se", "direct_se", "model_se", "treated_se", "comparison_se",
        "did_se", "fe_se", "re_se", "cross_se", "ols_slope", "ols_ci_low", "ols_ci_high",
        "sen_slope", "sen_ci_low", "sen_ci_high", "mean", "sd", "z", "chisq", "tau2", "q",
        "sigma2_u", "target", "realisation"), 2),
    **dict.fromkeys((
        "alpha", "alpha_std", "alpha_ci_low", "alpha_ci_high", "omega_total", "item_rest_r",
        "alpha_if_deleted", "spearman_rho", "pearson_r", "pearson_ci_low", "pearson_ci_high",
        "kendall_tau", "cfi", "tli", "rmsea", "srmr", "delta_cfi", "delta_rmsea",
        "delta_srmr", "gamma", "se_ratio", "beta_intercept", "beta_covariate"), 3),
    **dict.fromkeys(("p", "ols_p", "kendall_p", "spearman_p", "pearson_p", "re_p", "q_p"), 4),
    "n_eff": 0,
}
DISPLAY_UNITS: dict[str, str] = dict.fromkeys(
    ("achievement_pct", "retention_pct", "attrition_pct", "i2"), "%")


def _c(name: str, kind: Kind, label_id: str, label_en: str, width: int | None = None,
       **options: object) -> Column:
    options.setdefault("decimals", DISPLAY_DECIMALS.get(name))
    options.setdefault("unit", DISPLAY_UNITS.get(name, ""))
    return Column(name, kind, label_id, label_en, width, **options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ResultTable:
    """A published result table: its model, columns, row order, the lookup of its region code
    (None: province- or wave-level, not region-scoped), the query parameters it filters on
    (parameter -> lookup) and its published expressions (annotation -> expression)."""

    name: str
    model: type
    columns: tuple[Column, ...]
    order: tuple[str, ...]
    region_lookup: str | None = None
    filters: dict[str, str] = field(default_factory=dict)
    expressions: Callable[[], dict[str, Expression]] | None = None

    def lookups(self, *, exported_only: bool = False) -> list[str]:
        return [c.lookup for c in self.columns if c.exported or not exported_only]

    @property
    def exported_columns(self) -> list[Column]:
        return [c for c in self.columns if c.exported]

    def stored_fields(self) -> list[tuple[str, str]]:
        """(column, model field) of the columns stored on the table's own model, for the
        writer of the index run: a published expression (``pub_x``) reads field ``x``,
        columns read through a relation (wave year, instrument code) are not stored here."""
        fields = {f.name for f in self.model._meta.concrete_fields if not f.is_relation}
        out = []
        for c in self.columns:
            name = c.source if c.source in fields else c.name
            if name in fields:
                out.append((c.name, name))
        return out


# --- shared columns -----------------------------------------------------------------------------

WAVE = _c("wave", "int", "Tahun gelombang survei", "Survey wave (year)", source="wave__year",
          null=False)
REGION = _c("region", "str", "Kode wilayah BPS (ALL = provinsi)",
            "BPS region code (ALL = province)", width=20, source="region_code",
            null=False)  # Region.code max_length
DIMENSION = _c("dimension", "str", "Dimensi (sila) atau INDEX", "Dimension (sila) or INDEX",
               width=20, null=False)
INSTRUMENT = _c("instrument", "str", "Kode instrumen", "Instrument code", width=40,
                source="wave__instrument__code", null=False)
INSTRUMENT_OWN = _c("instrument", "str", "Kode instrumen", "Instrument code", width=40,
                    source="instrument__code", null=False)
INDICATOR = _c("indicator", "str", "Kode indikator", "Indicator code", width=60,
               source="indicator__code", null=False)

WAVE_FILTERS = {"wave": "wave__year", "instrument": "wave__instrument__code"}


def _published_estimate() -> dict[str, Expression]:
    """The publication rule in SQL: a suppressed row's numbers and category read as NULL (an
    empty category too), so the stored values never leave the database."""
    hidden = Q(suppressed=True)
    out: dict[str, Expression] = {
        f"pub_{name}": Case(When(hidden, then=Value(None)), default=F(name),
                            output_field=FloatField())
        for name in SUPPRESSED_FIELDS if name != "category"
    }
    out["pub_category"] = Case(When(hidden | Q(category=""), then=Value(None)),
                               default=F("category"), output_field=CharField())
    return out


def _blank_direction() -> dict[str, Expression]:
    return {"pub_direction": NullIf(F("direction"), Value(""))}


def _pub(name: str, kind: Kind, label_id: str, label_en: str, **options: object) -> Column:
    return _c(name, kind, label_id, label_en, source=f"pub_{name}", **options)


ESTIMATE_COLUMNS = (
    WAVE, REGION, DIMENSION,
    _c("n", "int", "Jumlah responden dengan skor sah", "Respondents with a valid score",
       null=False),
    _c("n_eff", "float", "Ukuran sampel efektif (Kish)", "Kish effective sample size"),
    _pub("estimate", "float", "Nilai indeks (rata-rata tertimbang, 0-100)",
         "Estimate (weighted mean, 0-100)"),
    _pub("se", "float", "Galat baku (linearisasi Taylor)",
         "Standard error (Taylor linearisation)"),
    _pub("ci_low", "float", "Batas bawah selang kepercayaan 95 %", "95% CI lower bound"),
    _pub("ci_high", "float", "Batas atas selang kepercayaan 95 %", "95% CI upper bound"),
    _c("df", "int", "Derajat bebas desain", "Design degrees of freedom"),
    _c("suppressed", "bool", "Tidak ditampilkan (responden < 30)",
       "Not shown (fewer than 30 respondents)", null=False),
    _pub("category", "category", "Kategori", "Category"),
    INSTRUMENT,
    _c("version", "int", "Versi instrumen gelombang", "Instrument version of the wave",
       source="wave__version__version", null=False),
)
RELIABILITY_COLUMNS = (
    WAVE, DIMENSION,
    _c("n", "int", "Kasus lengkap", "Complete cases", null=False),
    _c("k", "int", "Jumlah butir", "Number of items", null=False),
    _c("alpha", "float", "Alfa Cronbach", "Cronbach's alpha"),
    _c("alpha_std", "float", "Alfa terstandar", "Standardised alpha"),
    _c("alpha_ci_low", "float", "Batas bawah selang kepercayaan 95 % alfa (Feldt)",
       "Alpha 95% CI lower (Feldt)"),
    _c("alpha_ci_high", "float", "Batas atas selang kepercayaan 95 % alfa (Feldt)",
       "Alpha 95% CI upper (Feldt)"),
    _c("omega_total", "float", "Omega total (McDonald)", "McDonald's omega total"),
    INSTRUMENT,
)
ITEM_COLUMNS = (
    WAVE, DIMENSION, _c("item", "str", "Kode butir", "Item code", width=40, null=False),
    _c("item_rest_r", "float", "Korelasi butir-sisa", "Item-rest correlation"),
    _c("alpha_if_deleted", "float", "Alfa jika butir dihapus", "Alpha if item deleted"),
    _c("mean", "float", "Rata-rata butir", "Item mean"),
    _c("sd", "float", "Simpangan baku butir", "Item standard deviation"),
    INSTRUMENT,
)
CFA_COLUMNS = (
    WAVE, _c("n", "int", "Kasus lengkap", "Complete cases", null=False),
    _c("chisq", "float", "Khi-kuadrat", "Chi-square"),
    _c("df", "int", "Derajat bebas model", "Model degrees of freedom"),
    _c("cfi", "float", "CFI", "CFI"), _c("tli", "float", "TLI", "TLI"),
    _c("rmsea", "float", "RMSEA", "RMSEA"), _c("srmr", "float", "SRMR", "SRMR"),
    INSTRUMENT, _c("converged", "bool", "Konvergen", "Converged", null=False),
)
TREND_COLUMNS = (
    REGION, DIMENSION,
    _c("n_points", "int", "Jumlah titik terbit", "Published points", null=False),
    _c("first_wave", "int", "Gelombang pertama", "First wave"),
    _c("last_wave", "int", "Gelombang terakhir", "Last wave"),
    _c("ols_slope", "float", "Kemiringan OLS per tahun", "OLS slope per year"),
    _c("ols_slope_se", "float", "Galat baku kemiringan OLS", "OLS slope standard error"),
    _c("ols_ci_low", "float", "Batas bawah selang kepercayaan 95 % OLS", "OLS 95% CI lower"),
    _c("ols_ci_high", "float", "Batas atas selang kepercayaan 95 % OLS", "OLS 95% CI upper"),
    _c("ols_p", "float", "Nilai p OLS", "OLS p-value"),
    _c("sen_slope", "float", "Kemiringan Theil-Sen", "Theil-Sen slope"),
    _c("sen_ci_low", "float", "Batas bawah selang kepercayaan 95 % Theil-Sen",
       "Theil-Sen 95% CI lower"),
    _c("sen_ci_high", "float", "Batas atas selang kepercayaan 95 % Theil-Sen",
       "Theil-Sen 95% CI upper"),
    _c("kendall_tau", "float", "Tau Kendall", "Kendall's tau"),
    _c("kendall_p", "float", "Nilai p Mann-Kendall (eksak)", "Mann-Kendall exact p-value"),
    _pub("direction", "str", "Arah tren (up/down/none)", "Trend direction (up/down/none)",
         width=8),
    INSTRUMENT_OWN,
    _c("series", "int", "Deret ke- (deret baru setelah putus versi)",
       "Series number (a new series after a version break)", null=False),
    _c("basis", "str", "Dasar (full = seluruh butir; linked = butir tertaut antar-versi)",
       "Basis (full = every item; linked = items linked across versions)", width=8,
       null=False),
    _c("from_version", "int", "Versi instrumen pertama deret", "First instrument version"),
    _c("to_version", "int", "Versi instrumen terakhir deret", "Last instrument version"),
)
CHANGE_COLUMNS = (
    REGION, DIMENSION,
    _c("from_wave", "int", "Dari gelombang", "From wave", null=False),
    _c("to_wave", "int", "Ke gelombang", "To wave", null=False),
    _c("delta", "float", "Perubahan", "Change"),
    _c("se", "float", "Galat baku perubahan", "Standard error of the change"),
    _c("z", "float", "Statistik z", "z statistic"),
    _c("p", "float", "Nilai p", "p-value"),
    _c("significant", "bool", "Signifikan (p < 0,05)", "Significant (p < .05)", null=False),
    _c("mdc", "float", "Perubahan minimum terdeteksi (80%)", "Minimum detectable change (80%)"),
    INSTRUMENT_OWN,
    _c("basis", "str", "Dasar (full = seluruh butir; linked = butir tertaut, lintas versi)",
       "Basis (full = every item; linked = linked items, across versions)", width=8),
    _c("reason", "str", "Alasan kosong (series_break = deret putus; bridge_missing = "
       "estimasi jembatan tidak terbit)", "Why blank (series_break = the series breaks; "
       "bridge_missing = no published bridge estimate)", width=20),
    _c("from_version", "int", "Versi instrumen gelombang awal", "Instrument version (from)"),
    _c("to_version", "int", "Versi instrumen gelombang akhir", "Instrument version (to)"),
)
PROXY_COLUMNS = (
    INDICATOR,
    _c("n_pairs", "int", "Jumlah pasangan wilayah-tahun", "Region-year pairs", null=False),
    _c("spearman_rho", "float", "Rho Spearman", "Spearman's rho"),
    _c("spearman_p", "float", "Nilai p Spearman", "Spearman p-value"),
    _c("pearson_r", "float", "r Pearson", "Pearson's r"),
    _c("pearson_p", "float", "Nilai p Pearson", "Pearson p-value"),
    _c("pearson_ci_low", "float", "Batas bawah selang kepercayaan 95 % r (Fisher z)",
       "r 95% CI lower (Fisher z)"),
    _c("pearson_ci_high", "float", "Batas atas selang kepercayaan 95 % r (Fisher z)",
       "r 95% CI upper (Fisher z)"),
    _c("sign_ok", "bool", "Arah sesuai polaritas", "Sign matches polarity"),
    _c("accepted", "bool", "Proksi diterima", "Proxy accepted", null=False),
)
ACHIEVEMENT_COLUMNS = (
    INDICATOR, REGION,
    _c("year", "int", "Tahun", "Year", null=False),
    _c("target", "float", "Target", "Target", null=False),
    _c("realisation", "float", "Realisasi", "Realisation", null=False),
    _c("achievement_pct", "float", "Capaian (%)", "Achievement (%)", null=False),
    _c("met", "bool", "Target tercapai", "Target met", null=False),
    _c("met_with_confidence", "bool",
       "Tercapai dengan keyakinan (batas bawah selang kepercayaan >= target)",
       "Met with confidence (CI low >= target)"),
    _c("level", "str", "Tingkat indikator", "Indicator level", width=10,
       source="indicator__level", null=False, exported=False),
)

PROGRAMME_EFFECT_COLUMNS = (
    _c("programme", "str", "Kode program/kegiatan", "Programme code", width=60,
       source="programme__code", null=False),
    REGION,
    _c("type", "str", "Jenis program", "Programme type", width=40, null=False),
    DIMENSION,
    _c("start_year", "int", "Tahun mulai", "Start year", null=False),
    _c("end_year", "int", "Tahun selesai", "End year", null=False),
    _c("pre_wave", "int", "Gelombang sebelum", "Wave before"),
    _c("post_wave", "int", "Gelombang sesudah", "Wave after"),
    _c("treated_change", "float", "Perubahan di wilayah program", "Change where it ran"),
    _c("treated_se", "float", "Galat baku perubahan wilayah program", "SE of that change"),
    _c("comparison_change", "float", "Perubahan rata-rata pembanding",
       "Mean change of the comparison regions"),
    _c("comparison_se", "float", "Galat baku perubahan pembanding", "SE of the comparison change"),
    _c("n_comparison", "int", "Jumlah wilayah pembanding", "Comparison regions"),
    _c("did", "float", "Selisih dari selisih (DiD)", "Difference-in-differences"),
    _c("did_se", "float", "Galat baku DiD", "DiD standard error"),
    _c("did_ci_low", "float", "Batas bawah selang kepercayaan 95 % DiD", "DiD 95% CI lower"),
    _c("did_ci_high", "float", "Batas atas selang kepercayaan 95 % DiD", "DiD 95% CI upper"),
    _c("p", "float", "Nilai p", "p-value"),
    _c("mde", "float", "Efek minimum terdeteksi (80%)", "Minimum detectable effect (80%)"),
    _c("significant", "bool", "Signifikan (p < 0,05)", "Significant (p < .05)"),
    _c("status", "str", "Status evaluasi", "Evaluation status", width=16, null=False),
)
PROGRAMME_TYPE_COLUMNS = (
    _c("type", "str", "Jenis program", "Programme type", width=40, null=False),
    _c("k", "int", "Program dievaluasi (ok)", "Programmes evaluated (ok)", null=False),
    _c("fe_estimate", "float", "Efek gabungan tetap", "Fixed-effect estimate"),
    _c("fe_se", "float", "Galat baku efek tetap", "Fixed-effect SE"),
    _c("re_estimate", "float", "Efek gabungan acak (REML)", "Random-effects estimate (REML)"),
    _c("re_se", "float", "Galat baku efek acak", "Random-effects SE"),
    _c("re_ci_low", "float", "Batas bawah selang kepercayaan 95 % efek acak",
       "Random-effects 95% CI lower"),
    _c("re_ci_high", "float", "Batas atas selang kepercayaan 95 % efek acak",
       "Random-effects 95% CI upper"),
    _c("re_p", "float", "Nilai p efek acak", "Random-effects p-value"),
    _c("tau2", "float", "Tau kuadrat (REML)", "Tau squared (REML)"),
    _c("i2", "float", "I kuadrat (%)", "I squared (%)"),
    _c("q", "float", "Q Cochran", "Cochran's Q"),
    _c("q_p", "float", "Nilai p Q", "Q p-value"),
)
SAE_COLUMNS = (
    WAVE, REGION, DIMENSION,
    _c("covariate", "str", "Kovariat (indikator proksi)", "Covariate (proxy indicator)",
       width=60),
    _c("direct", "float", "Estimasi survei langsung (bila terbit)",
       "Direct survey estimate (where published)"),
    _c("direct_se", "float", "Galat baku estimasi langsung", "Direct estimate SE"),
    _c("model_estimate", "float", "Estimasi model (Fay-Herriot)",
       "Model-based estimate (Fay-Herriot)"),
    _c("model_se", "float", "Akar MSE estimasi model", "Root MSE of the model estimate"),
    _c("gamma", "float", "Bobot survei (gamma)", "Weight of the survey (gamma)"),
    _c("sigma2_u", "float", "Varians efek area", "Area-effect variance"),
    _c("method", "str", "Metode (eblup/synthetic)", "Method (eblup/synthetic)", width=10,
       null=False),
    _c("n_areas", "int", "Jumlah area dengan estimasi langsung", "Areas with a direct estimate",
       null=False),
    _c("status", "str", "Status model", "Model status", width=20, null=False),
    _c("beta_intercept", "float", "Koefisien konstanta model gelombang",
       "Model intercept of the wave"),
    _c("beta_covariate", "float", "Koefisien kovariat model gelombang",
       "Model covariate coefficient of the wave"),
    _c("se_ratio", "float", "Rasio galat baku model / langsung", "Model SE / direct SE"),
    INSTRUMENT,
)

TABLES: dict[str, ResultTable] = {t.name: t for t in [
    ResultTable("estimates", m.EstimateResult, ESTIMATE_COLUMNS,
                ("wave__instrument__code", "wave__year", "dimension", "region_code"),
                "region_code",
                {**WAVE_FILTERS, "region": "region_code", "dimension": "dimension"},
                _published_estimate),
    ResultTable("reliability", m.ReliabilityResult, RELIABILITY_COLUMNS,
                ("wave__instrument__code", "wave__year", "dimension"), None,
                {**WAVE_FILTERS, "dimension": "dimension"}),
    ResultTable("items", m.ItemResult, ITEM_COLUMNS,
                ("wave__instrument__code", "wave__year", "dimension", "item"), None,
                {**WAVE_FILTERS, "dimension": "dimension"}),
    ResultTable("cfa", m.CfaResult, CFA_COLUMNS, ("wave__instrument__code", "wave__year"),
                None, dict(WAVE_FILTERS)),
    ResultTable("trends", m.TrendResult, TREND_COLUMNS,
                ("instrument__code", "region_code", "dimension"), "region_code",
                {"region": "region_code", "dimension": "dimension",
                 "instrument": "instrument__code"}, _blank_direction),
    ResultTable("changes", m.ChangeResult, CHANGE_COLUMNS,
                ("instrument__code", "region_code", "dimension", "from_wave"), "region_code",
                {"wave": "to_wave", "region": "region_code", "dimension": "dimension",
                 "instrument": "instrument__code"}),
    ResultTable("proxy_validation", m.ProxyValidationResult, PROXY_COLUMNS,
                ("indicator__code",), None, {"indicator": "indicator__code"}),
    ResultTable("achievements", m.AchievementResult, ACHIEVEMENT_COLUMNS,
                ("year", "region_code", "indicator__code"), "region_code",
                {"indicator": "indicator__code", "region": "region_code", "year": "year",
                 "level": "indicator__level"}),
    # every office, researcher and admin reads every programme's evaluation (sharing what
    # worked elsewhere is the point): not region-scoped
    ResultTable("programme_effects", m.ProgrammeEffectResult, PROGRAMME_EFFECT_COLUMNS,
                ("programme__code",), None,
                {"region": "region_code", "type": "type", "dimension": "dimension"}),
    ResultTable("programme_types", m.ProgrammeTypeResult, PROGRAMME_TYPE_COLUMNS, ("type",),
                None, {"type": "type"}),
    # model-based estimates: the same region scope as the estimates
    ResultTable("sae", m.SmallAreaResult, SAE_COLUMNS,
                ("wave__instrument__code", "wave__year", "region_code"), "region_code",
                {**WAVE_FILTERS, "region": "region_code"}),
]}


# --- longitudinal tables (issue 12) -------------------------------------------------------------

def _published_panel_change() -> dict[str, Expression]:
    """A panel change of fewer than 30 pairs keeps n_pairs and its flag; its numbers read as
    NULL (the publication rule of the estimates; its `significant` is stored blank)."""
    hidden = Q(suppressed=True)
    out: dict[str, Expression] = {
        f"pub_{name}": Case(When(hidden, then=Value(None)), default=F(name),
                            output_field=FloatField())
        for name in ("change", "se", "ci_low", "ci_high", "p")
    }
    return out


COMPARABILITY = _c("comparability", "str",
                   "Keterbandingan antar-gelombang (comparable = invariansi skalar; partial = "
                   "metrik: bandingkan hubungan, bukan rata-rata; not = tidak sebanding)",
                   "Comparability across waves (comparable = scalar invariance; partial = "
                   "metric: compare relations, not means; not = not comparable)", width=12)
PREVIOUS_WAVE = _c("previous_wave", "int", "Gelombang sebelumnya", "Previous wave", null=False)
RETENTION_COLUMNS = (
    WAVE, PREVIOUS_WAVE, REGION,
    _c("variable", "str", "Kelompok (all/sex/age_group)", "Breakdown (all/sex/age_group)",
       width=10, null=False),
    _c("group", "str", "Nilai kelompok (ALL, L/P, kelompok umur)",
       "Group (ALL, L/P, age group)", width=20, null=False),
    _c("n_previous", "int", "Responden gelombang sebelumnya",
       "Respondents of the previous wave", null=False),
    _c("reinterviewed", "int", "Diwawancarai kembali", "Re-interviewed", null=False),
    _c("retention_pct", "float", "Retensi (%)", "Retention (%)"),
    _c("attrition_pct", "float", "Atrisi (%)", "Attrition (%)"),
    _c("new_entrants", "int", "Responden baru di wilayah (hanya baris all)",
       "New entrants in the region (all rows only)"),
    INSTRUMENT,
)
PANEL_CHANGE_COLUMNS = (
    WAVE, PREVIOUS_WAVE, REGION, DIMENSION,
    _c("n_pairs", "int", "Anggota panel dengan skor sah di kedua gelombang",
       "Panel members with a valid score in both waves", null=False),
    _pub("change", "float", "Perubahan dalam-individu (rata-rata tertimbang selisih)",
         "Within-person change (weighted mean paired difference)"),
    _pub("se", "float", "Galat baku (desain gelombang kemudian)",
         "Standard error (design of the later wave)"),
    _pub("ci_low", "float", "Batas bawah selang kepercayaan 95 %", "95% CI lower bound"),
    _pub("ci_high", "float", "Batas atas selang kepercayaan 95 %", "95% CI upper bound"),
    _c("df", "int", "Derajat bebas desain", "Design degrees of freedom"),
    _pub("p", "float", "Nilai p", "p-value"),
    _c("significant", "bool", "Signifikan (p < 0,05)", "Significant (p < .05)"),
    _c("suppressed", "bool", "Tidak ditampilkan (pasangan < 30)",
       "Not shown (fewer than 30 pairs)", null=False),
    _c("cross_delta", "float", "Perubahan lintas-seksi (semua responden)",
       "Cross-sectional change (all respondents)"),
    _c("cross_se", "float", "Galat baku perubahan lintas-seksi", "Cross-sectional change SE"),
    _c("cross_significant", "bool", "Perubahan lintas-seksi signifikan",
       "Cross-sectional change significant"),
    COMPARABILITY,
    INSTRUMENT,
)
INVARIANCE_COLUMNS = (
    INSTRUMENT_OWN,
    _c("version", "int", "Versi instrumen", "Instrument version", source="version__version",
       null=False),
    _c("level", "str", "Tingkat invariansi (configural/metric/scalar)",
       "Invariance level (configural/metric/scalar)", width=10, null=False),
    _c("n", "int", "Kasus lengkap (semua gelombang)", "Complete cases (all waves)", null=False),
    _c("chisq", "float", "Khi-kuadrat", "Chi-square"),
    _c("df", "int", "Derajat bebas model", "Model degrees of freedom"),
    _c("cfi", "float", "CFI", "CFI"), _c("tli", "float", "TLI", "TLI"),
    _c("rmsea", "float", "RMSEA", "RMSEA"), _c("srmr", "float", "SRMR", "SRMR"),
    _c("delta_cfi", "float", "Selisih CFI terhadap tingkat sebelumnya",
       "CFI change against the previous level"),
    _c("delta_rmsea", "float", "Selisih RMSEA", "RMSEA change"),
    _c("delta_srmr", "float", "Selisih SRMR", "SRMR change"),
    _c("rejected", "bool", "Ditolak (aturan Chen 2007)", "Rejected (Chen 2007 rule)",
       null=False),
    _c("waves", "str", "Gelombang yang dibandingkan", "Waves compared", width=200,
       null=False),
    COMPARABILITY,
)
_LONGITUDINAL_FILTERS = {**WAVE_FILTERS, "region": "region_code"}

TABLES.update({t.name: t for t in [
    # panels: region-scoped like the estimates (retention by region of the previous wave)
    ResultTable("retention", m.RetentionResult, RETENTION_COLUMNS,
                ("wave__instrument__code", "wave__year", "region_code", "variable", "group"),
                "region_code", {**_LONGITUDINAL_FILTERS, "variable": "variable"}),
    ResultTable("panel_changes", m.PanelChangeResult, PANEL_CHANGE_COLUMNS,
                ("wave__instrument__code", "wave__year", "dimension", "region_code"),
                "region_code", {**_LONGITUDINAL_FILTERS, "dimension": "dimension"},
                _published_panel_change),
    # per instrument version, province-wide: not region-scoped
    ResultTable("invariance", m.InvarianceResult, INVARIANCE_COLUMNS,
                ("instrument__code", "version__version", "id"), None,
                {"instrument": "instrument__code", "version": "version__version"}),
]})


# --- bridges across instrument versions (issue 12 part 2) -------------------------------------

BRIDGE_COLUMNS = (
    INSTRUMENT, REGION, DIMENSION, WAVE,
    _c("version", "int", "Versi instrumen gelombang", "Instrument version of the wave",
       null=False),
    _c("from_version", "int", "Versi pertama deret", "First version of the series", null=False),
    _c("to_version", "int", "Versi terakhir deret", "Last version of the series", null=False),
    _c("series", "int", "Deret ke-", "Series number", null=False),
    _c("linked_items", "int", "Jumlah butir tertaut", "Linked items", null=False),
    _c("items", "str", "Kode butir tertaut", "Linked item codes", width=1000, null=False),
    _c("n", "int", "Jumlah responden dengan skor sah", "Respondents with a valid score",
       null=False),
    _c("n_eff", "float", "Ukuran sampel efektif (Kish)", "Kish effective sample size"),
    _pub("estimate", "float", "Estimasi jembatan (butir tertaut, 0-100)",
         "Bridge estimate (linked items, 0-100)"),
    _pub("se", "float", "Galat baku (linearisasi Taylor)",
         "Standard error (Taylor linearisation)"),
    _pub("ci_low", "float", "Batas bawah selang kepercayaan 95 %", "95% CI lower bound"),
    _pub("ci_high", "float", "Batas atas selang kepercayaan 95 %", "95% CI upper bound"),
    _c("df", "int", "Derajat bebas desain", "Design degrees of freedom"),
    _c("suppressed", "bool", "Tidak ditampilkan (responden < 30)",
       "Not shown (fewer than 30 respondents)", null=False),
    _pub("category", "category", "Kategori", "Category"),
)
TABLES["bridges"] = ResultTable(
    "bridges", m.BridgeResult, BRIDGE_COLUMNS,
    ("wave__instrument__code", "wave__year", "dimension", "region_code", "series"),
    "region_code", {**WAVE_FILTERS, "region": "region_code", "dimension": "dimension",
                    "series": "series"}, _published_estimate)


# --- names beside codes in a person's spreadsheet (issue 17) ----------------------------------

#: code column -> the columns the Excel download adds right after it (looked up by
#: `surveys.services.exports`; CSV, Parquet and the statistical files keep codes only).
NAME_COLUMNS: dict[str, tuple[Column, ...]] = {
    "region": (
        _c("region_name", "str", "Nama wilayah", "Region name"),
        _c("region_kemendagri", "str", "Kode wilayah Kemendagri", "Kemendagri region code"),
    ),
    "dimension": (_c("dimension_name", "str", "Nama sila / indeks", "Sila / index name"),),
    "indicator": (
        _c("indicator_name", "str", "Nama indikator", "Indicator name"),
        _c("indicator_unit", "str", "Satuan", "Unit"),
        _c("polarity", "str", "Polaritas", "Polarity"),
    ),
    "programme": (_c("programme_name", "str", "Nama program/kegiatan", "Programme name"),),
}
