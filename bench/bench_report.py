"""Benchmark: the Bappeda report (issue 13: one region-year < 5 s; all ten Kaltim regions for a
year as one job < 60 s), on the demo data.

    .venv/bin/python bench/bench_report.py [--respondents 15000] [--year 2025]

A fresh SQLite database in a temporary folder (migrated, `manage.py demo`: 5 waves, the default
15,000 responses), then in one process: for three regions (the largest city, a regency, the one
with a suppressed wave) the time of `build_report` + PDF and + Word, each the median of three
runs after a warm-up; then the ten regencies/cities of the year as ONE report job
(`ExportJob` table ``report``, run as the Celery task runs it: `run_export_job`), PDF and Word.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = str(REPO / ".venv" / "bin" / "python")
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--respondents", type=int, default=15_000)
    parser.add_argument("--year", type=int, default=2025)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
               "NILAI_EXPORT_DIR": f"{tmp}/exports", "CELERY_BROKER_URL": ""}
        for command in (["migrate", "-v0"], ["demo", "--respondents", str(args.respondents)]):
            subprocess.run([PYTHON, "manage.py", *command], cwd=REPO, env=env, check=True,
                           stdout=subprocess.DEVNULL)
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")
        import django

        django.setup()
        from surveys import models as m
        from surveys import publish
        from surveys.reports import build_report, render
        from surveys.reports.jobs import REPORT_TABLE
        from surveys.services.jobs import run_export_job

        year = args.year
        regions = sorted(set(publish.rows("estimates", regions=None, wave=year,
                                          dimension="INDEX").values_list("region_code",
                                                                         flat=True)) - {"ALL"})
        hidden = (m.EstimateResult.objects.filter(suppressed=True, dimension="INDEX")
                  .exclude(region_code="ALL").values_list("region_code", "wave__year").first())
        cases = [("6472", year), ("6402", year)] + ([hidden] if hidden else [])
        names = dict(m.Region.objects.values_list("code", "name"))
        rows = ["| case | format | seconds (median of 3) | bytes |", "|---|---|---:|---:|"]
        render(build_report(region=cases[0][0], year=year, regions=None), "pdf")  # warm-up
        for region, case_year in cases:
            for fmt in ("pdf", "docx"):
                times, size = [], 0
                for _ in range(3):
                    start = time.perf_counter()
                    data = render(build_report(region=region, year=case_year, regions=None), fmt)
                    times.append(time.perf_counter() - start)
                    size = len(data)
                label = f"{names.get(region, region)} ({region}) {case_year}"
                rows.append(f"| {label} | {fmt} | {statistics.median(times):.2f} | {size:,} |")
        for fmt in ("pdf", "docx"):
            job = m.ExportJob.objects.create(
                table=REPORT_TABLE, format=fmt, source=m.JobSource.API, language="id",
                filters={"region": regions, "year": year}, region_scope=None)
            start = time.perf_counter()
            job = run_export_job(job.pk)
            seconds = time.perf_counter() - start
            assert job.status == m.JobStatus.DONE, job.messages
            rows.append(f"| all {len(regions)} regions {year}, one job (ZIP) | {fmt} | "
                        f"{seconds:.2f} (one run) | {job.bytes:,} |")
        print(f"demo: {args.respondents:,} responses, {len(regions)} regions; load average "
              f"{os.getloadavg()[0]:.1f}")
        print("\n".join(rows))


if __name__ == "__main__":
    main()
