from __future__ import annotations

from django.db import models
from django.db.models import Q

from .responses import AgeGroup, Sex


class PopulationMargin(models.Model):
    """Population count of one region x sex x age group in one year (raking targets)."""

    year = models.PositiveSmallIntegerField("tahun")
    region = models.ForeignKey("surveys.Region", on_delete=models.PROTECT, related_name="+")
    sex = models.CharField(max_length=1, choices=Sex.choices)
    age_group = models.CharField(max_length=5, choices=AgeGroup.choices)
    population = models.BigIntegerField("jumlah penduduk")

    class Meta:
        ordering = ["year", "region__code", "sex", "age_group"]
        verbose_name = "marginal penduduk"
        verbose_name_plural = "marginal penduduk"
        constraints = [
            models.UniqueConstraint(
                fields=["year", "region", "sex", "age_group"], name="population_cell_unique"
            ),
            models.CheckConstraint(condition=Q(population__gte=0), name="population_nonneg"),
            models.CheckConstraint(condition=Q(sex__in=Sex.values), name="population_sex_valid"),
            models.CheckConstraint(
                condition=Q(age_group__in=AgeGroup.values), name="population_age_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.region_id} {self.sex} {self.age_group}: {self.population}"
