"""Writing many result rows at once: ``COPY ... FROM STDIN`` on PostgreSQL, ``bulk_create``
elsewhere (issue 15).

A national run writes some 60,000 result rows; through ``bulk_create`` that is a model
instance, a parameter list and a slice of a multi-row ``INSERT`` per row, about 10 s of a 25 s
run on PostgreSQL. Here the rows go through psycopg 3's ``Cursor.copy`` (text format, one
``write_row`` per row: psycopg quotes tabs, newlines and backslashes; see
https://www.psycopg.org/psycopg3/docs/basic/copy.html) on the caller's connection, so the
write belongs to the caller's transaction (``transaction.atomic`` of the run).

Every value is converted as ``bulk_create`` would convert it: the field's
``get_db_prep_save(value, connection)`` (``int()`` of an integer field, ``Jsonb`` of a JSON
field, the time zone of a datetime, the id of a foreign key). The missing-value policy stays the
callers' (`surveys.services._rows.db_value`: None, NaN and pd.NA are NULL), applied before, as
for ``bulk_create``: a NaN given here is what Django makes of it (NaN in a float column, "nan"
in a text one). Fields a row does not name get the field's default, as a model instance would.
Primary keys are not read back (no caller uses them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from itertools import repeat
from operator import attrgetter
from typing import Any

from django.db import connections, models, router

BATCH_SIZE = 2000  # the bulk_create fallback's batch


def _fields(model: type[models.Model], columns: Sequence[str]) -> list[models.Field[Any, Any]]:
    """The concrete fields named by ``columns`` (field names or attnames: ``wave``/``wave_id``)."""
    by_name: dict[str, models.Field[Any, Any]] = {}
    for f in model._meta.concrete_fields:
        by_name[f.name] = by_name[f.attname] = f
    fields = []
    for column in columns:
        if column not in by_name:
            raise ValueError(f"{model.__name__} has no column {column!r}")
        fields.append(by_name[column])
    if len({f.attname for f in fields}) != len(fields):
        raise ValueError(f"{model.__name__}: a column is named twice in {list(columns)}")
    return fields


def _insertable(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """What ``bulk_create`` inserts: every concrete field but an auto-generated primary key."""
    return [f for f in model._meta.concrete_fields
            if not (f.primary_key and getattr(f, "db_returning", False))
            and not getattr(f, "generated", False)]


def _auto(field: models.Field[Any, Any]) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def _stock_float(field: models.Field[Any, Any]) -> bool:
    """A ``FloatField`` whose conversion is Django's own: a Python float is sent unchanged."""
    kind = type(field)
    return (isinstance(field, models.FloatField)
            and kind.get_db_prep_save is models.Field.get_db_prep_save
            and kind.get_db_prep_value is models.Field.get_db_prep_value
            and kind.get_prep_value is models.FloatField.get_prep_value)


def _converter(field: models.Field[Any, Any], conn: Any) -> Callable[[Any], Any]:
    """value -> what ``bulk_create`` sends for ``field``: ``field.get_db_prep_save(value,
    conn)``.

    Two shortcuts keep the per-value cost low without changing a result (both checked against
    ``bulk_create`` in tests/test_bulk_copy.py): a Python float for a stock ``FloatField`` is
    sent as it is (``Field.get_db_prep_value`` -> ``FloatField.get_prep_value`` is
    ``float(value)``, the identity on a float), and any other hashable value is converted once
    per distinct (type, value) of the column (the run id, a region code, a sample size).
    """
    prep = field.get_db_prep_save
    stock_float = _stock_float(field)
    memo: dict[tuple[type, Any], Any] = {}

    def convert(value: Any) -> Any:
        t = type(value)
        if t is float and stock_float:
            return value
        if field.is_relation and isinstance(value, models.Model):
            value = value.pk
        try:
            return memo[t, value]
        except KeyError:
            out = memo[t, value] = prep(value, conn)
            return out
        except TypeError:  # unhashable: a JSON list or dict
            return prep(value, conn)

    return convert


