"""The verdict an office reads (analysis.trends.office_verdict, METHODS.md section 6).

Independent values: the first-to-latest change is worked by hand from the formulas; Theil-Sen
against the median of pairwise slopes; the Mann-Kendall limits are the exact minimum two-sided
p = 2 / n! (.333 for 3 points, .083 for 4, .0167 for 5).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from analysis.trends import mann_kendall_can_reject, office_verdict, series_trend


def test_rising_series_whose_trend_test_cannot_reject_is_still_up() -> None:
    # the dashboard case of issue 17: a clear rise over four published years; Mann-Kendall's
    # smallest p with 4 points is .083, so "no trend" would contradict the chart
    years = [2022, 2023, 2024, 2025]
    values = [61.2, 64.0, 67.9, 70.4]
    ses = [1.3, 1.2, 1.25, 1.27]
    verdict = office_verdict(years, values, ses)
    delta, se = 70.4 - 61.2, math.hypot(1.3, 1.27)
    assert verdict.change.delta == pytest.approx(delta)
    assert verdict.change.se == pytest.approx(se)
    assert verdict.change.p == pytest.approx(2 * stats.norm.sf(delta / se))
    assert verdict.change.mdc == pytest.approx(2.80 * se)
    assert verdict.direction == "up"
    pairwise = [(values[j] - values[i]) / (years[j] - years[i])
                for i, j in itertools.combinations(range(4), 2)]
    assert verdict.sen_slope == pytest.approx(float(np.median(pairwise)))
    assert not verdict.trend_testable
    assert series_trend(years, values).kendall_p == pytest.approx(2 / 24)


def test_not_significant_change_is_none_whatever_its_sign() -> None:
    verdict = office_verdict([2021, 2025], [60.0, 62.0], [2.0, 2.0])
    assert verdict.change.p > 0.05 and verdict.direction == "none"
    assert math.isnan(verdict.sen_slope)           # fewer than 3 points: no slope described
    falling = office_verdict([2021, 2023, 2025], [70.0, 66.0, 61.0], [1.0, 1.0, 1.0])
    assert falling.direction == "down"


def test_single_point_has_no_change() -> None:
    verdict = office_verdict([2025], [55.0], [2.0])
    assert verdict.change is None and verdict.direction == "none" and verdict.n_points == 1


def test_order_of_points_does_not_matter() -> None:
    a = office_verdict([2025, 2021, 2023], [70.0, 60.0, 65.0], [1.0, 1.5, 1.2])
    assert a.change.from_wave == 2021 and a.change.to_wave == 2025
    assert a.change.delta == pytest.approx(10.0)


@pytest.mark.parametrize("n,testable", [(1, False), (2, False), (3, False), (4, False),
                                        (5, True), (8, True)])
def test_mann_kendall_reachability(n: int, testable: bool) -> None:
    assert mann_kendall_can_reject(n) is testable
