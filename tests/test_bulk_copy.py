"""`surveys.services.bulk`: the COPY writer stores what ``bulk_create`` stores (issue 15).

Every result model the run writes is filled with the same rows (NULL / NaN / pd.NA, numpy
scalars, booleans, floats written into integer fields, infinities, text with tabs, newlines,
carriage returns, backslashes, the COPY markers ``\\N`` and ``\\.``, quotes and non-ASCII,
JSON) by ``bulk_create`` (the reference) and by `insert_rows` / `insert_objects`; the rows read
back must be equal field by field. Twice: with the callers' missing-value policy applied first
(`db_value`, as the run does) and with the raw values (numpy scalars, NaN: Django's own
conversion). A second, independent oracle: each stored value equals the field's own Python
conversion of the input (``get_prep_value(db_value(v))``). Runs on SQLite (the ``bulk_create``
fallback) and on PostgreSQL (COPY: no INSERT statement is sent).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from surveys import models as m
from surveys.services._rows import db_value
from surveys.services.bulk import insert_objects, insert_rows
from tests import factories as f

RESULT_MODELS = [
    m.EstimateResult, m.ReliabilityResult, m.ItemResult, m.CfaResult, m.TrendResult,
    m.ChangeResult, m.ProxyValidationResult, m.AchievementResult, m.WaveMoments,
    m.InvarianceResult, m.RetentionResult, m.PanelChangeResult, m.BridgeResult,
    m.ProgrammeEffectResult, m.ProgrammeTypeResult, m.SmallAreaResult,
]

TEXTS = ["tab\there", "line\nbreak\r\nCR", "back\\slash", "\\N", "\\.", "quote ' \" `",
         "Bàli — 東京 ✓", "", "comma, pipe | semicolon;", " lead and trail "]
FLOATS = [0.1 + 0.2, 1 / 3, -0.0, 1e-310, 1.7976931348623157e308, math.inf, -math.inf,
          np.float64(62.5), -123456.789]
MISSING = [None, float("nan"), np.nan, pd.NA]
JSONS = [[1.5, "a\tb\\c", None, {"k": "ü\n"}], {"x": [1, 2, 3], "y": "\\N"}, [], ["東"],
         [[0.1, 0.2], [1e-12, -3.0]]]


def _allowed(model: type[models.Model]) -> dict[str, list[Any]]:
    """Values a check constraint ``Q(field__in=[...])`` allows, by field name."""
    out: dict[str, list[Any]] = {}
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.CheckConstraint) and isinstance(constraint.condition, Q):
            for child in constraint.condition.children:
                if isinstance(child, tuple) and child[0].endswith("__in"):
                    out[child[0][:-4]] = list(child[1])
    return out


def _target(model: type[models.Model], i: int) -> models.Model:
    """A fresh row of a foreign key's target (one per result row: the unique constraints of
    the result tables all include a foreign key)."""
    if model is m.Wave:
        return f.WaveFactory()
    if model is m.Instrument:
        return f.InstrumentFactory()
    if model is m.InstrumentVersion:
        return f.InstrumentVersionFactory()
    if model is m.Indicator:
        return f.IndicatorFactory()
    if model is m.Programme:
        return m.Programme.objects.create(code=f"P{i}-{random.random()}", region=f.RegionFactory(),
                                          type="dialog", start_year=2020, end_year=2022,
                                          name_id="Program")
    raise AssertionError(f"no target for {model.__name__}")


def _value(field: models.Field[Any, Any], i: int, rng: random.Random,
           allowed: dict[str, list[Any]]) -> Any:
    """A raw value for ``field`` as analysis output may hold it."""
    if field.name in allowed:
        return rng.choice(allowed[field.name])
    if field.choices:
        return rng.choice([c[0] for c in field.choices])
    if field.null and i % 3 == 0:
        return rng.choice(MISSING) if isinstance(field, models.FloatField) else None
    if isinstance(field, models.FloatField):
        return rng.choice(FLOATS)
    if isinstance(field, models.BooleanField):
        return rng.choice([True, False, np.bool_(True), np.bool_(False), 0, 1])
    if isinstance(field, models.IntegerField):
        top = 32767 if isinstance(field, models.PositiveSmallIntegerField) else 2**31 - 1
        return rng.choice([np.int64(rng.randrange(top)), rng.randrange(top), 3.0, 0, top])
    if isinstance(field, models.JSONField):
        return rng.choice(JSONS)
    if isinstance(field, models.CharField | models.TextField):
        # the row number first: unique constraints on text columns (programme type)
        text = f"{i}{TEXTS[(i + rng.randrange(len(TEXTS))) % len(TEXTS)]}"
        return text[:field.max_length] if field.max_length else text * 3
    raise AssertionError(f"no value for {field!r}")


def _rows(model: type[models.Model], run: m.IndexRun, n: int
          ) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Columns (``run`` by object, every other foreign key by id) and ``n`` raw rows."""
    rng = random.Random(model.__name__)
    allowed = _allowed(model)
    fields = [fl for fl in model._meta.concrete_fields if not fl.primary_key]
    columns = [fl.name if fl.name == "run" else fl.attname for fl in fields]
    rows = []
    for i in range(n):
        row = []
        for fl in fields:
            if fl.name == "run":
                row.append(run)
            elif fl.is_relation:
                row.append(_target(fl.related_model, i).pk)
            else:
                row.append(_value(fl, i, rng, allowed))
        rows.append(tuple(row))
    return columns, rows


