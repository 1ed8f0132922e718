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

    # Three indexes in all, each a cost to bulk imports (bench/README.md, imports): the primary
    # key; the unique (wave, respondent), which serves every read by wave (reads filter on
    # wave, then on status among the wave's rows); submission_id, partial (imported rows
    # store none, so a file import writes two indexes). Nothing reads responses by respondent
    # alone (the panel stages pair the waves' rows in numpy), so no index leads with it;
    # deleting a respondent, which Nilai never does, would scan (docs/DECISIONS.md 80).
    wave = models.ForeignKey(
        "surveys.Wave", on_delete=models.PROTECT, related_name="responses", db_index=False
    )
    respondent = models.ForeignKey(
        "surveys.Respondent", on_delete=models.PROTECT, related_name="responses", db_index=False
    )
    # NULL for a row of a file import without ids of its own: its id is the derived one of
    # (respondent, wave) (`effective_submission_id`), which the API refuses to take, so it is
    # neither stored nor indexed; the unique index holds the ids clients and field exports
    # gave (docs/DECISIONS.md 80).
    submission_id = models.UUIDField("ID pengiriman", default=uuid.uuid4, null=True, blank=True)
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
    # The fingerprint (surveys.ingest.fingerprint.content_hash), a function of the stored
    # content: API writes store it, file imports leave it empty and it is computed from the
    # row when needed (`stored_fingerprint`; docs/DECISIONS.md 80).
    content_hash = models.CharField(max_length=64, blank=True)
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
            # wave first: it serves every read by wave (no separate (wave, status) index)
            models.UniqueConstraint(
                fields=["wave", "respondent"], name="response_wave_respondent_unique"
            ),
            models.UniqueConstraint(
                fields=["submission_id"], condition=Q(submission_id__isnull=False),
                name="response_submission_id_unique",
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

    def __str__(self) -> str:
        return f"{self.respondent_id} @ {self.wave_id}"

    @property
    def effective_submission_id(self) -> uuid.UUID:
        """The id stored, or for an imported row stored without one the derived id of its
        (respondent, wave) (surveys.ingest.fingerprint.derived_submission_id)."""
        if self.submission_id is not None:
            return self.submission_id
        from surveys.ingest.fingerprint import derived_submission_id

        return derived_submission_id(self.respondent_id, self.wave_id)
