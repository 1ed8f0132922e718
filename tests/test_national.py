"""The national data set and the per-province parallel index run (issue 15).

- fixtures/regions_indonesia.csv: 38 provinces, 514 regencies/cities, code shapes;
- `analysis.estimation.estimate_from_totals` equals `estimate_domains` (the existing
  estimator, itself tested against R survey) on the same respondents split in parts;
  `reliability_from_moments` on pooled moments equals `reliability` on the rows;
- the generator's files;
- the chord (eager, and on a real Celery worker through Redis on PostgreSQL) stores what the
  single-process `compute_indices` stores.
"""

from __future__ import annotations

import csv
import os
import re
import threading
import uuid
from io import StringIO
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from analysis import reliability as rel
from analysis.estimation import (
    combine_totals,
    domain_totals,
    estimate_domains,
    estimate_from_totals,
)
from surveys import models as m
from surveys.selectors.weights import wave_weights
from surveys.services import compute, compute_parallel, longitudinal, national
from surveys.services.compute import ComputeError, compute_indices
from tests.celery_worker import REDIS_URL, REQUIRES_SERVER_DB, celery_worker

REGIONS = Path(__file__).resolve().parents[1] / "fixtures" / "regions_indonesia.csv"
SMALL_PROVINCES = ("34", "65", "93")  # 5 + 5 + 4 regencies/cities


def test_regions_indonesia_counts_and_code_shapes():
    with REGIONS.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    provinces = [r for r in rows if r["level"] == "province"]
    lower = [r for r in rows if r["level"] in ("regency", "city")]
    assert len(provinces) == 38 and len(lower) == 514 and len(rows) == 552
    assert {r["level"] for r in lower} == {"regency", "city"}
    codes = {r["code"] for r in provinces}
    for r in provinces:
        assert re.fullmatch(r"\d{2}", r["code"]) and r["parent"] == "" \
            and r["code_kemendagri"] == r["code"], r
    for r in lower:
        assert re.fullmatch(r"\d{2}\.\d{2}", r["code_kemendagri"]), r
        assert r["code"] == r["code_kemendagri"].replace(".", ""), r
        assert r["parent"] in codes and r["code"].startswith(r["parent"]), r
        assert not r["name"].startswith("Kabupaten "), r
        assert (r["level"] == "city") == r["name"].startswith("Kota "), r
    assert len({r["code"] for r in rows}) == len(rows)
    # Kemendagri numbering (fixtures/README.md): 64.02 is Kutai Kartanegara, 64.07 Kutai Barat
    names = {r["code"]: r["name"] for r in rows}
    assert names["6402"] == "Kutai Kartanegara" and names["6407"] == "Kutai Barat"


def _design(seed: int, n: int = 6000):
    rng = np.random.default_rng(seed)
    part = rng.integers(0, 3, n)
    region = np.array([f"{61 + p}{rng.integers(1, 5):02d}" for p in part], dtype=object)
    stratum = region.copy()
    psu = rng.integers(0, 6, n).astype(str).astype(object)
    lone = region == region[0]
    stratum[lone], psu[lone] = "LONE", "1"  # a singleton-PSU stratum
    y = rng.normal(60, 15, (n, 3)).clip(0, 100)
    y[rng.random((n, 3)) < 0.05] = np.nan
    y[region == region[1], 2] = np.nan  # a region with no valid score in one column
    return part, region, stratum, psu, rng.uniform(20, 900, n), y


@pytest.mark.parametrize("lonely", ["certainty", "remove", "average"])
def test_estimates_from_totals_equal_estimate_domains(lonely):
    part, region, stratum, psu, w, y = _design(7)
    codes = ["A", "B", "INDEX"]
    expected = estimate_domains(y, w, stratum, psu, region, dimension_codes=codes,
                                lonely_psu=lonely, categories=True)
    parts = [domain_totals(y[part == k], w[part == k], stratum[part == k], psu[part == k],
                           region[part == k], dimension_codes=codes) for k in range(3)]
    got = estimate_from_totals(combine_totals(parts), lonely_psu=lonely, categories=True)
    assert (got.df, got.n_psu, got.n_strata, got.singleton_strata) == \
        (expected.df, expected.n_psu, expected.n_strata, expected.singleton_strata)
    exact = ["region", "dimension", "n", "df", "suppressed", "category"]
    pd.testing.assert_frame_equal(got.table[exact], expected.table[exact])
    for col in ("n_eff", "estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(got.table[col], expected.table[col], rtol=1e-12,
                                   atol=0, equal_nan=True, err_msg=col)
    assert got.table["estimate"].isna().sum() == 1  # the empty domain stays empty


def test_reliability_from_pooled_moments_equals_rows():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, (3000, 6)).astype(float) + rng.normal(0, 1, (3000, 1)).round()
    x[rng.random(x.shape) < 0.04] = np.nan
    pieces = [compute_parallel._Moments.of(x[i::3]) for i in range(3)]
    pooled = pieces[0] + pieces[1] + pieces[2]
    codes = [f"I{j}" for j in range(6)]
    want = rel.reliability(x, codes)
    got = rel.reliability_from_moments(pooled.n, pooled.mean, pooled.m2 / (pooled.n - 1), codes)
    assert got.n == want.n
    for name in ("alpha", "alpha_std", "alpha_ci_low", "alpha_ci_high", "omega_total"):
        assert getattr(got, name) == pytest.approx(getattr(want, name), rel=1e-12), name
    for a, b in zip(got.items, want.items, strict=True):
        assert (a.item_rest_r, a.alpha_if_deleted, a.mean, a.sd) == pytest.approx(
            (b.item_rest_r, b.alpha_if_deleted, b.mean, b.sd), rel=1e-12)
    with pytest.raises(ValueError, match="at least 2 complete cases"):
        rel.reliability_from_moments(1, pooled.mean, pooled.m2, codes)