def _stored(model: type[models.Model]) -> list[tuple[Any, ...]]:
    """The rows, in insertion order; a stored NaN as "NaN" (NaN != NaN)."""
    names = [fl.attname for fl in model._meta.concrete_fields if not fl.primary_key]
    return [tuple("NaN" if isinstance(v, float) and v != v else v for v in row)
            for row in model.objects.order_by("pk").values_list(*names)]


def _policy(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The callers' missing-value policy (`db_value` on every value), applied before writing."""
    return [tuple(map(db_value, row)) for row in rows]


def _raw(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows as they are, but for what Django cannot convert: pd.NA (as NaN) and numpy
    booleans (``value in empty_values`` of a nullable BooleanField raises)."""
    return [tuple(float("nan") if v is pd.NA else bool(v) if isinstance(v, np.bool_) else v
                  for v in row) for row in rows]


def _instances(model: type[models.Model], columns: list[str],
               rows: list[tuple[Any, ...]]) -> list[models.Model]:
    """Model instances as the callers built them before the COPY writer."""
    return [model(**dict(zip(columns, row, strict=True))) for row in rows]


def _expected(model: type[models.Model], rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The independent oracle: the field's own conversion of each input value."""
    fields = [fl for fl in model._meta.concrete_fields if not fl.primary_key]
    out = []
    for row in rows:
        values = []
        for fl, v in zip(fields, row, strict=True):
            v = db_value(v)
            if isinstance(v, models.Model):
                v = v.pk
            values.append(v if v is None or fl.is_relation else fl.get_prep_value(v))
        out.append(tuple(values))
    return out


def _no_inserts(run_write: Callable[[], int]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        count = run_write()
    if connection.vendor == "postgresql":  # the rows went by COPY
        assert not [q for q in ctx.captured_queries if "INSERT" in q["sql"].upper()]
    return count


@pytest.mark.django_db
@pytest.mark.parametrize("model", RESULT_MODELS, ids=lambda mdl: mdl.__name__)
def test_copy_stores_what_bulk_create_stores(model: type[models.Model]) -> None:
    run = f.IndexRunFactory()
    n = 12
    columns, raw = _rows(model, run, n)
    for policy, rows in ((True, _policy(raw)), (False, _raw(raw))):
        model.objects.bulk_create(_instances(model, columns, rows))
        reference = _stored(model)
        assert len(reference) == n
        if not policy and any(isinstance(v, float) and v != v for r in rows for v in r):
            # a raw NaN is a float8 NaN on PostgreSQL (Django's conversion), NULL on SQLite
            assert ("'NaN'" in str(reference)) == (connection.vendor == "postgresql")
        model.objects.all().delete()

        assert _no_inserts(lambda rows=rows: insert_rows(model, columns, rows)) == n
        assert _stored(model) == reference
        model.objects.all().delete()

        assert _no_inserts(
            lambda rows=rows: insert_objects(model, _instances(model, columns, rows))) == n
        assert _stored(model) == reference
        model.objects.all().delete()
    insert_rows(model, columns, _policy(raw))
    assert _stored(model) == _expected(model, raw)


@pytest.mark.django_db
def test_nan_is_what_django_makes_of_it() -> None:
    """Without the callers' policy a NaN is Django's: NaN in a float column on PostgreSQL
    (NULL on SQLite), "nan" in a text column (a trend direction of too short a series)."""
    run, instrument = f.IndexRunFactory(), f.InstrumentFactory()
    columns = ["run", "instrument", "region_code", "dimension", "n_points", "sen_slope",
               "direction"]
    rows = [(run, instrument, "6401", "INDEX", 2, np.nan, np.nan),
            (run, instrument, "6402", "INDEX", 5, np.float64(0.5), "up")]
    m.TrendResult.objects.bulk_create(_instances(m.TrendResult, columns, rows))
    reference = _stored(m.TrendResult)
    m.TrendResult.objects.all().delete()
    insert_rows(m.TrendResult, columns, rows)
    assert _stored(m.TrendResult) == reference
    stored = m.TrendResult.objects.order_by("pk").values_list("sen_slope", "direction")
    assert [d for _, d in stored] == ["nan", "up"]


@pytest.mark.django_db
def test_the_rows_hold_the_hard_cases() -> None:
    """The rows above are not trivial: NULL from NaN and pd.NA, infinities, every text."""
    run = f.IndexRunFactory()
    columns, rows = _rows(m.PanelChangeResult, run, 12)
    insert_rows(m.PanelChangeResult, columns, _policy(rows))
    stored = list(m.PanelChangeResult.objects.values_list("change", "significant", "dimension"))
    deltas = [d for d, _, _ in stored]
    assert None in deltas and any(d is not None and math.isinf(d) for d in deltas)
    assert {s for _, s, _ in stored} >= {None}
    raw = [r[columns.index("change")] for r in rows]
    assert any(v is pd.NA for v in raw) or any(isinstance(v, float) and v != v for v in raw)

    texts = [f"{i}{t}" for i, t in enumerate(TEXTS)]
    r = f.IndexRunFactory()
    wave = f.WaveFactory()
    insert_rows(m.RetentionResult, ["run", "wave", "previous_wave", "region_code", "variable",
                                    "group", "n_previous", "reinterviewed"],
                [(r, wave, 2020, t[:20], "all", t[:20], 1, 1) for t in texts])
    got = sorted(m.RetentionResult.objects.filter(run=r).values_list("region_code", flat=True))
    assert got == sorted(t[:20] for t in texts)


@pytest.mark.django_db
def test_defaults_fill_the_columns_not_named() -> None:
    """As a model instance: ``converged`` defaults to True, a blank category to ""."""
    run, wave = f.IndexRunFactory(), f.WaveFactory()
    insert_rows(m.CfaResult, ["run_id", "wave", "n", "chisq"], [(run.pk, wave, 10, None)])
    cfa = m.CfaResult.objects.get()
    assert (cfa.converged, cfa.chisq, cfa.cfi, cfa.n) == (True, None, None, 10)
    insert_rows(m.EstimateResult, ["run", "wave", "region_code", "dimension", "n",
                                   "suppressed"], [(run, wave, "6401", "INDEX", 5, np.bool_(1))])
    est = m.EstimateResult.objects.get()
    assert (est.category, est.suppressed, est.estimate) == ("", True, None)


@pytest.mark.django_db
def test_datetimes_and_json_as_django_stores_them() -> None:
    """`IndexRun`: aware datetimes in another zone, nullable datetimes, JSON, ``auto_now_add``
    (set by `insert_objects` through ``pre_save``, as ``bulk_create`` does)."""
    wita = dt.timezone(dt.timedelta(hours=8))
    when = dt.datetime(2026, 3, 1, 23, 30, 15, 123456, tzinfo=wita)
    columns = ["status", "analysis_version", "parameters", "timings", "messages", "started_at",
               "finished_at", "created_at"]
    rows = [("succeeded", "v\t1\\", {"rows": {"a": 1}, "t": "ü\n"}, {"total": 1.5},
             [{"level": "info", "message": "\\N \"q\""}], when, None, when),
            ("failed", "", {}, {}, [], None, when, when)]
    keep = list(m.IndexRun.objects.values_list("pk", flat=True))
    m.IndexRun.objects.bulk_create(_instances(m.IndexRun, columns, rows))
    names = [fl.attname for fl in m.IndexRun._meta.concrete_fields if not fl.primary_key]
    reference = list(m.IndexRun.objects.exclude(pk__in=keep).order_by("pk").values_list(*names))
    m.IndexRun.objects.exclude(pk__in=keep).delete()
    insert_rows(m.IndexRun, columns, rows)
    stored = list(m.IndexRun.objects.exclude(pk__in=keep).order_by("pk").values_list(*names))
    created = names.index("created_at")  # auto_now_add: the time of the insert, not the row's
    assert [r[:created] + r[created + 1:] for r in stored] == [
        r[:created] + r[created + 1:] for r in reference]
    assert all(r[created] > when for r in stored + reference)
    assert stored[0][names.index("started_at")] == when  # the same instant, stored in UTC
    m.IndexRun.objects.exclude(pk__in=keep).delete()

    before = dt.datetime.now(dt.UTC)
    insert_objects(m.IndexRun, [m.IndexRun(status="pending", parameters={"x": [1, None]})])
    run = m.IndexRun.objects.exclude(pk__in=keep).get()
    assert run.created_at >= before - dt.timedelta(seconds=1)
    assert run.parameters == {"x": [1, None]}


@pytest.mark.django_db(transaction=True)
def test_the_write_belongs_to_the_callers_transaction() -> None:
    run = f.IndexRunFactory()
    columns, raw = _rows(m.ChangeResult, run, 5)
    rows = _policy(raw)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert insert_rows(m.ChangeResult, columns, rows) == 5
        assert m.ChangeResult.objects.count() == 5  # visible inside the transaction
        raise RuntimeError("after the write")
    assert m.ChangeResult.objects.count() == 0

    # a row the database refuses (NULL in a NOT NULL column) fails the whole write
    bad = [*rows[:2], (run, *rows[2][1:3], None, *rows[2][4:])]
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(m.ChangeResult, columns, bad)
    assert m.ChangeResult.objects.count() == 0
    assert insert_rows(m.ChangeResult, columns, rows) == 5  # the connection is usable again
    assert m.ChangeResult.objects.count() == 5


@pytest.mark.django_db
def test_unknown_or_repeated_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="no column"):
        insert_rows(m.CfaResult, ["run", "nope"], [])
    with pytest.raises(ValueError, match="twice"):
        insert_rows(m.CfaResult, ["wave", "wave_id"], [])
    assert insert_rows(m.CfaResult, ["run", "wave", "n"], []) == 0
    run, wave = f.IndexRunFactory(), f.WaveFactory()
    with pytest.raises(ValueError):
        insert_rows(m.CfaResult, ["run", "wave", "n"], [(run, wave, 1), (run, wave)])
    assert not m.CfaResult.objects.exists()


def test_frame_rows_are_db_value_of_every_cell():
    """`_rows.frame_rows` converts whole columns at once and gives what `db_value` gives
    value by value (text columns: "" for a missing value, else str)."""
    import numpy as np
    import pandas as pd

    from surveys.services._rows import db_value, frame_rows

    frame = pd.DataFrame({
        "f": [0.1 + 0.2, np.nan, -0.0, 1e308], "i": np.array([1, 2, 3, 4], dtype=np.int64),
        "u": np.array([1, 2, 3, 4], dtype=np.uint8), "b": [True, False, True, False],
        "o": pd.Series([np.float64(1.5), None, pd.NA, "x"], dtype=object),
        "s": ["a", None, "c", "d"], "n": pd.array([1, None, 3, 4], dtype="Int64"),
        "t": [1.0, np.nan, 2.5, 3.0],
        "p": pd.Series(["x", None, "z", "w"], dtype=pd.StringDtype("python"))})
    rows = frame_rows(frame, list(frame.columns), text={"t", "s"})
    expected = [tuple((str(v) if v is not None else "") if c in {"t", "s"} else v
                      for c, v in zip(frame.columns, map(db_value, r), strict=True))
                for r in frame.itertuples(index=False, name=None)]
    assert rows == expected
    for row, want in zip(rows, expected, strict=True):
        assert [type(v) for v in row] == [type(v) for v in want]
    assert rows[1][0] is None and rows[0][0] == 0.1 + 0.2
    assert frame_rows(frame.iloc[:0], ["f", "i"]) == []


@pytest.mark.django_db
def test_a_column_of_mixed_or_repeated_values_converts_each_value_as_its_own() -> None:
    """Each distinct value of a one-type column is converted once (`_convert_column`); a
    column mixing types that compare equal (True == 1) is converted value by value: the rows
    are what ``bulk_create`` stores either way."""
    run, wave = f.IndexRunFactory(), f.WaveFactory()
    columns = ["run", "wave", "previous_wave", "region_code", "variable", "group",
               "n_previous", "reinterviewed"]
    regions = ["6401", "6401", 6402, "6402"]  # text and a number that prints the same
    counts = [True, 1, 2, 2]  # True == 1
    rows = [(run, wave, 2020, regions[i % 4], "sex", f"g{i}", counts[i % 4],
             counts[(i + 1) % 4]) for i in range(12)]
    m.RetentionResult.objects.bulk_create(_instances(m.RetentionResult, columns, rows))
    reference = _stored(m.RetentionResult)
    m.RetentionResult.objects.all().delete()
    assert insert_rows(m.RetentionResult, columns, rows) == len(rows)
    assert _stored(m.RetentionResult) == reference


@pytest.mark.django_db
def test_a_column_of_model_instances_converts_each_object_once() -> None:
    """A foreign key given as objects (`_convert_column` tells them apart by identity, not by
    ``Model.__hash__``): the same object repeated, another object equal to it, another run
    are stored as ``bulk_create`` stores them, and on the COPY path each object is converted
    once."""
    from unittest import mock

    from surveys.services import bulk

    run, other = f.IndexRunFactory(), f.IndexRunFactory()
    wave = f.WaveFactory()
    again = m.Wave.objects.get(pk=wave.pk)  # equal to ``wave``, another object
    columns = ["run", "wave", "previous_wave", "region_code", "variable", "group",
               "n_previous", "reinterviewed"]
    rows = [(r, w, 2020, "6401", "sex", f"g{i}", 10, i)
            for i, (r, w) in enumerate([(run, wave), (other, again), (run, wave), (run, again)])]
    m.RetentionResult.objects.bulk_create(_instances(m.RetentionResult, columns, rows))
    reference = _stored(m.RetentionResult)
    m.RetentionResult.objects.all().delete()
    calls: list[Any] = []
    convert = bulk._convert_column

    def counting(fn, column):
        return convert(lambda v: calls.append(v) or fn(v), column)
    with mock.patch.object(bulk, "_convert_column", side_effect=counting):
        assert insert_rows(m.RetentionResult, columns, rows) == len(rows)
    assert _stored(m.RetentionResult) == reference
    if connection.vendor == "postgresql":  # the COPY path
        assert [v for v in calls if isinstance(v, m.IndexRun)] == [run, other]
        assert sum(1 for v in calls if v is wave) == 1
        assert sum(1 for v in calls if v is again) == 1
