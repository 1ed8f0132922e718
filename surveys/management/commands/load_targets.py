from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from surveys.services.imports import targets_load

from ._importing import recorded_import


class Command(BaseCommand):
    help = ("Muat target / load targets (CSV indicator,region,year,target; indicator INDEX = "
            "the overall index)")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        with recorded_import("load_targets", [file]) as job:
            report = targets_load(path=file)
            job.finish(report)
        self.stdout.write(self.style.SUCCESS(report.summary()))
