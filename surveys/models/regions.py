from __future__ import annotations

from django.db import models
from django.db.models import Q


class RegionLevel(models.TextChoices):
    PROVINCE = "province", "Provinsi"
    REGENCY = "regency", "Kabupaten"
    CITY = "city", "Kota"
    DISTRICT = "district", "Kecamatan"
    VILLAGE = "village", "Desa/Kelurahan"


class RegionQuerySet(models.QuerySet["Region"]):
    def subtree_codes(self, code: str) -> list[str]:
        """Codes of the region `code` and everything below it (breadth-first, any depth)."""
        codes = [code]
        frontier = [code]
        while frontier:
            frontier = list(
                self.filter(parent__code__in=frontier).values_list("code", flat=True)
            )
            codes.extend(frontier)
        return codes


class Region(models.Model):
    """An administrative region. `code` is the BPS code; Kemendagri's code is kept apart
    because the two differ for several Kalimantan Timur regencies."""

    code = models.CharField("kode BPS", max_length=20, unique=True)
    code_kemendagri = models.CharField("kode Kemendagri", max_length=20, blank=True, default="")
    name = models.CharField("nama", max_length=200)
    level = models.CharField("tingkat", max_length=16, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    valid_from = models.DateField("berlaku sejak", null=True, blank=True)
    valid_to = models.DateField("berlaku sampai", null=True, blank=True)

    objects = RegionQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = "wilayah"
        verbose_name_plural = "wilayah"
        constraints = [
            models.CheckConstraint(
                condition=Q(level__in=RegionLevel.values), name="region_level_valid"
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_to__gte=models.F("valid_from")),
                name="region_validity_ordered",
            ),
            models.CheckConstraint(condition=~Q(code=""), name="region_code_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
