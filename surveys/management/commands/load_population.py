from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from surveys.services.imports import population_load

from ._importing import recorded_import


class Command(BaseCommand):
    help = ("Muat marginal penduduk / load population margins "
            "(year,region,sex,age_group,population)")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        with recorded_import("load_population", [file]) as job:
            report = population_load(path=file)
            job.finish(report)
        self.stdout.write(self.style.SUCCESS(report.summary()))
