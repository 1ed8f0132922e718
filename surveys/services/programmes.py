"""The programme registry's one set of rules, used by the file loader and the API alike.

:func:`programme_problems` checks one programme given as text fields (as a CSV row or a JSON
body carries them) and returns every problem as (field, msgid, params); both callers render
them their way (the loader in both languages with file/row/column, the API a 400 in the
request's language with per-field messages: :func:`problem_text`). :func:`parse_programme`
turns checked text into model values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_noop as _noop

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

#: (field, msgid, params): a gettext msgid marked ``_noop`` and its ``{name}`` values (a
#: ``gettext_lazy`` value is translated with the message)
Problem = tuple[str, str, dict[str, Any]]


def problem_text(msgid: str, params: Mapping[str, Any]) -> str:
    """One problem in the active language."""
    return gettext(msgid).format(**{k: str(v) if isinstance(v, Promise) else v
                                    for k, v in params.items()})


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
            # Translators: id: harus berupa teks
            out.append((name, _noop("must be text"), {}))
            return None
        return value.strip()

    got = {name: text(name) for name in FIELDS}
    for name in REQUIRED:
        if got[name] == "":
            # Translators: id: wajib diisi
            out.append((name, _noop("is required"), {}))
    for name, pattern, rule in (
        # Translators: id: hanya huruf, angka, _ . - dan diawali huruf atau angka
        ("code", SLUG_RE, gettext_lazy("letters, digits, _ . - only, starting with a letter or "
                                       "digit")),
        # Translators: id: huruf kecil, angka, _ atau - (mis. sosialisasi)
        ("type", TYPE_RE, gettext_lazy("lower-case letters, digits, _ or - (e.g. sosialisasi)")),
        # Translators: id: kode sila
        ("dimension", SLUG_RE, gettext_lazy("a dimension code")),
        # Translators: id: angka dan huruf bertitik (mis. 3.01.02)
        ("rpjmd_code", RPJMD_RE, gettext_lazy("dotted digits and letters (e.g. 3.01.02)")),
    ):
        value = got[name]
        if value:
            if pattern.fullmatch(value) is None:
                # Translators: id: tidak sah: {rule}
                out.append((name, _noop("invalid: {rule}"), {"rule": rule}))
            elif len(value) > _MAX[name]:
                # Translators: id: lebih dari {limit} karakter
                out.append((name, _noop("longer than {limit} characters"), {"limit": _MAX[name]}))
    for name in ("name_id", "name_en"):
        value = got[name]
        if value and (not _printable(value) or len(value) > _MAX[name]):
            # Translators: id: teks tercetak tanpa rumus, paling banyak {limit} karakter
            out.append((name, _noop("printable text without a leading formula character, at "
                                    "most {limit} characters"), {"limit": _MAX[name]}))
    region = got["region"]
    if region and region not in ctx.region_ids:
        # Translators: id: wilayah {region} tidak dikenal atau bukan provinsi/kabupaten/kota
        out.append(("region", _noop("unknown region {region}, or not a province/regency/city"),
                    {"region": repr(region)}))
    dim = got["dimension"]
    if dim and dim != "INDEX" and SLUG_RE.fullmatch(dim) and dim not in ctx.dimensions:
        # Translators: id: sila {dimension} tidak dikenal
        out.append(("dimension", _noop("unknown dimension {dimension}"), {"dimension": repr(dim)}))
    years = {}
    for name in ("start_year", "end_year"):
        value = got[name]
        if value:
            if _DIGITS.fullmatch(value) is None or not YEAR_MIN <= int(value) <= YEAR_MAX:
                # Translators: id: tahun {first}..{last}
                out.append((name, _noop("a year {first}..{last}"),
                            {"first": YEAR_MIN, "last": YEAR_MAX}))
            else:
                years[name] = int(value)
    if len(years) == 2 and years["end_year"] < years["start_year"]:
        # Translators: id: sebelum tahun mulai
        out.append(("end_year", _noop("before the start year"), {}))
    budget = got["budget"]
    if budget and (_DIGITS.fullmatch(budget) is None or len(budget) > _BUDGET_DIGITS):
        # Translators: id: rupiah, bilangan bulat tanpa titik
        out.append(("budget", _noop("rupiah, a whole number without separators"), {}))
    people = got["participants"]
    if people and (_DIGITS.fullmatch(people) is None or int(people) > 2**31 - 1):
        # Translators: id: bilangan bulat >= 0
        out.append(("participants", _noop("a whole number >= 0"), {}))
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
