from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from surveys.services.imports.programmes import programmes_load

from ._importing import recorded_import


class Command(BaseCommand):
    help = ("Muat registri program/kegiatan / load the programme registry (CSV code,region,type,"
            "dimension,start_year,end_year,name_id,name_en,budget,participants,rpjmd_code)")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        with recorded_import("load_programmes", [file]) as job:
            report = programmes_load(path=file)
            job.finish(report)
        self.stdout.write(self.style.SUCCESS(report.summary()))
