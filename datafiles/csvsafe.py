"""CSV formula-injection guard (OWASP "CSV Injection"): a text cell that a spreadsheet would
read as a formula gets a leading single quote.

The rule: a *string* cell whose first character is ``=``, ``+``, ``-``, ``@``, TAB or CR is
written as ``'`` + the cell. Numbers are never touched (a negative number column stays
numeric: it is not a string column), nor are empty or NULL cells. Applied by every CSV writer
of the exports; XLSX, Parquet, SPSS and Stata store typed text cells that no reader evaluates,
so they keep the value as it is (DECISIONS.md).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

#: First characters that make a spreadsheet evaluate a cell.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PATTERN = "^[=+\\-@\t\r]"


def neutralise(value: Any) -> Any:
    """One cell: a string starting with a trigger gets a leading quote; anything else as is."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def neutralise_array(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A whole Arrow column: string columns neutralised cell by cell, other types unchanged."""
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return array
    hit = pc.match_substring_regex(array, _PATTERN)
    if not pc.any(hit).as_py():
        return array
    quoted = pc.binary_join_element_wise(pa.scalar("'", array.type), array,
                                         pa.scalar("", array.type))
    return pc.if_else(hit, quoted, array)


def neutralise_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Every string column of a record batch neutralised (schema unchanged)."""
    columns = [neutralise_array(col) for col in batch.columns]
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)