def insert_rows(model: type[models.Model], columns: Sequence[str],
                rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (one value per column, in the order of ``columns``) into ``model``'s
    table; return the number of rows.

    A foreign key column takes the related object or its id. Columns not named get the
    field's default (``field.get_default()``, as a model instance would); an ``auto_now`` or
    ``auto_now_add`` field gets the time of the call (as ``bulk_create``). Call inside the
    caller's ``transaction.atomic`` for the rows to be part of it.
    """
    named = _fields(model, columns)
    missing = [f for f in _insertable(model) if f.attname not in {g.attname for g in named}]
    defaults = tuple(f.get_default() for f in missing)
    conn = connections[router.db_for_write(model)]
    if conn.vendor != "postgresql":
        attnames = [f.attname for f in named + missing]
        objs = [model(**dict(zip(attnames, (*(_plain(f, v) for f, v in zip(named, row,
                                                                            strict=True)),
                                            *defaults), strict=True)))
                for row in rows]
        return len(model.objects.using(conn.alias).bulk_create(objs, batch_size=BATCH_SIZE))
    converters = [_converter(f, conn) for f in named]
    fixed = [_converter(f, conn)(v) for f, v in zip(missing, defaults, strict=True)]
    # ``auto_now``/``auto_now_add``: the time of the insert whatever the row holds, as
    # ``bulk_create`` (their ``pre_save``) sets it
    blank = model()
    for i, f in enumerate(named):
        if _auto(f):
            converters[i] = (lambda now: lambda _: now)(f.get_db_prep_save(
                f.pre_save(blank, True), conn))
    for i, f in enumerate(missing):
        if _auto(f):
            fixed[i] = f.get_db_prep_save(f.pre_save(blank, True), conn)
    quote = conn.ops.quote_name
    sql = (f"COPY {quote(model._meta.db_table)} "
           f"({', '.join(quote(f.column) for f in named + missing)}) FROM STDIN")
    table = list(rows)
    if not table:
        return 0
    if any(len(row) != len(named) for row in table):
        raise ValueError(f"{model.__name__}: a row does not have {len(named)} values")
    # column by column: a float column's floats go without a call per value
    out: list[Iterable[Any]] = []
    for field, convert, column in zip(named, converters, zip(*table, strict=True), strict=True):
        if _stock_float(field) and not _auto(field):
            out.append([v if type(v) is float else convert(v) for v in column])
        else:
            out.append(_convert_column(convert, column))
    out.extend(repeat(v, len(table)) for v in fixed)
    # the raw psycopg cursor: wrap_database_errors raises Django's IntegrityError & co.
    with conn.cursor() as wrapper, conn.wrap_database_errors, wrapper.cursor.copy(sql) as copy:
        for values in zip(*out, strict=True):
            copy.write_row(values)
    return len(table)


def _convert_column(convert: Callable[[Any], Any], column: Sequence[Any]) -> list[Any]:
    """``[convert(v) for v in column]``, each distinct value converted once and the rest a
    dict lookup in C when the column holds values of one type (and None: values of two types
    can be equal, 1 == 1.0 == True, and must not share a conversion) other than floats and
    decimals; value by value otherwise or when a value is unhashable. A national run's write
    made 600,000 calls (0.35 s, docs/DECISIONS.md 83). A column of model instances (a foreign
    key given as objects) is told apart by identity: ``Model.__hash__`` is Python code, and
    hashing 85,000 run and wave objects twice took 0.35 s of a national run's write."""
    kinds = set(map(type, column))
    kinds.discard(type(None))
    if kinds and all(issubclass(kind, models.Model) for kind in kinds):
        # the same object converts the same: each object once (None once too)
        converted = {id(value): convert(value) for value in {id(v): v for v in column}.values()}
        return [converted[id(value)] for value in column]
    # equal values that convert differently: 0.0 and -0.0, Decimal("1.0") and ("1.00")
    if len(kinds) <= 1 and not kinds & {float, Decimal}:
        try:
            distinct = {value: convert(value) for value in set(column)}
        except TypeError:  # unhashable: a JSON list or dict
            return list(map(convert, column))
        return list(map(distinct.__getitem__, column))
    return list(map(convert, column))


def _plain(field: models.Field[Any, Any], value: Any) -> Any:
    """A value for a model instance's attname: a related object becomes its id."""
    if field.is_relation and isinstance(value, models.Model):
        return value.pk
    return value


def insert_objects(model: type[models.Model], objs: Sequence[models.Model]) -> int:
    """``bulk_create(objs)`` by `insert_rows`: each object's values as ``bulk_create`` reads
    them (``field.pre_save(obj, add=True)``: ``auto_now`` fields get the time). The objects'
    primary keys are not set."""
    alias = router.db_for_write(model)
    if connections[alias].vendor != "postgresql":
        return len(model.objects.using(alias).bulk_create(objs, batch_size=BATCH_SIZE))
    fields = _insertable(model)
    # the stock Field.pre_save is getattr(obj, attname): read those in one attrgetter
    plain = [f for f in fields if type(f).pre_save is models.Field.pre_save]
    special = [f for f in fields if type(f).pre_save is not models.Field.pre_save]
    read = attrgetter(*(f.attname for f in plain))
    if len(plain) == 1:
        rows: Iterable[Sequence[Any]] = ((read(obj), *(f.pre_save(obj, True) for f in special))
                                         for obj in objs)
    else:
        rows = ((*read(obj), *(f.pre_save(obj, True) for f in special)) for obj in objs)
    return insert_rows(model, [f.attname for f in plain + special], rows)
