"""What programme evaluation and small areas add to `compute_indices` (issues 10 and 11).

    .venv/bin/python bench/bench_evaluation.py [--respondents 1000000] [--runs 3]

A fresh SQLite database gets the demo (bundled regions, instrument, population, N responses over
five waves, indicators, targets and the demo's dozen programmes); then `compute_indices` runs
`--runs` times. Per run: the whole run's wall time, the `evaluation` stage (programme effects,
pooling by type and Fay-Herriot, `surveys.services.evaluation.evaluate`) and its write. The two
analyses are also timed apart on the run's estimates (median of 20 calls each). Their cost does
not grow with the number of responses (they read the estimates table: regions x dimensions x
waves rows), so their share falls as N grows. Targets: programme evaluation <= 5 %, small areas
<= 2 % of `compute_indices` at 1M responses. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--respondents", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ["DJANGO_SETTINGS_MODULE"] = "backend.settings.local"
    os.environ["NILAI_AUTO_RECOMPUTE"] = "false"
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    from analysis import programmes, sae
    from surveys import models as m
    from surveys.selectors import responses as sel
    from surveys.services import demo, evaluation
    from surveys.services.compute import _all_estimates, compute_indices

    call_command("migrate", verbosity=0)
    demo.load_bundled()
    demo.demo_generate(respondents=args.respondents)
    rows = []
    for _ in range(args.runs):
        start = time.perf_counter()
        run = compute_indices(instrument="IINP")
        wall = time.perf_counter() - start
        t = run.timings
        rows.append((wall, t.get("evaluation", 0.0), t.get("write:evaluation", 0.0)))
    inst = m.Instrument.objects.get(code="IINP")
    est = _all_estimates(inst, [], set())
    values = sel.indicator_values_frame()
    from analysis.proxies import validate_proxies

    proxy = validate_proxies(sel.indicators_frame(), values, est)
    programmes_frame, provinces = evaluation.programmes_frame()
    areas = evaluation.area_codes()

    def median_time(fn) -> float:
        times = []
        for _ in range(20):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    t_prog = median_time(lambda: programmes.pool_by_type(
        programmes.evaluate_programmes(programmes_frame, est, provinces)))
    t_sae = median_time(lambda: sae.sae_table(est, values, proxy, regions=areas))
    wall = statistics.median(r[0] for r in rows)
    stage = statistics.median(r[1] + r[2] for r in rows)
    print(f"responses: {m.Response.objects.count():,}; estimates rows: {len(est):,}; "
          f"programmes: {len(programmes_frame)}; load average {os.getloadavg()[0]:.1f}")
    print("| part | seconds | share of compute_indices |")
    print("|---|---:|---:|")
    print(f"| compute_indices (median of {args.runs}) | {wall:.2f} | 100 % |")
    print(f"| evaluation stage incl. its write | {stage:.3f} | {100 * stage / wall:.1f} % |")
    print(f"| programme effects + pooling alone | {t_prog:.3f} | {100 * t_prog / wall:.1f} % |")
    print(f"| Fay-Herriot alone | {t_sae:.3f} | {100 * t_sae / wall:.1f} % |")


if __name__ == "__main__":
    main()
