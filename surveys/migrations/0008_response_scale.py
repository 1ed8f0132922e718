"""Fewer indexes on surveys_response for loads near COPY speed (issue 15, bench/README.md):
the unique pair becomes (respondent, wave), which also serves lookups by respondent, so the
single-column respondent index goes. Four indexes remain: primary key, submission_id,
(respondent, wave), (wave, status). The new constraint is built before the old one is dropped:
uniqueness never lapses."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("surveys", "0007_longitudinal"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="response",
            constraint=models.UniqueConstraint(
                fields=("respondent", "wave"), name="response_one_per_respondent"),
        ),
        migrations.RemoveConstraint(
            model_name="response",
            name="response_one_per_respondent_wave",
        ),
        migrations.AlterField(
            model_name="response",
            name="respondent",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.PROTECT,
                related_name="responses", to="surveys.respondent"),
        ),
    ]