def test_generator_writes_margins_and_waves(tmp_path):
    report = national.generate(tmp_path, responses=3000, waves=2, provinces=["65"])
    assert report.regencies == 5 and report.provinces == 1
    pop = pd.read_csv(report.population_file, dtype={"region": str})
    assert len(pop) == 2 * 5 * 2 * 5 and (pop["population"] > 0).all()
    assert set(pop["region"]) == {"6501", "6502", "6503", "6504", "6571"}
    total = 0
    for path in report.response_files:
        df = pd.read_csv(path, dtype={"region": str, "stratum": str, "psu": str})
        total += len(df)
        assert (df["region"] == df["stratum"]).all()
        assert df.groupby("region").size().min() >= national.MIN_SAMPLE
        assert df.iloc[:, 8:].isna().to_numpy().mean() == pytest.approx(0.03, abs=0.015)
    assert total == report.responses
    first, second = (set(pd.read_csv(p)["respondent"]) for p in report.response_files)
    assert 0.3 < len(first & second) / len(second) < 0.6  # about half answer again


def _load_small_country(tmp_path: Path) -> None:
    call_command("national_demo", "--out", str(tmp_path), "--responses", "4000",
                 "--waves", "3", "--provinces", ",".join(SMALL_PROVINCES), "--load",
                 stdout=StringIO())


def _stored(run: m.IndexRun) -> dict[str, pd.DataFrame]:
    def frame(model, order, drop=("id", "run_id")):
        rows = list(model.objects.filter(run=run).values())
        assert rows, f"{model.__name__}: no rows"
        return pd.DataFrame(rows).drop(columns=list(drop)).sort_values(order) \
            .reset_index(drop=True)
    return {
        "estimates": frame(m.EstimateResult, ["wave_id", "region_code", "dimension"]),
        "reliability": frame(m.ReliabilityResult, ["wave_id", "dimension"]),
        "items": frame(m.ItemResult, ["wave_id", "item"]),
        "cfa": frame(m.CfaResult, ["wave_id"]),
        "trends": frame(m.TrendResult, ["instrument_id", "region_code", "dimension"]),
        "panel": frame(m.PanelChangeResult, ["wave_id", "region_code", "dimension"]),
        "retention": frame(m.RetentionResult, ["wave_id", "region_code", "variable", "group"]),
    }


def _assert_same_results(single: m.IndexRun, stored: dict[str, pd.DataFrame],
                         parallel: m.IndexRun) -> None:
    """``stored``: `_stored(single)`, read before the parallel run replaced its rows."""
    assert parallel.status == m.RunStatus.SUCCEEDED, parallel.messages
    assert parallel.input_checksum == single.input_checksum
    assert parallel.parameters["rows"] == single.parameters["rows"]
    assert parallel.parameters["parallel"]["tasks"] >= 3
    assert not m.RunPart.objects.exists()  # the body deleted the parts' rows
    assert not m.RunWave.objects.exists()  # and the wave stages'
    assert [msg["message"] for msg in parallel.messages] == \
        [msg["message"] for msg in single.messages]
    a, b = stored, _stored(parallel)
    for name in a:
        x, y = a[name], b[name]
        assert list(x.columns) == list(y.columns) and len(x) == len(y) > 0, name
        for col in x.columns:
            if pd.api.types.is_float_dtype(x[col]):
                # raking's stopping rule (relative change < 1e-10 per cycle) is the one
                # difference besides rounding (docs/DECISIONS.md 61); CFA's SRMR follows
                # the optimiser's tolerance
                tol = 1e-6 if col == "srmr" else 1e-9
                np.testing.assert_allclose(y[col], x[col], rtol=tol, atol=1e-12,
                                           equal_nan=True, err_msg=f"{name}.{col}")
            else:
                assert x[col].tolist() == y[col].tolist(), f"{name}.{col}"


