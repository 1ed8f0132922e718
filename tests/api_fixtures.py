"""Fixtures shared by the API tests (import them by name into a test module).

World: province 6400 with regencies 6401 and 6402, and district 640101 inside 6401; one
instrument version (scale 1..5) with two dimensions of three items each; an open wave on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from surveys import models as m
from surveys.api import views as api_views
from surveys.services.accounts import token_issue, user_grant_role
from tests import factories as f

ITEM_CODES = ["S1_01", "S1_02", "S1_03", "S2_01", "S2_02", "S2_03"]
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def build_world(n_items_per_dimension: int = 3) -> dict[str, Any]:
    province = f.RegionFactory(code="6400", name="Kalimantan Timur", level=m.RegionLevel.PROVINCE)
    r6401 = f.RegionFactory(code="6401", name="Paser", parent=province)
    r6402 = f.RegionFactory(code="6402", name="Kutai Barat", parent=province)
    district = f.RegionFactory(
        code="640101", name="Batu Sopang", parent=r6401, level=m.RegionLevel.DISTRICT
    )
    instrument = f.InstrumentFactory(code="IINP", title_id="Indeks Nilai", title_en="Value Index")
    version = f.InstrumentVersionFactory(
        instrument=instrument, title_id="Indeks Nilai", title_en="Value Index"
    )
    position = 0
    codes: list[str] = []
    for d in (1, 2):
        dim = f.DimensionFactory(
            version=version, code=f"S{d}", name_id=f"Sila {d}", name_en=f"Principle {d}",
            position=d - 1,
        )
        for i in range(1, n_items_per_dimension + 1):
            code = f"S{d}_{i:02d}"
            f.ItemFactory(
                dimension=dim, version=version, code=code, position=position,
                text_id=f"Pernyataan {code}", text_en=f"Statement {code}",
            )
            codes.append(code)
            position += 1
    wave = f.WaveFactory(version=version, instrument=instrument, year=2025)
    return {
        "province": province, "r6401": r6401, "r6402": r6402, "district": district,
        "instrument": instrument, "version": version, "wave": wave, "codes": codes,
    }


@pytest.fixture
def fresh_throttle_counters() -> Iterator[None]:
    """Throttle counters live in the cache: start and end each test with none (a module uses
    it with ``pytestmark = pytest.mark.usefixtures("fresh_throttle_counters")`` or by name)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db: None) -> Iterator[dict[str, Any]]:
    # the submission endpoint caches regions, waves and tokens per process: ids are reused
    # (SQLite) or renumbered (PostgreSQL) between tests
    api_views.clear_caches()
    yield build_world()
    api_views.clear_caches()


def client_for(username: str, role: str, regions: tuple[str, ...] = ()) -> APIClient:
    user_grant_role(username=username, role=role, region_codes=regions)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(username=username)}")
    return client


@pytest.fixture
def respondent_client(world: dict[str, Any]) -> APIClient:
    return client_for("resp1", "respondent")


@pytest.fixture
def enumerator_client(world: dict[str, Any]) -> APIClient:
    return client_for("enum6401", "enumerator", ("6401",))


def payload(codes: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
    codes = codes if codes is not None else ITEM_CODES
    body: dict[str, Any] = {
        "submission_id": str(uuid.uuid4()),
        "respondent": "R-0001",
        "region": "6401",
        "sex": "P",
        "age_group": "25-34",
        "answers": {code: (i % 5) + 1 for i, code in enumerate(codes)},
    }
    body.update(overrides)
    return body


def responses_url(wave: m.Wave | int) -> str:
    wave_id = wave if isinstance(wave, int) else wave.pk
    return f"/api/v1/waves/{wave_id}/responses/"
