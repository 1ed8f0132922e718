from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from surveys.services.imports import regions_load

from ._importing import import_errors


class Command(BaseCommand):
    help = ("Muat wilayah dari CSV / load regions from a CSV "
            "(code,name,level,parent[,code_kemendagri])")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        with import_errors():
            report = regions_load(path=file)
        self.stdout.write(self.style.SUCCESS(report.summary()))