@pytest.mark.django_db
def test_parallel_run_equals_single_process_eager(tmp_path):
    _load_small_country(tmp_path)
    single = compute_indices()
    stored = _stored(single)
    weights_single = {w.pk: wave_weights(w.pk) for w in m.Wave.objects.all()}
    result = compute_indices_parallel_eager(shards=2)
    parallel = m.IndexRun.objects.get(pk=result["run"])
    _assert_same_results(single, stored, parallel)
    # the body read no wave: weights, panel arrays and the checksum came from the parts
    assert not [k for k in parallel.timings if k.endswith("/read")]
    assert [k for k in single.timings if k.endswith("/read")]
    # every wave's output and panel pair were computed by the part that finished the wave
    years = sorted(m.Wave.objects.values_list("year", flat=True))
    for year in years:
        assert f"stage:{year}/estimates" in parallel.timings
        assert f"stage:{year}/total" in parallel.timings
        assert f"{year}/estimates" not in parallel.timings
    assert "panels" not in parallel.timings
    assert parallel.parameters["parallel"]["stage_seconds_total"] > 0
    # on PostgreSQL each wave was written as its stage was in (docs/DECISIONS.md 85)
    from django.db import connection

    assert ("write:waves" in parallel.timings) == (connection.vendor == "postgresql")
    assert ("write:waves" in single.timings) is False
    for wave_id, before in weights_single.items():
        after = wave_weights(wave_id)
        np.testing.assert_array_equal(after.response_ids, before.response_ids)
        np.testing.assert_allclose(after.final_weights, before.final_weights, rtol=1e-9)
    # shards hold whole provinces; every read path reads the same subset of a wave
    if _lz4(connection):
        # the stages' weights were compressed with lz4 on their RunWave rows and copied into
        # WaveWeights as they were (migration 0015): same values, a third of the bytes
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_column_compression(response_ids), "
                           "pg_column_compression(final_weights) FROM surveys_waveweights "
                           "WHERE run_id = %s", [parallel.pk])
            assert set(cursor.fetchall()) == {("lz4", "lz4")}

    from surveys.selectors import responses as sel

    for wave_id, regions in compute_parallel.plan([w.pk for w in m.Wave.objects.all()], 2):
        wave = m.Wave.objects.get(pk=wave_id)
        layout = sel.version_layout(wave.version)
        portable = sel._read_cursor(wave_id, layout, False, regions)
        fast = (sel._read_pg(wave_id, layout, False, connection, regions)
                if connection.vendor == "postgresql"
                else sel._read_sqlite(wave_id, layout, False, connection, regions))
        assert fast is not None and 0 < portable.ids.size < m.Response.objects.filter(
            wave_id=wave_id).count()
        assert set(portable.region_id.tolist()) <= set(regions)
        for name in ("ids", "region_id", "stratum", "psu", "weight", "raw"):
            np.testing.assert_array_equal(getattr(fast, name), getattr(portable, name), name)
        provinces = set(m.Region.objects.filter(pk__in=regions)
                        .values_list("parent__code", flat=True))
        members = set(m.Region.objects.filter(parent__code__in=provinces)
                      .values_list("pk", flat=True)) \
            | set(m.Region.objects.filter(code__in=provinces).values_list("pk", flat=True))
        assert members == set(regions)


@pytest.mark.django_db
@pytest.mark.parametrize("broken", ["_wave_stage", "_pair_stage", "finish_part", "run_stage"])
def test_a_wave_stage_that_fails_is_computed_by_the_body(tmp_path, broken):
    """A wave stage saves the body work and nothing else: when one fails (or the stages'
    bookkeeping does), the part still stands and the body computes the wave from the parts,
    with the same results."""
    _load_small_country(tmp_path)
    single = compute_indices()
    stored = _stored(single)
    with mock.patch.object(compute_parallel, broken, side_effect=RuntimeError("broken")):
        result = compute_indices_parallel_eager(shards=2)
    parallel = m.IndexRun.objects.get(pk=result["run"])
    _assert_same_results(single, stored, parallel)
    pairs = [k for k in parallel.timings if k.startswith("stage:") and k.endswith("/total")]
    combined = [k for k in parallel.timings if k.endswith("/combine")]
    assert not pairs and len(combined) == m.Wave.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize("fails_in", ["_write_tables", "_write_waves"])
def test_a_body_that_fails_after_writing_waves_leaves_the_previous_results(tmp_path, fails_in):
    """A parallel run's body on PostgreSQL writes each wave as its stage is in, in the
    transaction it commits at the end (docs/DECISIONS.md 85): when the cross-wave write
    fails after every wave was written, or the last wave's write does, nothing of the run
    stays and the previous run's rows are the published ones, unchanged."""
    from django.db import connection

    _load_small_country(tmp_path)
    single = compute_indices()
    stored = _stored(single)
    real = getattr(compute, fails_in)
    early = connection.vendor == "postgresql"  # SQLite: every wave at the end, at once
    # the cross-wave write fails, or the last wave's (early: the last of one call a wave)
    last = m.Wave.objects.count() if early and fails_in == "_write_waves" else 1
    calls = []

    def failing(state, *args, **kwargs):
        calls.append(args)
        if len(calls) == last:
            raise RuntimeError("disk full")
        return real(state, *args, **kwargs)

    with mock.patch.object(compute, fails_in, failing), pytest.raises(RuntimeError):
        compute_indices_parallel_eager(shards=2)
    failed = m.IndexRun.objects.exclude(pk=single.pk).get()
    assert failed.status == m.RunStatus.FAILED and "disk full" in failed.messages[-1]["message"]
    after = _stored(single)
    for name, frame in stored.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=name)
    for model in (m.WaveWeights, m.EstimateResult, m.ReliabilityResult, m.ItemResult,
                  m.CfaResult, m.TrendResult):
        assert not model.objects.filter(run=failed).exists(), model.__name__
    assert ("write:waves" in failed.timings) == early
    assert len(calls) == last


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["files", "database", "no room", "another host"])
def test_part_arrays_travel_as_files_or_in_the_database(tmp_path, settings, caplog, where):
    """A part leaves its arrays as a file in the chord's stage directory (`NILAI_PART_FILES`,
    docs/DECISIONS.md 84), or in its `RunPart` row when the setting is off or the file
    system would be left with less than `STAGE_FREE_MIN`. A host that does not see a part's
    file (a worker on another host, `NILAI_STAGE_DIR` not shared) computes the wave from its
    rows, as one process does. The results are the same every way, and no file is left."""
    stages = tmp_path / "stages"
    settings.NILAI_STAGE_DIR = str(stages)
    settings.NILAI_PART_FILES = where != "database"
    _load_small_country(tmp_path)
    single = compute_indices()
    stored = _stored(single)
    written: list[tuple[bytes, list[int]]] = []
    store = compute_parallel._store_part

    def store_part(token, wave_id, response_ids, weights, arrays):
        # the part's file (if any) is written by now; its mode and its directory's
        written.append((arrays, [path.stat().st_mode & 0o777 | path.parent.stat().st_mode & 0o077
                                 for path in stages.rglob("part-*.npy")]))
        return store(token, wave_id, response_ids, weights, arrays)

    elsewhere = tmp_path / "other-host"
    part_file = compute_parallel._part_file
    with mock.patch.object(compute_parallel, "_store_part", side_effect=store_part), \
            mock.patch.object(compute_parallel, "STAGE_FREE_MIN",
                              1 << 62 if where == "no room" else compute_parallel.STAGE_FREE_MIN), \
            mock.patch.object(compute_parallel, "_part_file", side_effect=lambda p: (
                None if part_file(p) is None else elsewhere / p["file"])
                if where == "another host" else part_file(p)):
        result = compute_indices_parallel_eager(shards=2)
    parallel = m.IndexRun.objects.get(pk=result["run"])
    _assert_same_results(single, stored, parallel)
    assert len(written) == parallel.parameters["parallel"]["tasks"]
    in_files = where in ("files", "another host")
    for arrays, modes in written:
        assert (arrays == b"") is in_files
        assert set(modes) <= {0o600}  # respondents' scores: the worker's user's only
    assert bool(written[-1][1]) is in_files
    assert not any(stages.rglob("*.npy"))
    from_rows = [k for k in parallel.timings if k.endswith("/score")]
    if where == "another host":
        # every wave from its rows (here in its stage), with a warning that says why
        assert len(from_rows) == m.Wave.objects.count()
        assert "on another host" in caplog.text
    else:
        assert not from_rows


