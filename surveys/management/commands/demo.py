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
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from surveys.management.commands.compute_indices import STATUS
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
            # Translators: id: --respondents harus > 0
            raise CommandError(_("--respondents must be > 0"))
        say = self.stdout.write
        call_command("migrate", interactive=False, verbosity=0)
        # The demo computes once at the end; imports must not each queue a recompute.
        with override_settings(NILAI_AUTO_RECOMPUTE=False):
            demo.load_bundled(with_v2=True)
            # the last wave switches to instrument version 2: the demo shows its bridge
            report = demo.demo_generate(respondents=options["respondents"],
                                        seed=options["seed"], last_wave_version=2)
        if report.skipped:
            # Translators: id: Data demo sudah ada ({responses} respons), tidak dibuat ulang
            say(_("Demo data already present ({responses} responses), not regenerated").format(
                responses=report.responses))
        else:
            # Translators: id: Data sintetis: {responses} respons, {regions} wilayah, {waves}
            #   gelombang {first}-{last} ({seconds} s)
            say(_("Synthetic data: {responses} responses, {regions} regions, {waves} waves "
                  "{first}-{last} ({seconds} s)").format(
                responses=report.responses, regions=report.regions, waves=len(report.years),
                first=report.years[0], last=report.years[-1], seconds=f"{report.seconds:.1f}"))
        if options["no_compute"]:
            return
        try:
            run = compute_indices(instrument=report.instrument,
                                  progress=self.stdout.isatty(), progress_file=self.stdout._out)
        except ComputeError as exc:
            raise CommandError(_("run failed: {error}").format(error=exc)) from exc
        # Translators: id: Perhitungan {run}: {status} ({seconds} s)
        say(_("Run {run}: {status} ({seconds} s)").format(
            run=run.pk, status=gettext(STATUS.get(run.status, run.status)),
            seconds=f"{run.timings.get('total', 0):.1f}"))
        warnings = [msg for msg in run.messages if msg["level"] == "warning"]
        if warnings:
            # Translators: id: {n} peringatan (lihat IndexRun {run})
            say(_("{n} warnings (see IndexRun {run})").format(n=len(warnings), run=run.pk))
        say("")
        say(demo.trend_table_text(instrument=report.instrument))
        say("")
        say(demo.bridge_table_text(instrument=report.instrument))
        say("")
        say(demo.small_area_text(instrument=report.instrument))
        say("")
        say(demo.programme_table_text())
        say("")
        # Translators: id: Selesai dalam {seconds} s. Lanjut: {command}
        say(_("Done in {seconds} s. Next: {command}").format(
            seconds=f"{time.perf_counter() - start:.1f}",
            command="manage.py export estimates --output estimates.xlsx"))
