"""The pure k-anonymity planner (datafiles/kanon.py), without a database."""

from __future__ import annotations

import pytest

from datafiles import kanon


def test_cells_that_meet_k_are_kept_as_they_are():
    plan = kanon.plan([(2023, "6401", "L", "17-24", 5, 5.0), (2023, "6401", "P", "17-24", 6, 6.0)],
                      k=5)

    assert plan.level == {(2023, "6401"): 0}
    assert plan.suppress == set()
    assert plan.mean_weight == {}
    assert plan.messages == []
    assert plan.cell_key(2023, "6401", "L", "17-24") == (2023, "6401", "L", "17-24")


def test_age_groups_are_merged_first_and_weights_averaged_per_merged_cell():
    cells = [(2023, "6401", "L", "17-24", 3, 3.0), (2023, "6401", "L", "25-34", 3, 9.0),
             (2023, "6401", "P", "35-44", 5, 5.0)]

    plan = kanon.plan(cells, k=5)

    assert plan.level[(2023, "6401")] == 1
    assert plan.mean_weight[(2023, "6401", "L", "17-34")] == pytest.approx(2.0)
    assert plan.mean_weight[(2023, "6401", "P", "35-54")] == pytest.approx(1.0)
    assert plan.suppress == set()
    assert plan.cell_key(2023, "6401", "L", "25-34") == (2023, "6401", "L", "17-34")
    assert plan.messages == ["2023 6401: kelompok umur digabung / age groups merged"]


def test_sex_is_blanked_next_and_cells_still_below_k_are_suppressed():
    cells = [(2022, "6402", "L", "17-24", 2, 2.0), (2022, "6402", "P", "25-34", 2, 4.0),
             (2022, "6402", "P", "55+", 1, 1.0)]

    plan = kanon.plan(cells, k=3)

    assert plan.level[(2022, "6402")] == 2
    assert plan.cell_key(2022, "6402", "P", "25-34") == (2022, "6402", "", "17-34")
    assert plan.mean_weight[(2022, "6402", "", "17-34")] == pytest.approx(1.5)
    assert plan.suppress == {(2022, "6402", "", "55+")}
    assert plan.suppressed_records == 1
    assert plan.messages[-1] == ("2022 6402: 1 rekaman ditekan (sel < 3) / 1 records "
                                 "suppressed (cell < 3)")


def test_each_wave_and_region_is_planned_on_its_own():
    cells = [(2022, "6401", "L", "17-24", 9, 9.0), (2022, "6402", "L", "17-24", 1, 1.0),
             (2023, "6401", "L", "17-24", 1, 1.0)]

    plan = kanon.plan(cells, k=5)

    assert plan.level == {(2022, "6401"): 0, (2022, "6402"): 2, (2023, "6401"): 2}
    assert plan.suppress == {(2022, "6402", "", "17-34"), (2023, "6401", "", "17-34")}


def test_bad_k_or_an_unknown_age_group_is_a_clear_error():
    with pytest.raises(ValueError, match="k harus >= 1 / k must be >= 1"):
        kanon.plan([], k=0)
    with pytest.raises(ValueError, match="unknown age group '90-99'"):
        kanon.plan([(2022, "6401", "L", "90-99", 1, 1.0)], k=5)