@pytest.mark.django_db
@pytest.mark.parametrize("shared", [True, False])
def test_a_pair_takes_the_previous_wave_from_a_file_or_its_parts_when_not_kept(
        tmp_path, settings, shared):
    """A worker keeps the panel data of the waves it staged last (`RECENT_PANELS`); a pair
    whose previous wave another worker staged reads the file that stage left on the host
    (`_share_panel`) or, without one, loads it from that wave's parts: the same results
    either way (here: nothing kept, every pair reads a file or loads parts). The files are
    read once and gone with the chord."""
    settings.NILAI_STAGE_DIR = str(tmp_path / "stages")
    _load_small_country(tmp_path)
    single = compute_indices()
    stored = _stored(single)
    share = compute_parallel._share_panel if shared else (lambda *a, **k: None)
    with mock.patch.object(compute_parallel, "RECENT_PANELS", 0), \
            mock.patch.dict(compute_parallel._RECENT, clear=True), \
            mock.patch.object(compute_parallel, "_share_panel", side_effect=share), \
            mock.patch.object(compute_parallel, "_shared_panel",
                              wraps=compute_parallel._shared_panel) as files, \
            mock.patch.object(compute_parallel, "_panel_of",
                              wraps=compute_parallel._panel_of) as loads:
        result = compute_indices_parallel_eager(shards=2)
        assert not compute_parallel._RECENT
    parallel = m.IndexRun.objects.get(pk=result["run"])
    _assert_same_results(single, stored, parallel)
    pairs = m.Wave.objects.count() - 1  # each pair's previous wave
    assert files.call_count == pairs
    assert loads.call_count == (0 if shared else pairs)
    assert not any((tmp_path / "stages").rglob("*.npy"))


@pytest.mark.django_db
def test_a_panel_file_keeps_the_panel_and_waits_for_a_running_stage(tmp_path, settings):
    """`_share_panel` / `_shared_panel`: respondents, scores, weights and the design columns
    (labels or categoricals) come back equal; a reader waits while the wave's stage runs
    and its file is not there yet, returns None at once when the stage is not running, and
    a file is read once."""
    from tests.factories import WaveFactory

    settings.NILAI_STAGE_DIR = str(tmp_path / "stages")
    wave = WaveFactory()
    token = uuid.uuid4().hex
    row = m.RunWave.objects.create(token=token, wave=wave, expected=1, stage="queued")
    rng = np.random.default_rng(5)
    n = 50
    panel = longitudinal.PanelWave(
        wave=wave, respondent=rng.integers(-1, 1000, n), codes=("S1", "S2", "INDEX"),
        region=np.array(["6401", "6402"] * 25, dtype=object),
        sex=pd.Categorical(rng.choice(["L", "P"], n)),
        age_group=np.array(["15-29"] * n, dtype=object),
        stratum=pd.Categorical.from_codes(rng.integers(0, 3, n), categories=["a", "b", "c"]),
        psu=np.array([f"p{i % 7}" for i in range(n)], dtype=object),
        scores=rng.normal(size=(n, 3)), weights=rng.uniform(0.5, 2, n))
    assert compute_parallel._shared_panel(token, wave) is None  # queued, not running
    m.RunWave.objects.filter(pk=row.pk).update(stage="running")
    timer = threading.Timer(0.3, compute_parallel._share_panel, (token, panel))
    timer.start()
    try:
        back = compute_parallel._shared_panel(token, wave)
    finally:
        timer.join()
    assert back is not None and back.wave == wave and back.codes == panel.codes
    for name in ("respondent", "scores", "weights"):
        np.testing.assert_array_equal(getattr(back, name), getattr(panel, name))
    for name in ("region", "sex", "age_group", "stratum", "psu"):
        assert list(np.asarray(getattr(back, name), dtype=object)) == \
            list(np.asarray(getattr(panel, name), dtype=object)), name
    m.RunWave.objects.filter(pk=row.pk).update(stage="done")
    assert compute_parallel._shared_panel(token, wave) is None  # read once
    compute_parallel._share_panel(token, panel)
    [written] = (tmp_path / "stages").rglob("*.npy")
    assert written.stat().st_mode & 0o777 == 0o600  # respondents' scores: the user's only
    assert written.parent.stat().st_mode & 0o077 == 0
    compute_parallel.drop_parts(token)
    assert not (tmp_path / "stages" / uuid.UUID(token).hex).exists()


