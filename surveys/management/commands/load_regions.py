from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from surveys.services.imports import regions_load

from ._importing import recorded_import


class Command(BaseCommand):
    help = ("Muat wilayah dari CSV / load regions from a CSV "
            "(code,name,level,parent[,code_kemendagri])")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        with recorded_import("load_regions", [file]) as job:
            report = regions_load(path=file)
            job.finish(report)
        self.stdout.write(self.style.SUCCESS(report.summary()))
