from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

# Byte value that marks a missing answer in Response.answers (defined with the codec)
from datafiles.answers import ANSWER_MISSING  # noqa: F401


class Sex(models.TextChoices):
    L = "L", "Laki-laki"
    P = "P", "Perempuan"


class AgeGroup(models.TextChoices):
    A17_24 = "17-24", "17-24"
    A25_34 = "25-34", "25-34"
    A35_44 = "35-44", "35-44"
    A45_54 = "45-54", "45-54"
    A55 = "55+", "55+"


class ResponseStatus(models.TextChoices):
    DRAFT = "draft", "Draf"
    SUBMITTED = "submitted", "Terkirim"


class ResponseSource(models.TextChoices):
    API = "api", "API"
    IMPORT = "import", "Impor berkas"


class Response(models.Model):
    """One respondent's questionnaire in one wave.

    Answers are stored compactly: `answers` holds one unsigned byte per item of the wave's
    instrument version, in Item.position order, with 255 (ANSWER_MISSING) for no answer. A wave
    of a million responses is read into numpy with one query and `np.frombuffer` (see
    surveys.selectors.responses); an answer-per-row table was measured 14x slower to aggregate.
    Values are validated against the scale by the write services before they are packed.
    """

    # Four indexes in all, each a cost to bulk imports (bench/README.md, imports): the primary
    # key, submission_id, (respondent, wave) and (wave, status). No single-column index on
    # wave or respondent: the two composite indexes lead with them.
    wave = models.ForeignKey(
        "surveys.Wave", on_delete=models.PROTECT, related_name="responses", db_index=False
    )
    respondent = models.ForeignKey(
        "surveys.Respondent", on_delete=models.PROTECT, related_name="responses", db_index=False
    )
    submission_id = models.UUIDField("ID pengiriman", default=uuid.uuid4, unique=True)
    status = models.CharField(
        max_length=10, choices=ResponseStatus.choices, default=ResponseStatus.SUBMITTED
    )
    source = models.CharField(max_length=8, choices=ResponseSource.choices)
    consent = models.BooleanField("persetujuan", default=True)
    region = models.ForeignKey(
        "surveys.Region", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    sex = models.CharField("jenis kelamin", max_length=1, choices=Sex.choices)
    age_group = models.CharField("kelompok umur", max_length=5, choices=AgeGroup.choices)
    stratum = models.CharField(max_length=60)
    psu = models.CharField(max_length=80)
    base_weight = models.FloatField("bobot dasar", default=1.0)
    probability_sample = models.BooleanField("sampel probabilitas", default=True)
    answers = models.BinaryField("jawaban (terkemas)")
    content_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["wave", "id"]
        verbose_name = "jawaban responden"
        verbose_name_plural = "jawaban responden"
        constraints = [
            # respondent first: it serves lookups by respondent too (panels, deletion checks)
            models.UniqueConstraint(
                fields=["respondent", "wave"], name="response_one_per_respondent"
            ),
            models.CheckConstraint(condition=Q(base_weight__gt=0), name="response_weight_pos"),
            models.CheckConstraint(condition=Q(sex__in=Sex.values), name="response_sex_valid"),
            models.CheckConstraint(
                condition=Q(age_group__in=AgeGroup.values), name="response_age_group_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ResponseStatus.values), name="response_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=ResponseSource.values), name="response_source_valid"
            ),
            models.CheckConstraint(
                condition=~Q(stratum="") & ~Q(psu=""), name="response_design_set"
            ),
            models.CheckConstraint(
                condition=Q(status=ResponseStatus.DRAFT) | Q(submitted_at__isnull=False),
                name="response_submitted_has_time",
            ),
        ]
        indexes = [models.Index(fields=["wave", "status"], name="response_wave_status")]

    def __str__(self) -> str:
        return f"{self.respondent_id} @ {self.wave_id}"
