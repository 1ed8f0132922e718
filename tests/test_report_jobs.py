"""The report from one command or one click (issue 13): `manage.py report`, `POST
/api/v1/reports/` and the dashboard's "Unduh laporan" button, each a tracked export job
(table ``report``). An office produces its own region's report only; researchers and admins
any region."""

from __future__ import annotations

import io
import zipfile
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from docx import Document
from rest_framework.test import APIClient

from surveys.models import ExportDownload, ExportJob, JobSource, JobStatus, Role
from tests.results_world import make_user, token_for
from tests.test_report import demo_world  # noqa: F401 - the module's shared demo world

pytestmark = pytest.mark.django_db
REGION = "6472"
OTHER = "6401"
REPORTS = "/api/v1/reports/"


@pytest.fixture
def exports_dir(settings, tmp_path):
    settings.NILAI_EXPORT_DIR = tmp_path / "exports"
    return settings.NILAI_EXPORT_DIR


def api_client(role: str, *regions: str) -> APIClient:
    user = make_user(f"{role}-{'-'.join(regions) or 'all'}", role, *regions)
    client = APIClient(REMOTE_ADDR="10.9.8.7")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def content_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- the command -------------------------------------------------------------------------------


def test_command_writes_a_pdf_and_records_a_job(demo_world, tmp_path) -> None:  # noqa: F811
    out = StringIO()
    target = tmp_path / "laporan.pdf"
    call_command("report", "--region", REGION, "--year", "2023", "--output", str(target),
                 stdout=out)
    assert target.read_bytes().startswith(b"%PDF-")
    job = ExportJob.objects.get(table="report")
    assert (job.source, job.status, job.format, job.rows) == (
        JobSource.CLI, JobStatus.DONE, "pdf", 1)
    assert job.filters == {"region": [REGION], "year": 2023}
    assert job.file_path == str(target.resolve()) and job.bytes == target.stat().st_size
    assert f"#{job.pk}" in out.getvalue()


def test_command_docx_several_regions_as_one_zip_in_english(demo_world, tmp_path) -> None:  # noqa: F811
    target = tmp_path / "reports.zip"
    call_command("report", "--region", REGION, "--region", OTHER, "--year", "2023",
                 "--format", "docx", "--language", "en", "--output", str(target),
                 stdout=StringIO())
    with zipfile.ZipFile(target) as archive:
        names = sorted(archive.namelist())
        assert names == [f"report-{OTHER}-2023.docx", f"report-{REGION}-2023.docx"]
        document = Document(io.BytesIO(archive.read(names[1])))
    assert any(p.text == "1. Summary" for p in document.paragraphs)


@pytest.mark.parametrize(("args", "message"), [
    (["--region", "9999"], "wilayah 9999 tidak dikenal / unknown region 9999"),
    (["--region", REGION, "--year", "2030"], "tahun tersedia: 2021, 2022, 2023"),
    (["--region", REGION, "--region", OTHER], "beri --output berakhiran .zip"),
    ([], "--region CODE atau --all-regions wajib"),
])
def test_command_errors_say_what_is_wrong(demo_world, tmp_path, args, message) -> None:  # noqa: F811
    if "--year" not in args:
        args = [*args, "--year", "2023"]
    with pytest.raises(CommandError, match=message):
        call_command("report", *args, "--output", str(tmp_path / "x.pdf"), stdout=StringIO())
    assert not (tmp_path / "x.pdf").exists()


def test_failed_command_leaves_a_failed_job(demo_world, tmp_path) -> None:  # noqa: F811
    with pytest.raises(CommandError):
        call_command("report", "--region", "ALL", "--year", "2023", "--instrument", "NOPE",
                     "--output", str(tmp_path / "x.pdf"), stdout=StringIO())
    job = ExportJob.objects.get(table="report")
    assert job.status == JobStatus.FAILED and "NOPE" in job.messages[0]


# --- the API ----------------------------------------------------------------------------------


def test_office_gets_its_own_region_report_through_a_job(
        demo_world, exports_dir, django_capture_on_commit_callbacks) -> None:  # noqa: F811
    office = api_client(Role.OFFICE, REGION)
    with django_capture_on_commit_callbacks(execute=True):
        response = office.post(REPORTS, {"region": REGION, "year": 2023, "format": "docx"},
                               format="json")
    assert response.status_code == 202, response.json()
    job = ExportJob.objects.get(pk=response.json()["id"])
    assert response["Location"].endswith(f"/api/v1/exports/jobs/{job.pk}/")
    assert (job.table, job.format, job.status, job.source) == (
        "report", "docx", JobStatus.DONE, JobSource.API)
    status = office.get(f"/api/v1/exports/jobs/{job.pk}/").json()
    assert status["status"] == "done" and status["file_url"].endswith("/file")
    file = office.get(status["file_url"])
    assert file.status_code == 200
    assert file["Content-Type"] == ("application/vnd.openxmlformats-officedocument."
                                    "wordprocessingml.document")
    assert f'filename="nilai-laporan-{REGION}-2023.docx"' in file["Content-Disposition"]
    document = Document(io.BytesIO(content_of(file)))
    assert any("Kota Samarinda" in p.text for p in document.paragraphs)
    assert ExportDownload.objects.filter(job=job, table="report").count() == 1


