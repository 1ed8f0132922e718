"""The psycopg cursor under a Django connection (PostgreSQL only).

Django's cursor wrapper binds parameters on the client and returns text: a bytea parameter
goes into the SQL as hex text and a bytea result comes back as hex (a million-response array:
0.8 s against 0.2 s). The psycopg cursor sends ``%b`` parameters and, with
``execute(..., binary=True)``, receives results in binary. The statements run in the
connection's current transaction, like Django's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection as default_connection


@contextmanager
def raw_cursor(connection: Any = None) -> Iterator[Any]:
    """A psycopg cursor on `connection` (a Django PostgreSQL connection; the default one when
    None), opened if need be."""
    from psycopg import Cursor

    connection = default_connection if connection is None else connection
    connection.ensure_connection()
    with Cursor(connection.connection) as cursor:
        yield cursor
