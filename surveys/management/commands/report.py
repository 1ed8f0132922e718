"""`manage.py report --region CODE --year YEAR [--format pdf|docx] [--language en] --output FILE`.

The yearly indicator report of one region for Bappeda (issue 13). `--region` may be repeated, or
`--all-regions` given (every regency/city with estimates that year): the output is then one ZIP
of the reports. Every run is recorded as an export job (table ``report``, the OS user)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from surveys import publish
from surveys.models import ALL_REGIONS, OVERALL
from surveys.reports import FORMATS, ReportError
from surveys.reports.jobs import report_to_path


def _format(output: str, given: str | None) -> str:
    if given:
        return given
    suffix = Path(output).suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    return "pdf"


class Command(BaseCommand):
    help = ("Laporan capaian kinerja tahunan satu wilayah (PDF/Word) untuk Bappeda / the yearly "
            "indicator report of a region (PDF/Word) for Bappeda")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--region", action="append", metavar="CODE",
                            help="kode BPS wilayah (atau ALL); boleh diulang / BPS region code "
                                 "(or ALL); repeatable")
        parser.add_argument("--all-regions", action="store_true",
                            help="semua kabupaten/kota dengan estimasi tahun itu (ZIP) / every "
                                 "regency/city with estimates that year (ZIP)")
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--format", choices=FORMATS,
                            help="bawaan: dari ekstensi berkas, else pdf / default: from the "
                                 "file extension, else pdf")
        parser.add_argument("--language", "--lang", choices=["id", "en"], default="id",
                            dest="language")
        parser.add_argument("--instrument", metavar="CODE",
                            help="bawaan: instrumen indeks wilayah tahun itu / default: the "
                                 "region's index instrument that year")
        parser.add_argument("--output", "-o", required=True, metavar="FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        regions = list(dict.fromkeys(options["region"] or []))
        year = options["year"]
        if options["all_regions"]:
            if regions:
                # Translators: id: pilih --region atau --all-regions, bukan keduanya
                raise CommandError(_("give --region or --all-regions, not both"))
            regions = sorted(set(publish.rows(
                "estimates", regions=None, wave=year, dimension=OVERALL,
                instrument=options["instrument"]).values_list("region_code", flat=True))
                - {ALL_REGIONS})
            if not regions:
                # Translators: id: tidak ada estimasi tahun {year}
                raise CommandError(_("no estimates in {year}").format(year=year))
        if not regions:
            # Translators: id: --region CODE atau --all-regions wajib
            raise CommandError(_("--region CODE or --all-regions is required"))
        output = Path(options["output"]).expanduser()
        if not output.resolve().parent.is_dir():
            # Translators: id: folder keluaran tidak ada: {folder}
            raise CommandError(_("output folder does not exist: {folder}").format(
                folder=output.resolve().parent))
        fmt = _format(str(output), options["format"])
        if len(regions) > 1 and output.suffix.lower() != ".zip":
            # Translators: id: {n} wilayah ditulis sebagai satu ZIP: beri --output berakhiran .zip
            raise CommandError(_("{n} regions are written as one ZIP: give an --output ending "
                                 "in .zip").format(n=len(regions)))
        started = time.perf_counter()
        try:
            job = report_to_path(regions=regions, year=year, fmt=fmt,
                                 lang=options["language"], output=output,
                                 instrument=options["instrument"])
        except (ReportError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        seconds = time.perf_counter() - started
        # Translators: id: laporan {regions} {year}: {rows} dokumen -> {output} ({fmt}, {bytes}
        #   byte, sha256 {sha256}; pekerjaan #{job}; {seconds} s)
        self.stdout.write(_("report {regions} {year}: {rows} documents -> {output} ({fmt}, "
                            "{bytes} bytes, sha256 {sha256}; job #{job}; {seconds} s)").format(
            regions=", ".join(regions), year=year, rows=job.rows, output=output, fmt=fmt,
            bytes=job.bytes, sha256=job.sha256, job=job.pk, seconds=f"{seconds:.1f}"))
