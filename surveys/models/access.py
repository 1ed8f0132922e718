"""Who may see and write what: roles are Django groups, regions are assigned per user."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    RESPONDENT = "respondent", "Responden"
    ENUMERATOR = "enumerator", "Enumerator"
    OFFICE = "office", "Kantor (Kesbangpol)"
    RESEARCHER = "researcher", "Peneliti"
    ADMIN = "admin", "Admin"


class RegionAssignment(models.Model):
    """A region an enumerator may collect in, or the root of an office's region subtree."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="region_assignments"
    )
    region = models.ForeignKey("surveys.Region", on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = "penugasan wilayah"
        verbose_name_plural = "penugasan wilayah"
        constraints = [
            models.UniqueConstraint(fields=["user", "region"], name="region_assignment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.region_id}"
