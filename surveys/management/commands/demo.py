"""`manage.py demo [--respondents N] [--seed S]`: a first look at Nilai with nothing set up.

Migrates the database (SQLite by default), loads the bundled Kalimantan Timur regions, the
Pancasila instrument and demo population margins, generates five waves (2021-2025) of
synthetic responses with indicators and targets (surveys.services.demo), computes everything
and prints the trend table. ``--respondents`` is the total over all waves (default 15,000).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test.utils import override_settings

from surveys.services import demo
from surveys.services.compute import ComputeError, compute_indices


class Command(BaseCommand):
    help = ("Demo: data sintetis 2021-2025, hitung indeks, cetak tabel tren / synthetic data "
            "2021-2025, compute the index, print the trend table")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--respondents", type=int, default=demo.DEFAULT_RESPONDENTS,
                            help="jumlah respons total semua gelombang / total responses over "
                                 "all waves (default 15000)")
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED)
        parser.add_argument("--no-compute", action="store_true",
                            help="hanya buat data / only generate the data")

    def handle(self, *args: Any, **options: Any) -> None:
        start = time.perf_counter()
        if options["respondents"] < 1:
            raise CommandError("--respondents harus > 0 / must be > 0")
        say = self.stdout.write
        call_command("migrate", interactive=False, verbosity=0)
        # The demo computes once at the end; imports must not each queue a recompute.
        with override_settings(NILAI_AUTO_RECOMPUTE=False):
            demo.load_bundled()
            report = demo.demo_generate(respondents=options["respondents"],
                                        seed=options["seed"])
        if report.skipped:
            say(f"Data demo sudah ada ({report.responses} respons), tidak dibuat ulang / demo "
                f"data already present ({report.responses} responses), not regenerated")
        else:
            say(f"Data sintetis / synthetic data: {report.responses} respons/responses, "
                f"{report.regions} wilayah/regions, {len(report.years)} gelombang/waves "
                f"{report.years[0]}-{report.years[-1]} ({report.seconds:.1f} s)")
        if options["no_compute"]:
            return
        try:
            run = compute_indices(instrument=report.instrument,
                                  progress=self.stdout.isatty(), progress_file=self.stdout._out)
        except ComputeError as exc:
            raise CommandError(f"perhitungan gagal / run failed: {exc}") from exc
        say(f"Perhitungan / run {run.pk}: {run.status} ({run.timings.get('total', 0):.1f} s)")
        warnings = [msg for msg in run.messages if msg["level"] == "warning"]
        if warnings:
            say(f"{len(warnings)} peringatan / warnings (lihat / see IndexRun {run.pk})")
        say("")
        say(demo.trend_table_text(instrument=report.instrument))
        say("")
        say(demo.small_area_text(instrument=report.instrument))
        say("")
        say(demo.programme_table_text())
        say("")
        say(f"Selesai / done in {time.perf_counter() - start:.1f} s. Lanjut / next: "
            "manage.py export estimates --output estimates.xlsx")
