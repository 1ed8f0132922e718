from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from surveys.services.imports import indicators_load

from ._importing import recorded_import


class Command(BaseCommand):
    help = ("Muat definisi dan nilai indikator / load indicator definitions (JSON) and values "
            "(CSV indicator,region,year,value)")

    def add_arguments(self, parser) -> None:
        parser.add_argument("definitions", type=Path)
        parser.add_argument("values", type=Path)

    def handle(self, *args, definitions: Path, values: Path, **options) -> None:
        with recorded_import("load_indicators", [definitions, values]) as job:
            reports = indicators_load(definitions=definitions, values=values)
            job.finish(*reports)
        for report in reports:
            self.stdout.write(self.style.SUCCESS(report.summary()))
