from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from surveys.services.imports import targets_load

from ._importing import import_errors


class Command(BaseCommand):
    help = ("Muat target / load targets (CSV indicator,region,year,target; indicator INDEX = "
            "the overall index)")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        with import_errors():
            report = targets_load(path=file)
        self.stdout.write(self.style.SUCCESS(report.summary()))
