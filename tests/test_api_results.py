"""Read API over stored results: region scope both ways, suppression, filters, query counts.

Scope rule chosen: a `?region=` outside an office's subtree is not an error, the list is empty
(for that caller those rows do not exist); downloads of respondent-level tables are 403.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from surveys.models import Role
from tests.results_world import HIDDEN_ESTIMATE, build_world, estimate_value, make_user, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def client_for(role: str, *regions: str, username: str | None = None) -> APIClient:
    user = make_user(username or f"{role}-{'-'.join(regions) or 'all'}", role, *regions)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def rows(client: APIClient, path: str, **params: object) -> list[dict]:
    response = client.get(f"/api/v1/{path}", {**params, "page_size": 1000})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_office_sees_its_region_and_all_only(world):
    office = client_for(Role.OFFICE, "6401")

    got = rows(office, "estimates/", dimension="INDEX")

    assert sorted({r["region"] for r in got}) == ["6401", "ALL"]
    assert len(got) == 6
    row = next(r for r in got if r["region"] == "6401" and r["wave"] == 2022)
    assert row == {
        "wave": 2022, "region": "6401", "dimension": "INDEX", "n": 120, "n_eff": 100.0,
        "estimate": 63.5, "se": 1.25, "ci_low": 61.0, "ci_high": 66.0, "df": 40,
        "suppressed": False, "category": "tinggi", "instrument": "IINP", "version": 1,
    }


def test_office_cannot_read_another_regency_by_filter(world):
    office = client_for(Role.OFFICE, "6401")

    response = office.get("/api/v1/estimates/", {"region": "6402"})

    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
    for path in ("trends/", "changes/", "achievements/"):
        assert rows(office, path, region="6402") == []
    indicators = rows(office, "indicators/", region="6402")
    assert [(i["code"], i["values"], i["targets"]) for i in indicators] == [
        ("INDEX", [], []), ("KONFLIK_SARA", [], []), ("SOSIALISASI", [], []),
    ]


def test_office_of_the_province_sees_every_regency(world):
    office = client_for(Role.OFFICE, "64")

    got = rows(office, "estimates/", wave=2021, dimension="INDEX")

    assert [r["region"] for r in got] == ["6401", "6402", "ALL"]


def test_office_scope_covers_trends_changes_achievements(world):
    office = client_for(Role.OFFICE, "6401")

    assert [r["region"] for r in rows(office, "trends/")] == ["6401", "ALL"]
    assert [(r["region"], r["from_wave"], r["significant"]) for r in rows(office, "changes/")] == [
        ("6401", 2021, True), ("6401", 2022, False), ("ALL", 2021, False),
    ]
    assert [(r["indicator"], r["region"]) for r in rows(office, "achievements/")] == [
        ("INDEX", "6401"), ("KONFLIK_SARA", "6401"),
    ]


def test_researcher_sees_every_region(world):
    researcher = client_for(Role.RESEARCHER)

    got = rows(researcher, "estimates/", wave=2021, dimension="INDEX")

    assert [(r["region"], r["estimate"]) for r in got] == [
        ("6401", 62.0), ("6402", 56.0), ("ALL", 60.0),
    ]
    assert [r["region"] for r in rows(researcher, "estimates/", region="6402", dimension="S1")] == [
        "6402", "6402", "6402",
    ]


@pytest.mark.parametrize("role", [Role.RESPONDENT, Role.ENUMERATOR])
@pytest.mark.parametrize(
    "path",
    ["estimates/", "trends/", "changes/", "reliability/", "indicators/", "achievements/",
     "items/", "cfa/", "proxy-validation/", "exports/estimates.csv", "charts/trend.png"],
)
def test_respondents_and_enumerators_are_refused(world, role, path):
    client = client_for(role, *(["6401"] if role == Role.ENUMERATOR else []))

    response = client.get(f"/api/v1/{path}")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"


def test_anonymous_is_refused(world):
    response = APIClient().get("/api/v1/estimates/")

    assert response.status_code == 401


def test_suppressed_estimate_is_blank_but_keeps_n(world):
    researcher = client_for(Role.RESEARCHER)

    (row,) = rows(researcher, "estimates/", region="6402", wave=2022, dimension="INDEX")

    assert row == {
        "wave": 2022, "region": "6402", "dimension": "INDEX", "n": 25, "n_eff": 20.5,
        "estimate": None, "se": None, "ci_low": None, "ci_high": None, "df": 40,
        "suppressed": True, "category": None, "instrument": "IINP", "version": 1,
    }
    body = researcher.get("/api/v1/estimates/", {"region": "6402"}).content.decode()
    assert str(HIDDEN_ESTIMATE) not in body


def test_filters_by_year_synonym_dimension_and_instrument(world):
    researcher = client_for(Role.RESEARCHER)

    by_year = rows(researcher, "estimates/", year=2023, region="ALL")
    by_wave = rows(researcher, "estimates/", wave=2023, region="ALL")
    other_instrument = rows(researcher, "estimates/", instrument="NOPE")

    assert by_year == by_wave
    assert [(r["dimension"], r["estimate"]) for r in by_year] == [
        ("INDEX", estimate_value("ALL", "INDEX", 2023)), ("S1", estimate_value("ALL", "S1", 2023)),
    ]
    assert other_instrument == []


def test_bad_filter_is_400_with_field_errors(world):
    researcher = client_for(Role.RESEARCHER)

    response = researcher.get("/api/v1/estimates/", {"wave": "dua ribu"})

    assert response.status_code == 400
    body = response.json()
    # DRF's own message (Indonesian by default); the project handler nests it under "errors"
    assert body.get("errors", body) == {"wave": ["Nilai bidang ini harus berupa bilangan bulat."]}


def test_changes_filter_by_wave_means_to_wave(world):
    researcher = client_for(Role.RESEARCHER)

    got = rows(researcher, "changes/", wave=2023)

    assert [(r["region"], r["from_wave"], r["to_wave"]) for r in got] == [
        ("6401", 2022, 2023), ("6402", 2021, 2023),
    ]
    assert got[0] == {
        "region": "6401", "dimension": "INDEX", "from_wave": 2022, "to_wave": 2023,
        "delta": 1.5, "se": 1.8, "z": 0.83, "p": 0.41, "significant": False, "mdc": 5.04,
        "instrument": "IINP", "basis": "full", "reason": "", "from_version": None,
        "to_version": None,
    }


def test_province_wide_tables_are_readable_by_offices(world):
    office = client_for(Role.OFFICE, "6401")

    reliability = rows(office, "reliability/", wave=2021)
    items = rows(office, "items/", wave=2022, dimension="S1")
    cfa = rows(office, "cfa/", year=2023)
    proxies = rows(office, "proxy-validation/")

    assert reliability == [{
        "wave": 2021, "dimension": "S1", "n": 300, "k": 6, "alpha": 0.81, "alpha_std": 0.82,
        "alpha_ci_low": 0.78, "alpha_ci_high": 0.84, "omega_total": 0.83, "instrument": "IINP",
    }]
    assert items == [{
        "wave": 2022, "dimension": "S1", "item": "S1_01", "item_rest_r": 0.55,
        "alpha_if_deleted": 0.79, "mean": 4.1, "sd": 0.8, "instrument": "IINP",
    }]
    assert [(r["wave"], r["cfi"], r["rmsea"]) for r in cfa] == [(2023, 0.98, 0.02)]
    assert proxies == [{
        "indicator": "KONFLIK_SARA", "n_pairs": 20, "spearman_rho": -0.52, "spearman_p": 0.019,
        "pearson_r": -0.49, "pearson_p": 0.028, "pearson_ci_low": -0.77,
        "pearson_ci_high": -0.06, "sign_ok": True, "accepted": True,
    }]


def test_indicators_are_tagged_by_level_and_scoped(world):
    office = client_for(Role.OFFICE, "6401")

    got = {i["code"]: i for i in rows(office, "indicators/")}

    assert got["KONFLIK_SARA"] == {
        "code": "KONFLIK_SARA",
        "name": {"id": "Insiden konflik SARA", "en": "Conflict incidents"},
        "level": "outcome", "polarity": "negative", "unit": "per 100k", "source": "Bappeda",
        "dimension": "S3", "values": [{"region": "6401", "year": 2021, "value": 5.3}],
        "targets": [],
    }
    assert got["SOSIALISASI"]["level"] == "output"
    assert got["SOSIALISASI"]["dimension"] is None
    assert got["INDEX"]["level"] == "index"
    assert got["INDEX"]["targets"] == [
        {"region": "6401", "year": 2021, "target": 62.0},
        {"region": "6401", "year": 2022, "target": 63.0},
        {"region": "6401", "year": 2023, "target": 64.0},
    ]
    outputs = rows(office, "indicators/", level="output")
    assert [i["code"] for i in outputs] == ["SOSIALISASI"]


def test_achievements_filter_and_fields(world):
    researcher = client_for(Role.RESEARCHER)

    got = rows(researcher, "achievements/", indicator="INDEX", region="6402", year=2021)

    assert got == [{
        "indicator": "INDEX", "region": "6402", "year": 2021, "target": 62.0,
        "realisation": 56.0, "achievement_pct": 56.0 / 62.0 * 100, "met": False,
        "met_with_confidence": False, "level": "index",
    }]


def test_lists_are_paginated(world):
    researcher = client_for(Role.RESEARCHER)

    page = researcher.get("/api/v1/estimates/", {"page_size": 5, "page": 2}).json()

    assert page["count"] == 18
    assert len(page["results"]) == 5
    assert page["next"].endswith("page=3&page_size=5")


def test_estimate_list_query_count_does_not_grow_with_rows(world, django_assert_num_queries):
    researcher = client_for(Role.RESEARCHER)
    office = client_for(Role.OFFICE, "6401")

    # token + groups + count + page
    with django_assert_num_queries(4):
        assert len(rows(researcher, "estimates/")) == 18
    # token + groups + assignments + subtree of 6401 (two levels) + count + page
    with django_assert_num_queries(7):
        assert len(rows(office, "estimates/")) == 12


@pytest.mark.parametrize(
    ("path", "queries"),
    [("trends/", 4), ("changes/", 4), ("achievements/", 4), ("reliability/", 4), ("items/", 4),
     ("cfa/", 4), ("proxy-validation/", 4), ("indicators/", 6)],
)
def test_other_lists_have_fixed_query_counts(world, django_assert_num_queries, path, queries):
    researcher = client_for(Role.RESEARCHER)

    with django_assert_num_queries(queries):
        got = rows(researcher, path)
    assert len(got) >= 1


# --- exports ----------------------------------------------------------------------------------


def download(client: APIClient, name: str, **headers: str):
    response = client.get(f"/api/v1/exports/{name}", **headers)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return response, content


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


ESTIMATE_HEADER = [
    "wave", "region", "dimension", "n", "n_eff", "estimate", "se", "ci_low", "ci_high", "df",
    "suppressed", "category",
]


def test_export_csv_streams_with_headers_and_blank_suppressed_rows(world):
    researcher = client_for(Role.RESEARCHER)

    response, content = download(researcher, "estimates.csv")

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (  # the date names the download (issue 17)
        f'attachment; filename="nilai-estimates-{timezone.localdate().isoformat()}.csv"')
    table = csv_rows(content)
    assert table[0][:12] == ESTIMATE_HEADER
    assert len(table) == 1 + 18
    (hidden,) = [r for r in table[1:] if r[10] == "true"]
    assert hidden[:12] == ["2022", "6402", "INDEX", "25", "20.5", "", "", "", "", "40", "true", ""]
    assert str(HIDDEN_ESTIMATE) not in content.decode()


def test_office_export_is_cut_to_its_regions(world):
    office = client_for(Role.OFFICE, "6401")

    for table in ("estimates", "trends", "changes", "achievements"):
        response, content = download(office, f"{table}.csv")
        assert response.status_code == 200
        rows_ = csv_rows(content)
        region_at = rows_[0].index("region")
        assert {r[region_at] for r in rows_[1:]} <= {"6401", "ALL"}, table
        assert "6402" not in {r[region_at] for r in rows_[1:]}
    _, content = download(office, "estimates.csv")
    assert sorted({r[1] for r in csv_rows(content)[1:]}) == ["6401", "ALL"]


@pytest.mark.parametrize("table", ["microdata", "weights"])
def test_office_cannot_download_respondent_level_tables(world, table):
    office = client_for(Role.OFFICE, "6401")

    response, _ = download(office, f"{table}.csv")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("table", ["reliability", "items", "cfa", "proxy_validation", "codebook"])
def test_office_may_download_province_wide_aggregates(world, table):
    office = client_for(Role.OFFICE, "6401")

    response, content = download(office, f"{table}.csv")

    assert response.status_code == 200
    assert len(csv_rows(content)) >= 1


def test_researcher_gets_weights_only_through_an_export_job(world):
    """Respondent-level tables are served by export jobs (tests/test_jobs_api.py)."""
    response, _ = download(client_for(Role.RESEARCHER), "weights.csv")

    assert response.status_code == 400
    assert response.json()["code"] == "export_job_required"


@pytest.mark.parametrize("name", ["nothing.csv", "estimates.json", "estimates.CSV"])
def test_unknown_table_or_format_is_404(world, name):
    response, _ = download(client_for(Role.RESEARCHER), name)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
     ("parquet", "application/vnd.apache.parquet"),
     ("sav", "application/x-spss-sav"),
     ("dta", "application/x-stata-dta")],
)
def test_binary_formats_have_their_content_type_and_hide_suppressed(world, fmt, content_type,
                                                                    tmp_path):
    office = client_for(Role.OFFICE, "64")

    response, content = download(office, f"estimates.{fmt}")

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == (
        f'attachment; filename="nilai-estimates-{timezone.localdate().isoformat()}.{fmt}"')
    path = tmp_path / f"estimates.{fmt}"
    path.write_bytes(content)
    frame = read_table(path, fmt)
    assert len(frame) == 18
    hidden = frame[(frame["region"] == "6402") & (frame["wave"] == 2022)
                   & (frame["dimension"] == "INDEX")]
    assert len(hidden) == 1
    assert hidden[["estimate", "se", "ci_low", "ci_high"]].isna().all(axis=None)
    assert int(hidden["n"].iloc[0]) == 25


def read_table(path, fmt: str):
    import pandas as pd
    import pyreadstat

    if fmt == "xlsx":
        return pd.read_excel(path)
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "sav":
        return pyreadstat.read_sav(str(path))[0]
    return pyreadstat.read_dta(str(path))[0]


def test_superuser_counts_as_admin_and_sees_every_region(world):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("root", password="x")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(admin)}")

    got = rows(client, "achievements/", wave=2021, indicator="INDEX")

    assert [r["region"] for r in got] == ["6401", "6402"]
    assert download(client, "weights.csv")[0].status_code == 400  # through a job only
