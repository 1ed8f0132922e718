from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from surveys.services.imports import responses_import

from ._importing import import_errors


class Command(BaseCommand):
    help = ("Impor jawaban dari CSV lebar / import a wide responses CSV "
            "(respondent,wave,region,sex,age_group,stratum,psu,base_weight,<item>...); "
            "all or nothing, re-importing the same file changes nothing")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--instrument", required=True, help="kode instrumen / instrument code")
        parser.add_argument(
            "--instrument-version", type=int, default=None,
            help="versi instrumen (bawaan: terbaru) / instrument version (default: latest)",
        )
        parser.add_argument(
            "--replace", action="store_true",
            help="ganti jawaban tersimpan yang berbeda / replace stored responses that differ",
        )

    def handle(self, *args, file: Path, instrument: str, instrument_version: int | None,
               replace: bool, **options) -> None:
        with import_errors():
            report = responses_import(path=file, instrument_code=instrument,
                                      version=instrument_version, replace=replace)
        self.stdout.write(self.style.SUCCESS(report.summary()))
