"""Longitudinal integrity (issue 12): panels and measurement invariance in the index run.

- the run's vectorised panel change equals R ``survey`` (tests/reference/panel, made by
  make_panel_reference.R) and ``analysis.panels.panel_change`` on the same data;
- invariance fitted on the waves' moments equals the fit on raw rows (and lavaan's
  HolzingerSwineford1939 verdict, metric);
- `compute_indices` stores retention, panel changes, moments and invariance, keeps a skipped
  wave's rows, and the tables are exported and served.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rest_framework.test import APIClient

from analysis import panels, validity
from surveys import models as m
from surveys.services import demo, exports
from surveys.services import longitudinal as lg
from surveys.services.compute import compute_indices
from tests.results_world import build_world, make_user, token_for

REF = Path(__file__).parent / "reference"
PANEL = REF / "panel"
DIMS = ["S1", "S2", "S3", "S4", "S5", "INDEX"]
YEARS = (2021, 2022, 2023)


def _reference_panel() -> tuple[lg.PanelWave, lg.PanelWave, pd.DataFrame, pd.DataFrame]:
    x = pd.read_csv(PANEL / "panel_2021_2022.csv", dtype={"region": str, "stratum": str,
                                                            "psu": str})
    keys = {k: i for i, k in enumerate(x["respondent"])}
    member = x["member"].astype(bool).to_numpy()
    ids = x["respondent"].map(keys).to_numpy(np.int64)
    current = x[["respondent", "region", "stratum", "psu", "weight"]].assign(
        **{d: x[f"{d}_t1"] for d in DIMS})
    previous = x.loc[member, ["respondent"]].assign(**{d: x.loc[member, f"{d}_t0"]
                                                       for d in DIMS})
    blank = np.full(len(x), "", dtype=object)
    cur = lg.PanelWave(wave=m.Wave(year=2022), respondent=ids, region=x["region"].to_numpy(),
                       sex=blank, age_group=blank, stratum=x["stratum"].to_numpy(),
                       psu=x["psu"].to_numpy(), codes=tuple(DIMS),
                       scores=x[[f"{d}_t1" for d in DIMS]].to_numpy(float),
                       weights=x["weight"].to_numpy(float))
    prev = lg.PanelWave(wave=m.Wave(year=2021), respondent=ids[member],
                        region=x["region"].to_numpy()[member], sex=blank[member],
                        age_group=blank[member], stratum=x["stratum"].to_numpy()[member],
                        psu=x["psu"].to_numpy()[member], codes=tuple(DIMS),
                        scores=x.loc[member, [f"{d}_t0" for d in DIMS]].to_numpy(float))
    return prev, cur, previous, current


def test_run_panel_change_matches_r_survey_and_the_analysis_function() -> None:
    prev, cur, previous, current = _reference_panel()
    got = lg.panel_change_table(prev, cur)
    expected = pd.read_csv(PANEL / "expected_panel_change.csv", dtype={"region": str})
    merged = expected.merge(got, on=["region", "dimension"], suffixes=("_r", ""))
    assert len(merged) == len(expected) > 0
    np.testing.assert_allclose(merged["change_r"], merged["change"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(merged["se_r"], merged["se"], rtol=1e-7)
    assert (merged["df_r"] == merged["df"]).all()
    slow = panels.panel_change(previous, current, DIMS, wave=2022, previous_wave=2021)
    both = slow.merge(got, on=["region", "dimension"], suffixes=("_a", ""))
    assert len(both) == len(slow) == len(got)
    assert (both["n_pairs_a"] == both["n_pairs"]).all()
    assert (both["suppressed_a"] == both["suppressed"]).all()
    for col in ("change", "se", "ci_low", "ci_high", "p"):
        np.testing.assert_allclose(both[f"{col}_a"], both[col], rtol=1e-9, atol=1e-12)


def test_small_panel_is_suppressed_without_a_verdict() -> None:
    prev, cur, _, _ = _reference_panel()
    keep = np.isin(prev.respondent, prev.respondent[:20])  # 20 pairs: suppressed everywhere
    few = lg.PanelWave(**{**prev.__dict__, **{k: getattr(prev, k)[keep] for k in (
        "respondent", "region", "sex", "age_group", "stratum", "psu", "scores")}})
    got = lg.panel_change_table(few, cur)
    assert got["suppressed"].all()
    assert got["significant"].isna().all()
    assert (got.loc[got["region"] == "ALL", "n_pairs"] <= 20).all()


def test_invariance_on_moments_equals_the_fit_on_rows() -> None:
    hs = pd.read_csv(REF / "holzinger" / "holzinger1939.csv")
    items = [f"x{i}" for i in range(1, 10)]
    factor_of_item = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    raw = validity.measurement_invariance(hs[items].to_numpy(float), factor_of_item,
                                          hs["school"].to_numpy())
    groups, covs, means, sizes = [], [], [], []
    for school, part in sorted(hs.groupby("school")):
        n, mean, cov = lg.wave_moments(part[items].to_numpy(float))
        groups.append(school)
        covs.append(cov)
        means.append(mean)
        sizes.append(n)
    fast = validity.measurement_invariance_from_moments(groups, covs, means, sizes,
                                                        factor_of_item)
    assert fast.level == raw.level == "metric"
    for a, b in zip(raw.steps, fast.steps, strict=True):
        assert a.level == b.level and a.df == b.df and a.rejected == b.rejected
        assert b.chisq == pytest.approx(a.chisq, rel=1e-9)
        assert b.srmr == pytest.approx(a.srmr, rel=1e-9)
    with pytest.raises(validity.InvarianceError):
        validity.measurement_invariance_from_moments(groups[:1], covs[:1], means[:1],
                                                     sizes[:1], factor_of_item)


@pytest.fixture
def survey(settings) -> None:
    settings.NILAI_AUTO_RECOMPUTE = False
    demo.load_bundled()
    demo.demo_generate(respondents=3000, seed=7, years=YEARS)


@pytest.mark.django_db
def test_run_stores_retention_panel_changes_and_invariance(survey: None) -> None:
    run = compute_indices()
    assert run.status == m.RunStatus.SUCCEEDED
    assert {"panels", "invariance", "2022/moments", "2022/panel"} <= set(run.timings)
    assert m.WaveMoments.objects.count() == len(YEARS)
    # retention: the demo keeps about half of each region's respondents
    overall = m.RetentionResult.objects.filter(region_code="ALL", variable="all")
    assert sorted(overall.values_list("wave__year", flat=True)) == [2022, 2023]
    for row in overall:
        assert row.previous_wave == row.wave.year - 1
        assert 35 <= row.retention_pct <= 65
        assert row.attrition_pct == pytest.approx(100 - row.retention_pct)
        assert row.new_entrants > 0
    # the counts agree with the stored responses
    r21 = set(m.Response.objects.filter(wave__year=2021).values_list("respondent_id",
                                                                     flat=True))
    r22 = set(m.Response.objects.filter(wave__year=2022).values_list("respondent_id",
                                                                     flat=True))
    row = overall.get(wave__year=2022)
    assert (row.n_previous, row.reinterviewed, row.new_entrants) == (
        len(r21), len(r21 & r22), len(r22 - r21))
    by_sex = m.RetentionResult.objects.filter(wave__year=2022, region_code="ALL",
                                              variable="sex")
    assert sum(r.n_previous for r in by_sex) == row.n_previous
    # panel changes: every region and ALL x S1..S5 + INDEX, the cross-sectional change beside
    changes = m.PanelChangeResult.objects.filter(wave__year=2023)
    assert changes.count() == 11 * 6
    index_all = changes.get(region_code="ALL", dimension="INDEX")
    assert index_all.n_pairs > 300 and not index_all.suppressed
    assert index_all.se > 0 and index_all.ci_low < index_all.change < index_all.ci_high
    cross = m.ChangeResult.objects.get(region_code="ALL", dimension="INDEX", from_wave=2022,
                                       to_wave=2023)
    assert index_all.cross_delta == pytest.approx(cross.delta)
    assert index_all.cross_se == pytest.approx(cross.se)
    # invariance of the version across its three waves, and the verdict beside the changes
    inv = list(m.InvarianceResult.objects.order_by("id"))
    assert [r.level for r in inv] == ["configural", "metric", "scalar"]
    assert inv[0].waves == "2021,2022,2023" and inv[0].df < inv[1].df < inv[2].df
    assert len({r.comparability for r in inv}) == 1
    assert index_all.comparability == inv[0].comparability
    assert run.parameters["rows"]["invariance"] == 3


@pytest.mark.django_db
def test_a_run_of_one_wave_keeps_the_other_waves_rows(survey: None) -> None:
    first = compute_indices()
    before = {y: m.PanelChangeResult.objects.filter(wave__year=y).count() for y in (2022, 2023)}
    second = compute_indices(years=[2023])
    assert m.PanelChangeResult.objects.filter(wave__year=2022, run=first).count() \
        == before[2022]
    assert m.PanelChangeResult.objects.filter(wave__year=2023, run=second).count() \
        == before[2023]
    # 2022 (not in the run) was read again as the previous wave; invariance used its stored
    # moments
    assert m.InvarianceResult.objects.filter(run=second).count() == 3
    assert m.WaveMoments.objects.filter(run=first).count() == 2
    # a skipped wave (no population margins) keeps its panel rows
    m.PopulationMargin.objects.filter(year=2023).delete()
    third = compute_indices(years=[2022, 2023])
    assert third.parameters["skipped_waves"] == ["IINP 2023"]
    assert m.PanelChangeResult.objects.filter(wave__year=2023, run=second).count() \
        == before[2023]
    assert m.RetentionResult.objects.filter(wave__year=2022, run=third).exists()


@pytest.mark.django_db
def test_longitudinal_tables_are_exported_and_served_in_scope(settings) -> None:
    build_world()
    header = next(csv.reader(io.StringIO(
        b"".join(exports.iter_export(table="invariance", fmt="csv")).decode())))
    assert header[:14] == ["instrument", "version", "level", "n", "chisq", "df", "cfi", "tli",
                           "rmsea", "srmr", "delta_cfi", "delta_rmsea", "delta_srmr",
                           "rejected"]
    office = APIClient()
    office.credentials(HTTP_AUTHORIZATION=f"Token {token_for(make_user('o', 'office', '6401'))}")
    rows = office.get("/api/v1/panel-changes/", {"page_size": 100}).json()["results"]
    assert {r["region"] for r in rows} == {"ALL", "6401"}
    hidden = next(r for r in rows if r["suppressed"])
    assert hidden["change"] is None and hidden["se"] is None and hidden["n_pairs"] == 12
    assert {r["comparability"] for r in rows} == {"partial"}
    ret = office.get("/api/v1/retention/", {"variable": "sex"}).json()["results"]
    assert ret and {r["variable"] for r in ret} == {"sex"}
    assert {r["region"] for r in ret} <= {"ALL", "6401"}
    inv = office.get("/api/v1/invariance/").json()["results"]
    assert [r["level"] for r in inv] == ["configural", "metric", "scalar"]
    assert office.get("/api/v1/retention/", {"variable": "kota"}).status_code == 400


@pytest.mark.django_db
def test_dashboard_shows_the_panel_and_the_comparability_verdict() -> None:
    from django.test import Client

    build_world()
    web = Client()
    web.force_login(make_user("o2", "office", "6401"))
    page = web.get("/dashboard/", {"region": "6401"}).content.decode()
    assert 'id="comparability"' in page and 'data-comparability="partial"' in page
    assert "bandingkan hubungan antar-dimensi, bukan rata-rata" in page
    assert 'data-wave="2022"' in page and "50,0" in page
    # the suppressed 2023 panel change (S1 is not on the card; INDEX is published) and the
    # English page
    english = web.get("/dashboard/", {"region": "6401", "lang": "en"}).content.decode()
    assert "compare relations, not means" in english
