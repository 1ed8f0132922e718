"""Issue 16 (High 2): no CSV export carries a live spreadsheet formula.

A respondent key chosen through the API and indicator codes from `load_indicators` are
written with a leading quote in weights.csv, achievements.csv and proxy_validation.csv;
negative numbers stay numbers. XLSX keeps the text as typed text (no formula cell).
"""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest

from surveys import models as m
from surveys.selectors.weights import pack
from surveys.services import exports
from tests import factories as f
from tests.results_world import build_world

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://x","y")'


@pytest.fixture
def hostile():
    world = build_world()
    wave = world.waves[2022]
    respondent = f.RespondentFactory(panel_key=HYPERLINK)
    response = f.ResponseFactory(wave=wave, respondent=respondent,
                                 region=m.Region.objects.get(code="6401"))
    ids, weights = pack(np.array([response.pk]), np.array([1.75]))
    m.WaveWeights.objects.create(run=world.run, wave=wave, n=1, response_ids=ids,
                                 final_weights=weights)
    formula = f.IndicatorFactory(code="=1+1", name_id="Formula", level=m.IndicatorLevel.OUTCOME)
    minus = f.IndicatorFactory(code="-2+3", name_id="Minus", level=m.IndicatorLevel.OUTCOME)
    m.AchievementResult.objects.create(
        run=world.run, indicator=formula, region_code="6401", year=2022, target=-1.5,
        realisation=-2.25, achievement_pct=-150.0, met=False, met_with_confidence=None)
    m.AchievementResult.objects.create(
        run=world.run, indicator=minus, region_code="6401", year=2022, target=2.0,
        realisation=1.0, achievement_pct=50.0, met=False, met_with_confidence=None)
    m.ProxyValidationResult.objects.create(
        run=world.run, indicator=minus, n_pairs=12, spearman_rho=-0.61, spearman_p=0.03,
        pearson_r=-0.5, pearson_p=0.04, pearson_ci_low=-0.8, pearson_ci_high=-0.1,
        sign_ok=True, accepted=True)
    return world


def _csv(table: str) -> list[dict[str, str]]:
    data = b"".join(exports.iter_export(table=table, fmt="csv")).decode()
    return list(csv.DictReader(io.StringIO(data)))


def test_respondent_key_in_weights_csv_is_neutralised(hostile):
    rows = _csv("weights")

    assert [r["respondent"] for r in rows] == ["'" + HYPERLINK]
    assert rows[0]["final_weight"] == "1.75"


def test_indicator_codes_in_achievements_csv_are_neutralised_and_negatives_stay_numbers(hostile):
    rows = {r["indicator"]: r for r in _csv("achievements")}

    assert {"'=1+1", "'-2+3"} <= set(rows)
    assert "=1+1" not in rows and "-2+3" not in rows
    assert float(rows["'=1+1"]["realisation"]) == -2.25
    assert rows["'=1+1"]["target"] == "-1.5"
    assert rows["'=1+1"]["achievement_pct"] == "-150"


def test_indicator_code_in_proxy_validation_csv_is_neutralised(hostile):
    rows = {r["indicator"]: r for r in _csv("proxy_validation")}

    assert "'-2+3" in rows
    assert rows["'-2+3"]["spearman_rho"] == "-0.61"
    assert rows["'-2+3"]["pearson_ci_low"] == "-0.8"


def test_xlsx_stores_the_code_as_text_not_as_a_formula(hostile):
    data = b"".join(exports.iter_export(table="achievements", fmt="xlsx"))
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        xml = "".join(book.read(n).decode() for n in book.namelist()
                      if n.startswith("xl/worksheets/"))
        shared = "".join(book.read(n).decode() for n in book.namelist()
                         if n == "xl/sharedStrings.xml")

    assert "<f>" not in xml and "<f " not in xml  # no formula cell anywhere
    assert "=1+1" in xml + shared  # the value itself is kept as typed text
