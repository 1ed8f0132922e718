from __future__ import annotations

from django.db import models
from django.db.models import Q

#: Target rows for the overall survey index use this indicator code.
INDEX_CODE = "INDEX"


class Polarity(models.TextChoices):
    POSITIVE = "positive", "Positif (makin tinggi makin baik)"
    NEGATIVE = "negative", "Negatif (makin rendah makin baik)"


class IndicatorLevel(models.TextChoices):
    OUTCOME = "outcome", "Outcome (proksi)"
    OUTPUT = "output", "Output"
    INDEX = "index", "Indeks survei"


class IndicatorQuerySet(models.QuerySet["Indicator"]):
    def index(self) -> Indicator:
        """The row standing for the survey index (code INDEX), created on first use."""
        indicator, _ = self.get_or_create(
            code=INDEX_CODE,
            defaults={
                "name_id": "Indeks survei (keseluruhan)", "name_en": "Survey index (overall)",
                "polarity": Polarity.POSITIVE, "level": IndicatorLevel.INDEX,
            },
        )
        return indicator


class Indicator(models.Model):
    """A proxy (outcome) or output indicator. The survey index itself is the Indicator with
    code INDEX and level `index`, created on demand so that targets always reference a row."""

    code = models.CharField("kode", max_length=60, unique=True)
    name_id = models.CharField("nama (id)", max_length=300)
    name_en = models.CharField("nama (en)", max_length=300, blank=True, default="")
    polarity = models.CharField(max_length=8, choices=Polarity.choices)
    level = models.CharField(max_length=8, choices=IndicatorLevel.choices)
    unit = models.CharField("satuan", max_length=60, blank=True, default="")
    source = models.CharField("sumber", max_length=200, blank=True, default="")
    dimension_code = models.CharField("sila terkait", max_length=20, blank=True, default="")

    objects = IndicatorQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = "indikator"
        verbose_name_plural = "indikator"
        constraints = [
            models.CheckConstraint(
                condition=Q(polarity__in=Polarity.values), name="indicator_polarity_valid"
            ),
            models.CheckConstraint(
                condition=Q(level__in=IndicatorLevel.values), name="indicator_level_valid"
            ),
            models.CheckConstraint(
                condition=Q(level=IndicatorLevel.INDEX, code=INDEX_CODE)
                | (~Q(level=IndicatorLevel.INDEX) & ~Q(code=INDEX_CODE)),
                name="indicator_index_reserved",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class IndicatorValue(models.Model):
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="values")
    region = models.ForeignKey("surveys.Region", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField("tahun")
    value = models.FloatField("nilai")

    class Meta:
        ordering = ["indicator__code", "region__code", "year"]
        verbose_name = "nilai indikator"
        verbose_name_plural = "nilai indikator"
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "region", "year"], name="indicator_value_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id} {self.region_id} {self.year}: {self.value}"


class Target(models.Model):
    """An RPJMD/Renstra target for one indicator (or INDEX), region and year."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="targets")
    region = models.ForeignKey("surveys.Region", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField("tahun")
    target = models.FloatField("target")

    class Meta:
        ordering = ["indicator__code", "region__code", "year"]
        verbose_name = "target"
        verbose_name_plural = "target"
        constraints = [
            models.UniqueConstraint(fields=["indicator", "region", "year"], name="target_unique"),
            models.CheckConstraint(condition=~Q(target=0), name="target_nonzero"),
        ]

    def __str__(self) -> str:
        return f"target {self.indicator_id} {self.region_id} {self.year}: {self.target}"
