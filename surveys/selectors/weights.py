"""Final weights of the last index run, read from their packed per-wave rows (`WaveWeights`).

Every reader joins from the responses: `weights_of` answers "which of these responses have a
final weight, and what is it", so a response deleted after the run is simply not asked about
and one submitted after it comes back without a weight.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from surveys.models import WaveWeights


@dataclass(frozen=True)
class PackedWeights:
    """One wave's weights: ``response_ids`` ascending (int64), ``final_weights`` aligned."""

    wave_id: int
    run_id: int
    response_ids: np.ndarray
    final_weights: np.ndarray

    @property
    def n(self) -> int:
        return int(self.response_ids.size)

    def lookup(self, response_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(found, weight)`` for each of ``response_ids``: a mask of the responses that have
        a weight, and the weight (NaN where there is none)."""
        ids = np.asarray(response_ids, dtype=np.int64)
        weight = np.full(ids.size, np.nan)
        if self.n == 0 or ids.size == 0:
            return np.zeros(ids.size, dtype=bool), weight
        pos = np.searchsorted(self.response_ids, ids)
        pos_c = np.minimum(pos, self.n - 1)
        found = self.response_ids[pos_c] == ids
        weight[found] = self.final_weights[pos_c[found]]
        return found, weight


def pack(response_ids: np.ndarray, final_weights: np.ndarray) -> tuple[bytes, bytes]:
    """The stored form of a wave's weights: ids sorted ascending, weights aligned."""
    ids = np.asarray(response_ids, dtype=np.int64)
    weights = np.asarray(final_weights, dtype=np.float64)
    if ids.shape != weights.shape or ids.ndim != 1:
        raise ValueError("response ids and weights must be 1-d arrays of the same length")
    order = np.argsort(ids, kind="stable")
    ids, weights = ids[order], weights[order]
    if ids.size > 1 and not (np.diff(ids) > 0).all():
        raise ValueError("a response may have only one weight")
    return ids.astype("<i8").tobytes(), weights.astype("<f8").tobytes()


def _unpack(row: WaveWeights) -> PackedWeights:
    ids = np.frombuffer(bytes(row.response_ids), dtype="<i8").astype(np.int64)
    weights = np.frombuffer(bytes(row.final_weights), dtype="<f8").astype(np.float64)
    if ids.size != row.n or weights.size != row.n:
        raise ValueError(f"weights of wave {row.wave_id} are damaged: {row.n} expected, "
                         f"{ids.size} ids and {weights.size} weights stored")
    return PackedWeights(wave_id=row.wave_id, run_id=row.run_id, response_ids=ids,
                         final_weights=weights)


def wave_weights(wave_id: int) -> PackedWeights | None:
    """The wave's weights from the last run that covered it, or None (never computed)."""
    row = WaveWeights.objects.filter(wave_id=wave_id).first()
    return _unpack(row) if row is not None else None


def waves_weights(wave_ids: Iterable[int]) -> dict[int, PackedWeights]:
    """Weights of several waves (those never computed are absent), one query."""
    return {row.wave_id: _unpack(row)
            for row in WaveWeights.objects.filter(wave_id__in=list(wave_ids))}


def weighted_count(wave_ids: Iterable[int] | None = None) -> int:
    """How many responses carry a final weight (of the given waves, or all)."""
    qs = WaveWeights.objects.all()
    if wave_ids is not None:
        qs = qs.filter(wave_id__in=list(wave_ids))
    return sum(qs.values_list("n", flat=True))
