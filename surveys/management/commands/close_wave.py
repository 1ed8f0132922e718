"""close_wave INSTRUMENT YEAR: stop accepting submissions and queue a recompute."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from surveys.exceptions import DomainError
from surveys.services.waves import wave_close


class Command(BaseCommand):
    help = "Close the wave INSTRUMENT YEAR; once committed, a recompute of the indices is queued."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("instrument")
        parser.add_argument("year", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            change = wave_close(instrument=options["instrument"], year=options["year"])
        except DomainError as exc:
            raise CommandError(exc.message()) from exc
        wave = change.wave
        if change.changed:
            # Translators: id: ditutup; perhitungan ulang diantrekan
            state = _("closed; recompute queued")
        else:
            # Translators: id: sudah ditutup
            state = _("already closed")
        # Translators: id: gelombang {pk}: {instrument} {year} {state}
        self.stdout.write(_("wave {pk}: {instrument} {year} {state}").format(
            pk=wave.pk, instrument=wave.instrument.code, year=wave.year, state=state))
