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
    # A panel follow-up names the respondent it is for: redeeming it binds the new account to
    # that key (RespondentAccount), the only way an account gets a key it did not create.
    respondent = models.ForeignKey(
        "surveys.Respondent", null=True, blank=True, on_delete=models.CASCADE,
        related_name="invitations", verbose_name="responden (tindak lanjut panel)",
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


class RespondentAccount(models.Model):
    """The one respondent key a respondent account may answer for (docs/DECISIONS.md item 14).

    Written by the account's first accepted submission, in the same transaction as the response
    (only for a key that submission creates), or by redeeming a panel follow-up invitation that
    names the key (which moves the key to the new account); never changed by the API otherwise.
    Both sides are unique: an account answers for one respondent and a respondent is answered
    for by at most one account. Enumerators and admins
    have no row: they submit for anyone in their regions.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE,
        related_name="respondent_account",
    )
    respondent = models.OneToOneField(
        "surveys.Respondent", on_delete=models.CASCADE, related_name="account"
    )
    bound_at = models.DateTimeField("terikat sejak")

    class Meta:
        verbose_name = "akun responden"
        verbose_name_plural = "akun responden"

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.respondent_id}"
