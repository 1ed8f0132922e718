"""`manage.py compute_indices [--wave YEAR] [--instrument CODE]`: recompute and store results.

A wave that cannot be computed yet (no population margins, an empty raking cell...) is skipped
and keeps its previous results; the run still succeeds, says how many waves it skipped and
prints each one's reason (level ``error``). Only a run that computes no wave at all fails.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.services.compute import ComputeError, compute_indices


class Command(BaseCommand):
    help = ("Hitung bobot, estimasi, reliabilitas, CFA, tren, perubahan, validasi proksi dan "
            "capaian / compute weights, estimates, reliability, CFA, trends, changes, proxy "
            "validation and achievements")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wave", type=int, action="append", metavar="YEAR",
                            help="hanya gelombang tahun ini (boleh diulang) / only this wave's "
                                 "year (repeatable)")
        parser.add_argument("--instrument", metavar="CODE",
                            help="kode instrumen / instrument code (default: all)")
        parser.add_argument("--lonely-psu", default="certainty",
                            choices=["certainty", "remove", "average", "fail"])
        parser.add_argument("--trim", action="store_true",
                            help="pangkas bobot ekstrem lalu rake ulang / trim weights, re-rake")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        progress = self.stdout.isatty() and not options["no_progress"]
        try:
            run = compute_indices(instrument=options["instrument"], years=options["wave"],
                                  lonely_psu=options["lonely_psu"], trim=options["trim"],
                                  progress=progress, progress_file=self.stdout._out)
        except ComputeError as exc:
            raise CommandError(f"perhitungan gagal / run failed: {exc}") from exc
        verbosity = options["verbosity"]
        rows = run.parameters.get("rows", {})
        skipped = len(run.parameters.get("skipped_waves") or [])
        status = f"{run.status}" + (
            f" ({skipped} gelombang dilewati / {skipped} wave{'s' if skipped > 1 else ''} "
            "skipped, hasil sebelumnya dipertahankan / previous results kept)" if skipped
            else "")
        self.stdout.write(
            f"run {run.pk}: {status}; " + ", ".join(f"{k} {v}" for k, v in rows.items())
            + f" ({run.timings.get('total', 0):.1f} s)")
        if verbosity >= 1:
            for msg in run.messages:
                if msg["level"] != "info" or verbosity >= 2:
                    self.stdout.write(f"  [{msg['level']}] {msg['message']}")
