"""`manage.py export TABLE --output FILE [--format csv|xlsx|parquet|sav|dta]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.services.exports import (
    DEFAULT_K,
    EXPORT_TABLES,
    FORMATS,
    ExportError,
    export_table,
    format_for,
)


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
        table = options["table"]
        extra: dict[str, Any] = {}
        if table in ("microdata", "codebook"):
            extra["instrument"] = options["instrument"]
        if table == "microdata":
            extra["k"] = options["k"]
        try:
            fmt = format_for(options["output"], options["format"])
            summary = export_table(
                table=table, fmt=fmt, output=options["output"], lang=options["lang"],
                region_codes=set(options["region"]) if options["region"] else None, **extra)
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{table}: {summary.rows} baris/rows, {len(summary.columns)} kolom/"
                          f"columns -> {options['output']} ({fmt}, {summary.bytes} bytes)")
        for message in summary.messages:
            self.stdout.write(f"  {message}")
