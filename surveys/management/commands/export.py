"""`manage.py export TABLE --output FILE [--format csv|xlsx|parquet|sav|dta]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from surveys.services.exports import DEFAULT_K, EXPORT_TABLES, FORMATS, ExportError, format_for
from surveys.services.jobs import export_to_path


class Command(BaseCommand):
    help = "Ekspor satu tabel hasil / export one result table (INTERFACE.md section 3)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("table", choices=list(EXPORT_TABLES))
        parser.add_argument("--output", "-o", required=True, metavar="FILE")
        parser.add_argument("--format", choices=FORMATS,
                            help="default: dari ekstensi berkas / from the file extension")
        parser.add_argument("--region", action="append", metavar="CODE",
                            help="hanya wilayah ini (boleh diulang) / only this region "
                                 "(repeatable)")
        parser.add_argument("--lang", choices=["id", "en"], default="id",
                            help="bahasa label SPSS/Stata / label language")
        parser.add_argument("--k", type=int, default=DEFAULT_K,
                            help="k-anonimitas mikrodata / microdata k-anonymity (default 5)")
        parser.add_argument("--instrument", metavar="CODE",
                            help="instrumen untuk microdata/codebook / instrument for "
                                 "microdata and codebook")

    def handle(self, *args: Any, **options: Any) -> None:
        """Every run is recorded as an ExportJob (source cli, the OS user), failed ones too."""
        table = options["table"]
        extra: dict[str, Any] = {}
        if table in ("microdata", "codebook"):
            extra["instrument"] = options["instrument"]
        if table == "microdata":
            extra["k"] = options["k"]
        folder = Path(options["output"]).expanduser().resolve().parent
        if not folder.is_dir():
            # Translators: id: folder keluaran tidak ada: {folder}
            raise CommandError(_("output folder does not exist: {folder}").format(folder=folder))
        try:
            fmt = format_for(options["output"], options["format"])
            job = export_to_path(
                table=table, fmt=fmt, output=options["output"], lang=options["lang"],
                region_codes=set(options["region"]) if options["region"] else None, **extra)
        except (ExportError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        # Translators: id: {table}: {rows} baris -> {output} ({fmt}, {bytes} byte, sha256
        #   {sha256}; pekerjaan #{job})
        self.stdout.write(_("{table}: {rows} rows -> {output} ({fmt}, {bytes} bytes, sha256 "
                            "{sha256}; job #{job})").format(
            table=table, rows=job.rows, output=options["output"], fmt=fmt, bytes=job.bytes,
            sha256=job.sha256, job=job.pk))
        for message in job.messages:
            self.stdout.write(f"  {message}")
