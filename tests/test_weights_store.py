"""Packed per-wave final weights: packing, lookup, and the migration from one row per response."""

from __future__ import annotations

import hashlib
import uuid

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from surveys.selectors.weights import PackedWeights, pack

BEFORE = [("surveys", "0002_respondent_account")]
AFTER = [("surveys", "0003_packed_wave_weights")]


def _unpacked(ids: bytes, weights: bytes) -> PackedWeights:
    return PackedWeights(wave_id=1, run_id=1, response_ids=np.frombuffer(ids, dtype="<i8"),
                         final_weights=np.frombuffer(weights, dtype="<f8"))


def test_pack_sorts_by_response_and_keeps_pairs() -> None:
    ids, weights = pack(np.array([30, 10, 20]), np.array([3.5, 1.25, 2.0]))
    packed = _unpacked(ids, weights)
    assert packed.response_ids.tolist() == [10, 20, 30]
    assert packed.final_weights.tolist() == [1.25, 2.0, 3.5]
    assert len(ids) == len(weights) == 3 * 8


def test_pack_refuses_duplicates_and_misaligned_arrays() -> None:
    with pytest.raises(ValueError, match="only one weight"):
        pack(np.array([1, 2, 1]), np.ones(3))
    with pytest.raises(ValueError, match="same length"):
        pack(np.array([1, 2]), np.ones(3))


def test_lookup_finds_present_and_flags_absent() -> None:
    packed = _unpacked(*pack(np.array([5, 7, 9]), np.array([0.5, 0.7, 0.9])))
    found, weight = packed.lookup(np.array([9, 4, 7, 10, 5, 8]))
    assert found.tolist() == [True, False, True, False, True, False]
    assert weight[found].tolist() == [0.9, 0.7, 0.5]
    assert np.isnan(weight[~found]).all()
    empty = _unpacked(*pack(np.array([], dtype=np.int64), np.array([])))
    found, weight = empty.lookup(np.array([1, 2]))
    assert not found.any() and np.isnan(weight).all()
    assert packed.lookup(np.array([], dtype=np.int64))[0].size == 0


@pytest.mark.django_db(transaction=True)
def test_migration_packs_per_response_weights_per_wave() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        apps = executor.loader.project_state(BEFORE).apps
        Region = apps.get_model("surveys", "Region")
        Instrument = apps.get_model("surveys", "Instrument")
        Version = apps.get_model("surveys", "InstrumentVersion")
        Wave = apps.get_model("surveys", "Wave")
        Respondent = apps.get_model("surveys", "Respondent")
        Response = apps.get_model("surveys", "Response")
        IndexRun = apps.get_model("surveys", "IndexRun")
        WeightResult = apps.get_model("surveys", "WeightResult")
        region = Region.objects.create(code="6401", name="Paser", level="regency")
        inst = Instrument.objects.create(code="MIG", title_id="uji")
        version = Version.objects.create(instrument=inst, version=1, title_id="uji",
                                         scale_min=1, scale_max=5, min_valid_share=0.5,
                                         checksum=hashlib.sha256(b"mig").hexdigest())
        waves = [Wave.objects.create(instrument=inst, version=version, year=y, status="closed")
                 for y in (2021, 2022)]
        run = IndexRun.objects.create(status="succeeded")
        expected: dict[int, list[tuple[int, float]]] = {}
        for wave, n in zip(waves, (4, 3), strict=True):
            for i in range(n):
                resp = Response.objects.create(
                    wave=wave, respondent=Respondent.objects.create(panel_key=uuid.uuid4().hex),
                    submission_id=uuid.uuid4(), status="submitted", source="api",
                    region=region, sex="L", age_group="17-24", stratum="s", psu=f"p{i}",
                    base_weight=1.0, answers=b"\x03", content_hash="0" * 64,
                    submitted_at=timezone.now())
                weight = 1.5 + i / 7
                WeightResult.objects.create(run=run, response=resp, wave=wave,
                                            final_weight=weight)
                expected.setdefault(wave.pk, []).append((resp.pk, weight))

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        apps = executor.loader.project_state(AFTER).apps
        WaveWeights = apps.get_model("surveys", "WaveWeights")
        stored = {row.wave_id: row for row in WaveWeights.objects.all()}
        assert set(stored) == set(expected)
        for wave_id, pairs in expected.items():
            row = stored[wave_id]
            assert row.run_id == run.pk and row.n == len(pairs)
            ids = np.frombuffer(bytes(row.response_ids), dtype="<i8").tolist()
            weights = np.frombuffer(bytes(row.final_weights), dtype="<f8").tolist()
            assert list(zip(ids, weights, strict=True)) == sorted(pairs)

        # and back: one row per response again
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        apps = executor.loader.project_state(BEFORE).apps
        WeightResult = apps.get_model("surveys", "WeightResult")
        back = sorted(WeightResult.objects.values_list("response_id", "final_weight"))
        assert back == sorted(p for pairs in expected.values() for p in pairs)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
