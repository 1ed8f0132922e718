"""Programme evaluation (analysis.programmes, METHODS.md section 11).

Reference values: tests/reference/kaltim/expected/programme_effects.csv (METHODS 11 formulas,
computed by hand in Python from expected/estimates.csv; tolerance 1e-6) and
expected/programme_types.csv (metafor 3.8 ``rma(yi, sei, method="FE")`` and
``method="REML"``; tolerances 1e-4, tau^2 1e-3, I^2 1e-2). The reference file writes its ``p``
column as ``np.float64(0.35...)`` (a printing slip upstream); the test reads the number inside.
Hand-made cases cover the exclusion rules on another province's layout (five regencies, other
dimension codes, missing region-waves).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.programmes import EFFECT_COLUMNS, TYPE_COLUMNS, evaluate_programmes, pool_by_type
from tests.analysis import reference

NUMBERS = ("pre_wave", "post_wave", "treated_change", "treated_se", "comparison_change",
           "comparison_se", "n_comparison", "did", "did_se", "did_ci_low", "did_ci_high", "p",
           "mde")


def _programmes() -> pd.DataFrame:
    return pd.read_csv(reference.reference_file("programmes.csv"),
                       dtype={"region": str, "dimension": str, "code": str})


@pytest.fixture(scope="module")
def effects() -> pd.DataFrame:
    return evaluate_programmes(_programmes(), reference.read_estimates(), province_codes={"64"})


def test_effects_match_reference(effects: pd.DataFrame) -> None:
    expected = pd.read_csv(reference.reference_file("expected", "programme_effects.csv"),
                           dtype={"region": str, "p": str, "significant": str},
                           keep_default_na=False, na_values=[""])
    expected["p"] = pd.to_numeric(
        expected["p"].str.replace(r"^np\.float64\((.*)\)$", r"\1", regex=True))
    assert list(effects.columns) == list(EFFECT_COLUMNS)
    assert effects["programme"].tolist() == expected["programme"].tolist()
    for col in NUMBERS:
        ref, got = expected[col].to_numpy(float), effects[col].to_numpy(float)
        assert np.array_equal(np.isnan(ref), np.isnan(got)), col
        ok = ~np.isnan(ref)
        assert np.all(np.abs(ref[ok] - got[ok]) <= 1e-6), col
    for col in ("region", "type", "dimension", "start_year", "end_year", "status"):
        assert effects[col].tolist() == expected[col].tolist(), col
    sig = expected["significant"].map({"true": True, "false": False})
    assert effects["significant"].tolist() == [None if pd.isna(v) else v for v in sig]
    assert set(effects["status"]) == {"ok", "no_pre", "no_post", "no_comparison"}


def test_types_match_metafor(effects: pd.DataFrame) -> None:
    types = pool_by_type(effects, types=set(_programmes()["type"]))
    expected = reference.read_expected("programme_types.csv")
    assert list(types.columns) == list(TYPE_COLUMNS)
    assert types["type"].tolist() == expected["type"].tolist()
    assert types["k"].tolist() == expected["k"].tolist()
    tolerance = {"tau2": 1e-3, "i2": 1e-2}
    for col in TYPE_COLUMNS[2:]:
        ref, got = expected[col].to_numpy(float), types[col].to_numpy(float)
        assert np.array_equal(np.isnan(ref), np.isnan(got)), col
        ok = ~np.isnan(ref)
        assert np.all(np.abs(ref[ok] - got[ok]) <= tolerance.get(col, 1e-4)), col


# ------------------------------------------------------------------ another province, by hand
REGIONS = ["7101", "7102", "7103", "7104", "7105"]


def _world(suppress: set[tuple[str, int]] = frozenset(), missing: set[tuple[str, int]] = frozenset()
           ) -> pd.DataFrame:
    rows = []
    for i, region in enumerate([*REGIONS, "ALL"]):
        for wave in (2020, 2022, 2024):
            for j, dim in enumerate(("P1", "P2", "INDEX")):
                if (region, wave) in missing:
                    continue
                rows.append(dict(wave=wave, region=region, dimension=dim,
                                 estimate=50.0 + i + j + (wave - 2020) * (0.5 + 0.25 * i),
                                 se=1.0 + 0.1 * i, suppressed=(region, wave) in suppress))
    return pd.DataFrame(rows)


def _prog(code: str, region: str, dim: str | None, start: int, end: int,
          kind: str = "dialog") -> dict:
    return dict(code=code, region=region, type=kind, dimension=dim, start_year=start,
                end_year=end)


def test_hand_made_did_formulas() -> None:
    est = _world()
    out = evaluate_programmes(pd.DataFrame([_prog("A", "7101", "P1", 2021, 2021)]), est)
    row = out.iloc[0]
    y = est.set_index(["region", "dimension", "wave"])
    d_t = y.loc[("7101", "P1", 2022), "estimate"] - y.loc[("7101", "P1", 2020), "estimate"]
    others = REGIONS[1:]
    d_c = np.mean([y.loc[(r, "P1", 2022), "estimate"] - y.loc[(r, "P1", 2020), "estimate"]
                   for r in others])
    se_c = np.sqrt(sum(y.loc[(r, "P1", 2022), "se"] ** 2 + y.loc[(r, "P1", 2020), "se"] ** 2
                       for r in others)) / 4
    se_t = np.sqrt(2) * 1.0
    assert row["status"] == "ok" and row["n_comparison"] == 4
    assert row["did"] == pytest.approx(d_t - d_c, abs=1e-12)
    assert row["did_se"] == pytest.approx(np.hypot(se_t, se_c), abs=1e-12)
    assert row["mde"] == pytest.approx(2.80 * row["did_se"], abs=1e-12)


def test_index_programme_excludes_every_region_that_ran_anything() -> None:
    progs = pd.DataFrame([
        _prog("IDX", "7101", None, 2021, 2021),
        _prog("OTHER-DIM", "7102", "P2", 2022, 2022),     # any dimension excludes for INDEX
        _prog("LATER", "7103", "P1", 2023, 2023),          # active after t1 = 2022: no effect
        _prog("PROV", "71", "P1", 2021, 2021, "paskibraka"),  # province: excludes nobody
    ])
    out = evaluate_programmes(progs, _world(), province_codes={"71"}).set_index("programme")
    assert out.loc["IDX", "dimension"] == "INDEX"
    assert out.loc["IDX", "n_comparison"] == 3            # 7103, 7104, 7105


def test_same_dimension_or_index_programmes_exclude_others_do_not() -> None:
    progs = pd.DataFrame([
        _prog("P1-A", "7101", "P1", 2021, 2021),
        _prog("P1-B", "7102", "P1", 2022, 2022),    # same dimension, active in t0+1..t1
        _prog("IDX", "7103", "", 2021, 2021),        # INDEX excludes from every dimension
        _prog("P2", "7104", "P2", 2021, 2021),       # another dimension: stays comparable
    ])
    out = evaluate_programmes(progs, _world()).set_index("programme")
    assert out.loc["P1-A", "n_comparison"] == 2     # 7104, 7105


def test_province_programme_excludes_nobody_and_has_no_comparison() -> None:
    progs = pd.DataFrame([_prog("PROV", "71", "P2", 2021, 2023, "paskibraka"),
                          _prog("R", "7102", "P2", 2021, 2021)])
    out = evaluate_programmes(progs, _world(), province_codes={"71"}).set_index("programme")
    prov = out.loc["PROV"]
    assert prov["status"] == "no_comparison" and prov["n_comparison"] == 0
    assert (prov["pre_wave"], prov["post_wave"]) == (2020, 2024)
    assert np.isfinite(prov["treated_change"]) and np.isnan(prov["did"])
    assert out.loc["R", "n_comparison"] == 4        # the province programme excluded nobody


def test_suppressed_or_missing_post_wave_moves_to_next_published() -> None:
    progs = pd.DataFrame([_prog("A", "7101", "P1", 2021, 2021)])
    out = evaluate_programmes(progs, _world(suppress={("7101", 2022)})).iloc[0]
    assert (out["pre_wave"], out["post_wave"]) == (2020, 2024)
    # a comparison region missing the post wave drops out of C
    out = evaluate_programmes(progs, _world(missing={("7105", 2022)})).iloc[0]
    assert out["n_comparison"] == 3


def test_no_pre_no_post_blank_every_number() -> None:
    progs = pd.DataFrame([_prog("EARLY", "7101", "P1", 2020, 2020),
                          _prog("LATE", "7101", "P1", 2024, 2025)])
    out = evaluate_programmes(progs, _world()).set_index("programme")
    assert out.loc["EARLY", "status"] == "no_pre" and out.loc["LATE", "status"] == "no_post"
    for code in ("EARLY", "LATE"):
        assert out.loc[code, list(NUMBERS)].isna().all()
        assert out.loc[code, "significant"] is None


def test_pool_needs_two_ok_programmes_and_fixed_effect_formula() -> None:
    effects = pd.DataFrame({"type": ["a", "a", "b"], "did": [1.0, 3.0, 2.0],
                            "did_se": [1.0, 2.0, 1.0], "status": ["ok", "ok", "ok"]})
    out = pool_by_type(effects, types={"a", "b", "c"}).set_index("type")
    w = np.array([1.0, 0.25])
    assert out.loc["a", "fe_estimate"] == pytest.approx((1.0 + 0.75) / w.sum())
    assert out.loc["a", "fe_se"] == pytest.approx(1 / np.sqrt(w.sum()))
    assert out.loc["b", "k"] == 1 and np.isnan(out.loc["b", "fe_estimate"])
    assert out.loc["c", "k"] == 0
