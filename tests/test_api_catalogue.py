"""Catalogue endpoints: regions, instruments (in the Accept-Language language), waves."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from surveys import models as m
from tests import api_fixtures as fx
from tests import factories as f
from tests.api_fixtures import client_for

world = fx.world

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def client(world):
    return client_for("reader", "researcher")


def test_catalogue_needs_a_token(world):
    for url in ("/api/v1/regions/", "/api/v1/instruments/", "/api/v1/waves/"):
        r = APIClient().get(url)
        assert r.status_code == 401
        assert set(r.json()) == {"detail", "errors"}


def test_regions_are_paginated_and_filtered_by_level_and_parent(client):
    r = client.get("/api/v1/regions/")
    assert r.status_code == 200
    data = r.json()
    assert data["count"] == 4
    assert [row["code"] for row in data["results"]] == ["6400", "6401", "640101", "6402"]
    assert data["results"][1] == {
        "code": "6401", "code_kemendagri": "", "name": "Paser", "level": "regency",
        "parent": "6400",
    }
    assert data["results"][0]["parent"] is None
    r = client.get("/api/v1/regions/", {"level": "regency"})
    assert [row["code"] for row in r.json()["results"]] == ["6401", "6402"]
    r = client.get("/api/v1/regions/", {"parent": "6401"})
    assert [row["code"] for row in r.json()["results"]] == ["640101"]
    r = client.get("/api/v1/regions/", {"page_size": 2, "page": 2})
    assert r.json()["count"] == 4
    assert [row["code"] for row in r.json()["results"]] == ["640101", "6402"]
    assert r.json()["next"] is None and r.json()["previous"] is not None


def test_region_filter_errors_are_400(client):
    r = client.get("/api/v1/regions/", {"level": "planet"}, **EN)
    assert r.status_code == 400
    assert r.json() == {
        "detail": "Invalid input.", "errors": {"level": ['"planet" is not a valid choice.']}
    }


def test_region_detail_by_code(client):
    r = client.get("/api/v1/regions/640101/")
    assert r.status_code == 200
    assert r.json()["parent"] == "6401"
    assert client.get("/api/v1/regions/0000/").status_code == 404


def test_region_list_has_no_n_plus_one(client):
    for i in range(20):
        f.RegionFactory(code=f"6401{i + 10:02d}", parent=m.Region.objects.get(code="6401"),
                        level=m.RegionLevel.DISTRICT)
    with CaptureQueriesContext(connection) as ctx:
        r = client.get("/api/v1/regions/")
    assert r.json()["count"] == 24
    # token+user, roles are not needed, count, page
    assert len(ctx.captured_queries) == 3


def test_instruments_list_and_detail_in_indonesian_by_default(client):
    r = client.get("/api/v1/instruments/")
    assert r.json()["results"] == [{"code": "IINP", "title": "Indeks Nilai", "latest_version": 1}]
    r = client.get("/api/v1/instruments/IINP/")
    assert r.status_code == 200
    data = r.json()
    assert data["code"] == "IINP" and data["version"] == 1 and data["title"] == "Indeks Nilai"
    assert data["scale"] == {
        "min": 1, "max": 5,
        "labels": ["Sangat tidak setuju", "Tidak setuju", "Netral", "Setuju", "Sangat setuju"],
    }
    assert [d["code"] for d in data["dimensions"]] == ["S1", "S2"]
    assert data["dimensions"][0]["name"] == "Sila 1"
    assert data["dimensions"][0]["items"][0] == {
        "code": "S1_01", "text": "Pernyataan S1_01", "reverse": False, "facet": "kognitif",
        "position": 0,
    }
    assert [i["code"] for d in data["dimensions"] for i in d["items"]] == [
        "S1_01", "S1_02", "S1_03", "S2_01", "S2_02", "S2_03"
    ]


def test_instrument_detail_in_english(client):
    data = client.get("/api/v1/instruments/IINP/", **EN).json()
    assert data["title"] == "Value Index"
    assert data["scale"]["labels"][0] == "Strongly disagree"
    assert data["dimensions"][1]["name"] == "Principle 2"
    assert data["dimensions"][1]["items"][2]["text"] == "Statement S2_03"
    assert client.get("/api/v1/instruments/", **EN).json()["results"][0]["title"] == "Value Index"


def test_instrument_detail_query_count_does_not_grow_with_items(client, world):
    with CaptureQueriesContext(connection) as ctx:
        client.get("/api/v1/instruments/IINP/")
    before = len(ctx.captured_queries)
    dim = world["version"].dimensions.get(code="S2")
    for i in range(10):
        f.ItemFactory(dimension=dim, version=world["version"], code=f"S2_9{i}", position=50 + i)
    with CaptureQueriesContext(connection) as ctx:
        data = client.get("/api/v1/instruments/IINP/").json()
    assert len(ctx.captured_queries) == before
    assert len(data["dimensions"][1]["items"]) == 13


def test_instrument_version_selection(client, world):
    v2 = f.InstrumentVersionFactory(instrument=world["instrument"], version=2, title_id="Versi 2")
    assert client.get("/api/v1/instruments/IINP/").json()["version"] == 2
    assert client.get("/api/v1/instruments/IINP/", {"version": 1}).json()["version"] == 1
    assert client.get("/api/v1/instruments/IINP/", {"version": 7}).status_code == 404
    assert client.get("/api/v1/instruments/NOPE/").status_code == 404
    assert client.get("/api/v1/instruments/").json()["results"][0]["latest_version"] == v2.version


def test_waves_list_and_filters(client, world):
    closed = f.WaveFactory(
        version=world["version"], instrument=world["instrument"], year=2024,
        status=m.WaveStatus.CLOSED,
    )
    r = client.get("/api/v1/waves/")
    assert r.json()["results"] == [
        {"id": closed.pk, "instrument": "IINP", "version": 1, "year": 2024, "status": "closed"},
        {"id": world["wave"].pk, "instrument": "IINP", "version": 1, "year": 2025,
         "status": "open"},
    ]
    assert [w["year"] for w in client.get("/api/v1/waves/", {"status": "open"}).json()[
        "results"]] == [2025]
    assert [w["year"] for w in client.get("/api/v1/waves/", {"year": 2024}).json()[
        "results"]] == [2024]
    assert client.get("/api/v1/waves/", {"instrument": "OTHER"}).json()["count"] == 0
    assert client.get("/api/v1/waves/", {"year": "abc"}).status_code == 400
    assert client.get(f"/api/v1/waves/{closed.pk}/").json()["status"] == "closed"


def test_every_role_can_read_the_catalogue(world):
    for role, regions in [("respondent", ()), ("enumerator", ("6401",)), ("office", ("6401",)),
                          ("admin", ())]:
        client = client_for(f"u-{role}", role, regions)
        assert client.get("/api/v1/waves/").status_code == 200
