"""A synthetic national data set: 38 provinces, 514 regencies/cities (issue 15).

`generate(out_dir, responses=..., waves=...)` writes, streaming and with memory bounded by one
province of one wave:

- ``population.csv`` (INTERFACE population CSV): every regency/city x sex x age group x year.
  **Synthetic**, not BPS figures: adults 17+ per regency drawn log-normally (median ~300,000,
  like Indonesia's ~200 million adults over 514 regencies/cities), sex and age shares varying
  around national-like shares, 1.2 % yearly growth;
- ``responses_<year>.csv`` (INTERFACE responses CSV of the bundled IINP instrument), one per
  wave, ``responses / waves`` rows each: stratum = regency, PSUs of ~20 respondents, sample
  sizes proportional to sqrt(population) (at least 40), women and older people over-represented
  (so raking matters), about half of each regency's respondents answering again the next
  wave, ~3 % item non-response and 1 % whole-dimension skips, a graded-response answer model
  with province, regency, PSU, sex and age effects and a gentle upward trend (the demo's model,
  `surveys.services.demo`).

Regions: fixtures/regions_indonesia.csv (Kemendagri codes, see fixtures/README.md). Load with
``manage.py national_demo --out DIR --load`` or the load_* / import_responses commands.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from surveys.services.demo import AGE_BIAS, AGE_EFFECT, AGE_GROUPS, SEX_BIAS, SEXES, THRESHOLDS

REPO = Path(__file__).resolve().parents[2]
REGIONS_FILE = REPO / "fixtures" / "regions_indonesia.csv"
INSTRUMENT_FILE = REPO / "fixtures" / "instrument_pancasila_v1.json"
FIRST_YEAR = 2021
PSU_SIZE = 20
MIN_SAMPLE = 40
#: national-like adult shares by age group (17+), before a regency's own variation
AGE_SHARE = np.array([0.17, 0.22, 0.21, 0.18, 0.22])


@dataclass(frozen=True)
class NationalReport:
    out_dir: Path
    years: tuple[int, ...]
    provinces: int
    regencies: int
    responses: int
    population_file: Path
    response_files: tuple[Path, ...]


def regions(path: Path = REGIONS_FILE, provinces: Sequence[str] | None = None
            ) -> list[tuple[str, str]]:
    """(regency/city code, province code) pairs of the regions file, in file order;
    ``provinces`` keeps those provinces only."""
    with path.open(encoding="utf-8") as fh:
        rows = [(r["code"], r["parent"]) for r in csv.DictReader(fh)
                if r["level"] in ("regency", "city")]
    if provinces is not None:
        keep = set(provinces)
        rows = [r for r in rows if r[1] in keep]
    return rows


def _instrument() -> tuple[list[str], np.ndarray, np.ndarray, int, int]:
    """Item codes, dimension of each item, reverse flags and the scale of the bundled
    instrument (fixtures/instrument_pancasila_v1.json)."""
    import json

    doc = json.loads(INSTRUMENT_FILE.read_text(encoding="utf-8"))
    items = [(i["code"], d, bool(i.get("reverse")))
             for d, dim in enumerate(doc["dimensions"]) for i in dim["items"]]
    return ([c for c, _, _ in items], np.array([d for _, d, _ in items]),
            np.array([r for _, _, r in items]), int(doc["scale"]["min"]),
            int(doc["scale"]["max"]))


def generate(out_dir: Path, *, responses: int = 5_000_000, waves: int = 5, seed: int = 2045,
             provinces: Sequence[str] | None = None,
             regions_file: Path = REGIONS_FILE) -> NationalReport:
    """Write the population and response CSVs (see the module); returns what was written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    regs = regions(regions_file, provinces)
    if not regs:
        raise ValueError(f"{regions_file}: no regency/city (provinces {provinces})")
    codes = np.array([c for c, _ in regs], dtype=object)
    prov_codes, prov_idx = np.unique(np.array([p for _, p in regs], dtype=object),
                                     return_inverse=True)
    n_reg = len(codes)
    years = tuple(FIRST_YEAR + t for t in range(waves))
    rng = np.random.default_rng(seed)
    item_codes, dim_of_item, reverse, scale_min, scale_max = _instrument()
    n_dim, p = int(dim_of_item.max()) + 1, len(item_codes)
    k = scale_max - scale_min + 1

    # population margins: (region, sex, age) adults in the first year, then growth
    adults = np.exp(rng.normal(np.log(300_000), 0.9, n_reg)).clip(8_000, 4_500_000)
    age_share = AGE_SHARE * np.exp(rng.normal(0, 0.12, (n_reg, len(AGE_GROUPS))))
    age_share /= age_share.sum(axis=1, keepdims=True)
    male = rng.normal(0.5, 0.012, n_reg).clip(0.46, 0.54)
    base = adults[:, None, None] * np.stack([male, 1 - male], axis=1)[:, :, None] \
        * age_share[:, None, :]                                      # (region, sex, age)
    pop_file = out_dir / "population.csv"
    with pop_file.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["year", "region", "sex", "age_group", "population"])
        for t, year in enumerate(years):
            cells = np.rint(base * 1.012 ** t).astype(np.int64)
            for r in range(n_reg):
                for s, sex in enumerate(SEXES):
                    for a, age in enumerate(AGE_GROUPS):
                        w.writerow([year, codes[r], sex, age, int(cells[r, s, a])])

    # fixed traits
    prov_level = rng.normal(0.0, 0.3, len(prov_codes))
    region_level = prov_level[prov_idx] + rng.normal(0.0, 0.2, n_reg)
    region_slope = np.clip(0.06 + rng.normal(0.0, 0.05, n_reg), -0.03, 0.2)
    dim_level = rng.normal(0.0, 0.15, n_dim)
    discrimination = rng.uniform(1.2, 2.2, p)
    location = rng.normal(0.0, 0.3, p)
    per_wave = max(responses // waves, n_reg * MIN_SAMPLE)
    share = np.sqrt(adults) / np.sqrt(adults).sum()
    n_r = np.maximum(np.floor(share * per_wave).astype(np.int64), MIN_SAMPLE)
    bias = np.array([[SEX_BIAS[s] * AGE_BIAS[a] for a in AGE_GROUPS] for s in SEXES])
    serial = 0
    prev: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * n_reg
    files: list[Path] = []
    total = 0
    for t, year in enumerate(years):
        path = out_dir / f"responses_{year}.csv"
        files.append(path)
        pop_t = base * 1.012 ** t
        writer = None
        for prov in range(len(prov_codes)):  # one province at a time: bounded memory
            members = np.flatnonzero(prov_idx == prov)
            counts = n_r[members]
            n = int(counts.sum())
            local = np.repeat(np.arange(members.size), counts)
            ridx = members[local]
            within = np.concatenate([np.arange(c) for c in counts])
            probs = (pop_t[members] * bias).reshape(members.size, -1)
            probs /= probs.sum(axis=1, keepdims=True)
            cum = probs.cumsum(axis=1)[local]
            pick = (rng.random(n)[:, None] > cum).sum(axis=1).clip(max=probs.shape[1] - 1)
            sex_i, age_i = pick // len(AGE_GROUPS), pick % len(AGE_GROUPS)
            first = within < 2 * len(AGE_GROUPS)  # every raking cell gets respondents
            age_i[first] = within[first] % len(AGE_GROUPS)
            sex_i[first] = (within[first] // len(AGE_GROUPS)) % len(SEXES)
            psu_no = within // PSU_SIZE
            psu_eff = rng.normal(0.0, 0.3, n)  # drawn per respondent, then shared per PSU
            first_of_psu = np.r_[0, np.flatnonzero(np.diff(psu_no) != 0) + 1]
            psu_eff = np.repeat(psu_eff[first_of_psu], np.diff(np.r_[first_of_psu, n]))
            keys = np.empty(n, dtype=np.int64)
            offset = 0
            for j, r in enumerate(members):
                c = int(counts[j])
                old = prev[r]
                reuse = min(old.size, c // 2)
                chosen = rng.choice(old, reuse, replace=False) if reuse else old[:0]
                fresh = np.arange(serial, serial + c - reuse, dtype=np.int64)
                serial += c - reuse
                block = np.concatenate([chosen, fresh])
                keys[offset:offset + c] = block[rng.permutation(c)]
                prev[r] = keys[offset:offset + c].copy()
                offset += c
            age_eff = np.array([AGE_EFFECT[a] for a in AGE_GROUPS])[age_i]
            theta = (0.75 * rng.normal(0.0, 1.0, n)[:, None]
                     + 0.55 * rng.normal(0.0, 1.0, (n, n_dim))
                     + (region_level[ridx] + region_slope[ridx] * t + psu_eff + age_eff
                        + np.where(sex_i == 1, 0.04, 0.0))[:, None] + dim_level + 0.35)
            th = theta[:, dim_of_item]
            u = rng.random((n, p))
            x = np.ones((n, p), dtype=np.int16)
            for tau in (THRESHOLDS if k == 5 else np.linspace(-2.2, 1.0, k - 1)):
                x += u < 1.0 / (1.0 + np.exp(-discrimination * (th - tau - location)))
            x = np.where(reverse, k + 1 - x, x) + (scale_min - 1)
            missing = rng.random((n, p)) < 0.03
            skip = rng.random(n) < 0.01
            missing |= skip[:, None] & (dim_of_item[None, :] == rng.integers(0, n_dim, n)[:, None])
            code_arr = codes[ridx]
            weights = (pop_t[members].sum(axis=(1, 2)) / counts)[local]
            cols = {
                "respondent": pa.array(np.char.add("N", np.char.zfill(keys.astype(str), 9))),
                "wave": pa.array(np.full(n, year, dtype=np.int32)),
                "region": pa.array(code_arr, pa.string()),
                "sex": pa.array(np.array(SEXES, dtype=object)[sex_i], pa.string()),
                "age_group": pa.array(np.array(AGE_GROUPS, dtype=object)[age_i], pa.string()),
                "stratum": pa.array(code_arr, pa.string()),
                "psu": pa.array(np.char.add(np.char.add(code_arr.astype(str), f"-{year}-"),
                                            np.char.zfill(psu_no.astype(str), 4))),
                "base_weight": pa.array(weights),
            }
            for j, code in enumerate(item_codes):
                cols[code] = pa.array(x[:, j], mask=missing[:, j])
            table = pa.table(cols)
            if writer is None:
                writer = pacsv.CSVWriter(path, table.schema,
                                         write_options=pacsv.WriteOptions(quoting_style="none"))
            writer.write_table(table)
            total += n
        if writer is not None:
            writer.close()
    return NationalReport(out_dir=out_dir, years=years, provinces=len(prov_codes),
                          regencies=n_reg, responses=total, population_file=pop_file,
                          response_files=tuple(files))
