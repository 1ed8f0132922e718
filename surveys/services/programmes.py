"""The programme registry's one set of rules, used by the file loader and the API alike.

:func:`programme_problems` checks one programme given as text fields (as a CSV row or a JSON
body carries them) and returns every problem as (field, Indonesian, English); both callers
render them their way (file/row/column, or a 400 with per-field messages). :func:`parse_programme`
turns checked text into model values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from surveys.models import Dimension, Programme, Region, RegionLevel
from surveys.models.waves import YEAR_MAX, YEAR_MIN
from surveys.services.imports._common import SLUG_RE

FIELDS = ("code", "region", "type", "dimension", "start_year", "end_year", "name_id", "name_en",
          "budget", "participants", "rpjmd_code")
REQUIRED = ("code", "region", "type", "start_year", "end_year", "name_id")
#: A programme belongs to a regency/city, or to the province as a whole.
PROGRAMME_LEVELS = (RegionLevel.PROVINCE, RegionLevel.REGENCY, RegionLevel.CITY)
TYPE_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
RPJMD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_DIGITS = re.compile(r"[0-9]+")
_MAX = {name: Programme._meta.get_field(field).max_length for name, field in (
    ("code", "code"), ("type", "type"), ("dimension", "dimension_code"), ("name_id", "name_id"),
    ("name_en", "name_en"), ("rpjmd_code", "rpjmd_code"))}
_BUDGET_DIGITS = Programme._meta.get_field("budget").max_digits

Problem = tuple[str, str, str]


@dataclass(frozen=True)
class Context:
    """What the rules look up: regions a programme may name, and dimension codes in use."""

    region_ids: dict[str, int]
    dimensions: frozenset[str]

    @classmethod
    def load(cls) -> Context:
        ids = dict(Region.objects.filter(level__in=PROGRAMME_LEVELS).values_list("code", "id"))
        return cls(ids, frozenset(Dimension.objects.values_list("code", flat=True)))


def _printable(value: str) -> bool:
    return value.isprintable() and "\u200b" not in value and value[:1] not in "=+-@"


def programme_problems(values: Mapping[str, Any], ctx: Context, *,
                       partial: bool = False) -> list[Problem]:
    """Every problem of one programme (text values; missing keys count as blank unless
    ``partial``, for a PATCH)."""
    out: list[Problem] = []

    def text(name: str) -> str | None:
        if name not in values:
            return None if partial else ""
        value = values[name]
        if value is None:
            return ""
        if not isinstance(value, str):
            if name in ("start_year", "end_year", "budget", "participants") and \
                    isinstance(value, int) and not isinstance(value, bool):
                return str(value)
            out.append((name, "harus berupa teks", "must be text"))
            return None
        return value.strip()

    got = {name: text(name) for name in FIELDS}
    for name in REQUIRED:
        if got[name] == "":
            out.append((name, "wajib diisi", "is required"))
    for name, pattern, rule_id, rule_en in (
        ("code", SLUG_RE, "hanya huruf, angka, _ . - dan diawali huruf atau angka",
         "letters, digits, _ . - only, starting with a letter or digit"),
        ("type", TYPE_RE, "huruf kecil, angka, _ atau - (mis. sosialisasi)",
         "lower-case letters, digits, _ or - (e.g. sosialisasi)"),
        ("dimension", SLUG_RE, "kode sila", "a dimension code"),
        ("rpjmd_code", RPJMD_RE, "angka dan huruf bertitik (mis. 3.01.02)",
         "dotted digits and letters (e.g. 3.01.02)"),
    ):
        value = got[name]
        if value:
            if pattern.fullmatch(value) is None:
                out.append((name, f"tidak sah: {rule_id}", f"invalid: {rule_en}"))
            elif len(value) > _MAX[name]:
                out.append((name, f"lebih dari {_MAX[name]} karakter",
                            f"longer than {_MAX[name]} characters"))
    for name in ("name_id", "name_en"):
        value = got[name]
        if value and (not _printable(value) or len(value) > _MAX[name]):
            out.append((name, f"teks tercetak tanpa rumus, paling banyak {_MAX[name]} karakter",
                        f"printable text without a leading formula character, at most "
                        f"{_MAX[name]} characters"))
    region = got["region"]
    if region and region not in ctx.region_ids:
        out.append(("region", f"wilayah {region!r} tidak dikenal atau bukan provinsi/kabupaten/"
                    "kota", f"unknown region {region!r}, or not a province/regency/city"))
    dim = got["dimension"]
    if dim and dim != "INDEX" and SLUG_RE.fullmatch(dim) and dim not in ctx.dimensions:
        out.append(("dimension", f"sila {dim!r} tidak dikenal", f"unknown dimension {dim!r}"))
    years = {}
    for name in ("start_year", "end_year"):
        value = got[name]
        if value:
            if _DIGITS.fullmatch(value) is None or not YEAR_MIN <= int(value) <= YEAR_MAX:
                out.append((name, f"tahun {YEAR_MIN}..{YEAR_MAX}",
                            f"a year {YEAR_MIN}..{YEAR_MAX}"))
            else:
                years[name] = int(value)
    if len(years) == 2 and years["end_year"] < years["start_year"]:
        out.append(("end_year", "sebelum tahun mulai", "before the start year"))
    budget = got["budget"]
    if budget and (_DIGITS.fullmatch(budget) is None or len(budget) > _BUDGET_DIGITS):
        out.append(("budget", "rupiah, bilangan bulat tanpa titik", "rupiah, a whole number "
                    "without separators"))
    people = got["participants"]
    if people and (_DIGITS.fullmatch(people) is None or int(people) > 2**31 - 1):
        out.append(("participants", "bilangan bulat >= 0", "a whole number >= 0"))
    return out


def parse_programme(values: Mapping[str, Any], ctx: Context, *,
                    partial: bool = False) -> dict[str, Any]:
    """Model field values from checked text values (only the keys given when ``partial``)."""
    def get(name: str) -> str:
        value = values.get(name)
        return "" if value is None else str(value).strip()

    out: dict[str, Any] = {}
    converters = {
        "code": ("code", get),
        "region": ("region_id", lambda n: ctx.region_ids[get(n)]),
        "type": ("type", get),
        "dimension": ("dimension_code", lambda n: "" if get(n) == "INDEX" else get(n)),
        "start_year": ("start_year", lambda n: int(get(n))),
        "end_year": ("end_year", lambda n: int(get(n))),
        "name_id": ("name_id", get),
        "name_en": ("name_en", get),
        "budget": ("budget", lambda n: Decimal(get(n)) if get(n) else None),
        "participants": ("participants", lambda n: int(get(n)) if get(n) else None),
        "rpjmd_code": ("rpjmd_code", get),
    }
    for name, (field, convert) in converters.items():
        if partial and name not in values:
            continue
        out[field] = convert(name)
    return out
