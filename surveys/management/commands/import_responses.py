from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from surveys.collect.fieldimport import import_field_export
from surveys.services.imports import responses_import

from ._importing import recorded_import


class Command(BaseCommand):
    help = ("Impor jawaban dari CSV lebar / import a wide responses CSV "
            "(respondent,wave,region,sex,age_group,stratum,psu,base_weight,<item>...); "
            "all or nothing, re-importing the same file changes nothing")
    # No system checks before a load: they import the whole URL configuration (the dashboard,
    # the report, scipy), ~1.5 s of every import; `manage.py check` and the servers run them.
    requires_system_checks: list[str] = []

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
        parser.add_argument(
            "--from", dest="platform", choices=["csv", "kobo", "odk"], default="csv",
            help="csv: the responses CSV of INTERFACE section 1 (default); kobo / odk: a "
                 "KoboToolbox (CSV/XLSX) or ODK Central (CSV) submission export of the form "
                 "made by export_xlsform",
        )
        parser.add_argument(
            "--wave", type=int, default=None,
            help="tahun gelombang bila ekspor tidak memuatnya / the wave's year, when the "
                 "export has no wave field (a form made without --year)",
        )

    def handle(self, *args, file: Path, instrument: str, instrument_version: int | None,
               replace: bool, platform: str, wave: int | None, **options) -> None:
        options = {"instrument": instrument, "instrument_version": instrument_version,
                   "replace": replace, "from": platform, "wave": wave}
        with recorded_import("import_responses", [file], options) as job:
            if platform == "csv":
                if wave is not None:
                    # Translators: id: --wave hanya untuk --from kobo|odk
                    raise CommandError(_("--wave only with --from kobo|odk"))
                report = responses_import(path=file, instrument_code=instrument,
                                          version=instrument_version, replace=replace)
            else:
                report = import_field_export(path=file, platform=platform,
                                             instrument_code=instrument,
                                             version=instrument_version, wave=wave,
                                             replace=replace)
            job.finish(report)
        self.stdout.write(self.style.SUCCESS(report.summary()))
