"""The programme registry (kegiatan of Kesbangpol offices) and its stored evaluation.

A programme ran in one region (a regency/city, or the province as a whole) in the years
``start_year..end_year`` and aimed at one dimension (sila) of the index, or at the overall
index (``dimension_code`` blank). Output indicators it reports (Paskibraka stages, outreach
events) are linked for display only: outputs are never mixed into the index. The evaluation
(METHODS.md section 11; ``analysis.programmes``) is written by the index run beside every other
result.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .results import _RunResult
from .waves import YEAR_MAX, YEAR_MIN


class Programme(models.Model):
    code = models.CharField("kode", max_length=60, unique=True)
    region = models.ForeignKey("surveys.Region", on_delete=models.PROTECT,
                               related_name="programmes", verbose_name="wilayah")
    type = models.CharField("jenis", max_length=40,
                            help_text="slug: sosialisasi, dialog, pelatihan, festival, ...")
    dimension_code = models.CharField("sila sasaran", max_length=20, blank=True, default="",
                                      help_text="kosong = indeks keseluruhan / blank = overall")
    start_year = models.PositiveSmallIntegerField("tahun mulai")
    end_year = models.PositiveSmallIntegerField("tahun selesai")
    name_id = models.CharField("nama (id)", max_length=300)
    name_en = models.CharField("nama (en)", max_length=300, blank=True, default="")
    budget = models.DecimalField("anggaran (Rp)", max_digits=18, decimal_places=0, null=True,
                                 blank=True)
    participants = models.PositiveIntegerField("peserta", null=True, blank=True)
    rpjmd_code = models.CharField("kode program/kegiatan RPJMD", max_length=60, blank=True,
                                  default="")
    output_indicators = models.ManyToManyField(
        "surveys.Indicator", blank=True, related_name="programmes",
        limit_choices_to={"level": "output"}, verbose_name="indikator output")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "program/kegiatan"
        verbose_name_plural = "program/kegiatan"
        constraints = [
            models.CheckConstraint(condition=Q(end_year__gte=F("start_year")),
                                   name="programme_years_ordered"),
            models.CheckConstraint(
                condition=Q(start_year__gte=YEAR_MIN) & Q(end_year__lte=YEAR_MAX),
                name="programme_years_range"),
            models.CheckConstraint(condition=Q(budget__isnull=True) | Q(budget__gte=0),
                                   name="programme_budget_nonnegative"),
        ]
        indexes = [models.Index(fields=["region", "start_year"])]

    def __str__(self) -> str:
        return f"{self.code} ({self.region_id}, {self.start_year}-{self.end_year})"

    @property
    def dimension(self) -> str:
        """The evaluated dimension: the code, or INDEX for the overall index."""
        return self.dimension_code or "INDEX"


class ProgrammeEffectResult(_RunResult):
    """One programme's difference-in-differences (INTERFACE ``programme_effects``)."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="+")
    region_code = models.CharField(max_length=20)
    type = models.CharField(max_length=40)
    dimension = models.CharField(max_length=20)
    start_year = models.PositiveSmallIntegerField()
    end_year = models.PositiveSmallIntegerField()
    pre_wave = models.PositiveSmallIntegerField(null=True)
    post_wave = models.PositiveSmallIntegerField(null=True)
    treated_change = models.FloatField(null=True)
    treated_se = models.FloatField(null=True)
    comparison_change = models.FloatField(null=True)
    comparison_se = models.FloatField(null=True)
    n_comparison = models.PositiveIntegerField(null=True)
    did = models.FloatField(null=True)
    did_se = models.FloatField(null=True)
    did_ci_low = models.FloatField(null=True)
    did_ci_high = models.FloatField(null=True)
    p = models.FloatField(null=True)
    mde = models.FloatField(null=True)
    significant = models.BooleanField(null=True)
    status = models.CharField(max_length=16)

    class Meta:
        ordering = ["programme__code"]
        constraints = [
            models.UniqueConstraint(fields=["programme"], name="programme_effect_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["ok", "no_pre", "no_post", "no_comparison"]),
                name="programme_effect_status_valid"),
        ]

    def __str__(self) -> str:
        return f"effect of {self.programme_id}: {self.status}"


class ProgrammeTypeResult(_RunResult):
    """Pooled effects of one programme type (INTERFACE ``programme_types``)."""

    type = models.CharField(max_length=40)
    k = models.PositiveIntegerField()
    fe_estimate = models.FloatField(null=True)
    fe_se = models.FloatField(null=True)
    re_estimate = models.FloatField(null=True)
    re_se = models.FloatField(null=True)
    re_ci_low = models.FloatField(null=True)
    re_ci_high = models.FloatField(null=True)
    re_p = models.FloatField(null=True)
    tau2 = models.FloatField(null=True)
    i2 = models.FloatField(null=True)
    q = models.FloatField(null=True)
    q_p = models.FloatField(null=True)

    class Meta:
        ordering = ["type"]
        constraints = [models.UniqueConstraint(fields=["type"], name="programme_type_unique")]

    def __str__(self) -> str:
        return f"type {self.type}: k={self.k}"
