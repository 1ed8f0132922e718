"""Bridge stage benchmark (issue 12 part 2): the demo with a version switch in its last wave.

    .venv/bin/python bench/bench_bridges.py --respondents 1000000 [--db-url sqlite:////tmp/b.db]

Loads the bundled inputs and instrument version 2, generates the demo (the last wave on v2,
so every wave of the linked series is scored again on the linked items), runs
`compute_indices` and prints the run's timings of the bridge stage (`bridges`: per-wave linked
scoring and estimation while the arrays are in memory; `write:bridges`) beside the total.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--respondents", type=int, default=1_000_000)
    parser.add_argument("--db-url", default="sqlite:////tmp/nilai_bench_bridges.sqlite3")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import override_settings

    from surveys import models as m
    from surveys.services import demo
    from surveys.services.compute import compute_indices

    call_command("migrate", verbosity=0)
    start = time.perf_counter()
    with override_settings(NILAI_AUTO_RECOMPUTE=False):
        demo.load_bundled(with_v2=True)
        report = demo.demo_generate(respondents=args.respondents, seed=1, last_wave_version=2)
    generated = time.perf_counter() - start
    run = compute_indices()
    t = run.timings
    out = {"responses": report.responses, "generate_s": round(generated, 1),
           "total_s": t.get("total"), "bridges_s": t.get("bridges"),
           "write_bridges_s": t.get("write:bridges"), "trends_s": t.get("trends"),
           "estimates_s": round(sum(v for k, v in t.items() if k.endswith("/estimates")), 3),
           "bridge_rows": m.BridgeResult.objects.count()}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
