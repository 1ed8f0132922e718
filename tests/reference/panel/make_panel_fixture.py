"""Write the panel fixture: reference respondents of 2022 with their 2021 and 2022 scores.

Input: tests/reference/kaltim (responses, instrument, expected/weights.csv). Output:
``panel_2021_2022.csv``, one row per 2022 respondent: respondent, region, stratum, psu, weight
(final 2022 weight), member (answered 2021 too), and for INDEX and each dimension the score at
both waves (``<DIM>_t0``, ``<DIM>_t1``; blank where missing or not a member). The R script
``make_panel_reference.R`` then computes the paired change with R survey. Run from the repository
root: ``.venv/bin/python tests/reference/panel/make_panel_fixture.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from analysis.scoring import answers_from_frame, score  # noqa: E402
from tests.analysis import reference  # noqa: E402

HERE = Path(__file__).resolve().parent


def scores(frame: pd.DataFrame, spec) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    result = score(answers_from_frame(frame, spec), spec)
    out = pd.DataFrame(result.dimensions, columns=list(result.dimension_codes))
    out.insert(0, "INDEX", result.index)
    out.insert(0, "respondent", frame["respondent"].to_numpy())
    return out


def main() -> None:
    spec = reference.spec_from_instrument(reference.read_instrument())
    responses = reference.read_responses()
    weights = reference.read_expected("weights.csv")
    t0 = responses.loc[responses["wave"] == 2021].reset_index(drop=True)
    t1 = responses.loc[responses["wave"] == 2022].reset_index(drop=True)
    s0, s1 = scores(t0, spec), scores(t1, spec)
    dims = [c for c in s1.columns if c != "respondent"]
    w1 = weights.loc[weights["wave"] == 2022, ["respondent", "final_weight"]]
    out = t1[["respondent", "region", "stratum", "psu"]].merge(w1, on="respondent",
                                                                how="left", validate="1:1")
    out = out.rename(columns={"final_weight": "weight"})
    out["member"] = out["respondent"].isin(set(t0["respondent"]))
    before = out[["respondent"]].merge(s0, on="respondent", how="left")
    for dim in dims:
        out[f"{dim}_t0"] = np.where(out["member"], before[dim], np.nan)
        out[f"{dim}_t1"] = s1[dim].to_numpy()
    out["member"] = out["member"].map({True: "true", False: "false"})
    out.to_csv(HERE / "panel_2021_2022.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
