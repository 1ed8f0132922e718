"""Three indexes on surveys_response instead of four, and nothing stored by a file import that
is a function of its other columns (issue 15, docs/DECISIONS.md 80): the unique pair becomes
(wave, respondent), which serves every read by wave, so the (wave, status) index goes;
`submission_id` may be NULL (an imported row's derived id) and its unique index is partial
(NOT NULL ids only); `content_hash` may be empty (computed from the stored row when needed).
Each new constraint is built before the old one is dropped: uniqueness never lapses."""

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("surveys", "0012_respondent_key_constraint"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="response",
            constraint=models.UniqueConstraint(
                fields=("wave", "respondent"), name="response_wave_respondent_unique"),
        ),
        migrations.RemoveConstraint(
            model_name="response",
            name="response_one_per_respondent",
        ),
        migrations.RemoveIndex(
            model_name="response",
            name="response_wave_status",
        ),
        migrations.AddConstraint(
            model_name="response",
            constraint=models.UniqueConstraint(
                condition=models.Q(submission_id__isnull=False), fields=("submission_id",),
                name="response_submission_id_unique"),
        ),
        migrations.AlterField(
            model_name="response",
            name="submission_id",
            field=models.UUIDField(blank=True, default=uuid.uuid4, null=True,
                                   verbose_name="ID pengiriman"),
        ),
        migrations.AlterField(
            model_name="response",
            name="content_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
    ]
