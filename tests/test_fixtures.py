"""Checks of the bundled data in fixtures/ (no database: the files are only parsed).

The fixtures must fit the shared reference data set (same BPS region codes, same item codes,
facets and reverse flags) and the file formats of docs/INTERFACE.md section 1.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REGIONS = FIXTURES / "regions_kaltim.csv"
INSTRUMENT = FIXTURES / "instrument_pancasila_v1.json"
POPULATION = FIXTURES / "population_kaltim_demo.csv"

LEVELS = {"province", "regency", "city", "district", "village"}
FACETS = {"kognitif", "afektif", "praktik"}
AGE_GROUPS = ["17-24", "25-34", "35-44", "45-54", "55+"]
YEARS = [2021, 2022, 2023, 2024, 2025]

# BPS code -> Kemendagri code (Permendagri 72/2019 and later Kepmendagri updates).
KEMENDAGRI = {
    "64": "64",
    "6401": "64.01",
    "6402": "64.07",
    "6403": "64.02",
    "6404": "64.08",
    "6405": "64.03",
    "6409": "64.09",
    "6411": "64.11",
    "6471": "64.71",
    "6472": "64.72",
    "6474": "64.74",
}


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


@pytest.fixture(scope="module")
def regions() -> list[dict[str, str]]:
    header, rows = read_csv(REGIONS)
    assert header == ["code", "name", "level", "parent", "code_kemendagri"]
    return rows


@pytest.fixture(scope="module")
def instrument() -> dict:
    return json.loads(INSTRUMENT.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reference_instrument(kaltim_dir: Path) -> dict:
    return json.loads((kaltim_dir / "instrument.json").read_text(encoding="utf-8"))


def items_of(doc: dict) -> list[dict]:
    return [item for dim in doc["dimensions"] for item in dim["items"]]


# --- regions -------------------------------------------------------------------------------


def test_regions_shape(regions: list[dict[str, str]]) -> None:
    assert len(regions) == 11
    codes = [r["code"] for r in regions]
    assert len(set(codes)) == len(codes)
    for r in regions:
        assert r["name"].strip() == r["name"] and r["name"]
        assert r["level"] in LEVELS
    province = [r for r in regions if r["level"] == "province"]
    assert [(p["code"], p["parent"]) for p in province] == [("64", "")]
    for r in regions:
        if r["level"] != "province":
            assert r["parent"] == "64"
            assert r["level"] == ("city" if r["code"][2] == "7" else "regency")
            assert r["name"].startswith("Kota ") == (r["level"] == "city")


def test_region_codes_match_reference(regions: list[dict[str, str]], kaltim_dir: Path) -> None:
    _, reference = read_csv(kaltim_dir / "regions.csv")
    assert {r["code"] for r in regions} == {r["code"] for r in reference}
    ref_parent = {r["code"]: r["parent"] for r in reference}
    assert {r["code"]: r["parent"] for r in regions} == ref_parent


def test_kemendagri_codes(regions: list[dict[str, str]]) -> None:
    got = {r["code"]: r["code_kemendagri"] for r in regions}
    assert got == KEMENDAGRI
    kemendagri = list(got.values())
    assert len(set(kemendagri)) == len(kemendagri)
    for code, kcode in got.items():
        assert re.fullmatch(r"\d{2}(\.\d{2})?", kcode)
        assert kcode[:2] == code[:2]
    differing = {c for c, k in got.items() if k.replace(".", "") != c}
    assert differing == {"6402", "6403", "6404", "6405"}


# --- instrument ----------------------------------------------------------------------------


def test_instrument_schema(instrument: dict) -> None:
    assert set(instrument) == {
        "code",
        "version",
        "title",
        "scale",
        "min_valid_share",
        "dimensions",
    }
    assert instrument["code"] == "IINP"
    assert instrument["version"] == 1
    assert instrument["title"] == {
        "id": "Indeks Internalisasi Nilai Pancasila",
        "en": "Pancasila Value Internalization Index",
    }
    scale = instrument["scale"]
    assert (scale["min"], scale["max"]) == (1, 5)
    for lang in ("id", "en"):
        labels = scale["labels"][lang]
        assert len(labels) == 5 and len(set(labels)) == 5
        assert all(isinstance(x, str) and x.strip() for x in labels)
    assert math.isclose(instrument["min_valid_share"], 2 / 3, abs_tol=1e-9)
    dims = instrument["dimensions"]
    assert [d["code"] for d in dims] == ["S1", "S2", "S3", "S4", "S5"]
    for dim in dims:
        assert set(dim) == {"code", "name", "weight", "items"}
        assert dim["weight"] > 0
        for item in dim["items"]:
            assert set(item) == {"code", "text", "reverse", "facet"}
            assert item["code"].startswith(dim["code"] + "_")
            assert isinstance(item["reverse"], bool)
            assert item["facet"] in FACETS
    assert math.isclose(sum(d["weight"] for d in dims), 1.0, abs_tol=1e-9)


def test_instrument_matches_reference(instrument: dict, reference_instrument: dict) -> None:
    ours = [(i["code"], i["facet"], i["reverse"]) for i in items_of(instrument)]
    ref = [(i["code"], i["facet"], i["reverse"]) for i in items_of(reference_instrument)]
    assert len(ours) == 30
    assert len({code for code, _, _ in ours}) == 30
    assert ours == ref
    assert [d["code"] for d in instrument["dimensions"]] == [
        d["code"] for d in reference_instrument["dimensions"]
    ]
    assert instrument["scale"]["min"] == reference_instrument["scale"]["min"]
    assert instrument["scale"]["max"] == reference_instrument["scale"]["max"]


def test_instrument_facets_per_dimension(instrument: dict) -> None:
    for dim in instrument["dimensions"]:
        facets = [i["facet"] for i in dim["items"]]
        assert len(facets) == 6
        assert all(facets.count(f) == 2 for f in FACETS)
        assert sum(i["reverse"] for i in dim["items"]) == 1


def test_instrument_texts_are_real_and_bilingual(instrument: dict) -> None:
    texts = [instrument["title"]]
    texts += [d["name"] for d in instrument["dimensions"]]
    texts += [i["text"] for i in items_of(instrument)]
    for text in texts:
        assert set(text) == {"id", "en"}
        for lang in ("id", "en"):
            assert isinstance(text[lang], str) and len(text[lang].strip()) >= 10
    for item in items_of(instrument):
        for value in item["text"].values():
            assert item["code"] not in value
            assert not re.match(r"(Pernyataan|Statement)\b", value)
    ids = [i["text"]["id"] for i in items_of(instrument)]
    ens = [i["text"]["en"] for i in items_of(instrument)]
    assert len(set(ids)) == 30 and len(set(ens)) == 30
    for item in items_of(instrument):
        if item["facet"] == "praktik":
            assert item["text"]["id"].startswith("Dalam 12 bulan terakhir, saya ")
            assert item["text"]["en"].startswith("In the past 12 months, I ")
        else:
            assert item["text"]["id"].startswith("Saya ")
            assert item["text"]["en"].startswith("I ")


# --- population ----------------------------------------------------------------------------


def test_population(regions: list[dict[str, str]]) -> None:
    header, rows = read_csv(POPULATION)
    assert header == ["year", "region", "sex", "age_group", "population"]
    assert len(rows) == 5 * 10 * 2 * 5
    local = {r["code"] for r in regions if r["level"] in {"regency", "city"}}
    keys = set()
    for r in rows:
        assert re.fullmatch(r"[1-9]\d*", r["population"]), r
        assert int(r["year"]) in YEARS
        assert r["region"] in local
        assert r["sex"] in {"L", "P"}
        assert r["age_group"] in AGE_GROUPS
        keys.add((r["year"], r["region"], r["sex"], r["age_group"]))
    assert len(keys) == len(rows)


def test_population_plausible() -> None:
    _, rows = read_csv(POPULATION)
    total: dict[tuple[str, str], int] = {}
    male: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (r["year"], r["region"])
        total[key] = total.get(key, 0) + int(r["population"])
        if r["sex"] == "L":
            male[key] = male.get(key, 0) + int(r["population"])
    for (year, region), n in total.items():
        assert 20_000 < n < 700_000
        assert 0.5 < male[(year, region)] / n < 0.56
        if year != "2021":
            growth = n / total[(str(int(year) - 1), region)] - 1
            assert 0.005 < growth < 0.035
    assert max(total, key=total.get)[1] == "6472"  # Samarinda is the largest
    assert min(total, key=total.get)[1] == "6411"  # Mahakam Ulu is the smallest
