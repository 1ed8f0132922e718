"""Turning analysis output (numpy scalars, NaN, pd.NA) into values a model field stores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def db_value(value: Any) -> Any:
    """None for a missing value (None, NaN, pd.NA); numpy scalars as Python numbers/bools."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
