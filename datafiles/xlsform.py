"""The bridge to ODK Collect and KoboToolbox: an instrument as an XLSForm, and those platforms'
submission exports read back as Nilai's responses table. Pure (stdlib, pandas).

One field layout serves both directions (:func:`form_fields`): a design group ``responden``
(respondent, region, sex, age group, and the optional design fields stratum, psu, base weight,
which the enumerator fills), then one group per dimension (sila) holding its items as
``select_one`` questions on the instrument's scale. Reverse-keyed items look like any other.

XLSForm (https://xlsform.org): sheets ``survey`` (type, name, labels and hints per language as
``label::Indonesian (id)`` / ``label::English (en)``, required, constraint), ``choices`` and
``settings`` (form_title, form_id, version = the instrument version, default_language).

Exports read by :func:`read_submissions`:

- ODK Central ``submissions.csv``: ``SubmissionDate``, the form's fields in form order with
  group paths joined by ``-`` (``S1-S1_01``, ``meta-instanceID``), then ``KEY``,
  ``SubmitterID``, ``SubmitterName``, ``AttachmentsPresent``, ``AttachmentsExpected``,
  ``Status``, ``ReviewState``, ``DeviceID``, ``Edits``, ``FormVersion``; instance ids as
  ``uuid:<UUID>``.
- KoboToolbox CSV (``;`` separated by default, ``,`` accepted) or XLS/XLSX exports with "XML
  values and headers": ``start``, ``end``, the fields with group paths joined by ``/``
  (``S1/S1_01``), then ``_id``, ``_uuid``, ``_submission_time``, ``_validation_status``,
  ``_notes``, ``_status``, ``_submitted_by``, ``__version__``, ``_tags``, ``_index``.

Both platforms can also export without group names; bare field names are accepted. The
instance UUID becomes the ``submission_id``, so an updated export re-imports as a no-op for the
submissions already stored.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from datafiles.xlsx import XlsxWriter

__all__ = [
    "DESIGN_GROUP",
    "PLATFORMS",
    "FormField",
    "SubmissionsError",
    "form_fields",
    "read_submissions",
    "write_xlsform",
    "xlsform_sheets",
]

DESIGN_GROUP = "responden"
PLATFORMS = ("odk", "kobo")
LANGS = (("id", "Indonesian (id)"), ("en", "English (en)"))
SEX_CHOICES = (("L", "Laki-laki", "Male"), ("P", "Perempuan", "Female"))
AGE_GROUPS = ("17-24", "25-34", "35-44", "45-54", "55+")
SCALE_LIST = "skala"
#: respondent keys as the form accepts them: printable, no leading formula character
RESPONDENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,63}$"


class SubmissionsError(ValueError):
    """A platform export that cannot be read as this form's submissions (names the column)."""


@dataclass(frozen=True)
class FormField:
    """One question of the form: its group (or None), name and role."""

    group: str | None
    name: str
    role: str   # "design", "item" or "wave"

    def path(self, sep: str) -> str:
        return self.name if self.group is None else f"{self.group}{sep}{self.name}"


def form_fields(instrument: Mapping[str, Any], *, with_wave: bool = True) -> list[FormField]:
    """The form's data fields in form order (INTERFACE instrument JSON as input)."""
    fields = []
    if with_wave:
        fields.append(FormField(None, "wave", "wave"))
    for name in ("respondent", "region", "sex", "age_group", "stratum", "psu", "base_weight"):
        fields.append(FormField(DESIGN_GROUP, name, "design"))
    for dim in instrument["dimensions"]:
        for item in dim["items"]:
            fields.append(FormField(str(dim["code"]), str(item["code"]), "item"))
    return fields


def _labels(pair: Mapping[str, str] | None, fallback: str) -> dict[str, str]:
    pair = pair or {}
    return {f"label::{title}": str(pair.get(code) or pair.get("id") or fallback)
            for code, title in LANGS}


def _both(id_text: str, en_text: str, prefix: str = "label") -> dict[str, str]:
    return {f"{prefix}::{LANGS[0][1]}": id_text, f"{prefix}::{LANGS[1][1]}": en_text}


