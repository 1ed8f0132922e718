"""Export jobs over HTTP (issue 9): microdata and weights only through a job, only for
researchers and admins, every file served audited; jobs private to their requester."""

from __future__ import annotations

import base64
import csv
import hashlib
import io

import pytest
from rest_framework.test import APIClient

from surveys.models import ExportDownload, ExportJob, JobSource, JobStatus, Role
from tests.results_world import build_world, make_user, token_for

pytestmark = pytest.mark.django_db

JOBS = "/api/v1/exports/jobs/"


@pytest.fixture
def world(settings, tmp_path):
    settings.NILAI_EXPORT_DIR = tmp_path / "exports"
    return build_world()


def client_for(role: str, *regions: str, username: str | None = None) -> APIClient:
    user = make_user(username or f"{role}-{'-'.join(regions) or 'all'}", role, *regions)
    client = APIClient(REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="nilai-test/1")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def start(client: APIClient, capture, **body) -> tuple[int, dict, str | None]:
    """POST a job, running the queued task as the commit would."""
    with capture(execute=True):
        response = client.post(JOBS, body, format="json")
    return response.status_code, response.json(), response.headers.get("Location")


def fetch_file(client: APIClient, job_id: int):
    response = client.get(f"{JOBS}{job_id}/file")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return response, content


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


# --- who may have respondent-level tables ------------------------------------------------------


@pytest.mark.parametrize("table", ["microdata", "weights"])
def test_office_cannot_get_respondent_level_tables_by_job_or_directly(
        world, table, django_capture_on_commit_callbacks):
    office = client_for(Role.OFFICE, "64")

    code, body, location = start(office, django_capture_on_commit_callbacks,
                                 table=table, format="csv")

    assert code == 403
    assert "peneliti dan admin" in body["detail"]
    assert location is None
    assert not ExportJob.objects.exists()
    assert office.get(f"/api/v1/exports/{table}.csv").status_code == 403
    assert not ExportDownload.objects.exists()


def test_researcher_gets_weights_through_a_job_and_the_download_is_audited(
        world, django_capture_on_commit_callbacks):
    researcher = client_for(Role.RESEARCHER)

    code, body, location = start(researcher, django_capture_on_commit_callbacks,
                                 table="weights", format="csv")

    assert code == 202
    job = ExportJob.objects.get()
    assert location == f"http://testserver{JOBS}{job.pk}/" == body["url"]
    assert (job.requested_by.username, job.source, job.table, job.format, job.k) == (
        "researcher-all", JobSource.API, "weights", "csv", None)
    status = researcher.get(location).json()
    assert status["status"] == JobStatus.DONE
    assert status["file_url"] == f"http://testserver{JOBS}{job.pk}/file"
    assert status["started_at"] and status["finished_at"]

    response, content = fetch_file(researcher, job.pk)

    assert response.status_code == 200
    assert csv_rows(content)[0][:3] == ["respondent", "wave", "final_weight"]
    assert status["sha256"] == hashlib.sha256(content).hexdigest()
    assert status["bytes"] == len(content)
    assert status["rows"] == len(csv_rows(content)) - 1
    assert response["Content-Disposition"] == f'attachment; filename="nilai-weights-{job.pk}.csv"'
    assert response["Repr-Digest"] == (
        f"sha-256=:{base64.b64encode(hashlib.sha256(content).digest()).decode()}:")
    (audit,) = ExportDownload.objects.all()
    assert (audit.job_id, audit.user.username, audit.username, audit.ip, audit.user_agent,
            audit.table, audit.format) == (job.pk, "researcher-all", "researcher-all",
                                           "10.1.2.3", "nilai-test/1", "weights", "csv")
    fetch_file(researcher, job.pk)
    assert ExportDownload.objects.filter(job=job).count() == 2


def test_microdata_job_records_k_and_filters(world, django_capture_on_commit_callbacks):
    admin = client_for(Role.ADMIN)

    code, body, _ = start(admin, django_capture_on_commit_callbacks, table="microdata",
                          format="csv", k=7, filters={"region": ["6401"]})

    assert code == 202
    job = ExportJob.objects.get()
    assert (job.k, job.filters, job.region_scope) == (7, {"region": ["6401"]}, ["6401"])
    assert body["k"] == 7
    assert job.status == JobStatus.DONE
    assert any("k = 7" in message for message in job.messages)
    response, content = fetch_file(admin, job.pk)
    assert response.status_code == 200
    assert csv_rows(content)[0][:2] == ["respondent", "wave"]
    assert ExportDownload.objects.get().job == job


