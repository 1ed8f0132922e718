"""Stored longitudinal results of index runs (issue 12): panels and measurement invariance.

- `WaveMoments`: the complete-case item means and covariance matrix (divisor N) of one wave,
  reverse-keyed, in the version's item order. Not published: the index run keeps them so that
  the invariance models of a version can be fitted on every wave's moments without reading the
  raw rows of waves it does not recompute (and at the same cost at any sample size).
- `RetentionResult`: panel retention between a wave and the previous wave of its instrument,
  per region of the previous wave (and ``ALL``), in total and by sex and age group (attrition).
- `PanelChangeResult`: within-person change of each dimension and the index for the panel
  members of two consecutive waves (design of the later wave), with the cross-sectional change
  of the same cells beside it.
- `InvarianceResult`: configural, metric and scalar invariance of the correlated-factors CFA
  across the waves of one instrument version (METHODS 5) and the comparability it gives.

Rows of the per-wave tables belong to the *later* wave: they are replaced when that wave is
computed, kept when it is skipped (docs/DECISIONS.md, "one bad wave").
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .results import _RunResult


class Comparability(models.TextChoices):
    """What a comparison across waves may claim (METHODS 5, Chen 2007)."""

    # Translators: id: Sebanding (invariansi skalar)
    COMPARABLE = "comparable", _("Comparable (scalar invariance)")
    # Translators: id: Sebagian (invariansi metrik: bandingkan hubungan, bukan rata-rata)
    PARTIAL = "partial", _("Partial (metric invariance: compare relations, not means)")
    # Translators: id: Tidak sebanding
    NOT = "not", _("Not comparable")


#: invariance level reached -> comparability
COMPARABILITY_OF_LEVEL = {"scalar": Comparability.COMPARABLE, "metric": Comparability.PARTIAL,
                          "configural": Comparability.NOT}


class WaveMoments(_RunResult):
    wave = models.OneToOneField("surveys.Wave", on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey("surveys.InstrumentVersion", on_delete=models.CASCADE,
                                related_name="+")
    n = models.PositiveIntegerField("kasus lengkap")
    items = models.JSONField("kode butir (urutan spesifikasi)")
    means = models.JSONField("rata-rata butir")
    cov = models.JSONField("matriks kovarians (pembagi N)")

    class Meta:
        verbose_name = "momen butir gelombang"
        verbose_name_plural = "momen butir gelombang"

    def __str__(self) -> str:
        return f"moments of wave {self.wave_id}: n {self.n}"


class RetentionResult(_RunResult):
    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="+")
    previous_wave = models.PositiveSmallIntegerField()
    region_code = models.CharField(max_length=20)
    #: ``all`` (the region's total), ``sex`` or ``age_group``
    variable = models.CharField(max_length=10)
    group = models.CharField(max_length=20)
    n_previous = models.PositiveIntegerField()
    reinterviewed = models.PositiveIntegerField()
    retention_pct = models.FloatField(null=True)
    attrition_pct = models.FloatField(null=True)
    new_entrants = models.PositiveIntegerField(null=True)

    class Meta:
        ordering = ["wave__year", "region_code", "variable", "group"]
        constraints = [
            models.UniqueConstraint(fields=["wave", "region_code", "variable", "group"],
                                    name="retention_unique"),
            models.CheckConstraint(condition=Q(variable__in=["all", "sex", "age_group"]),
                                   name="retention_variable_valid"),
        ]

    def __str__(self) -> str:
        return f"retention {self.region_code} {self.variable}={self.group} wave {self.wave_id}"


class PanelChangeResult(_RunResult):
    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="+")
    previous_wave = models.PositiveSmallIntegerField()
    region_code = models.CharField(max_length=20)
    dimension = models.CharField(max_length=20)
    n_pairs = models.PositiveIntegerField()
    change = models.FloatField(null=True)
    se = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    df = models.IntegerField(null=True)
    p = models.FloatField(null=True)
    significant = models.BooleanField(null=True)
    suppressed = models.BooleanField()
    cross_delta = models.FloatField(null=True)
    cross_se = models.FloatField(null=True)
    cross_significant = models.BooleanField(null=True)
    comparability = models.CharField(max_length=12, blank=True, default="")

    class Meta:
        ordering = ["wave__year", "dimension", "region_code"]
        constraints = [
            models.UniqueConstraint(fields=["wave", "region_code", "dimension"],
                                    name="panel_change_unique"),
        ]

    def __str__(self) -> str:
        return f"panel change {self.region_code} {self.dimension} wave {self.wave_id}"


class InvarianceResult(_RunResult):
    instrument = models.ForeignKey("surveys.Instrument", on_delete=models.CASCADE,
                                   related_name="+")
    version = models.ForeignKey("surveys.InstrumentVersion", on_delete=models.CASCADE,
                                related_name="+")
    level = models.CharField(max_length=10)
    n = models.PositiveIntegerField()
    chisq = models.FloatField(null=True)
    df = models.IntegerField(null=True)
    cfi = models.FloatField(null=True)
    tli = models.FloatField(null=True)
    rmsea = models.FloatField(null=True)
    srmr = models.FloatField(null=True)
    delta_cfi = models.FloatField(null=True)
    delta_rmsea = models.FloatField(null=True)
    delta_srmr = models.FloatField(null=True)
    rejected = models.BooleanField()
    #: the waves (years) compared, comma-separated
    waves = models.CharField(max_length=200)
    #: the version's verdict (same on its three rows): comparable / partial / not
    comparability = models.CharField(max_length=12, choices=Comparability.choices)

    class Meta:
        ordering = ["instrument__code", "version__version", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "level"], name="invariance_unique"),
            models.CheckConstraint(condition=Q(level__in=["configural", "metric", "scalar"]),
                                   name="invariance_level_valid"),
        ]

    def __str__(self) -> str:
        return f"invariance {self.version_id} {self.level}: {self.comparability}"
