"""Opening and closing waves for API submissions."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from surveys.exceptions import Conflict, InvalidInput
from surveys.models import Instrument, InstrumentVersion, Wave, WaveStatus


@dataclass(frozen=True)
class WaveChange:
    wave: Wave
    changed: bool


def _instrument(code: str) -> Instrument:
    instrument = Instrument.objects.filter(code=code).first()
    if instrument is None:
        raise InvalidInput("unknown_instrument", instrument=code)
    return instrument


@transaction.atomic
def wave_open(*, instrument: str, year: int, version: int | None = None) -> WaveChange:
    """Open the wave `instrument` `year` for submissions, creating it with the given (default:
    latest) instrument version. Re-opening a closed wave keeps its version."""
    inst = _instrument(instrument)
    versions = InstrumentVersion.objects.filter(instrument=inst)
    wave = (
        Wave.objects.select_for_update(of=("self",))
        .select_related("instrument", "version")
        .filter(instrument=inst, year=year)
        .first()
    )
    if wave is not None:
        if version is not None and wave.version.version != version:
            raise Conflict(
                "wave_version_mismatch", instrument=instrument, year=year,
                current=wave.version.version, version=version,
            )
        if wave.status == WaveStatus.OPEN:
            return WaveChange(wave=wave, changed=False)
        wave.status = WaveStatus.OPEN
        wave.save(update_fields=["status"])
        return WaveChange(wave=wave, changed=True)
    chosen = (
        versions.filter(version=version).first()
        if version is not None
        else versions.order_by("-version").first()
    )
    if chosen is None:
        raise InvalidInput("unknown_version", instrument=instrument, version=version or "-")
    wave = Wave.objects.create(instrument=inst, version=chosen, year=year, status=WaveStatus.OPEN)
    return WaveChange(wave=wave, changed=True)


@transaction.atomic
def wave_close(*, instrument: str, year: int) -> WaveChange:
    """Close a wave; once committed, queue a recompute of the indices for it.

    The row lock (FOR UPDATE) waits for submissions in flight, which hold the wave FOR SHARE,
    so nothing is accepted after the close commits.
    """
    inst = _instrument(instrument)
    wave = (
        Wave.objects.select_for_update(of=("self",))
        .select_related("instrument", "version")
        .filter(instrument=inst, year=year)
        .first()
    )
    if wave is None:
        raise InvalidInput("unknown_wave", instrument=instrument, year=year)
    if wave.status == WaveStatus.CLOSED:
        return WaveChange(wave=wave, changed=False)
    wave.status = WaveStatus.CLOSED
    wave.save(update_fields=["status"])
    # Imported late: the compute service loads the analysis stack, which opening and closing
    # waves otherwise never need.
    from surveys.services.recompute import queue_recompute

    queue_recompute(wave_id=wave.pk)  # after the commit, like every other input change
    return WaveChange(wave=wave, changed=True)
