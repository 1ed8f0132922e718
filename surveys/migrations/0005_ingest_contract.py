"""The response contract (surveys.ingest): panel follow-up invitations name their respondent,
and every stored fingerprint is recomputed with the one definition shared by the API and the
import (surveys.ingest.fingerprint.content_hash)."""

import django.db.models.deletion
from django.db import migrations, models

BATCH = 5_000


def refingerprint(apps, schema_editor):
    from datafiles.answers import ItemLayout, unpack_answers
    from surveys.ingest.fingerprint import content_hash

    Wave = apps.get_model("surveys", "Wave")
    Item = apps.get_model("surveys", "Item")
    Response = apps.get_model("surveys", "Response")
    for wave in Wave.objects.select_related("version").order_by("id"):
        codes = tuple(Item.objects.filter(version_id=wave.version_id).order_by("position")
                      .values_list("code", flat=True))
        layout = ItemLayout(codes=codes, scale_min=wave.version.scale_min,
                            scale_max=wave.version.scale_max)
        rows = (Response.objects.filter(wave_id=wave.pk).order_by("id").values_list(
            "id", "region__code", "sex", "age_group", "stratum", "psu", "base_weight",
            "probability_sample", "status", "answers").iterator(chunk_size=BATCH))
        changed = []
        for (pk, region, sex, age_group, stratum, psu, base_weight, probability_sample,
             status, answers) in rows:
            if len(answers) != len(codes):
                # answers that do not fit the version's items cannot be fingerprinted by the
                # contract; the row keeps its old hash (a replay of it is then a 409, not a 200)
                continue
            digest = content_hash(
                {"region": region, "sex": sex, "age_group": age_group, "stratum": stratum,
                 "psu": psu, "base_weight": base_weight,
                 "probability_sample": probability_sample, "status": status},
                unpack_answers(layout, bytes(answers)))
            changed.append(Response(id=pk, content_hash=digest))
            if len(changed) >= BATCH:
                Response.objects.bulk_update(changed, ["content_hash"])
                changed = []
        if changed:
            Response.objects.bulk_update(changed, ["content_hash"])


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0004_jobs'),
    ]

    operations = [
        migrations.AddField(
            model_name='invitation',
            name='respondent',
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.CASCADE,
                related_name='invitations', to='surveys.respondent',
                verbose_name='responden (tindak lanjut panel)'),
        ),
        # the old fingerprints are not restored on the way back (their definition is gone)
        migrations.RunPython(refingerprint, migrations.RunPython.noop),
    ]
