"""The index run evaluates the programme registry and makes small-area estimates, on the
reference set: stored rows match expected/programme_effects.csv (1e-6), programme_types.csv
(metafor: 1e-4, tau^2 1e-3, I^2 1e-2) and sae.csv (1e-4), METHODS section 9."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from surveys import models as m

pytestmark = pytest.mark.django_db


@pytest.fixture
def computed(kaltim_dir: Path) -> Path:
    quiet = StringIO()
    for args in (("load_regions", "regions.csv"), ("load_instrument", "instrument.json"),
                 ("load_population", "population.csv")):
        call_command(args[0], str(kaltim_dir / args[1]), stdout=quiet)
    call_command("import_responses", str(kaltim_dir / "responses.csv"), "--instrument", "IINP",
                 stdout=quiet)
    call_command("load_indicators", str(kaltim_dir / "indicators.json"),
                 str(kaltim_dir / "indicator_values.csv"), stdout=quiet)
    call_command("load_programmes", str(kaltim_dir / "programmes.csv"), stdout=quiet)
    call_command("compute_indices", stdout=quiet)
    return kaltim_dir / "expected"


def _expected(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"region": str, "p": str, "significant": str},
                        keep_default_na=False, na_values=[""])
    if "p" in frame:
        frame["p"] = pd.to_numeric(frame["p"].str.replace(r"^np\.float64\((.*)\)$", r"\1",
                                                          regex=True))
    return frame


def _close(ours: pd.Series, ref: pd.Series, tol: float, name: str) -> None:
    a, b = ours.to_numpy(float), ref.to_numpy(float)
    assert np.array_equal(np.isnan(a), np.isnan(b)), name
    ok = ~np.isnan(b)
    assert np.all(np.abs(a[ok] - b[ok]) <= tol), name


def test_programme_effects_and_types_are_stored(computed: Path) -> None:
    run = m.IndexRun.objects.latest("id")
    assert run.status == m.RunStatus.SUCCEEDED
    assert run.parameters["rows"]["programme_effects"] == 12
    ours = pd.DataFrame(list(m.ProgrammeEffectResult.objects.values(
        "programme__code", "region_code", "status", "pre_wave", "post_wave", "did", "did_se",
        "p", "mde", "n_comparison", "treated_change"))).rename(
        columns={"programme__code": "programme", "region_code": "region"})
    ref = _expected(computed / "programme_effects.csv")
    both = ref.merge(ours, on="programme", suffixes=("_r", ""), validate="1:1")
    assert len(both) == 12 and (both["status"] == both["status_r"]).all()
    for col in ("pre_wave", "post_wave", "did", "did_se", "p", "mde", "n_comparison",
                "treated_change"):
        _close(both[col].astype(float), both[f"{col}_r"], 1e-6, col)
    types = pd.DataFrame(list(m.ProgrammeTypeResult.objects.values()))
    tref = _expected(computed / "programme_types.csv")
    tboth = tref.merge(types, on="type", suffixes=("_r", ""), validate="1:1")
    assert (tboth["k"] == tboth["k_r"]).all()
    for col, tol in (("fe_estimate", 1e-4), ("re_estimate", 1e-4), ("re_se", 1e-4),
                     ("tau2", 1e-3), ("i2", 1e-2), ("q_p", 1e-4)):
        _close(tboth[col].astype(float), tboth[f"{col}_r"], tol, col)


def test_small_area_estimates_are_stored(computed: Path) -> None:
    ours = pd.DataFrame(list(m.SmallAreaResult.objects.values(
        "wave__year", "region_code", "covariate", "direct", "model_estimate", "model_se",
        "gamma", "sigma2_u", "method", "n_areas", "status"))).rename(
        columns={"wave__year": "wave", "region_code": "region"})
    ref = _expected(computed / "sae.csv")
    both = ref.merge(ours, on=["wave", "region"], suffixes=("_r", ""), validate="1:1")
    assert len(both) == len(ref) == len(ours)
    for col in ("direct", "model_estimate", "model_se", "gamma", "sigma2_u"):
        _close(both[col].astype(float), both[f"{col}_r"], 1e-4, col)
    for col in ("covariate", "method", "n_areas", "status"):
        assert (both[col] == both[f"{col}_r"]).all(), col
