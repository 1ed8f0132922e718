"""Load indicator definitions (JSON), their values (CSV) and targets (CSV)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_noop as _noop

from surveys import safejson
from surveys.models import (
    INDEX_CODE,
    Indicator,
    IndicatorLevel,
    IndicatorValue,
    Polarity,
    Region,
    Target,
)

from ._common import (
    ErrorLog,
    LoadReport,
    check_code,
    csv_records,
    decode_utf8,
    file_label,
    parse_number,
    parse_year,
    read_bytes,
    update_if_changed,
)

VALUE_COLUMNS = ("indicator", "region", "year", "value")
TARGET_COLUMNS = ("indicator", "region", "year", "target")
_DEF_KEYS = {"code", "name", "polarity", "level", "unit", "source", "dimension"}
_FILE_LEVELS = (IndicatorLevel.OUTCOME.value, IndicatorLevel.OUTPUT.value)
_POLARITIES = tuple(Polarity.values)
#: The overall survey index as an Indicator row, created on demand for its targets.
def _limit(model: type, name: str) -> int:
    return model._meta.get_field(name).max_length


def _parse_definitions(path: Path, log: ErrorLog) -> dict[str, dict[str, Any]]:
    data = read_bytes(path, log)
    text = decode_utf8(data, log) if data is not None else None
    if text is None:
        return {}
    if not text.strip():
        # Translators: id: berkas kosong
        log.add(_noop("empty file"))
        return {}
    try:
        document = safejson.loads(text)
    except json.JSONDecodeError as exc:
        # Translators: id: JSON tidak sah: {msg} (kolom {colno})
        log.add(_noop("invalid JSON: {msg} (column {colno})"), msg=exc.msg, colno=exc.colno,
                row=exc.lineno)
        return {}
    except safejson.JSONRejected as exc:  # too deep, NUL, lone surrogate
        log.add(exc.msgid, **exc.params)
        return {}
    if not isinstance(document, list) or not document:
        # Translators: id: dokumen harus berupa daftar indikator
        log.add(_noop("document must be a list of indicators"))
        return {}
    out: dict[str, dict[str, Any]] = {}
    for k, spec in enumerate(document):
        where = f"[{k}]"
        if not isinstance(spec, dict):
            # Translators: id: indikator harus berupa objek
            log.add(_noop("an indicator must be an object"), field=where)
            continue
        for key in sorted(set(spec) - _DEF_KEYS):
            # Translators: id: isian tidak dikenal '{key}'
            log.add(_noop("unknown field '{key}'"), key=key, field=f"{where}.{key}")
        code = spec.get("code")
        ok = True
        # Translators: id: kode
        if not check_code(code, log, what=_noop("code"), max_length=_limit(Indicator, "code"),
                          field=f"{where}.code"):
            ok = False
        elif code == INDEX_CODE:
            # Translators: id: kode {index_code} dicadangkan untuk indeks survei
            log.add(_noop("code {index_code} is reserved for the survey index"),
                    index_code=INDEX_CODE, field=f"{where}.code")
            ok = False
        elif code in out:
            # Translators: id: kode {code} ganda
            log.add(_noop("duplicate code {code}"), code=code, field=f"{where}.code")
            ok = False
        name = spec.get("name")
        if not isinstance(name, dict) or not isinstance(name.get("id"), str) or not (
                name["id"].strip()) or not isinstance(name.get("en", ""), str):
            # Translators: id: nama {id, en} wajib diisi
            log.add(_noop("name {id, en} is required"), field=f"{where}.name")
            ok = False
        if spec.get("polarity") not in _POLARITIES:
            # Translators: id: polarity harus salah satu dari {polarities}
            log.add(_noop("polarity must be one of {polarities}"),
                    polarities=', '.join(_POLARITIES), field=f"{where}.polarity")
            ok = False
        if spec.get("level") not in _FILE_LEVELS:
            # Translators: id: level harus salah satu dari {file_levels}
            log.add(_noop("level must be one of {file_levels}"),
                    file_levels=', '.join(_FILE_LEVELS), field=f"{where}.level")
            ok = False
        for key in ("unit", "source", "dimension"):
            value = spec.get(key, "")
            if not isinstance(value, str) or len(value) > _limit(
                    Indicator, "dimension_code" if key == "dimension" else key):
                # Translators: id: {key} harus berupa teks pendek
                log.add(_noop("{key} must be a short text"), key=key, field=f"{where}.{key}")
                ok = False
            elif key == "dimension" and value and not check_code(
                    # Translators: id: kode dimensi
                    value, log, what=_noop("dimension code"), field=f"{where}.dimension"):
                ok = False
        if ok:
            out[code] = {
                "name_id": name["id"], "name_en": name.get("en", ""),
                "polarity": spec["polarity"], "level": spec["level"],
                "unit": spec.get("unit", ""), "source": spec.get("source", ""),
                "dimension_code": spec.get("dimension", ""),
            }
    return out


def _parse_series(path: Path, *, columns: tuple[str, str, str, str], indicators: set[str],
                  regions: dict[str, int], log: ErrorLog, nonzero: bool
                  ) -> dict[tuple[str, int, int], float]:
    """Rows `indicator,region,year,<number>`, keyed by (indicator, region id, year)."""
    data = read_bytes(path, log)
    text = decode_utf8(data, log) if data is not None else None
    if text is None:
        return {}
    number_column = columns[3]
    out: dict[tuple[str, int, int], float] = {}
    first: dict[tuple[str, int, int], int] = {}
    for row, rec in csv_records(text, required=columns, optional=(), log=log,
                                numeric=(number_column,)):
        code = rec["indicator"]
        # Translators: id: kode indikator
        if not check_code(code, log, what=_noop("indicator code"), row=row, column="indicator"):
            code = ""
        elif code not in indicators:
            # Translators: id: indikator {code} tidak dikenal
            log.add(_noop("unknown indicator {code}"), code=code, row=row, column="indicator")
            code = ""
        region = regions.get(rec["region"])
        if region is None:
            # Translators: id: wilayah {region} tidak dikenal
            log.add(_noop("unknown region {region}"), region=rec['region'], row=row,
                    column="region")
        year = parse_year(rec["year"], log, row=row, column="year")
        number = parse_number(rec[number_column], log, row=row, column=number_column)
        if nonzero and number == 0:
            # Translators: id: target 0 tidak sah (capaian = realisasi / target)
            log.add(_noop("target 0 is invalid (achievement = realisation / target)"), row=row,
                    column=number_column)
            number = None
        if not code or region is None or year is None or number is None:
            continue
        key = (code, region, year)
        if key in out:
            # Translators: id: {code}/{region}/{year} ganda (juga baris {first})
            log.add(_noop("duplicate {code}/{region}/{year} (also row {first})"), code=code,
                    region=rec['region'], year=year, first=first[key], row=row)
            continue
        out[key] = number
        first[key] = row
    return out


def _upsert_series(model: type, field: str, rows: dict[tuple[str, int, int], float],
                   indicator_ids: dict[str, int]) -> tuple[int, int, int]:
    stored = {
        (obj.indicator.code, obj.region_id, obj.year): obj
        for obj in model.objects.select_related("indicator").filter(
            indicator__code__in={key[0] for key in rows})
    }
    new, updates, unchanged = [], [], 0
    for (code, region, year), number in rows.items():
        obj = stored.get((code, region, year))
        if obj is None:
            new.append(model(indicator_id=indicator_ids[code], region_id=region, year=year,
                             **{field: number}))
        elif getattr(obj, field) != number:
            setattr(obj, field, number)
            updates.append(obj)
        else:
            unchanged += 1
    model.objects.bulk_create(new, batch_size=5000)
    model.objects.bulk_update(updates, [field], batch_size=5000)
    return len(new), len(updates), unchanged


def indicators_load(*, definitions: Path, values: Path) -> tuple[LoadReport, LoadReport]:
    """Upsert indicator definitions and their values (both files in one transaction)."""
    def_log = ErrorLog(file_label(definitions))
    specs = _parse_definitions(definitions, def_log)
    def_log.raise_if_any()
    val_log = ErrorLog(file_label(values))
    known = set(specs) | set(
        Indicator.objects.exclude(code=INDEX_CODE).values_list("code", flat=True))
    regions = dict(Region.objects.values_list("code", "id"))
    rows = _parse_series(values, columns=VALUE_COLUMNS, indicators=known, regions=regions,
                         log=val_log, nonzero=False)
    val_log.raise_if_any()
    with transaction.atomic():
        stored = {i.code: i for i in Indicator.objects.select_for_update()}
        created = changed = unchanged = 0
        for code, values_ in specs.items():
            indicator = stored.get(code)
            if indicator is None:
                stored[code] = Indicator.objects.create(code=code, **values_)
                created += 1
            elif update_if_changed(indicator, values_):
                changed += 1
            else:
                unchanged += 1
        ids = {code: ind.pk for code, ind in stored.items()}
        counts = _upsert_series(IndicatorValue, "value", rows, ids)
    return (
        # Translators: id: indikator
        LoadReport(def_log.label, _noop("indicators"), created, changed, unchanged),
        # Translators: id: nilai indikator
        LoadReport(val_log.label, _noop("indicator values"), *counts),
    )


def targets_load(*, path: Path) -> LoadReport:
    """Upsert targets; indicator INDEX (the overall index) is created on demand."""
    log = ErrorLog(file_label(path))
    known = set(Indicator.objects.values_list("code", flat=True)) | {INDEX_CODE}
    regions = dict(Region.objects.values_list("code", "id"))
    rows = _parse_series(path, columns=TARGET_COLUMNS, indicators=known, regions=regions,
                         log=log, nonzero=True)
    log.raise_if_any()
    with transaction.atomic():
        if any(key[0] == INDEX_CODE for key in rows):
            Indicator.objects.index()
        ids = dict(Indicator.objects.values_list("code", "id"))
        counts = _upsert_series(Target, "target", rows, ids)
    # Translators: id: target
    return LoadReport(log.label, _noop("targets"), *counts)
