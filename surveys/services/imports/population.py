"""Load the population CSV (`year,region,sex,age_group,population`): raking margins."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext_noop as _noop

from surveys.models import PopulationMargin, Region

from ._common import (
    AGE_GROUP_VALUES,
    SEX_VALUES,
    ErrorLog,
    LoadReport,
    csv_records,
    decode_utf8,
    file_label,
    parse_choice,
    parse_year,
    read_bytes,
)

REQUIRED = ("year", "region", "sex", "age_group", "population")


def population_load(*, path: Path) -> LoadReport:
    """Upsert population margins (one per year x region x sex x age group), all or nothing."""
    log = ErrorLog(file_label(path))
    data = read_bytes(path, log)
    text = decode_utf8(data, log) if data is not None else None
    regions = dict(Region.objects.values_list("code", "id"))
    cells: dict[tuple[int, int, str, str], tuple[int, int]] = {}
    if text is not None:
        for row, rec in csv_records(text, required=REQUIRED, optional=(), log=log):
            year = parse_year(rec["year"], log, row=row, column="year")
            region = regions.get(rec["region"])
            if region is None:
                # Translators: id: wilayah {region} tidak dikenal
                log.add(_noop("unknown region {region}"), region=rec['region'], row=row,
                        column="region")
            sex = parse_choice(rec["sex"], SEX_VALUES, log, row=row, column="sex")
            age = parse_choice(rec["age_group"], AGE_GROUP_VALUES, log, row=row,
                               column="age_group")
            population = _count(rec["population"], log, row=row)
            if None in (year, region, sex, age, population):
                continue
            key = (year, region, sex, age)
            if key in cells:
                # Translators: id: sel {year}/{region}/{sex}/{age} ganda (juga baris {cells})
                log.add(_noop("duplicate cell {year}/{region}/{sex}/{age} (also row {cells})"),
                        year=year, region=rec['region'], sex=sex, age=age, cells=cells[key][0],
                        row=row)
                continue
            cells[key] = (row, population)
    log.raise_if_any()

    created = changed = unchanged = 0
    with transaction.atomic():
        years = {key[0] for key in cells}
        stored = {
            (m.year, m.region_id, m.sex, m.age_group): m
            for m in PopulationMargin.objects.select_for_update().filter(year__in=years)
        }
        new: list[PopulationMargin] = []
        updates: list[PopulationMargin] = []
        for (year, region, sex, age), (_, population) in cells.items():
            margin = stored.get((year, region, sex, age))
            if margin is None:
                new.append(PopulationMargin(year=year, region_id=region, sex=sex, age_group=age,
                                            population=population))
            elif margin.population != population:
                margin.population = population
                updates.append(margin)
            else:
                unchanged += 1
        PopulationMargin.objects.bulk_create(new, batch_size=5000)
        PopulationMargin.objects.bulk_update(updates, ["population"], batch_size=5000)
        created, changed = len(new), len(updates)
    # Translators: id: marginal penduduk
    return LoadReport(log.label, _noop("population cells"), created, changed, unchanged)


def _count(value: str, log: ErrorLog, *, row: int) -> int | None:
    # digits only: int() would also take "1_000" or "+5"
    number = int(value) if value.isascii() and value.isdigit() else -1
    if number < 0:
        # Translators: id: jumlah penduduk '{value}' harus bilangan bulat >= 0
        log.add(_noop("population '{value}' must be an integer >= 0"), value=value, row=row,
                column="population")
        return None
    return number
