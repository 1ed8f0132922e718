"""Load the regions CSV (`code,name,level,parent[,code_kemendagri]`)."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext_noop as _noop

from surveys.models import Region, RegionLevel

from ._common import (
    KEMENDAGRI_CODE_RE,
    REGION_CODE_RE,
    ErrorLog,
    LoadReport,
    check_code,
    csv_records,
    decode_utf8,
    file_label,
    parse_choice,
    read_bytes,
    update_if_changed,
)

REQUIRED = ("code", "name", "level", "parent")
OPTIONAL = ("code_kemendagri",)
LEVELS = frozenset(RegionLevel.values)
_CODE_MAX = Region._meta.get_field("code").max_length
_NAME_MAX = Region._meta.get_field("name").max_length
_KEMENDAGRI_MAX = Region._meta.get_field("code_kemendagri").max_length


def regions_load(*, path: Path) -> LoadReport:
    """Create or update the regions of a CSV, all or nothing.

    Parents may be defined later in the same file or already exist in the database. A region
    whose name, level, parent or Kemendagri code differs is updated in place.
    """
    log = ErrorLog(file_label(path))
    data = read_bytes(path, log)
    text = decode_utf8(data, log) if data is not None else None
    rows: dict[str, tuple[int, dict[str, str]]] = {}
    if text is not None:
        for row, rec in csv_records(text, required=REQUIRED, optional=OPTIONAL, log=log):
            code = rec["code"]
            if not code:
                # Translators: id: kode kosong
                log.add(_noop("empty code"), row=row, column="code")
            # Translators: id: kode
            elif not check_code(code, log, what=_noop("code"), max_length=_CODE_MAX,
                                pattern=REGION_CODE_RE,
                                # Translators: id: kode BPS hanya angka
                                rule=_noop("a BPS code is digits only"), row=row, column="code"):
                code = ""
            elif code in rows:
                # Translators: id: kode {code} ganda (juga baris {rows})
                log.add(_noop("duplicate code {code} (also row {rows})"), code=code,
                        rows=rows[code][0], row=row, column="code")
            if not rec["name"] or len(rec["name"]) > _NAME_MAX:
                # Translators: id: nama kosong atau lebih dari {name_max} karakter
                log.add(_noop("name empty or longer than {name_max} characters"),
                        name_max=_NAME_MAX, row=row, column="name")
            parse_choice(rec["level"], LEVELS, log, row=row, column="level")
            kemendagri = rec.get("code_kemendagri", "")
            if kemendagri:
                # Translators: id: kode Kemendagri
                check_code(kemendagri, log, what=_noop("Kemendagri code"),
                           max_length=_KEMENDAGRI_MAX, pattern=KEMENDAGRI_CODE_RE,
                           # Translators: id: angka dalam kelompok bertitik
                           rule=_noop("digits in dot-separated groups"), row=row,
                           column="code_kemendagri")
            if code and code not in rows:
                rows[code] = (row, rec)
    existing = {r.code: r for r in Region.objects.select_related("parent")} if rows else {}
    for code, (row, rec) in rows.items():
        parent = rec["parent"]
        if not parent:
            continue
        if parent == code:
            # Translators: id: wilayah menjadi induk dirinya sendiri
            log.add(_noop("region is its own parent"), row=row, column="parent")
        elif parent not in rows and parent not in existing:
            # Translators: id: wilayah induk {parent} tidak dikenal
            log.add(_noop("unknown parent region {parent}"), parent=parent, row=row,
                    column="parent")
    order = _parents_first(rows, log)
    log.raise_if_any()

    created = changed = unchanged = 0
    with transaction.atomic():
        by_code = {r.code: r for r in Region.objects.select_for_update()}
        for code in order:
            rec = rows[code][1]
            parent = by_code[rec["parent"]] if rec["parent"] else None
            values = {
                "name": rec["name"], "level": rec["level"], "parent": parent,
                "code_kemendagri": rec.get("code_kemendagri", ""),
            }
            region = by_code.get(code)
            if region is None:
                by_code[code] = Region.objects.create(code=code, **values)
                created += 1
                continue
            if "code_kemendagri" not in rec:
                values["code_kemendagri"] = region.code_kemendagri
            if update_if_changed(region, values):
                changed += 1
            else:
                unchanged += 1
    # Translators: id: wilayah
    return LoadReport(log.label, _noop("regions"), created, changed, unchanged)


def _parents_first(rows: dict[str, tuple[int, dict[str, str]]], log: ErrorLog) -> list[str]:
    """Order codes so that a parent defined in the file comes before its children; report
    cycles."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done
    for start in rows:
        path: list[str] = []
        code: str | None = start
        while code is not None and code in rows and state.get(code) != 2:
            if state.get(code) == 1:
                row = rows[code][0]
                # Translators: id: siklus induk: {path}
                log.add(_noop("parent cycle: {path}"), path=' -> '.join([*path, code]), row=row,
                        column="parent")
                break
            state[code] = 1
            path.append(code)
            parent = rows[code][1]["parent"]
            code = parent if parent and parent != code else None
        for visited in reversed(path):
            state[visited] = 2
            order.append(visited)
    return order