def xlsform_sheets(instrument: Mapping[str, Any], *, regions: Sequence[tuple[str, str]],
                   year: int | None = None) -> dict[str, list[dict[str, Any]]]:
    """The XLSForm as rows per sheet (``survey``, ``choices``, ``settings``).

    ``regions``: (code, name) of the regions an answer may name (regencies/cities of the
    design). ``year``: the wave the form collects for, stored in a ``wave`` calculate field
    (omitted when None; the import then needs the year).
    """
    scale = instrument["scale"]
    lo, hi = int(scale["min"]), int(scale["max"])
    labels = scale.get("labels") or {}
    survey: list[dict[str, Any]] = [
        {"type": "start", "name": "start"},
        {"type": "end", "name": "end"},
    ]
    if year is not None:
        survey.append({"type": "calculate", "name": "wave", "calculation": str(int(year))})
    survey += [
        {"type": "begin_group", "name": DESIGN_GROUP,
         **_both("Data responden", "Respondent data")},
        {"type": "text", "name": "respondent", "required": "yes",
         **_both("Kode responden (bukan NIK atau nomor HP)",
                 "Respondent code (not an ID card or phone number)"),
         "constraint": f"regex(., '{RESPONDENT_PATTERN}')",
         **_both("Huruf, angka, titik, garis bawah atau tanda hubung; diawali huruf atau angka.",
                 "Letters, digits, dot, underscore or hyphen; starting with a letter or digit.",
                 "constraint_message")},
        {"type": "select_one wilayah", "name": "region", "required": "yes",
         **_both("Kabupaten/kota", "Regency/city")},
        {"type": "select_one jenis_kelamin", "name": "sex", "required": "yes",
         **_both("Jenis kelamin", "Sex")},
        {"type": "select_one kelompok_umur", "name": "age_group", "required": "yes",
         **_both("Kelompok umur", "Age group")},
        {"type": "text", "name": "stratum",
         **_both("Strata (diisi enumerator; kosong = wilayah)",
                 "Stratum (enumerator; blank = region)")},
        {"type": "text", "name": "psu", "required": "yes",
         **_both("Unit sampling primer / klaster (diisi enumerator)",
                 "Primary sampling unit / cluster (enumerator)")},
        {"type": "decimal", "name": "base_weight", "constraint": ". > 0",
         **_both("Bobot dasar (diisi enumerator; kosong = 1)",
                 "Base weight (enumerator; blank = 1)"),
         **_both("Bobot harus lebih dari 0.", "The weight must be above 0.",
                 "constraint_message")},
        {"type": "end_group", "name": DESIGN_GROUP},
    ]
    for dim in instrument["dimensions"]:
        survey.append({"type": "begin_group", "name": str(dim["code"]),
                       **_labels(dim.get("name"), str(dim["code"]))})
        for item in dim["items"]:
            survey.append({"type": f"select_one {SCALE_LIST}", "name": str(item["code"]),
                           **_labels(item.get("text"), str(item["code"]))})
        survey.append({"type": "end_group", "name": str(dim["code"])})
    choices: list[dict[str, Any]] = []
    for k, value in enumerate(range(lo, hi + 1)):
        pair = {code: (labels.get(code) or [])[k] if labels.get(code) else "" for code, _ in LANGS}
        text = {code: (f"{value} - {pair[code]}" if pair[code] else str(value))
                for code, _ in LANGS}
        choices.append({"list_name": SCALE_LIST, "name": str(value), **_labels(text, str(value))})
    for code, name in regions:
        choices.append({"list_name": "wilayah", "name": str(code),
                        **_both(str(name), str(name))})
    for code, id_text, en_text in SEX_CHOICES:
        choices.append({"list_name": "jenis_kelamin", "name": code, **_both(id_text, en_text)})
    for group in AGE_GROUPS:
        choices.append({"list_name": "kelompok_umur", "name": group, **_both(group, group)})
    title = instrument.get("title") or {}
    form_id = re.sub(r"[^A-Za-z0-9_]", "_", f"{instrument['code']}_v{instrument['version']}")
    settings = [{
        "form_title": str(title.get("id") or instrument["code"]),
        "form_id": form_id.lower() if year is None else f"{form_id.lower()}_{int(year)}",
        "version": str(instrument["version"]),
        "default_language": LANGS[0][1],
    }]
    return {"survey": survey, "choices": choices, "settings": settings}


def write_xlsform(output: str | Path | BinaryIO, sheets: Mapping[str, list[dict[str, Any]]]
                  ) -> None:
    """Write :func:`xlsform_sheets` rows as an .xlsx workbook (one sheet each, header first)."""
    with XlsxWriter(output) as workbook:
        for name, rows in sheets.items():
            header = list(dict.fromkeys(key for row in rows for key in row))
            workbook.add_sheet(name, header=header).write_rows(
                [[row.get(key, "") for key in header] for row in rows])


