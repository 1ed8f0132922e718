"""open_wave INSTRUMENT YEAR [--instrument-version N]: open a wave for API submissions."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from surveys.exceptions import DomainError
from surveys.services.waves import wave_open


class Command(BaseCommand):
    help = (
        "Open the wave INSTRUMENT YEAR for submissions through the API (created with the given "
        "or latest instrument version)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("instrument")
        parser.add_argument("year", type=int)
        parser.add_argument("--instrument-version", type=int, dest="instrument_version")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            change = wave_open(
                instrument=options["instrument"], year=options["year"],
                version=options["instrument_version"],
            )
        except DomainError as exc:
            raise CommandError(exc.message()) from exc
        wave = change.wave
        if change.changed:
            # Translators: id: dibuka
            state = _("opened")
        else:
            # Translators: id: sudah dibuka
            state = _("already open")
        # Translators: id: gelombang {pk}: {instrument} {year} (versi {version}) {state}
        self.stdout.write(_("wave {pk}: {instrument} {year} (version {version}) {state}").format(
            pk=wave.pk, instrument=wave.instrument.code, year=wave.year,
            version=wave.version.version, state=state))
