"""The ODK/Kobo bridge: the XLSForm (validated by pyxform) and reading the platforms' exports.

Exports are made by tests/field_exports.py from the XLSForm itself, laid out as ODK Central and
KoboToolbox document them.
"""

from __future__ import annotations

import json
import uuid
from io import StringIO
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pyxform.xls2xform import convert

from datafiles.xlsform import (
    SubmissionsError,
    read_submissions,
    write_xlsform,
    xlsform_sheets,
)
from surveys.services.demo import load_bundled
from tests import field_exports

REPO = Path(__file__).resolve().parents[1]
BUNDLED = json.loads((REPO / "fixtures" / "instrument_pancasila_v1.json").read_text("utf-8"))
REGIONS = [("6401", "Paser"), ("6472", "Kota Samarinda")]


def _sheet(path: Path, name: str) -> list[dict]:
    ws = openpyxl.load_workbook(path, read_only=True)[name]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.mark.django_db
def test_bundled_instrument_exports_to_a_valid_xlsform(tmp_path: Path) -> None:
    load_bundled()
    out = tmp_path / "iinp.xlsx"
    stdout = StringIO()
    call_command("export_xlsform", "IINP", "--year", "2026", "--output", str(out), stdout=stdout)
    assert "30 pertanyaan" in stdout.getvalue()
    result = convert(xlsform=str(out))
    assert result.warnings == []
    assert 'lang="Indonesian (id)"' in result.xform and 'lang="English (en)"' in result.xform
    survey = _sheet(out, "survey")
    groups = [r["name"] for r in survey if r["type"] == "begin_group"]
    assert groups == ["responden", "S1", "S2", "S3", "S4", "S5"]
    required = {r["name"] for r in survey if r.get("required") == "yes"}
    assert required == {"respondent", "region", "sex", "age_group", "psu"}
    settings = _sheet(out, "settings")[0]
    assert settings["version"] == "1" and settings["form_id"] == "iinp_v1_2026"
    assert settings["default_language"] == "Indonesian (id)"
    wave = next(r for r in survey if r["name"] == "wave")
    assert wave["type"] == "calculate" and wave["calculation"] == "2026"
    # reverse-keyed items are indistinguishable from the others
    items = [r for r in survey if str(r["type"]).startswith("select_one skala")]
    assert len(items) == 30 and {r["type"] for r in items} == {"select_one skala"}
    choices = _sheet(out, "choices")
    regions = [c["name"] for c in choices if c["list_name"] == "wilayah"]
    assert "6472" in regions and "64" not in regions       # regencies/cities, not the province


@pytest.mark.parametrize("labelled", [True, False])
def test_seven_point_scale_labelled_or_not(tmp_path: Path, labelled: bool) -> None:
    doc = json.loads(json.dumps(BUNDLED))
    doc["scale"] = {"min": 1, "max": 7, "labels": {
        "id": [f"L{i}" for i in range(1, 8)] if labelled else [],
        "en": [f"E{i}" for i in range(1, 8)] if labelled else []}}
    sheets = xlsform_sheets(doc, regions=REGIONS)
    scale = [c for c in sheets["choices"] if c["list_name"] == "skala"]
    assert [c["name"] for c in scale] == [str(i) for i in range(1, 8)]
    first = scale[0]["label::Indonesian (id)"]
    assert first == ("1 - L1" if labelled else "1")
    assert not any(r["name"] == "wave" for r in sheets["survey"])
    path = tmp_path / "f.xlsx"
    write_xlsform(path, sheets)
    assert convert(xlsform=str(path)).warnings == []


def _submissions(n: int) -> list[dict]:
    subs = []
    for i in range(n):
        answers = {item["code"]: str(1 + (i + j) % 5)
                   for j, item in enumerate(it for d in BUNDLED["dimensions"] for it in d["items"])}
        answers["S2_03"] = ""                        # a skipped question
        subs.append({"submission_id": str(uuid.UUID(int=1000 + i)), "wave": "2026",
                     "respondent": f"KB-{i:04d}", "region": REGIONS[i % 2][0],
                     "sex": "LP"[i % 2], "age_group": "25-34", "stratum": "",
                     "psu": f"psu-{i // 4}", "base_weight": "", **answers})
    return subs


@pytest.mark.parametrize("platform,writer,suffix", [
    ("odk", field_exports.write_odk_csv, "csv"),
    ("kobo", field_exports.write_kobo_csv, "csv"),
    ("kobo", field_exports.write_kobo_xlsx, "xlsx"),
])
def test_platform_exports_read_back(tmp_path: Path, platform: str, writer, suffix: str) -> None:
    survey = xlsform_sheets(BUNDLED, regions=REGIONS, year=2026)["survey"]
    subs = _submissions(12)
    path = tmp_path / f"export.{suffix}"
    writer(path, survey, subs)
    got = read_submissions(path, platform, BUNDLED)
    assert len(got) == 12
    for row, sub in zip(got.to_dict("records"), subs, strict=True):
        for key, value in sub.items():
            assert row[key] == value, key
    assert got.columns[0] == "submission_id" and "S1_01" in got.columns


def test_group_names_left_out_and_wave_given(tmp_path: Path) -> None:
    survey = xlsform_sheets(BUNDLED, regions=REGIONS)["survey"]       # no wave field
    flat = [r for r in survey if r["type"] not in ("begin_group", "end_group")]
    path = tmp_path / "flat.csv"
    field_exports.write_odk_csv(path, flat, _submissions(3))
    with pytest.raises(SubmissionsError, match="no wave column"):
        read_submissions(path, "odk", BUNDLED)
    got = read_submissions(path, "odk", BUNDLED, wave=2025)
    assert set(got["wave"]) == {"2025"}


def test_bad_exports_name_the_problem(tmp_path: Path) -> None:
    survey = xlsform_sheets(BUNDLED, regions=REGIONS, year=2026)["survey"]
    path = tmp_path / "e.csv"
    subs = _submissions(3)
    subs[1]["submission_id"] = "not-a-uuid"
    field_exports.write_kobo_csv(path, survey, subs)
    with pytest.raises(SubmissionsError, match="row 3, column _uuid"):
        read_submissions(path, "kobo", BUNDLED)
    with pytest.raises(SubmissionsError, match="platform"):
        read_submissions(path, "limesurvey", BUNDLED)
    field_exports.write_kobo_csv(path, survey, _submissions(2))
    with pytest.raises(SubmissionsError, match="wave 2025"):
        read_submissions(path, "kobo", BUNDLED, wave=2025)
    no_region = [r for r in survey if r["name"] != "region"]
    field_exports.write_odk_csv(path, no_region, _submissions(2))
    with pytest.raises(SubmissionsError, match="responden-region"):
        read_submissions(path, "odk", BUNDLED)


@pytest.mark.django_db
def test_export_xlsform_command_errors(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="folder"):
        call_command("export_xlsform", "IINP", "--output", str(tmp_path / "no" / "f.xlsx"))
    with pytest.raises(CommandError):
        call_command("export_xlsform", "NOPE", "--output", str(tmp_path / "f.xlsx"))
