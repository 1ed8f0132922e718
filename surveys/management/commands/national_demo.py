"""`manage.py national_demo --out DIR [--responses N] [--waves 5] [--provinces 11,64] [--load]`.

Writes the synthetic national data set (`surveys.services.national`): population margins of
every regency/city x sex x age group x year and one responses CSV per wave. ``--load`` then
loads fixtures/regions_indonesia.csv, the bundled instrument, the margins and the responses
into the configured database (without the automatic recompute: run ``compute_indices``, e.g.
``--parallel``, afterwards). Never load it into a database holding regions_kaltim.csv (BPS
codes; fixtures/README.md).
"""

from __future__ import annotations

import time
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.test import override_settings
from django.utils.translation import gettext as _

from surveys.services import national


class Command(BaseCommand):
    # Translators: id: Buat data sintetis nasional (38 provinsi, 514 kabupaten/kota)
    help = "Write a synthetic national data set (38 provinces, 514 regencies/cities)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--responses", type=int, default=5_000_000,
                            help="total over all waves (at least 40 per regency and wave)")
        parser.add_argument("--waves", type=int, default=5)
        parser.add_argument("--seed", type=int, default=2045)
        parser.add_argument("--provinces", default=None,
                            help="comma-separated province codes (default: all 38)")
        parser.add_argument("--load", action="store_true",
                            help="load regions, instrument, margins and responses")

    def handle(self, *args: Any, **options: Any) -> None:
        provinces = options["provinces"].split(",") if options["provinces"] else None
        start = time.perf_counter()
        report = national.generate(options["out"], responses=options["responses"],
                                   waves=options["waves"], seed=options["seed"],
                                   provinces=provinces)
        # Translators: id: {responses} respons, {regencies} kabupaten/kota di {provinces} provinsi,
        #   {seconds:.1f} s: {out}
        self.stdout.write(_("{responses} responses, {regencies} regencies/cities in {provinces} "
                            "provinces, {seconds:.1f} s: {out}").format(
            responses=report.responses, regencies=report.regencies,
            provinces=report.provinces, seconds=time.perf_counter() - start,
            out=report.out_dir))
        if not options["load"]:
            return
        with override_settings(NILAI_AUTO_RECOMPUTE=False):
            quiet = {"verbosity": 0, "stdout": StringIO()}
            call_command("load_regions", str(national.REGIONS_FILE), **quiet)
            call_command("load_instrument", str(national.INSTRUMENT_FILE), **quiet)
            call_command("load_population", str(report.population_file), **quiet)
            for path in report.response_files:
                t0 = time.perf_counter()
                call_command("import_responses", str(path), "--instrument", "IINP", **quiet)
                self.stdout.write(f"{path.name}: {time.perf_counter() - t0:.1f} s")
