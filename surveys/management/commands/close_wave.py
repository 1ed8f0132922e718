"""close_wave INSTRUMENT YEAR: stop accepting submissions and queue a recompute."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

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
            raise CommandError(exc.message("en")) from exc
        wave = change.wave
        state = "closed; recompute queued" if change.changed else "already closed"
        self.stdout.write(f"wave {wave.pk}: {wave.instrument.code} {wave.year} {state}")
