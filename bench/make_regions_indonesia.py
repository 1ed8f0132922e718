"""Regenerate fixtures/regions_indonesia.csv from the npm package ``idn-area-data``.

    npm pack idn-area-data@4.0.1 --pack-destination /tmp
    .venv/bin/python bench/make_regions_indonesia.py /tmp/idn-area-data-4.0.1.tgz

The package (https://github.com/fityannugroho/idn-area-data; code MIT, data ODbL 1.0) ships the
Kemendagri codes of every province (``11``) and regency/city (``11.01``) as CSV
(``data/provinces.csv``: code,name; ``data/regencies.csv``: code,province_code,name). Nothing
here is typed by hand: the rows are the package's rows, re-shaped to the regions CSV of
INTERFACE.md section 1:

- ``code``: the Kemendagri code without its dot (``11.01`` -> ``1101``; provinces as given).
  This is NOT the BPS code: the two numberings differ for many regencies (fixtures/README.md,
  Kalimantan Timur: BPS 6402 is Kutai Barat, Kemendagri 64.02 is Kutai Kartanegara), and the
  package has no BPS codes. A database loaded from this file uses the Kemendagri numbering
  throughout; never load it beside regions_kaltim.csv (BPS codes).
- ``code_kemendagri``: the dotted code as the package gives it.
- ``level``: ``city`` when the package's name starts with "Kota ", else ``regency``; the
  "Kabupaten " prefix is dropped (BPS usage, as in regions_kaltim.csv), "Kota ..." is kept.

No network at test time: the CSV is committed; tests/test_national.py checks its counts and
code shapes.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import tarfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "regions_indonesia.csv"


def _member(tar: tarfile.TarFile, name: str) -> str:
    handle = tar.extractfile(f"package/{name}")
    if handle is None:
        raise SystemExit(f"{name} not found in the package")
    return handle.read().decode("utf-8")


def build(tgz: Path) -> tuple[list[dict[str, str]], str]:
    with tarfile.open(tgz) as tar:
        meta = json.loads(_member(tar, "package.json"))
        provinces = list(csv.DictReader(io.StringIO(_member(tar, "data/provinces.csv"))))
        regencies = list(csv.DictReader(io.StringIO(_member(tar, "data/regencies.csv"))))
    rows: list[dict[str, str]] = []
    known = set()
    for p in provinces:
        if not re.fullmatch(r"\d{2}", p["code"]):
            raise SystemExit(f"provinces.csv: unexpected code {p['code']!r}")
        known.add(p["code"])
        rows.append({"code": p["code"], "name": p["name"].strip(), "level": "province",
                     "parent": "", "code_kemendagri": p["code"]})
    for r in regencies:
        code = r["code"]
        if not re.fullmatch(r"\d{2}\.\d{2}", code) or r["province_code"] not in known \
                or not code.startswith(r["province_code"] + "."):
            raise SystemExit(f"regencies.csv: unexpected row {r!r}")
        name = r["name"].strip()
        level = "city" if name.startswith("Kota ") else "regency"
        name = name.removeprefix("Kabupaten ")
        rows.append({"code": code.replace(".", ""), "name": name, "level": level,
                     "parent": r["province_code"], "code_kemendagri": code})
    rows.sort(key=lambda row: (row["parent"] or row["code"], row["parent"] != "", row["code"]))
    return rows, meta["version"]


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    rows, version = build(Path(argv[1]))
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["code", "name", "level", "parent",
                                                "code_kemendagri"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    n_prov = sum(r["level"] == "province" for r in rows)
    print(f"{OUT}: idn-area-data {version}, {n_prov} provinces, {len(rows) - n_prov} "
          f"regencies/cities")


if __name__ == "__main__":
    main(sys.argv)
