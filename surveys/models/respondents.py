from __future__ import annotations

from django.db import models
from django.db.models import Q


class Respondent(models.Model):
    """A panel member known only by a pseudonymous key: never a name or a national id.

    With settings.PANEL_KEY_SECRET set, the key is HMAC-SHA256(secret, external id) in hex
    (see surveys.ingest.keys.panel_key_for)."""

    panel_key = models.CharField("kunci panel", max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["panel_key"]
        verbose_name = "responden"
        verbose_name_plural = "responden"
        constraints = [models.CheckConstraint(condition=~Q(panel_key=""), name="panel_key_set")]

    def __str__(self) -> str:
        return self.panel_key