@pytest.mark.parametrize("region", [OTHER, "ALL"])
def test_office_may_not_report_another_region(demo_world, exports_dir, region) -> None:  # noqa: F811
    office = api_client(Role.OFFICE, REGION)
    response = office.post(REPORTS, {"region": region, "year": 2023}, format="json")
    assert response.status_code == 403
    assert "wilayahnya sendiri" in response.json()["detail"]
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.ADMIN])
def test_researchers_and_admins_report_any_region(
        demo_world, exports_dir, role, django_capture_on_commit_callbacks) -> None:  # noqa: F811
    client = api_client(role)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REPORTS, {"region": OTHER, "year": 2022}, format="json")
    assert response.status_code == 202
    job = ExportJob.objects.get(pk=response.json()["id"])
    assert job.status == JobStatus.DONE and job.region_scope is None
    file = client.get(f"/api/v1/exports/jobs/{job.pk}/file")
    assert file["Content-Type"] == "application/pdf"
    assert content_of(file).startswith(b"%PDF-")


def test_bad_requests_are_400_per_field(demo_world, exports_dir) -> None:  # noqa: F811
    client = api_client(Role.RESEARCHER)
    response = client.post(REPORTS, {"region": "9999", "year": 1800, "format": "odt"},
                           format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"region", "year", "format"} <= set(errors)
    response = client.post(REPORTS, {"region": REGION, "year": 2030}, format="json")
    assert response.status_code == 400
    assert "tahun tersedia" in response.json()["errors"]["year"][0]


def test_respondents_and_anonymous_callers_get_no_report(demo_world, exports_dir) -> None:  # noqa: F811
    assert APIClient().post(REPORTS, {"region": REGION, "year": 2023}).status_code in (401, 403)
    respondent = api_client(Role.RESPONDENT)
    assert respondent.post(REPORTS, {"region": REGION, "year": 2023}).status_code == 403


# --- the dashboard button ---------------------------------------------------------------------


def web_client(role: str, *regions: str) -> Client:
    client = Client()
    client.force_login(make_user(f"web-{role}-{'-'.join(regions) or 'all'}", role, *regions))
    return client


def test_dashboard_offers_the_report_of_the_offices_own_region_only(
        demo_world, exports_dir) -> None:  # noqa: F811
    from django.template.loader import get_template

    get_template("surveys/dashboard/_report_button.html")  # the partial exists
    office = web_client(Role.OFFICE, REGION)
    page = office.get("/dashboard/", {"region": REGION}).content.decode()
    assert 'id="report-form"' in page and 'name="region" value="6472"' in page
    assert '<option value="2023" selected>2023</option>' in page
    assert "Unduh laporan" in page
    province = office.get("/dashboard/", {"region": "ALL"}).content.decode()
    assert 'id="report-form"' not in province
    researcher = web_client(Role.RESEARCHER)
    assert 'id="report-form"' in researcher.get("/dashboard/", {"region": OTHER}).content.decode()


def test_dashboard_click_downloads_the_report(
        demo_world, exports_dir, django_capture_on_commit_callbacks) -> None:  # noqa: F811
    office = web_client(Role.OFFICE, REGION)
    with django_capture_on_commit_callbacks(execute=True):
        response = office.post("/dashboard/report/", {"region": REGION, "year": "2023",
                                                     "format": "pdf", "language": "id"})
    # inside the test's transaction the job runs after the view: the status page first
    job = ExportJob.objects.get(table="report")
    assert response.status_code == 303
    assert response["Location"] == f"/dashboard/report/{job.pk}/"
    page = office.get(response["Location"]).content.decode()
    assert "Laporan siap." in page and f"/api/v1/exports/jobs/{job.pk}/file" in page
    file = office.get(f"/api/v1/exports/jobs/{job.pk}/file")
    assert file.status_code == 200 and content_of(file).startswith(b"%PDF-")
    # outside a transaction (autocommit, no broker) the job has run when the view looks again:
    # the browser goes straight to the file
    with mock.patch("surveys.reports.jobs.transaction.on_commit", lambda fn: fn()):
        again = office.post("/dashboard/report/", {"region": REGION, "year": "2023"})
    newest = ExportJob.objects.filter(table="report").order_by("-pk").first()
    assert newest.pk != job.pk and newest.status == JobStatus.DONE
    assert again.status_code == 303
    assert again["Location"] == f"/api/v1/exports/jobs/{newest.pk}/file"


def test_dashboard_refuses_another_region_and_keeps_jobs_private(
        demo_world, exports_dir) -> None:  # noqa: F811
    office = web_client(Role.OFFICE, REGION)
    refused = office.post("/dashboard/report/", {"region": OTHER, "year": "2023"})
    assert refused.status_code == 403
    assert "hanya dapat membuat laporan wilayahnya sendiri" in refused.content.decode()
    bad = office.post("/dashboard/report/", {"region": REGION, "year": "abc"})
    assert bad.status_code == 400 and "year" in bad.content.decode()
    assert not ExportJob.objects.exists()
    queued = ExportJob.objects.create(
        requested_by=make_user("someone", Role.OFFICE, OTHER), table="report", format="pdf",
        source=JobSource.API, filters={"region": [OTHER], "year": 2023})
    assert office.get(f"/dashboard/report/{queued.pk}/").status_code == 404
    owner = Client()
    owner.force_login(queued.requested_by)
    waiting = owner.get(f"/dashboard/report/{queued.pk}/").content.decode()
    assert 'http-equiv="refresh"' in waiting and "sedang dibuat" in waiting