def test_a_stage_blob_keeps_every_value():
    """`encode_stage` / `decode_stage`: JSON and arrays, no pickles; floats bit for bit."""
    frame = pd.DataFrame({
        "region": ["6401", "ALL", None], "n": np.array([31, 2, 0], dtype=np.int64),
        "estimate": [0.1 + 0.2, np.nan, 1e-300], "suppressed": [False, True, True],
        "significant": pd.Series([True, None, np.bool_(False)], dtype=object),
        "new_entrants": pd.Series([3, pd.NA, np.int64(4)], dtype=object)})
    ids = np.array([5, 9, 12], dtype=np.int64)
    blob = compute_parallel.encode_stage(
        {"estimates": compute_parallel._frame_doc(frame), "rows": [{"alpha": np.float64(0.7),
                                                                    "k": np.int64(3)}]},
        {"ids": ids})
    assert b"pickle" not in blob
    meta, arrays = compute_parallel.decode_stage(blob)
    back = compute_parallel._frame_of(meta["estimates"])
    assert list(back.dtypes) == list(frame.dtypes)
    np.testing.assert_array_equal(back["estimate"], frame["estimate"])  # NaN and bits
    assert back["estimate"][0] == 0.1 + 0.2
    assert back["significant"].tolist() == [True, None, False]
    assert back["new_entrants"].tolist() == [3, None, 4]
    pd.testing.assert_series_equal(back["region"], frame["region"])
    assert meta["rows"] == [{"alpha": 0.7, "k": 3}]
    np.testing.assert_array_equal(arrays["ids"], ids)


@pytest.mark.django_db
def test_part_weights_are_deleted_by_a_failed_body_and_when_stale(tmp_path):
    """The parts' weights travel through `RunPart` rows of the chord's token: a body that
    fails deletes its own, and queueing a chord deletes rows older than a day (a chord that
    died before its body)."""
    from datetime import timedelta

    from django.utils import timezone

    _load_small_country(tmp_path)
    wave = m.Wave.objects.order_by("year").first()
    ids = m.Response.objects.filter(wave=wave).order_by("pk").values_list("pk", flat=True)[:5]
    token = "0" * 31 + "1"
    row = compute_parallel._store_part(token, wave.pk, np.array(ids, dtype=np.int64),
                                        np.linspace(1.0, 2.0, 5), b"")
    stored = m.RunPart.objects.get(pk=row)
    assert stored.n == 5
    np.testing.assert_array_equal(np.frombuffer(bytes(stored.final_weights), "<f8"),
                                  np.linspace(1.0, 2.0, 5))
    with pytest.raises(ComputeError):
        compute_parallel.finish([], token=token, instrument="NO-SUCH-INSTRUMENT")
    assert not m.RunPart.objects.exists()

    old = compute_parallel._store_part(token, wave.pk, np.array(ids, dtype=np.int64),
                                        np.ones(5), b"")
    m.RunPart.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(days=2))
    # a chord that dies before its body: its rows stay, the next chord deletes the stale one
    with mock.patch("celery.chord") as chord:
        compute_parallel.compute_indices_parallel(shards=2)
    assert chord.called
    assert not m.RunPart.objects.filter(pk=old).exists()


def compute_indices_parallel_eager(**kwargs):
    return compute_parallel.compute_indices_parallel(**kwargs).get()


def _server_db(test):
    for mark in reversed(REQUIRES_SERVER_DB):
        test = mark(test)
    return test


@_server_db
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("processes", [1, 2])
def test_parallel_run_on_a_celery_worker_through_redis(tmp_path, processes):
    """The chord on a real worker: one process, or two (parts side by side, a wave's stage
    queued by one process and run by either, the body waiting for the last one)."""
    _load_small_country(tmp_path)
    single = compute_indices()
    stored = _stored(single)
    with celery_worker(processes=processes, CELERY_RESULT_BACKEND=REDIS_URL) as worker:
        worker.send("surveys.compute_indices_parallel", queue=worker.queue, shards=3)

        def finished() -> m.IndexRun | None:
            # done: the body has added its figures, and the task it queued after itself
            # has deleted the parts' rows
            run = m.IndexRun.objects.exclude(pk=single.pk).filter(
                status__in=[m.RunStatus.SUCCEEDED, m.RunStatus.FAILED]).first()
            if run is None or (run.status == m.RunStatus.SUCCEEDED and (
                    "parallel" not in run.parameters or m.RunPart.objects.exists()
                    or m.RunWave.objects.exists())):
                return None
            return run
        parallel = worker.wait(finished, timeout=180)
    assert parallel is not None, worker.output
    _assert_same_results(single, stored, parallel)
    for year in m.Wave.objects.values_list("year", flat=True):  # every stage ran in a task
        assert f"stage:{year}/total" in parallel.timings, worker.output


