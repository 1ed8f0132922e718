from __future__ import annotations

from django.db import models
from django.db.models import Q


class Respondent(models.Model):
    """A panel member known only by a pseudonymous key: never a name or a national id.

    With settings.PANEL_KEY_SECRET set, the key is HMAC-SHA256(secret, external id) in hex
    (see surveys.ingest.keys.panel_key_for)."""

    # unique through Meta.constraints, not unique=True: on PostgreSQL Django then adds no
    # second (varchar_pattern_ops) index for LIKE queries, which nothing runs on a hash and
    # which every respondent an import creates would have to be entered into
    panel_key = models.CharField("kunci panel", max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["panel_key"]
        verbose_name = "responden"
        verbose_name_plural = "responden"
        constraints = [
            models.CheckConstraint(condition=~Q(panel_key=""), name="panel_key_set"),
            models.UniqueConstraint(fields=["panel_key"], name="respondent_panel_key_unique"),
        ]

    def __str__(self) -> str:
        return self.panel_key
