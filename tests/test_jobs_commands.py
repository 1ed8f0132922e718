"""Import and export commands leave an audit row (issue 9): ImportJob for every import command,
failed runs included (the data stays all-or-nothing), ExportJob for `manage.py export`."""

from __future__ import annotations

import hashlib
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from surveys import models as m
from surveys.services import jobs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REGIONS = FIXTURES / "regions_kaltim.csv"
INSTRUMENT = FIXTURES / "instrument_pancasila_v1.json"

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def os_user(monkeypatch) -> str:
    monkeypatch.setattr(jobs.getpass, "getuser", lambda: "operator7")
    return "operator7"


# --- imports --------------------------------------------------------------------------------------


def test_load_regions_records_a_done_job_with_counts_and_file_facts(os_user):
    run("load_regions", str(REGIONS))
    run("load_regions", str(REGIONS))

    second, first = m.ImportJob.objects.all()  # newest first
    n_regions = m.Region.objects.count()
    assert (first.command, first.os_user, first.status) == ("load_regions", "operator7", "done")
    assert first.file_name == str(REGIONS)
    assert first.file_sha256 == sha(REGIONS)
    assert first.file_size == REGIONS.stat().st_size
    assert (first.rows_inserted, first.rows_updated, first.rows_unchanged) == (n_regions, 0, 0)
    assert (second.rows_inserted, second.rows_updated, second.rows_unchanged) == (0, 0, n_regions)
    assert first.started_at <= first.finished_at
    assert "nothing changed" in second.messages[0]


def test_failed_import_leaves_a_failed_job_with_row_messages_and_no_data(os_user, tmp_path):
    bad = tmp_path / "regions.csv"
    bad.write_text("code,name,level,parent\n64,Kalimantan Timur,province,\n"
                   "6401,Paser,nonsense,64\n")

    with pytest.raises(CommandError, match="baris/row 3"):
        run("load_regions", str(bad))

    assert not m.Region.objects.exists()
    (job,) = m.ImportJob.objects.all()
    assert job.status == m.JobStatus.FAILED
    assert job.finished_at is not None
    assert job.file_sha256 == sha(bad)
    assert any("baris/row 3" in message and "level" in message for message in job.messages)
    assert job.rows_inserted is None


def test_missing_file_is_a_failed_job(os_user, tmp_path):
    missing = tmp_path / "nope.csv"

    with pytest.raises(CommandError):
        run("load_regions", str(missing))

    (job,) = m.ImportJob.objects.all()
    assert (job.status, job.file_name, job.file_sha256, job.file_size) == (
        "failed", str(missing), "", None)
    assert job.messages


@pytest.mark.django_db(transaction=True)
def test_failed_job_survives_the_rolled_back_import(os_user, tmp_path):
    """Committed outside the loader's transaction: visible after the rollback of the data."""
    bad = tmp_path / "regions.csv"
    bad.write_text("code,name,level,parent\n64,Kalimantan Timur,province,\n64,Again,province,\n")

    with pytest.raises(CommandError):
        run("load_regions", str(bad))

    assert not m.Region.objects.exists()
    assert list(m.ImportJob.objects.values_list("status", flat=True)) == ["failed"]


def test_instrument_and_responses_imports_are_recorded_with_options(os_user, tmp_path):
    run("load_regions", str(REGIONS))
    run("load_instrument", str(INSTRUMENT))
    items = [i["code"] for d in json.loads(INSTRUMENT.read_text())["dimensions"]
             for i in d["items"]]
    responses = tmp_path / "responses.csv"
    lines = [",".join(["respondent", "wave", "region", "sex", "age_group", "stratum", "psu",
                       "base_weight", *items])]
    for n in range(3):
        lines.append(",".join([f"R{n}", "2024", "6401", "L", "25-34", "S1", f"P{n}", "1.0",
                               *(["4"] * len(items))]))
    responses.write_text("\n".join(lines) + "\n")

    run("import_responses", str(responses), "--instrument", "IINP")

    job = m.ImportJob.objects.get(command="import_responses")
    assert job.status == "done"
    assert job.options == {"instrument": "IINP", "instrument_version": None, "replace": False,
                           "from": "csv", "wave": None}
    assert (job.rows_inserted, job.rows_updated, job.rows_unchanged) == (3, 0, 0)
    instrument_job = m.ImportJob.objects.get(command="load_instrument")
    assert (instrument_job.rows_inserted, instrument_job.rows_unchanged) == (1, 0)


def test_indicators_job_names_both_files(os_user, tmp_path):
    run("load_regions", str(REGIONS))
    definitions = tmp_path / "defs.json"
    definitions.write_text("not json")
    values = tmp_path / "values.csv"
    values.write_text("indicator,region,year,value\n")

    with pytest.raises(CommandError):
        run("load_indicators", str(definitions), str(values))

    job = m.ImportJob.objects.get(command="load_indicators")
    assert job.file_name == f"{definitions}, {values}"
    assert job.file_sha256 == f"{sha(definitions)}, {sha(values)}"
    assert job.file_size == definitions.stat().st_size + values.stat().st_size
    assert job.status == "failed"


# --- export command ---------------------------------------------------------------------------


def test_export_command_records_a_cli_job(os_user, tmp_path):
    from tests.results_world import build_world

    build_world()
    out = tmp_path / "sub" / "estimates.csv"
    out.parent.mkdir()

    text = run("export", "estimates", "--output", str(out), "--region", "6401")

    (job,) = m.ExportJob.objects.all()
    assert (job.source, job.requested_by, job.requested_by_name) == ("cli", None, "operator7")
    assert (job.table, job.format, job.status, job.k) == ("estimates", "csv", "done", None)
    assert job.filters == {"region": ["6401"]}
    assert job.file_path == str(out.resolve())
    assert job.sha256 == sha(out) and job.bytes == out.stat().st_size
    assert job.rows == len(out.read_text().splitlines()) - 1
    assert f"pekerjaan #{job.pk}" in text and job.sha256 in text


def test_failed_export_command_is_recorded(os_user, tmp_path):
    out = tmp_path / "m.csv"

    with pytest.raises(CommandError, match="NOPE"):
        run("export", "microdata", "--output", str(out), "--instrument", "NOPE", "--k", "9")

    (job,) = m.ExportJob.objects.all()
    assert (job.status, job.k, job.filters) == ("failed", 9, {"instrument": "NOPE"})
    assert "NOPE" in job.messages[-1]
    assert not out.exists()
    assert not list(tmp_path.iterdir())  # no partial file left


def test_admin_lists_jobs_read_only(admin_client, os_user):
    run("load_regions", str(REGIONS))
    for url in ("/admin/surveys/importjob/", "/admin/surveys/exportjob/",
                "/admin/surveys/exportdownload/", "/admin/surveys/importjob/?q=operator7",
                "/admin/surveys/importjob/?status__exact=done"):
        assert admin_client.get(url).status_code == 200, url
    job = m.ImportJob.objects.get()
    assert admin_client.get(f"/admin/surveys/importjob/{job.pk}/change/").status_code == 200
    assert admin_client.get("/admin/surveys/importjob/add/").status_code == 403
    assert admin_client.get(f"/admin/surveys/importjob/{job.pk}/delete/").status_code == 403
