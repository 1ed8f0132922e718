"""Read replica routing (DATABASE_REPLICA_URL; docs/DECISIONS.md item 64).

When ``DATABASE_REPLICA_URL`` is set, the settings define a second alias, ``replica``, and
``NILAI_READ_REPLICA`` is on. Two things then read from it, and nothing else:

* the publish path: every queryset `surveys.publish.read` builds carries ``.using(read_alias())``
  (explicit, so a lazily evaluated queryset - a DRF page, a template loop - reads from the
  replica wherever it is finally evaluated);
* the exports and the report: their reads run inside `replica_reads()`, under which
  `ReplicaRouter.db_for_read` answers ``replica`` for every model, so the selectors they use
  (`fetch_chunks`, `wave_data`, `wave_weights`, ...) that ask `django.db.router` follow without
  knowing about replicas. A lazy generator of chunks is wrapped by `replica_iter`, which sets
  the flag only while the generator itself runs, never while its consumer does.

Writes always go to ``default`` (jobs rows, audit, downloads, every import and compute). Reads
outside those two paths - the API's permission checks, submissions, imports, the index run -
stay on the writer, where they see their own writes. Without a replica, `read_alias()` is
``default`` and the router answers ``None`` (Django's default routing): nothing changes.

The replica is never migrated (`allow_migrate` is False for it): it is a copy of the writer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"

_reading_replica: ContextVar[bool] = ContextVar("nilai_reading_replica", default=False)
T = TypeVar("T")


def replica_enabled() -> bool:
    """True when a replica alias is configured and reads are routed to it."""
    return REPLICA in settings.DATABASES and bool(getattr(settings, "NILAI_READ_REPLICA", False))


def read_alias() -> str:
    """The alias the publish path and the exports read from: ``replica`` or ``default``."""
    return REPLICA if replica_enabled() else DEFAULT_DB_ALIAS


@contextmanager
def replica_reads() -> Iterator[str]:
    """Route every ORM read (and `router.db_for_read`) in the block to the replica; yields the
    alias read from. Writes are unaffected."""
    token = _reading_replica.set(True)
    try:
        yield read_alias()
    finally:
        _reading_replica.reset(token)


def replica_iter(iterable: Iterable[T]) -> Iterator[T]:
    """Iterate `iterable` with its reads routed to the replica while it produces each item (and
    not while the consumer handles it)."""
    iterator = iter(iterable)
    while True:
        with replica_reads():
            try:
                item = next(iterator)
            except StopIteration:
                return
        yield item


class ReplicaRouter:
    """`DATABASE_ROUTERS` entry: see the module docstring."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if _reading_replica.get() and replica_enabled():
            return REPLICA
        return None

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # the replica holds the same rows as the writer: an object read from one may refer
        # to an object read from the other
        pair = {obj1._state.db, obj2._state.db}
        if pair <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None,
                      **hints: Any) -> bool | None:
        return False if db == REPLICA else None
