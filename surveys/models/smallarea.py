"""Stored Fay-Herriot small-area estimates of the overall index (METHODS.md section 12).

Every number here is model-based and is labelled so wherever it is shown; it never enters the
survey estimates, trends, changes or achievements.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .results import _RunResult


class SmallAreaMethod(models.TextChoices):
    # Translators: id: EBLUP (survei + model)
    EBLUP = "eblup", _("EBLUP (survey + model)")
    # Translators: id: Sintetis (model saja)
    SYNTHETIC = "synthetic", _("Synthetic (model only)")


class SmallAreaResult(_RunResult):
    """One area-wave of the ``sae`` table (INTERFACE section 3)."""

    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="+")
    region_code = models.CharField(max_length=20)
    dimension = models.CharField(max_length=20, default="INDEX")
    covariate = models.CharField(max_length=60, blank=True, default="")
    direct = models.FloatField(null=True)
    direct_se = models.FloatField(null=True)
    model_estimate = models.FloatField(null=True)
    model_se = models.FloatField(null=True)
    gamma = models.FloatField(null=True)
    sigma2_u = models.FloatField(null=True)
    method = models.CharField(max_length=10, choices=SmallAreaMethod.choices)
    n_areas = models.PositiveIntegerField()
    status = models.CharField(max_length=20)
    # diagnostics (issue 11): the wave's fitted coefficients, and model SE / direct SE of the
    # area (how much the model sharpens, or would distort, where the survey is strong)
    beta_intercept = models.FloatField(null=True)
    beta_covariate = models.FloatField(null=True)
    se_ratio = models.FloatField(null=True)

    class Meta:
        ordering = ["wave__year", "region_code"]
        constraints = [
            models.UniqueConstraint(fields=["wave", "region_code", "dimension"],
                                    name="small_area_unique"),
            models.CheckConstraint(condition=Q(method__in=SmallAreaMethod.values),
                                   name="small_area_method_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["ok", "too_few_areas", "singular_covariate"]),
                name="small_area_status_valid"),
        ]

    def __str__(self) -> str:
        return f"sae {self.region_code} wave {self.wave_id}: {self.method}"
