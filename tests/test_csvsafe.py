"""The CSV formula-injection guard (datafiles/csvsafe.py)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from datafiles.csvsafe import neutralise, neutralise_array, neutralise_batch


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx",
                                  '=HYPERLINK("http://x","y")'])
def test_a_string_a_spreadsheet_would_evaluate_gets_a_leading_quote(text):
    assert neutralise(text) == "'" + text
    assert neutralise_array(pa.array([text])).to_pylist() == ["'" + text]


@pytest.mark.parametrize("value", ["6401", "a=b", "", None, -3, -2.5, 0, True])
def test_other_cells_and_numbers_are_left_alone(value):
    assert neutralise(value) == value


def test_only_string_columns_of_a_batch_change():
    batch = pa.RecordBatch.from_pydict({
        "code": pa.array(["=1+1", "ok", None]),
        "delta": pa.array([-1.5, 2.0, None]),
        "n": pa.array([-3, 4, 5]),
    })

    out = neutralise_batch(batch)

    assert out.schema == batch.schema
    assert out.column("code").to_pylist() == ["'=1+1", "ok", None]
    assert out.column("delta").to_pylist() == [-1.5, 2.0, None]
    assert out.column("n").to_pylist() == [-3, 4, 5]
