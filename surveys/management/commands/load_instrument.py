from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from surveys.services.instruments import instrument_load

from ._importing import recorded_import


class Command(BaseCommand):
    help = ("Terbitkan versi instrumen dari JSON / publish an instrument version from a JSON "
            "file (a published version never changes)")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        with recorded_import("load_instrument", [file]) as job:
            result = instrument_load(path=file)
            job.finish(result)
        self.stdout.write(self.style.SUCCESS(result.summary()))
