"""Benchmark: import_responses --from odk|kobo of 10,000 submissions (issue 14: < 10 s each).

    .venv/bin/python bench/bench_field_import.py [--n 10000]

For each export format (ODK Central CSV, KoboToolbox CSV, KoboToolbox XLSX), laid out from the
bundled instrument's XLSForm by tests/field_exports.py: a fresh SQLite database (migrated, the
bundled regions and instrument loaded), then `manage.py import_responses FILE --instrument IINP
--from PLATFORM` as its own process (wall time includes Django start-up), then the same file
again (must be a no-op). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = str(REPO / ".venv" / "bin" / "python")
sys.path.insert(0, str(REPO))


def manage(env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([PYTHON, "manage.py", *args], cwd=REPO, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    import json

    from datafiles.xlsform import xlsform_sheets
    from tests import field_exports

    doc = json.loads((REPO / "fixtures" / "instrument_pancasila_v1.json").read_text("utf-8"))
    regions = [(line.split(",")[0], line.split(",")[1]) for line in
               (REPO / "fixtures" / "regions_kaltim.csv").read_text("utf-8").splitlines()[1:]
               if line.split(",")[2] in ("regency", "city")]
    survey = xlsform_sheets(doc, regions=regions, year=2026)["survey"]
    items = [it["code"] for d in doc["dimensions"] for it in d["items"]]
    subs = [{"submission_id": str(uuid.UUID(int=i + 1)), "wave": "2026",
             "respondent": f"F{i:07d}", "region": regions[i % len(regions)][0],
             "sex": "LP"[i % 2], "age_group": ("17-24", "25-34", "35-44", "45-54", "55+")[i % 5],
             "stratum": "", "psu": f"K{i // 10:05d}", "base_weight": "",
             **{c: str(1 + (i + j) % 5) for j, c in enumerate(items)}} for i in range(args.n)]
    rows = ["| export | submissions | first import (s) | re-import, no-op (s) |",
            "|---|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmp:
        for label, platform, writer, suffix in (
            ("ODK Central CSV", "odk", field_exports.write_odk_csv, "csv"),
            ("KoboToolbox CSV", "kobo", field_exports.write_kobo_csv, "csv"),
            ("KoboToolbox XLSX", "kobo", field_exports.write_kobo_xlsx, "xlsx"),
        ):
            path = Path(tmp) / f"{platform}.{suffix}"
            writer(path, survey, subs)
            db = Path(tmp) / f"{platform}-{suffix}.sqlite3"
            env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "NILAI_AUTO_RECOMPUTE": "0"}
            manage(env, "migrate", "-v0")
            manage(env, "load_regions", str(REPO / "fixtures" / "regions_kaltim.csv"))
            manage(env, "load_instrument", str(REPO / "fixtures" /
                                               "instrument_pancasila_v1.json"))
            cmd = ("import_responses", str(path), "--instrument", "IINP", "--from", platform)
            first = manage(env, *cmd)
            again = manage(env, *cmd)
            rows.append(f"| {label} | {args.n:,} | {first:.1f} | {again:.1f} |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
