"""`/api/v1/programmes/`: every reader sees every programme; offices write only their own
region's (and below); researchers, enumerators and respondents never write."""

from __future__ import annotations

from typing import Any

import pytest

from surveys.models import Programme
from tests.api_fixtures import client_for, world  # noqa: F401

URL = "/api/v1/programmes/"


def _body(**overrides: Any) -> dict[str, Any]:
    body = {"code": "PSR-DLG-25", "region": "6401", "type": "dialog", "dimension": "S1",
            "start_year": 2025, "end_year": 2025, "name_id": "Dialog warga",
            "name_en": "Citizen dialogue", "budget": 150000000, "participants": 300,
            "rpjmd_code": "3.01.02"}
    body.update(overrides)
    return body


def test_office_creates_own_region_programme_and_everyone_reads_it(world) -> None:  # noqa: F811
    office = client_for("kantor6401", "office", ("6401",))
    made = office.post(URL, _body(), format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["region"] == "6401" and made.json()["budget"] == 150000000
    stored = Programme.objects.get(code="PSR-DLG-25")
    assert stored.created_by.username == "kantor6401"
    other_office = client_for("kantor6402", "office", ("6402",))
    researcher = client_for("peneliti", "researcher")
    for reader in (other_office, researcher, office):
        listed = reader.get(URL)
        assert listed.status_code == 200
        assert [p["code"] for p in listed.json()["results"]] == ["PSR-DLG-25"]
    assert researcher.get(f"{URL}PSR-DLG-25/").json()["dimension"] == "S1"


def test_office_cannot_write_another_region(world) -> None:  # noqa: F811
    office = client_for("kantor6402", "office", ("6402",))
    assert office.post(URL, _body(), format="json").status_code == 403
    Programme.objects.create(code="P1", region=world["r6401"], type="dialog", start_year=2024,
                             end_year=2024, name_id="x")
    assert office.patch(f"{URL}P1/", {"participants": 5}, format="json").status_code == 403
    # nor move its own programme into another region
    own = client_for("kantor6401", "office", ("6401",))
    assert own.patch(f"{URL}P1/", {"region": "6402"}, format="json").status_code == 403
    assert Programme.objects.get(code="P1").region == world["r6401"]


def test_duplicate_code_and_foreign_region_are_said_in_the_request_language(
        world) -> None:  # noqa: F811
    office = client_for("kantor6401", "office", ("6401",))
    assert office.post(URL, _body(), format="json").status_code == 201
    again = office.post(URL, _body(), format="json")
    assert again.status_code == 400
    assert again.json()["errors"]["code"] == ["Kode program ini sudah ada."]
    again_en = office.post(URL, _body(), format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert again_en.json()["errors"]["code"] == ["This programme code already exists."]
    other = client_for("kantor6402", "office", ("6402",))
    refused = other.post(URL, _body(code="Y-1"), format="json")
    assert refused.status_code == 403
    assert "Program ini milik wilayah lain." in str(refused.json())
    refused_en = other.post(URL, _body(code="Y-1"), format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert "This programme belongs to another region." in str(refused_en.json())


def test_province_office_writes_below_it_and_admin_anywhere(world) -> None:  # noqa: F811
    province = client_for("kantorprov", "office", ("6400",))
    assert province.post(URL, _body(), format="json").status_code == 201
    admin = client_for("admin1", "admin")
    assert admin.post(URL, _body(code="X-2", region="6402"), format="json").status_code == 201


@pytest.mark.parametrize("role,regions", [("researcher", ()), ("enumerator", ("6401",)),
                                          ("respondent", ())])
def test_non_office_roles_cannot_write(world, role: str, regions) -> None:  # noqa: F811
    client = client_for(f"u-{role}", role, regions)
    expected_read = 200 if role == "researcher" else 403
    assert client.get(URL).status_code == expected_read
    assert client.post(URL, _body(), format="json").status_code == 403


def test_anonymous_is_refused(world) -> None:  # noqa: F811
    from rest_framework.test import APIClient
    assert APIClient().get(URL).status_code == 401


def test_invalid_body_gets_per_field_messages(world) -> None:  # noqa: F811
    office = client_for("kantor6401", "office", ("6401",))
    bad = office.post(URL, _body(code="=1+1", type="Dialog Warga", start_year="2025",
                                 end_year=2020, dimension="S9", name_id="@SUM(A1)",
                                 budget=-1, colour="red"), format="json",
                      HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 400
    errors = bad.json()["errors"]
    assert set(errors) >= {"code", "type", "start_year", "dimension", "name_id", "budget",
                           "colour"}
    assert "must be a JSON integer" in errors["start_year"][0]
    assert not Programme.objects.exists()


def test_patch_checks_year_order_against_stored_values(world) -> None:  # noqa: F811
    office = client_for("kantor6401", "office", ("6401",))
    office.post(URL, _body(start_year=2024, end_year=2025), format="json")
    res = office.patch(f"{URL}PSR-DLG-25/", {"end_year": 2023}, format="json")
    assert res.status_code == 400 and "end_year" in res.json()["errors"]
    ok = office.patch(f"{URL}PSR-DLG-25/", {"end_year": 2026, "dimension": ""}, format="json")
    assert ok.status_code == 200 and ok.json()["dimension"] == "INDEX"
    assert office.put(f"{URL}PSR-DLG-25/", _body(), format="json").status_code == 405
    duplicate = office.post(URL, _body(), format="json")
    assert duplicate.status_code == 400 and "code" in duplicate.json()["errors"]


def test_filters(world) -> None:  # noqa: F811
    admin = client_for("admin1", "admin")
    admin.post(URL, _body(), format="json")
    admin.post(URL, _body(code="B", region="6402", type="festival", dimension=""),
               format="json")
    codes = lambda q: [p["code"] for p in admin.get(URL + q).json()["results"]]  # noqa: E731
    assert codes("?region=6402") == ["B"]
    assert codes("?type=dialog") == ["PSR-DLG-25"]
    assert codes("?dimension=INDEX") == ["B"]