@pytest.mark.django_db
def test_parallel_run_with_a_version_switch_reads_the_bridged_waves(settings):
    """Waves with bridge estimates to compute (a version switch: the bridges score their
    rows) are read by the body, checked against the parts' digests, and give the same bridge
    estimates, trends and panel tables as one process."""
    from tests.test_instrument_versions import _world

    _world(settings)
    single = compute_indices(instrument="IINP")
    stored = _stored(single)
    bridges_single = pd.DataFrame(m.BridgeResult.objects.values()).drop(
        columns=["id", "run_id"]).sort_values(["wave_id", "region_code", "dimension", "series"])
    assert len(bridges_single) > 0
    result = compute_indices_parallel_eager(instrument="IINP", shards=2)
    parallel = m.IndexRun.objects.get(pk=result["run"])
    _assert_same_results(single, stored, parallel)
    assert [k for k in parallel.timings if k.endswith("/read")]  # the bridged waves
    bridges_parallel = pd.DataFrame(m.BridgeResult.objects.values()).drop(
        columns=["id", "run_id"]).sort_values(["wave_id", "region_code", "dimension", "series"])
    pd.testing.assert_frame_equal(bridges_parallel.reset_index(drop=True),
                                  bridges_single.reset_index(drop=True), rtol=1e-9)


@pytest.mark.django_db
def test_run_parts_are_unlogged_and_uncompressed_and_jit_is_off():
    """PostgreSQL: the chord's staging table writes no WAL and does not compress its arrays,
    and connections run without JIT compilation (docs/DECISIONS.md 78)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL settings")
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = 'surveys_runpart'")
        assert cursor.fetchone() == ("u",)
        cursor.execute("SELECT attname, attstorage FROM pg_attribute WHERE attrelid = "
                       "'surveys_runpart'::regclass AND attname IN ('response_ids', "
                       "'final_weights', 'arrays') ORDER BY attname")
        assert cursor.fetchall() == [("arrays", "e"), ("final_weights", "e"),
                                     ("response_ids", "e")]
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def _lz4(connection) -> bool:
    """PostgreSQL 14 or later built with lz4 (migration 0015 compresses with it then)."""
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                       "WHERE name = 'default_toast_compression'")
        return bool(cursor.fetchone()[0])


@pytest.mark.django_db
def test_a_stages_weights_are_compressed_with_lz4_and_copied_as_they_are():
    """PostgreSQL with lz4: `RunWave`'s weights columns compress with lz4 (the stage pays,
    in the parallel part), `WaveWeights`' never compress (the body's INSERT ... SELECT
    copies a compressed value as it is, an uncompressed one stays so)."""
    from django.db import connection

    if not _lz4(connection):
        pytest.skip("PostgreSQL 14+ with lz4")
    with connection.cursor() as cursor:
        cursor.execute("SELECT attrelid::regclass::text, attname, attstorage, attcompression "
                       "FROM pg_attribute WHERE attrelid IN ('surveys_runwave'::regclass, "
                       "'surveys_waveweights'::regclass) AND attname IN ('response_ids', "
                       "'final_weights') ORDER BY 1, 2")
        assert cursor.fetchall() == [
            ("surveys_runwave", "final_weights", "x", "l"),
            ("surveys_runwave", "response_ids", "x", "l"),
            ("surveys_waveweights", "final_weights", "e", ""),
            ("surveys_waveweights", "response_ids", "e", ""),
        ]


@pytest.mark.django_db
def test_a_part_reads_on_one_core_with_its_groups_in_memory(tmp_path):
    """PostgreSQL: a province task's read asks for no parallel workers, and every read of a
    wave raises ``work_mem`` and turns sorting off (its groups hashed) for its query only;
    the regions go as a bigint array (hashable against the bigint column). What the server
    was set to is asked right before the SELECT (docs/DECISIONS.md 81, 84); the plan is
    a hash aggregate."""
    import psycopg
    from django.db import connection

    from surveys.selectors import responses as sel

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL settings")
    _load_small_country(tmp_path)
    wave = m.Wave.objects.order_by("year").first()
    regions = sorted(set(m.Response.objects.filter(wave=wave)
                         .values_list("region_id", flat=True)))[:3]
    seen: list[tuple[str, str, str]] = []
    execute = psycopg.Cursor.execute

    def spying(self, query, params=None, **kwargs):
        if str(query).startswith("SELECT string_agg"):
            row = execute(self, "SELECT current_setting('max_parallel_workers_per_gather'), "
                                "current_setting('work_mem'), current_setting('enable_sort')"
                          ).fetchone()
            plan = "\n".join(r[0] for r in execute(self, f"EXPLAIN {query}", params,
                                                    **kwargs).fetchall())
            seen.append((*row, plan, str(query)))
        return execute(self, query, params, **kwargs)

    with mock.patch.object(psycopg.Cursor, "execute", spying):
        part = sel.wave_data(wave_id=wave.pk, with_respondent=False, region_ids=regions,
                             one_core=True)
        whole = sel.wave_data(wave_id=wave.pk, with_respondent=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('work_mem'), current_setting('enable_sort')")
        default, sort = cursor.fetchone()
    (part_workers, part_mem, part_sort, part_plan, part_sql), \
        (whole_workers, whole_mem, whole_sort, whole_plan, whole_sql) = seen
    assert part_workers == "0" and part_mem == sel.READ_WORK_MEM and part_sort == "off"
    assert whole_workers != "0" and whole_mem == sel.READ_WORK_MEM and whole_sort == "off"
    assert "HashAggregate" in part_plan and "Sort" not in part_plan, part_plan
    assert "Sort" not in whole_plan, whole_plan
    # set_config(..., true): the connection keeps its own
    assert default != sel.READ_WORK_MEM and sort == "on"
    assert "ANY(%s::bigint[])" in part_sql and "ANY(" not in whole_sql
    assert 0 < part.n < whole.n
    assert set(part.region) == set(m.Region.objects.filter(pk__in=regions)
                                   .values_list("code", flat=True))


@pytest.mark.django_db
def test_a_sampled_plan_gives_every_province_a_task_and_the_same_results(tmp_path,
                                                                          monkeypatch):
    """PostgreSQL, a large table: the plan counts responses in a sample of pages; a province
    the sample missed still goes to a task of every wave, each province to exactly one, and
    the run stores what the single-process run stores (docs/DECISIONS.md 81)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("TABLESAMPLE")
    _load_small_country(tmp_path)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE surveys_response")  # reltuples: the size the plan looks at
    exact = compute_parallel.plan([w.pk for w in m.Wave.objects.all()], 2)
    monkeypatch.setattr(compute_parallel, "PLAN_SAMPLE_FROM", 1)
    monkeypatch.setattr(compute_parallel, "PLAN_SAMPLE_ROWS", 100)  # a few pages
    counts, sampled = compute_parallel._province_counts(
        [w.pk for w in m.Wave.objects.all()], sample=True)
    assert sampled
    assert sum(n for per in counts.values() for n in per.values()) < m.Response.objects.count()
    tasks = compute_parallel.plan([w.pk for w in m.Wave.objects.all()], 2)
    every = set(m.Region.objects.values_list("pk", flat=True))
    for wave in m.Wave.objects.all():
        mine = [regions for wave_id, regions in tasks if wave_id == wave.pk]
        assert 1 <= len(mine) <= 2
        flat = [r for regions in mine for r in regions]
        assert len(flat) == len(set(flat)) and set(flat) == every
        provinces = [set(m.Region.objects.filter(pk__in=regions)
                         .values_list("parent__code", flat=True)) - {None}
                     for regions in mine]
        assert len(provinces) == 1 or not provinces[0] & provinces[1]
    assert len(exact) == 6 and {w for w, _ in exact} == {w for w, _ in tasks}
    single = compute_indices()
    stored = _stored(single)
    result = compute_indices_parallel_eager(shards=2)
    _assert_same_results(single, stored, m.IndexRun.objects.get(pk=result["run"]))


