"""Scoring (METHODS.md section 2): hand-computed values, edge cases and properties."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.scoring import (
    DimensionSpec,
    InstrumentSpec,
    ScoreResult,
    answers_from_frame,
    categorize,
    item_scores,
    reverse_key,
    score,
)

NAN = np.nan


def _spec(scale_max: int = 5, min_valid_share: float = 2 / 3) -> InstrumentSpec:
    """Unequal dimension sizes (2, 3, 1 items), unequal weights, one reverse-keyed item."""
    return InstrumentSpec(
        scale_min=1,
        scale_max=scale_max,
        min_valid_share=min_valid_share,
        dimensions=(
            DimensionSpec("A", 1.0, ("A1", "A2"), (False, False)),
            DimensionSpec("B", 2.0, ("B1", "B2", "B3"), (False, False, True)),
            DimensionSpec("C", 1.0, ("C1",), (False,)),
        ),
    )


def test_reverse_key_on_five_and_seven_point_scales() -> None:
    # x' = (K + 1) - x on the reverse-keyed item B3 only; NaN stays NaN.
    five = np.array([[1, 2, 3, 4, 5, 1], [5, 4, NAN, 2, 1, 3]], dtype=float)
    np.testing.assert_array_equal(
        reverse_key(five, _spec()),
        np.array([[1, 2, 3, 4, 1, 1], [5, 4, NAN, 2, 5, 3]], dtype=float),
    )
    seven = np.array([[7, 1, 4, 6, 7, 2]], dtype=float)
    np.testing.assert_array_equal(reverse_key(seven, _spec(scale_max=7)),
                                  np.array([[7, 1, 4, 6, 1, 2]], dtype=float))


def test_reverse_key_on_a_scale_not_starting_at_one() -> None:
    # Generalised x' = min + max - x: on 0..4, 0 <-> 4 and 1 <-> 3.
    spec = InstrumentSpec(0, 4, 1.0, (DimensionSpec("A", 1.0, ("a", "b"), (True, False)),))
    np.testing.assert_array_equal(reverse_key(np.array([[0.0, 0.0], [1.0, 3.0]]), spec),
                                  np.array([[4.0, 0.0], [3.0, 3.0]]))
    np.testing.assert_array_equal(item_scores(np.array([[0.0, 1.0]]), spec),
                                  np.array([[100.0, 25.0]]))


def test_item_scores_five_point() -> None:
    # s = 100 (x' - 1) / 4: 1, 2, 3, 4, 5 -> 0, 25, 50, 75, 100; B3 reversed (1 -> 100).
    answers = np.array([[1, 2, 3, 4, 1, 5]], dtype=float)
    np.testing.assert_array_equal(item_scores(answers, _spec()),
                                  np.array([[0, 25, 50, 75, 100, 100]], dtype=float))


def test_item_scores_seven_point() -> None:
    # s = 100 (x' - 1) / 6 on 1..7: 4 -> 50, 7 -> 100, 2 -> 16.666..., reversed 7 -> 0.
    answers = np.array([[4, 7, 2, 1, 7, 3]], dtype=float)
    got = item_scores(answers, _spec(scale_max=7))
    np.testing.assert_allclose(got, [[50, 100, 100 / 6, 0, 0, 100 / 3]], rtol=0, atol=1e-12)


def test_dimension_scores_and_index_with_unequal_sizes_weights_and_missing() -> None:
    spec = _spec(min_valid_share=0.5)
    answers = np.array([
        # A: 100, 50 -> 75; B: 25, -, 100 (rev 1) -> 62.5 (2/3 valid); C: 75
        [5, 3, 2, NAN, 1, 4],
        # A: none valid -> missing; B: 100, 100, 0 -> 66.67; C missing -> index missing
        [NAN, NAN, 5, 5, 5, NAN],
        # A: 1 of 2 valid = 0.5 >= 0.5 -> 0; B: 1 of 3 < 0.5 -> missing
        [1, NAN, NAN, NAN, 3, 5],
    ])
    result = score(answers, spec)
    assert isinstance(result, ScoreResult)
    assert result.dimension_codes == ("A", "B", "C")
    np.testing.assert_allclose(
        result.dimensions,
        np.array([[75.0, 62.5, 75.0], [NAN, 200 / 3, NAN], [0.0, NAN, 100.0]]),
        rtol=0, atol=1e-12,
    )
    # I = (1 * 75 + 2 * 62.5 + 1 * 75) / 4 = 68.75; missing whenever one dimension is missing.
    np.testing.assert_allclose(result.index, [68.75, NAN, NAN], rtol=0, atol=1e-12)
    assert result.all_codes == ("A", "B", "C", "INDEX")
    assert result.all_scores.shape == (3, 4)


def test_min_valid_share_compares_with_tolerance() -> None:
    # 4 of 6 valid = 0.666...6 (float) is below 0.6666666666666667; the 1e-9 tolerance keeps it.
    spec = InstrumentSpec(1, 5, 0.6666666666666667,
                          (DimensionSpec("S", 1.0, tuple(f"i{j}" for j in range(6)),
                                         (False,) * 6),))
    four_valid = np.array([[5, 5, 5, 5, NAN, NAN]])
    three_valid = np.array([[5, 5, 5, NAN, NAN, NAN]])
    assert score(four_valid, spec).dimensions[0, 0] == 100.0
    assert np.isnan(score(three_valid, spec).dimensions[0, 0])


def test_zero_weight_dimension_still_makes_index_missing() -> None:
    spec = InstrumentSpec(1, 5, 1.0, (DimensionSpec("A", 1.0, ("a",), (False,)),
                                      DimensionSpec("B", 0.0, ("b",), (False,))))
    result = score(np.array([[5.0, NAN], [5.0, 1.0]]), spec)
    assert np.isnan(result.index[0])
    assert result.index[1] == 100.0


def test_no_respondents_gives_empty_results() -> None:
    result = score(np.empty((0, 6)), _spec())
    assert result.dimensions.shape == (0, 3)
    assert result.index.shape == (0,)


def test_categorize_band_edges() -> None:
    values = [0, 19.999, 20, 39.999, 40, 59.999, 60, 79.999, 80, 100, NAN]
    assert categorize(values).tolist() == [
        "sangat rendah", "sangat rendah", "rendah", "rendah", "sedang", "sedang",
        "tinggi", "tinggi", "sangat tinggi", "sangat tinggi", None,
    ]
    assert categorize(50.0).item() == "sedang"
    assert categorize([100 + 1e-12]).tolist() == ["sangat tinggi"]


def test_categorize_rejects_values_outside_0_100() -> None:
    with pytest.raises(ValueError, match=r"category values must lie in \[0, 100\]"):
        categorize([-0.5, 50])
    with pytest.raises(ValueError, match="must lie in"):
        categorize([100.5])


def test_answers_outside_the_scale_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"answer 6.0 of respondent row 1, item B1 is outside "
                                         r"the scale 1\.\.5"):
        score(np.array([[1, 1, 1, 1, 1, 1], [1, 1, 6, 1, 1, 1]], dtype=float), _spec())
    with pytest.raises(ValueError, match="outside the scale"):
        score(np.array([[0, 1, 1, 1, 1, 1]], dtype=float), _spec())


def test_wrong_column_count_is_rejected() -> None:
    with pytest.raises(ValueError, match="answers has 5 columns but the instrument has 6 items"):
        score(np.ones((2, 5)), _spec())


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DimensionSpec("INDEX", 1.0, ("a",), (False,)), "not 'INDEX'"),
        (lambda: DimensionSpec("A", -1.0, ("a",), (False,)), "weight must be finite and >= 0"),
        (lambda: DimensionSpec("A", 1.0, (), ()), "dimension A has no items"),
        (lambda: DimensionSpec("A", 1.0, ("a", "b"), (False,)), "2 item codes but 1 reverse"),
        (lambda: InstrumentSpec(5, 5, 0.5, (DimensionSpec("A", 1.0, ("a",), (False,)),)),
         "scale_min"),
        (lambda: InstrumentSpec(1, 5, 0.0, (DimensionSpec("A", 1.0, ("a",), (False,)),)),
         "min_valid_share"),
        (lambda: InstrumentSpec(1, 5, 0.5, (DimensionSpec("A", 1.0, ("a",), (False,)),
                                            DimensionSpec("B", 1.0, ("a",), (False,)))),
         "item codes contains the duplicate 'a'"),
        (lambda: InstrumentSpec(1, 5, 0.5, (DimensionSpec("A", 0.0, ("a",), (False,)),)),
         "positive sum"),
    ],
)
def test_invalid_specs_are_rejected(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_spec_is_frozen() -> None:
    spec = _spec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.scale_max = 7  # type: ignore[misc]


def test_spec_from_reference_instrument(ref_instrument, ref_spec) -> None:
    # instrument.json: IINP, 5 dimensions x 6 items on 1..5, weights 0.2, S?_06 reverse-keyed.
    assert ref_spec.scale_min == 1 and ref_spec.scale_max == 5
    assert ref_spec.min_valid_share == pytest.approx(2 / 3, abs=1e-15)
    assert ref_spec.dimension_codes == ("S1", "S2", "S3", "S4", "S5")
    assert len(ref_spec.item_codes) == 30
    assert [d.weight for d in ref_spec.dimensions] == [0.2] * 5
    assert [c for c, r in zip(ref_spec.item_codes, ref_spec.reverse, strict=True) if r] == [
        "S1_06", "S2_06", "S3_06", "S4_06", "S5_06"]
    with pytest.raises(ValueError, match="lacks the key 'dimensions'"):
        InstrumentSpec.from_mapping({"scale": {"min": 1, "max": 5}})


def test_reference_item_non_response_and_dimension_counts(ref_responses, ref_spec,
                                                          ref_expected) -> None:
    # The number of valid dimension scores per wave equals n of the ALL rows of
    # expected/estimates.csv (R svyby, na.rm = TRUE): ties scoring's missing-data rule to R.
    expected = ref_expected("estimates.csv")
    for wave, group in ref_responses.groupby("wave"):
        result = score(answers_from_frame(group, ref_spec), ref_spec)
        counts = np.count_nonzero(~np.isnan(result.all_scores), axis=0)
        want = (expected[(expected.wave == wave) & (expected.region == "ALL")]
                .set_index("dimension").loc[list(result.all_codes), "n"].to_numpy())
        np.testing.assert_array_equal(counts, want)


def test_answers_from_frame_missing_column_and_blank_cells() -> None:
    frame = pd.DataFrame({"A1": ["5", "", None], "A2": [1, 2, 3], "B1": [1, 1, 1],
                          "B2": [2, 2, 2], "C1": [3.0, NAN, 4.0], "other": ["x", "y", "z"]})
    got = answers_from_frame(frame, _spec())  # B3 absent: all missing
    np.testing.assert_array_equal(got, np.array([
        [5, 1, 1, 2, NAN, 3], [NAN, 2, 1, 2, NAN, NAN], [NAN, 3, 1, 2, NAN, 4]]))
    with pytest.raises(ValueError, match="item column A1 is not numeric"):
        answers_from_frame(frame.assign(A1=["x", "1", "2"]), _spec())


answer_matrices = st.integers(1, 40).flatmap(
    lambda n: st.lists(
        st.lists(st.one_of(st.integers(1, 7).map(float), st.just(NAN)), min_size=6, max_size=6),
        min_size=n, max_size=n,
    )
)


@settings(max_examples=60, deadline=None)
@given(rows=answer_matrices, seed=st.integers(0, 2**32 - 1))
def test_scores_are_bounded_and_row_permutation_equivariant(rows, seed: int) -> None:
    spec = _spec(scale_max=7, min_valid_share=0.5)
    answers = np.array(rows)
    result = score(answers, spec)
    finite = result.all_scores[~np.isnan(result.all_scores)]
    assert np.all((finite >= 0) & (finite <= 100))
    perm = np.random.default_rng(seed).permutation(len(rows))
    permuted = score(answers[perm], spec)
    np.testing.assert_array_equal(permuted.all_scores, result.all_scores[perm])
    # Reverse-keying twice gives the answers back.
    twice = reverse_key(reverse_key(answers, spec), spec)
    np.testing.assert_array_equal(twice, answers)
