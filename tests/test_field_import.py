"""import_responses --from odk|kobo: platform exports through the one ingest contract.

Exports are laid out by tests/field_exports.py from the XLSForm (ODK Central CSV, KoboToolbox
CSV and XLSX). The instance UUID becomes the submission_id, so an updated export re-imports as
only its new submissions.
"""

from __future__ import annotations

import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from datafiles.xlsform import xlsform_sheets
from surveys import models as m
from surveys.collect.xlsform import instrument_document, survey_regions
from surveys.services.demo import load_bundled
from tests import field_exports

pytestmark = pytest.mark.django_db


@pytest.fixture
def form(settings) -> dict:
    settings.NILAI_AUTO_RECOMPUTE = False
    load_bundled()
    version = m.InstrumentVersion.objects.get(instrument__code="IINP")
    doc = instrument_document(version)
    return {"doc": doc, "survey": xlsform_sheets(doc, regions=survey_regions(),
                                                 year=2026)["survey"]}


def _subs(doc: dict, n: int, start: int = 0) -> list[dict]:
    items = [it["code"] for d in doc["dimensions"] for it in d["items"]]
    out = []
    for i in range(start, start + n):
        answers = {code: str(1 + (i * 7 + j) % 5) for j, code in enumerate(items)}
        if i % 11 == 0:
            answers[items[3]] = ""
        out.append({"submission_id": str(uuid.UUID(int=10_000 + i)), "wave": "2026",
                    "respondent": f"FLD-{i:05d}", "region": ("6401", "6472", "6411")[i % 3],
                    "sex": "LP"[i % 2], "age_group": ("17-24", "35-44", "55+")[i % 3],
                    "stratum": "", "psu": f"K{i // 10:03d}", "base_weight": "", **answers})
    return out


def _import(path: Path, platform: str, *extra: str) -> str:
    out = StringIO()
    call_command("import_responses", str(path), "--instrument", "IINP", "--from", platform,
                 *extra, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("platform,writer,suffix", [
    ("odk", field_exports.write_odk_csv, "csv"),
    ("kobo", field_exports.write_kobo_csv, "csv"),
    ("kobo", field_exports.write_kobo_xlsx, "xlsx"),
])
def test_export_imports_and_reimports_as_a_no_op(tmp_path: Path, form: dict, platform: str,
                                                  writer, suffix: str) -> None:
    subs = _subs(form["doc"], 60)
    path = tmp_path / f"export.{suffix}"
    writer(path, form["survey"], subs)
    assert f"Diimpor / imported export.{suffix}" in _import(path, platform)
    stored = m.Response.objects.filter(wave__year=2026)
    assert stored.count() == 60
    assert {str(s) for s in stored.values_list("submission_id", flat=True)} == {
        s["submission_id"] for s in subs}
    one = stored.get(submission_id=subs[1]["submission_id"])
    assert one.stratum == "6472" and one.psu == "K000" and one.base_weight == 1.0
    # the same export again: nothing changes
    assert "60 unchanged" in _import(path, platform)
    assert stored.count() == 60
    # an updated export (20 more submissions) adds only those
    writer(path, form["survey"], subs + _subs(form["doc"], 20, start=60))
    assert "20 new, 60 unchanged" in _import(path, platform)
    assert stored.count() == 80
    assert m.ImportJob.objects.filter(command="import_responses", status="done").count() == 3


def test_bad_row_is_named_in_the_export_and_nothing_is_written(tmp_path: Path,
                                                               form: dict) -> None:
    subs = _subs(form["doc"], 5)
    subs[2]["sex"] = "X"
    path = tmp_path / "odk.csv"
    field_exports.write_odk_csv(path, form["survey"], subs)
    with pytest.raises(CommandError) as err:
        _import(path, "odk")
    assert "odk.csv, baris/row 4, kolom/column sex" in str(err.value)
    assert not m.Response.objects.exists()


def test_wave_option_only_with_a_platform(tmp_path: Path, form: dict) -> None:
    path = tmp_path / "r.csv"
    path.write_text("respondent\n", "utf-8")
    with pytest.raises(CommandError, match="--wave"):
        call_command("import_responses", str(path), "--instrument", "IINP", "--wave", "2026")
