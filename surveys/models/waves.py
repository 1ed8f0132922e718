from __future__ import annotations

from django.db import models
from django.db.models import F, Q

#: The years a wave (and any year a file or query names) may carry; the one definition.
YEAR_MIN, YEAR_MAX = 1945, 2200


class WaveStatus(models.TextChoices):
    OPEN = "open", "Dibuka"
    CLOSED = "closed", "Ditutup"


class Wave(models.Model):
    """One round of fieldwork: one per instrument and year, tied to an instrument version."""

    instrument = models.ForeignKey(
        "surveys.Instrument", on_delete=models.PROTECT, related_name="waves"
    )
    version = models.ForeignKey(
        "surveys.InstrumentVersion", on_delete=models.PROTECT, related_name="waves"
    )
    year = models.PositiveSmallIntegerField("tahun")
    period = models.CharField("periode", max_length=40, blank=True, default="")
    fieldwork_start = models.DateField("mulai lapangan", null=True, blank=True)
    fieldwork_end = models.DateField("selesai lapangan", null=True, blank=True)
    status = models.CharField(
        "status", max_length=8, choices=WaveStatus.choices, default=WaveStatus.CLOSED
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["instrument__code", "year"]
        verbose_name = "gelombang"
        verbose_name_plural = "gelombang"
        constraints = [
            models.UniqueConstraint(fields=["instrument", "year"], name="wave_instrument_year"),
            models.CheckConstraint(
                condition=Q(year__gte=YEAR_MIN) & Q(year__lte=YEAR_MAX),
                name="wave_year_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=WaveStatus.values), name="wave_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(fieldwork_start__isnull=True)
                | Q(fieldwork_end__isnull=True)
                | Q(fieldwork_end__gte=F("fieldwork_start")),
                name="wave_fieldwork_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument.code} {self.year}"

    @property
    def is_open(self) -> bool:
        return self.status == WaveStatus.OPEN
