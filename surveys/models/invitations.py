"""One-time invitation codes that let a respondent open an account for a wave.

Only a SHA-256 hash of the code is stored; the code itself is shown once, when it is created.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Invitation(models.Model):
    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="invitations")
    code_hash = models.CharField("hash kode", max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    redeemed_at = models.DateTimeField("dipakai", null=True, blank=True)
    redeemed_by = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="invitation",
    )

    class Meta:
        ordering = ["wave", "id"]
        verbose_name = "undangan"
        verbose_name_plural = "undangan"
        constraints = [
            models.CheckConstraint(
                condition=Q(redeemed_by__isnull=True) | Q(redeemed_at__isnull=False),
                name="invitation_redeemed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.wave_id}:{self.code_hash[:8]}"
