"""Three indexes on surveys_response instead of four, and no fingerprint written by imports
(issue 15, docs/DECISIONS.md 80): the unique pair becomes (wave, respondent), which serves
every read by wave, so the (wave, status) index goes; `content_hash` may be NULL (file imports
leave it so; it is computed from the stored row when needed). The new constraint is built
before the old one is dropped: uniqueness never lapses."""

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
        migrations.AlterField(
            model_name="response",
            name="content_hash",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
    ]
