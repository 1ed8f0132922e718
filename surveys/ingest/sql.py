"""The hand-written SQL that stores responses, with the column list written once.

`RESPONSE_COLUMNS` names every column a writer fills; writers pass values *by name*
(`db_params`, or a mapping of columns for the import's COPY) and the statements are built from
the one list, so no writer depends on a position. The ORM is not used on these paths: building
the same statements with it cost 2-3 ms of CPU each (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connection

from surveys.models import Respondent, Response, Wave
from surveys.models.invitations import RespondentAccount

#: Every column a writer of responses fills, by model field name (the id is the database's).
RESPONSE_COLUMNS = (
    "wave", "respondent", "submission_id", "status", "source", "consent", "region", "sex",
    "age_group", "stratum", "psu", "base_weight", "probability_sample", "answers",
    "content_hash", "created_by", "created_at", "updated_at", "submitted_at",
)
_FIELDS = {name: Response._meta.get_field(name) for name in RESPONSE_COLUMNS}

_q = connection.ops.quote_name
RESPONSE_TABLE = _q(Response._meta.db_table)
RESPONDENT_TABLE = _q(Respondent._meta.db_table)
WAVE_TABLE = _q(Wave._meta.db_table)
COLUMN_LIST = ", ".join(_q(_FIELDS[name].column) for name in RESPONSE_COLUMNS)


def column(name: str) -> str:
    """The quoted column of a Response field."""
    return _q(Response._meta.get_field(name).column)


def db_params(values: Mapping[str, Any], *, skip: tuple[str, ...] = ()) -> list[Any]:
    """The values of RESPONSE_COLUMNS (minus `skip`) as the database stores them (each field's
    get_db_prep_save, as the ORM would). A missing name is a KeyError, never a shifted row."""
    unknown = set(values) - set(RESPONSE_COLUMNS)
    if unknown:
        raise KeyError(f"not a response column: {', '.join(sorted(unknown))}")
    return [
        _FIELDS[name].get_db_prep_save(values[name], connection)
        for name in RESPONSE_COLUMNS
        if name not in skip
    ]


RESPONSE_INSERT = (
    f"INSERT INTO {RESPONSE_TABLE} ({COLUMN_LIST}) "
    f"VALUES ({', '.join(['%s'] * len(RESPONSE_COLUMNS))}) "
    f"ON CONFLICT DO NOTHING RETURNING {_q('id')}"
)
#: The import on PostgreSQL in COPY's binary format: the same columns, by name, with the
#: variable-length text fields last (the fixed-width ones are laid out as one numpy record
#: per row; surveys.services.imports.responses).
RESPONSE_COPY_TEXT_FIELDS = ("sex", "age_group", "stratum", "psu")
RESPONSE_COPY_BINARY_COLUMNS = tuple(
    name for name in RESPONSE_COLUMNS if name not in RESPONSE_COPY_TEXT_FIELDS
) + RESPONSE_COPY_TEXT_FIELDS
RESPONSE_COPY_BINARY = (
    f"COPY {RESPONSE_TABLE} "
    f"({', '.join(_q(_FIELDS[name].column) for name in RESPONSE_COPY_BINARY_COLUMNS)}) "
    f"FROM STDIN WITH (FORMAT binary)"
)
#: The import on SQLite (raw sqlite3 placeholders).
RESPONSE_INSERT_SQLITE = (
    f"INSERT INTO {RESPONSE_TABLE} ({COLUMN_LIST}) "
    f"VALUES ({', '.join(['?'] * len(RESPONSE_COLUMNS))})"
)

RESPONDENT_INSERT = (
    f"INSERT INTO {RESPONDENT_TABLE} ({_q('panel_key')}, {_q('created_at')}) "
    f"VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING {_q('id')}"
)
RESPONDENT_SELECT = f"SELECT id FROM {RESPONDENT_TABLE} WHERE panel_key = %s"
BINDING_INSERT = (
    f"INSERT INTO {_q(RespondentAccount._meta.db_table)} "
    f"({_q('user_id')}, {_q('respondent_id')}, {_q('bound_at')}) "
    f"VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING {_q('respondent_id')}"
)
BINDING_SELECT = (
    f"SELECT respondent_id FROM {_q(RespondentAccount._meta.db_table)} WHERE user_id = %s"
)

# PostgreSQL: the whole common case (open wave, new submission) as ONE statement in autocommit,
# instead of BEGIN, wave FOR SHARE, two inserts, COMMIT (five round trips, each ~0.3 ms of
# client CPU). The wave row is held FOR SHARE until the statement commits, exactly as the
# transaction did. Respondent and response are inserted only when the wave is open; a unique
# violation on the response (replay, reused id, respondent already answered) fails the whole
# statement, so nothing of it stays, and the caller then takes the transactional path, which
# tells a replay (200) from a conflict (409). When the respondent row was inserted concurrently
# and is not yet in the statement's snapshot, nothing is inserted and the transactional path
# runs as well. Parameters: wave id, panel key, now, panel key, then `db_params(...,
# skip=("respondent",))`.
FAST_INSERT = (
    f"WITH w AS (SELECT status FROM {WAVE_TABLE} WHERE id = %s FOR SHARE), "
    f"p_new AS (INSERT INTO {RESPONDENT_TABLE} (panel_key, created_at) "
    f"SELECT %s, %s FROM w WHERE w.status = 'open' ON CONFLICT DO NOTHING RETURNING id), "
    f"p AS (SELECT id FROM p_new UNION ALL SELECT r.id FROM {RESPONDENT_TABLE} r, "
    f"w WHERE w.status = 'open' AND r.panel_key = %s), "
    f"ins AS (INSERT INTO {RESPONSE_TABLE} ({COLUMN_LIST}) "
    f"SELECT {', '.join('p.id' if name == 'respondent' else '%s' for name in RESPONSE_COLUMNS)} "
    f"FROM (SELECT id FROM p LIMIT 1) AS p RETURNING id) "
    f"SELECT (SELECT id FROM ins)"
)
