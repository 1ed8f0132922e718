"""Load the programmes CSV (INTERFACE section 1): the registry of what ran where."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext_noop as _noop

from surveys.models import Programme
from surveys.services.programmes import (
    FIELDS,
    REQUIRED,
    Context,
    parse_programme,
    programme_problems,
)

from ._common import (
    ErrorLog,
    LoadReport,
    csv_records,
    decode_utf8,
    file_label,
    read_bytes,
    update_if_changed,
)

OPTIONAL = tuple(name for name in FIELDS if name not in REQUIRED and name != "dimension")


def programmes_load(*, path: Path) -> LoadReport:
    """Create or update the programmes of a CSV, all or nothing; programmes not in the file
    stay as they are (offices also register programmes through the API)."""
    log = ErrorLog(file_label(path))
    data = read_bytes(path, log)
    text = decode_utf8(data, log) if data is not None else None
    ctx = Context.load()
    rows: dict[str, tuple[int, dict[str, str]]] = {}
    if text is not None:
        required = (*REQUIRED, "dimension")
        for row, rec in csv_records(text, required=required, optional=OPTIONAL, log=log):
            for column, msgid, params in programme_problems(rec, ctx):
                log.add(msgid, row=row, column=column, **params)
            code = rec["code"]
            if code in rows:
                # Translators: id: kode {code} ganda (juga baris {rows})
                log.add(_noop("duplicate code {code} (also row {rows})"), code=code,
                        rows=rows[code][0], row=row, column="code")
            elif code:
                rows[code] = (row, rec)
    log.raise_if_any()
    created = changed = unchanged = 0
    with transaction.atomic():
        stored = {p.code: p for p in Programme.objects.select_for_update()
                  .filter(code__in=list(rows))}
        for code, (_, rec) in rows.items():
            values = parse_programme(rec, ctx)
            values.pop("code")
            programme = stored.get(code)
            if programme is None:
                Programme.objects.create(code=code, **values)
                created += 1
            elif update_if_changed(programme, values):
                changed += 1
            else:
                unchanged += 1
    # Translators: id: program
    return LoadReport(log.label, _noop("programmes"), created, changed, unchanged)
