"""PostgreSQL 14 or later, built with lz4: a parallel run's stages leave each wave's packed
weights on its `RunWave` row compressed with lz4 (docs/DECISIONS.md 85).

The chord's body copies them into `WaveWeights` in one INSERT ... SELECT, in the run's
serial part. PostgreSQL copies an already compressed value as it is (the target columns stay
``STORAGE EXTERNAL``, never compressed by the server themselves), so the body copies and
WAL-logs ~33 MB instead of 80 MB for 5M responses (0.07 s against 0.19 s alone on this
machine, 0.32 s in a two-worker run). The compression itself (~50 ms a wave of 1M) happens
in the stages, in the parallel part. Readers see the same bytes: the server decompresses.
Elsewhere (SQLite, PostgreSQL without lz4) nothing changes.
"""

from django.db import migrations

_COLUMNS = ("response_ids", "final_weights")


def _lz4(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                       "WHERE name = 'default_toast_compression'")
        row = cursor.fetchone()
    if not row or not row[0]:
        return
    table = schema_editor.quote_name("surveys_runwave")
    schema_editor.execute(f"ALTER TABLE {table} " + ", ".join(
        f"ALTER COLUMN {c} SET STORAGE EXTENDED, ALTER COLUMN {c} SET COMPRESSION lz4"
        for c in _COLUMNS))


def _back(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return
    table = schema_editor.quote_name("surveys_runwave")
    schema_editor.execute(f"ALTER TABLE {table} " + ", ".join(
        f"ALTER COLUMN {c} SET STORAGE EXTERNAL, ALTER COLUMN {c} SET COMPRESSION DEFAULT"
        for c in _COLUMNS))


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0014_run_waves'),
    ]

    operations = [
        migrations.RunPython(_lz4, _back, elidable=False),
    ]