def test_a_worker_loads_the_index_run_when_it_starts():
    """backend.celery imports the index run's stack on `worker_init`, so that no first part
    pays for it; the web process (which imports backend.celery too) does not."""
    import subprocess
    import sys

    code = ("import sys, django; django.setup(); import backend.celery; "
            "from celery import signals; before = 'scipy.stats' in sys.modules; "
            "signals.worker_init.send(sender=None); "
            "print(before, 'surveys.services.compute_parallel' in sys.modules)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings.local"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=Path(__file__).resolve().parents[1], check=True)
    assert out.stdout.split() == ["False", "True"], out.stderr


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_parts_finishing_a_wave_together_queue_its_stage_once():
    """`finish_part` counts under a row lock: when the two parts of a wave finish at the same
    moment (two threads, two connections), exactly one of them sees the wave complete and
    queues its stage; both results are on the row. (Without the lock both read the row
    before either writes: each would see one part of two, and one result would be lost.)"""
    import threading
    import time

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    from tests.factories import WaveFactory

    wave = WaveFactory()
    token = "0" * 31 + "7"
    m.RunWave.objects.create(token=token, wave=wave, expected=2)
    barrier = threading.Barrier(2)
    outcome: dict[int, list[int]] = {}

    def part(k: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcome[k] = compute_parallel.finish_part(
                token, {"wave": wave.pk, "n": 0, "skip": None, "part": k})
        finally:
            connections.close_all()
    save = m.RunWave.save

    def slow_save(self, *args, **kwargs):  # widen the window between the count and the save
        time.sleep(0.3)
        return save(self, *args, **kwargs)
    with mock.patch.object(m.RunWave, "save", slow_save):
        threads = [threading.Thread(target=part, args=(k,)) for k in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert sorted(outcome.values()) == [[], [wave.pk]]
    row = m.RunWave.objects.get(token=token, wave=wave)
    assert sorted(p["part"] for p in row.parts) == [1, 2]
    assert row.stage == "queued"


@pytest.mark.django_db
def test_a_part_run_again_replaces_its_result_and_queues_nothing():
    """A task redelivered after its worker was lost (acks_late) finishes again: its result
    replaces the first on the `RunWave` row (a wave's parts are combined once each), and the
    stage is queued only when the wave is first complete; a wave whose previous wave is in
    the run waits for that wave's parts too."""
    from tests.factories import WaveFactory

    first = WaveFactory()
    wave = WaveFactory(instrument=first.instrument, version=first.version,
                       year=first.year + 1)
    token = "0" * 31 + "8"
    m.RunWave.objects.create(token=token, wave=first, expected=1)
    m.RunWave.objects.create(token=token, wave=wave, previous=first, expected=2)

    def finish(w, part: str, n: int) -> list[int]:
        return compute_parallel.finish_part(
            token, {"wave": w.pk, "part": part, "n": n, "skip": None})
    assert finish(wave, "a", 1) == []
    assert finish(wave, "a", 2) == []  # "a" again: still one part of two
    assert finish(wave, "b", 3) == []  # complete, but its previous wave is not
    assert finish(first, "c", 5) == [first.pk, wave.pk]  # both stages runnable now
    assert finish(wave, "b", 4) == []  # "b" again after the wave was complete
    row = m.RunWave.objects.get(token=token, wave=wave)
    assert sorted((p["part"], p["n"]) for p in row.parts) == [("a", 2), ("b", 4)]
    assert set(m.RunWave.objects.values_list("stage", flat=True)) == {"queued"}


@pytest.mark.django_db
def test_the_command_runs_the_chord_in_process_without_a_broker(tmp_path):
    """`compute_indices --parallel` with eager Celery: the chord runs here; a selection that
    fails is the command's error."""
    from django.core.management.base import CommandError

    _load_small_country(tmp_path)
    out = StringIO()
    call_command("compute_indices", "--parallel", "--shards", "2", stdout=out)
    run = m.IndexRun.objects.get()
    assert run.status == m.RunStatus.SUCCEEDED and run.parameters["parallel"]["tasks"] >= 3
    assert f"{run.pk}" in out.getvalue()
    with pytest.raises(CommandError, match="NOPE"):
        call_command("compute_indices", "--parallel", "--instrument", "NOPE", stdout=out)


@_server_db
@pytest.mark.django_db(transaction=True)
def test_the_command_hands_the_plan_to_a_worker(tmp_path):
    """With a broker the command queues the planning task on ``--queue`` and waits for the
    chord; it loads neither the analysis stack nor the system checks' URLconf. An unknown
    instrument comes back as the command's error."""
    import subprocess
    import sys

    from tests.celery_worker import _database_url

    _load_small_country(tmp_path)
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "backend.settings.local",
           "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": REDIS_URL,
           "CELERY_RESULT_BACKEND": REDIS_URL, "NILAI_AUTO_RECOMPUTE": "false"}
    with celery_worker(CELERY_RESULT_BACKEND=REDIS_URL) as worker:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "manage.py", "compute_indices", "--parallel",
             "--shards", "2", "--queue", worker.queue, "-v0"],
            env=env, cwd=repo, capture_output=True, text=True, timeout=300)
        failed = subprocess.run(
            [sys.executable, "manage.py", "compute_indices", "--parallel", "--instrument",
             "NOPE", "--queue", worker.queue], env=env, cwd=repo, capture_output=True,
            text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:] + worker.output
    run = m.IndexRun.objects.get()
    assert run.status == m.RunStatus.SUCCEEDED and "parallel" in run.parameters
    assert f"{run.pk}" in done.stdout
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert "surveys.tasks" in imported
    assert not {"scipy.stats", "pandas", "surveys.services.compute", "backend.urls"} & imported
    assert failed.returncode == 1 and "NOPE" in failed.stderr, failed.stderr[-2000:]


