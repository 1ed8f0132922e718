"""Responses CSV files for the import tests: INTERFACE's wide layout (design columns, then one
column per item code)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: The design columns of a responses CSV, in INTERFACE's order.
META = ["respondent", "wave", "region", "sex", "age_group", "stratum", "psu", "base_weight"]
#: The item codes of the Kaltim reference instrument (tests/reference/kaltim/instrument.json).
KALTIM_ITEMS = [f"S{d}_{i:02d}" for d in range(1, 6) for i in range(1, 7)]


def responses_csv(tmp_path: Path, rows: Sequence[dict[str, Any]], items: Sequence[str],
                  name: str = "responses.csv") -> Path:
    """Write ``rows`` (the META keys plus ``answers``: item code -> value, None or absent for
    a missing answer) as a responses CSV; its path."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*META, *items])
    for r in rows:
        writer.writerow([r[k] for k in META] + [
            "" if r["answers"].get(c) is None else r["answers"][c] for c in items])
    path = tmp_path / name
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path