# ---------------------------------------------------------------------------- reading exports
_ODK_META = ("SubmissionDate", "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
             "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits", "FormVersion")
_KOBO_META = ("start", "end", "_id", "_uuid", "_submission_time", "_validation_status",
              "_notes", "_status", "_submitted_by", "__version__", "_tags", "_index")


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix.lower() in (".xlsx", ".xls"):
        return pd.read_excel(path, dtype=str, keep_default_na=False)
    raw = path.read_bytes().decode("utf-8-sig")
    first = raw.split("\n", 1)[0]
    sep = ";" if first.count(";") > first.count(",") else ","
    return pd.read_csv(io.StringIO(raw), sep=sep, dtype=str, keep_default_na=False,
                       quoting=csv.QUOTE_MINIMAL)


def _instance_uuid(value: str, column: str, row: int) -> str:
    text = value.strip()
    if text.lower().startswith("uuid:"):
        text = text[5:]
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise SubmissionsError(
            f"row {row}, column {column}: {value!r} is not an instance UUID") from None


def read_submissions(path: str | Path, platform: str, instrument: Mapping[str, Any], *,
                     wave: int | None = None) -> pd.DataFrame:
    """Read an ODK Central or KoboToolbox export of the form made by :func:`xlsform_sheets`.

    Returns the INTERFACE responses columns (``respondent, wave, region, sex, age_group,
    stratum, psu, base_weight`` and the item codes present) plus ``submission_id`` and
    ``submitted_at``, all as text (blank = missing), one row per submission in file order.
    ``wave`` is required when the export has no ``wave`` column; when both exist they must agree.
    Rows are numbered as in the file (header = row 1).
    """
    if platform not in PLATFORMS:
        raise SubmissionsError(f"platform must be one of {', '.join(PLATFORMS)}, got {platform!r}")
    path = Path(path)
    table = _read_table(path)
    sep = "-" if platform == "odk" else "/"
    columns = set(table.columns)
    out = pd.DataFrame(index=table.index)
    for field in form_fields(instrument):
        for name in (field.path(sep), field.name):
            if name in columns:
                out[field.name] = table[name].str.strip()
                break
        else:
            if field.role == "design" and field.name in ("respondent", "region", "sex",
                                                         "age_group"):
                raise SubmissionsError(
                    f"{path.name}: column {field.path(sep)} (or {field.name}) is missing")
    items = [f.name for f in form_fields(instrument) if f.role == "item"]
    if not any(code in out.columns for code in items):
        raise SubmissionsError(f"{path.name}: no item column of instrument "
                               f"{instrument['code']} found (e.g. {items[0]})")
    id_col: str | None
    if platform == "odk":
        id_col = next((c for c in ("meta-instanceID", "instanceID", "KEY") if c in columns), None)
        time_col = "SubmissionDate"
    else:
        id_col = next((c for c in ("_uuid", "meta/instanceID", "instanceID") if c in columns),
                      None)
        time_col = "_submission_time"
    if id_col is None:
        raise SubmissionsError(f"{path.name}: no instance id column "
                               f"({'meta-instanceID/KEY' if platform == 'odk' else '_uuid'})")
    out["submission_id"] = [_instance_uuid(v, id_col, i + 2)
                            for i, v in enumerate(table[id_col].tolist())]
    out["submitted_at"] = table[time_col] if time_col in columns else ""
    if "wave" not in out.columns or (out["wave"] == "").all():
        if wave is None:
            raise SubmissionsError(f"{path.name}: the export has no wave column; give the year")
        out["wave"] = str(int(wave))
    elif wave is not None:
        bad = out.index[out["wave"] != str(int(wave))]
        if len(bad):
            raise SubmissionsError(f"row {bad[0] + 2}, column wave: {out['wave'][bad[0]]!r} "
                                   f"is not the wave {wave} being imported")
    order = ["submission_id", "respondent", "wave", "region", "sex", "age_group", "stratum",
             "psu", "base_weight", *[c for c in items if c in out.columns], "submitted_at"]
    for name in ("stratum", "psu", "base_weight"):
        if name not in out.columns:
            out[name] = ""
    return out.loc[:, order].reset_index(drop=True)