def test_direct_microdata_route_points_researchers_at_the_jobs_endpoint(world):
    researcher = client_for(Role.RESEARCHER)

    for table in ("microdata", "weights"):
        response = researcher.get(f"/api/v1/exports/{table}.sav")
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "export_job_required"
        assert body["jobs_url"] == f"http://testserver{JOBS}"
        assert body["job_request"] == {"table": table, "format": "sav"}
        assert "POST" in body["detail"]
    english = researcher.get("/api/v1/exports/microdata.csv", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["detail"].startswith("Table microdata can only be downloaded")
    assert not ExportDownload.objects.exists()


def test_direct_aggregate_download_streams_and_is_audited(world):
    office = client_for(Role.OFFICE, "6401")

    response = office.get("/api/v1/exports/estimates.csv")

    assert response.status_code == 200
    assert b"".join(response.streaming_content)
    (audit,) = ExportDownload.objects.all()
    assert (audit.job, audit.username, audit.table, audit.format, audit.ip) == (
        None, "office-6401", "estimates", "csv", "10.1.2.3")
    assert set(audit.region_scope) >= {"6401", "ALL"}
    assert "6402" not in audit.region_scope


# --- offices: aggregate jobs cut to their regions ----------------------------------------------


def test_office_aggregate_job_is_cut_to_its_regions(world, django_capture_on_commit_callbacks):
    office = client_for(Role.OFFICE, "6401")

    code, body, _ = start(office, django_capture_on_commit_callbacks,
                          table="estimates", format="csv")
    assert code == 202
    rows = csv_rows(fetch_file(office, body["id"])[1])
    assert {r[1] for r in rows[1:]} == {"6401", "ALL"}

    code, body, _ = start(office, django_capture_on_commit_callbacks, table="estimates",
                          format="csv", filters={"region": ["6402"]})
    assert code == 202
    assert ExportJob.objects.get(pk=body["id"]).region_scope == []
    assert len(csv_rows(fetch_file(office, body["id"])[1])) == 1  # header only


# --- privacy of jobs ----------------------------------------------------------------------------


def test_only_the_requester_and_admins_see_a_job(world, django_capture_on_commit_callbacks):
    owner = client_for(Role.RESEARCHER, username="owner")
    other = client_for(Role.RESEARCHER, username="other")
    admin = client_for(Role.ADMIN, username="boss")
    _, body, _ = start(owner, django_capture_on_commit_callbacks, table="weights", format="csv")
    job_id = body["id"]

    assert other.get(f"{JOBS}{job_id}/").status_code == 404
    assert fetch_file(other, job_id)[0].status_code == 404
    assert other.get(JOBS).json()["results"] == []
    assert [j["id"] for j in owner.get(JOBS).json()["results"]] == [job_id]
    assert admin.get(f"{JOBS}{job_id}/").status_code == 200
    assert fetch_file(admin, job_id)[0].status_code == 200
    assert list(ExportDownload.objects.values_list("username", flat=True)) == ["boss"]
    nobody = client_for(Role.ENUMERATOR, "6401", username="enum")
    assert nobody.get(f"{JOBS}{job_id}/").status_code == 403


def test_a_researcher_who_became_an_office_can_no_longer_fetch_microdata(
        world, django_capture_on_commit_callbacks):
    from django.contrib.auth.models import Group

    client = client_for(Role.RESEARCHER, username="moved")
    _, body, _ = start(client, django_capture_on_commit_callbacks, table="weights", format="csv")
    user = ExportJob.objects.get().requested_by
    user.groups.set([Group.objects.get_or_create(name=Role.OFFICE)[0]])

    response, _ = fetch_file(client, body["id"])

    assert response.status_code == 403
    assert not ExportDownload.objects.exists()


# --- not ready, failed, removed -------------------------------------------------------------------


def test_file_is_409_while_the_job_is_queued(world):
    researcher = client_for(Role.RESEARCHER)
    response = researcher.post(JOBS, {"table": "weights", "format": "csv"}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == JobStatus.QUEUED
    assert response.json()["file_url"] is None

    got, _ = fetch_file(researcher, response.json()["id"])

    assert got.status_code == 409
    assert got.json()["status"] == JobStatus.QUEUED
    assert not ExportDownload.objects.exists()


def test_failed_export_is_recorded_and_its_file_is_409(world, django_capture_on_commit_callbacks):
    researcher = client_for(Role.RESEARCHER)

    code, body, _ = start(researcher, django_capture_on_commit_callbacks, table="microdata",
                          format="csv", filters={"instrument": "NOPE"})

    assert code == 202
    body = researcher.get(body["url"]).json()
    assert body["status"] == JobStatus.FAILED
    assert body["messages"] and "NOPE" in body["messages"][-1]
    assert body["file_url"] is None
    got, _ = fetch_file(researcher, body["id"])
    assert got.status_code == 409
    assert got.json()["status"] == JobStatus.FAILED
    assert ExportJob.objects.get().file_path == ""


def test_removed_file_is_410(world, settings, django_capture_on_commit_callbacks):
    researcher = client_for(Role.RESEARCHER)
    _, body, _ = start(researcher, django_capture_on_commit_callbacks, table="weights",
                       format="parquet")
    path = settings.NILAI_EXPORT_DIR / ExportJob.objects.get().file_path
    assert path.is_file()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    path.unlink()

    assert fetch_file(researcher, body["id"])[0].status_code == 410


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"table": "nothing", "format": "csv"}, "table"),
        ({"table": "estimates", "format": "json"}, "format"),
        ({"table": "estimates", "format": "csv", "k": 5}, "k"),
        ({"table": "microdata", "format": "csv", "k": 0}, "k"),
        ({"table": "estimates", "format": "csv", "filters": {"region": ["9999"]}}, "filters"),
        ({"table": "estimates", "format": "csv", "filters": {"instrument": "IINP"}}, "filters"),
        ({"table": "cfa", "format": "csv", "filters": {"region": ["6401"]}}, "filters"),
        ({"format": "csv"}, "table"),
    ],
)
def test_bad_requests_are_400_naming_the_field(world, body, field):
    response = client_for(Role.RESEARCHER).post(JOBS, body, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not ExportJob.objects.exists()


def test_unknown_region_message_is_bilingual(world):
    body = {"table": "estimates", "format": "csv", "filters": {"region": ["9999"]}}
    client = client_for(Role.RESEARCHER)

    indonesian = client.post(JOBS, body, format="json").json()["errors"]["filters"]
    english = client.post(JOBS, body, format="json", HTTP_ACCEPT_LANGUAGE="en").json()

    assert indonesian == ["Wilayah tidak dikenal: 9999."]
    assert english["errors"]["filters"] == ["Unknown regions: 9999."]


def test_anonymous_and_respondents_are_refused(world):
    assert APIClient().post(JOBS, {"table": "estimates", "format": "csv"}).status_code == 401
    respondent = client_for(Role.RESPONDENT)
    assert respondent.post(JOBS, {"table": "estimates", "format": "csv"},
                           format="json").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_the_job_has_run_when_the_202_is_answered(world):
    """Autocommit (no test transaction): the task is queued on commit and, eager, runs at once."""
    researcher = client_for(Role.RESEARCHER)

    response = researcher.post(JOBS, {"table": "estimates", "format": "xlsx"}, format="json")

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == JobStatus.DONE
    assert body["file_url"].endswith(f"/exports/jobs/{body['id']}/file")
    assert body["rows"] == 18 and len(body["sha256"]) == 64


def test_command_line_exports_are_not_served_over_http(world, tmp_path):
    from django.core.management import call_command

    out = tmp_path / "weights.csv"
    call_command("export", "weights", "--output", str(out), stdout=io.StringIO())
    job = ExportJob.objects.get()
    admin = client_for(Role.ADMIN)

    assert admin.get(f"{JOBS}{job.pk}/").json()["file_url"] is None
    assert fetch_file(admin, job.pk)[0].status_code == 410
    assert not ExportDownload.objects.exists()