_HEAP = """
import numpy as np
from backend.celery import keep_freed_memory

def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 >> 20

kept = keep_freed_memory()
before = rss()
block = np.ones(8 << 20)  # 64 MB, above glibc's largest mmap threshold (32 MB)
del block
print(kept, rss() - before)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="Linux (glibc) only")
@pytest.mark.parametrize("setting", ["true", "false"])
def test_a_worker_keeps_freed_memory_unless_told_not_to(setting):
    """`backend.celery.keep_freed_memory` (called when a worker starts): a 64 MB array made
    and freed stays in the process for the next one (served from the heap, not unmapped),
    and is given back to the kernel without it (glibc maps every block above 32 MB and
    unmaps it when freed; the next one page-faults and zeroes it again)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _HEAP], capture_output=True, text=True,
                         check=True, env={**os.environ, "NILAI_WORKER_KEEP_HEAP": setting})
    kept, grown = out.stdout.split()
    assert kept == ("True" if setting == "true" else "False")
    if setting == "true":
        assert int(grown) >= 60, grown
    else:
        assert int(grown) < 10, grown


@pytest.mark.django_db(transaction=True)
def test_dropping_a_chord_vacuums_its_tables_outside_a_transaction():
    """PostgreSQL: `drop_parts` deletes the chord's rows and vacuums `RunPart` and `RunWave`
    (their TOAST space is then reused by the next run; a server without autovacuum let them
    grow ~1 GB a national run), unless it runs inside a transaction, where VACUUM cannot."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from tests.factories import WaveFactory

    if connection.vendor != "postgresql":
        pytest.skip("VACUUM is PostgreSQL's")
    wave = WaveFactory()
    for inside in (False, True):
        token = uuid.uuid4().hex
        compute_parallel._store_part(token, wave.pk, np.arange(3, dtype=np.int64), np.ones(3),
                                     b"x" * 5000)
        with CaptureQueriesContext(connection) as queries:
            if inside:
                with transaction.atomic():
                    assert compute_parallel.drop_parts(token) == 1
            else:
                assert compute_parallel.drop_parts(token) == 1
        vacuums = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("VACUUM")]
        assert vacuums == ([] if inside else
                           ["VACUUM surveys_runpart, surveys_runwave"]), vacuums
        assert not m.RunPart.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT vacuum_count FROM pg_stat_all_tables WHERE relname = "
                       "'surveys_runpart'")
        assert cursor.fetchone()[0] >= 1
