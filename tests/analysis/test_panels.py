"""Panels: retention/attrition and within-person change (analysis.panels).

Reference: tests/reference/panel/expected_panel_change.csv, made by R survey
(``make_panel_reference.R``: ``svyby(~d, ~region, subset(design_2022, member), svymean)``) from
``panel_2021_2022.csv`` (``make_panel_fixture.py``: the reference set's 2021 and 2022 scores and
final 2022 weights). Tolerance: METHODS 9, estimates and SE 1e-6 relative. Retention is checked
on hand-made cases.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.panels import PANEL_CHANGE_COLUMNS, panel_change, retention

PANEL = Path(__file__).resolve().parents[1] / "reference" / "panel"
DIMS = ["INDEX", "S1", "S2", "S3", "S4", "S5"]


def _fixture() -> tuple[pd.DataFrame, pd.DataFrame]:
    x = pd.read_csv(PANEL / "panel_2021_2022.csv",
                    dtype={"respondent": str, "region": str, "stratum": str, "psu": str,
                           "member": str})
    members = x.loc[x["member"] == "true"]
    previous = pd.DataFrame({"respondent": members["respondent"],
                             **{d: members[f"{d}_t0"] for d in DIMS}})
    current = x[["respondent", "region", "stratum", "psu", "weight"]].assign(
        **{d: x[f"{d}_t1"] for d in DIMS})
    return previous, current


def test_panel_change_matches_r_survey() -> None:
    previous, current = _fixture()
    got = panel_change(previous, current, DIMS, wave=2022, previous_wave=2021)
    assert list(got.columns) == list(PANEL_CHANGE_COLUMNS)
    expected = pd.read_csv(PANEL / "expected_panel_change.csv", dtype={"region": str})
    both = expected.merge(got, on=["region", "dimension"], suffixes=("_r", ""),
                          validate="1:1")
    assert len(both) == len(expected) == len(got) == 11 * len(DIMS)
    np.testing.assert_allclose(both["change"], both["change_r"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(both["se"], both["se_r"], rtol=1e-6)
    assert (both["df"] == both["df_r"]).all()
    # members and pairs: about half of each region's 2022 respondents answered in 2021
    assert got.loc[(got["region"] == "ALL") & (got["dimension"] == "INDEX"), "n_pairs"].item() \
        <= 920


def test_panel_change_ignores_non_members_but_keeps_their_psus() -> None:
    previous, current = _fixture()
    # changing a non-member's current score changes nothing
    non_member = ~current["respondent"].isin(set(previous["respondent"]))
    moved = current.copy()
    moved.loc[non_member, "INDEX"] = 0.0
    a = panel_change(previous, current, ["INDEX"], wave=2022, previous_wave=2021)
    b = panel_change(previous, moved, ["INDEX"], wave=2022, previous_wave=2021)
    pd.testing.assert_frame_equal(a, b)
    # dropping the non-members' rows removes PSUs from the design: the SE may change, the
    # estimate may not (domain estimation keeps the whole design)
    c = panel_change(previous, current.loc[~non_member], ["INDEX"], wave=2022,
                     previous_wave=2021)
    np.testing.assert_allclose(a["change"], c["change"], rtol=1e-12)


def _people(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["respondent", "region", "sex", "age_group"])


def test_retention_counts_and_attrition_by_group() -> None:
    previous = _people([
        ("a", "01", "L", "17-24"), ("b", "01", "P", "17-24"), ("c", "01", "P", "45-54"),
        ("d", "02", "L", "45-54"),
    ])
    current = pd.DataFrame({"respondent": ["a", "c", "d", "e", "f"],
                            "region": ["01", "01", "01", "02", "01"]})   # d moved to 01
    ret, att = retention(previous, current, wave=2024, previous_wave=2023)
    r = ret.set_index("region")
    assert r.loc["01", ["n_previous", "reinterviewed", "new_entrants"]].tolist() == [3, 2, 1]
    assert r.loc["01", "retention_pct"] == pytest.approx(200 / 3)
    assert r.loc["02", ["n_previous", "reinterviewed", "new_entrants"]].tolist() == [1, 1, 1]
    assert r.loc["ALL", ["n_previous", "reinterviewed", "new_entrants"]].tolist() == [4, 3, 2]
    assert ret["region"].tolist() == ["01", "02", "ALL"]
    a = att.set_index(["region", "variable", "group"])
    assert a.loc[("01", "sex", "P"), "attrition_pct"] == pytest.approx(50.0)
    assert a.loc[("01", "sex", "L"), "attrition_pct"] == pytest.approx(0.0)
    assert a.loc[("ALL", "age_group", "17-24"), ["n_previous", "reinterviewed"]].tolist() == [2, 1]


def test_retention_refuses_duplicate_respondents() -> None:
    previous = _people([("a", "01", "L", "17-24"), ("a", "01", "L", "17-24")])
    with pytest.raises(ValueError, match="twice"):
        retention(previous, pd.DataFrame({"respondent": ["a"], "region": ["01"]}),
                  wave=2, previous_wave=1)


def test_small_panel_is_suppressed_and_empty_panel_is_blank() -> None:
    previous, current = _fixture()
    few = previous.iloc[:10]
    got = panel_change(few, current, ["INDEX"], wave=2022, previous_wave=2021)
    all_row = got.loc[got["region"] == "ALL"].iloc[0]
    assert 0 < all_row["n_pairs"] <= 10 and bool(all_row["suppressed"])  # NaN scores drop out
    none = panel_change(previous.iloc[:0], current, ["INDEX"], wave=2022, previous_wave=2021)
    assert (none["n_pairs"] == 0).all() and none["change"].isna().all()
