"""Synthetic but realistic survey data for the demo and the benchmarks.

`demo_generate` writes several years of responses of the bundled Pancasila instrument for the
loaded regencies/cities, plus proxy/output indicators and targets, then the caller runs
`compute_indices`. Everything comes from one `np.random.Generator(seed)`: the same seed gives the
same data.

The generator (vectorised numpy, no per-row Python apart from the CSV writer):

- design: per wave and region a stratified cluster sample (stratum = region, PSUs of about 10
  respondents), sample sizes proportional to sqrt(population); base weight = population /
  sample size; one small region has fewer than 30 respondents in the middle wave (the
  publication rule then shows); about half of each region's respondents return the next wave;
- skewed sample: women and older people are over-represented relative to the population margins
  (fixtures/population_kaltim_demo.csv), so raking matters;
- answers: a graded response model per item (discrimination 1.2-2.2, four ordered thresholds),
  five correlated latent dimensions = general factor + dimension factor + region effect +
  region-specific gentle upward trend + PSU effect + small sex/age effects; reverse-keyed items
  are answered reversed; about 3 % item non-response and 1 % whole-dimension skips;
- indicators: a conflict-incidents proxy (per 100k, negatively related to the regional index), a
  musrenbang participation proxy (positively related), Paskibraka stages completed (output, 0-3)
  and Pancasila outreach events (output); targets for INDEX and the conflict proxy.

Responses are written as a responses CSV (INTERFACE.md section 1) and loaded through the import
service (`surveys.services.imports.responses_import`), the same bulk path as `import_responses`
(COPY on PostgreSQL): what the demo stores is exactly what a user import would store.

``respondents`` is the TOTAL number of responses over all waves (default 15,000 = 5 waves x 10
regions x ~300); ``--respondents 1000000`` gives 200,000 per wave.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from django.core.management import call_command
from django.db.models import Count
from django.utils.translation import gettext_noop as _noop

from analysis import scoring, trends
from surveys import models as m
from surveys.language import both
from surveys.selectors.responses import version_layout

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
REGIONS_FILE = FIXTURES / "regions_kaltim.csv"
INSTRUMENT_FILE = FIXTURES / "instrument_pancasila_v1.json"
#: version 2 (two reworded items, one new and one dropped per sila, linked to v1): the demo
#: switches to it in its last wave, so it shows a bridge across the version boundary
INSTRUMENT_V2_FILE = FIXTURES / "instrument_pancasila_v2.json"
POPULATION_FILE = FIXTURES / "population_kaltim_demo.csv"
#: The bundled inputs, in load order, with the command that loads each.
BUNDLED_INPUTS = (("load_regions", REGIONS_FILE), ("load_instrument", INSTRUMENT_FILE),
                  ("load_population", POPULATION_FILE))
DEMO_YEARS = (2021, 2022, 2023, 2024, 2025)
DEFAULT_RESPONDENTS = 15_000
DEFAULT_SEED = 2021
PSU_SIZE = 10
SMALL_WAVE_N = 24

AGE_GROUPS = ("17-24", "25-34", "35-44", "45-54", "55+")
SEXES = ("L", "P")
# Relative chance of being interviewed: women and older people answer more often.
SEX_BIAS = {"L": 0.7, "P": 1.35}
AGE_BIAS = {"17-24": 0.55, "25-34": 0.8, "35-44": 1.0, "45-54": 1.3, "55+": 1.7}
AGE_EFFECT = {"17-24": -0.15, "25-34": -0.05, "35-44": 0.0, "45-54": 0.08, "55+": 0.15}
THRESHOLDS = np.array([-2.2, -1.1, -0.1, 1.0])
#: Demo programmes: (region position in code order, or None = the province; type; dimension
#: position, or None = the overall index; start; end; effect on the latent trait of the target
#: dimension(s) in the region from the first wave after the programme). Some work, some do not,
#: and every evaluation status occurs (no_pre, no_post, no_comparison, ok).
DEMO_PROGRAMMES = (
    (0, "sosialisasi", 0, 2022, 2022, 0.40),
    (1, "dialog", 2, 2022, 2022, 0.0),
    (2, "pelatihan", 3, 2022, 2023, 0.30),
    (3, "festival", 1, 2023, 2023, 0.0),
    (4, "sosialisasi", 4, 2022, 2022, 0.0),
    (5, "dialog", 2, 2023, 2023, 0.35),
    (6, "dialog", 2, 2022, 2022, 0.0),
    (7, "sosialisasi", None, 2021, 2021, 0.0),
    (None, "paskibraka", 2, 2022, 2024, 0.0),
    (8, "dialog", 2, 2024, 2025, 0.0),
    (9, "pelatihan", 3, 2023, 2023, 0.25),
    (3, "sosialisasi", 0, 2023, 2023, 0.30),
)
PROGRAMME_NAMES = {
    "sosialisasi": ("Sosialisasi nilai Pancasila", "Pancasila values outreach"),
    "dialog": ("Dialog lintas agama dan budaya", "Interfaith and intercultural dialogue"),
    "pelatihan": ("Pelatihan musyawarah warga", "Deliberation training for citizens"),
    "festival": ("Festival budaya nusantara", "Nusantara culture festival"),
    "paskibraka": ("Paskibraka provinsi", "Provincial flag-raising troop"),
}


class DemoError(RuntimeError):
    """The demo cannot run: fixtures not loaded or demo waves already hold other data."""


@dataclass(frozen=True)
class DemoReport:
    instrument: str
    years: tuple[int, ...]
    responses: int
    respondents: int
    regions: int
    skipped: bool
    seconds: float


def _allocate(total: int, pops: np.ndarray) -> np.ndarray:
    share = np.sqrt(pops) / np.sqrt(pops).sum()
    n = np.maximum(np.floor(share * total).astype(int), PSU_SIZE)
    n[np.argmax(n)] += max(total - int(n.sum()), 0)
    return n


def load_bundled(*, with_v2: bool = False) -> None:
    """Load the bundled Kalimantan Timur regions, the Pancasila instrument and the demo
    population margins through their own commands (idempotent: a second load changes
    nothing); ``with_v2`` also loads instrument version 2. Callers decide whether the loads may
    queue a recompute."""
    for command, path in BUNDLED_INPUTS:
        call_command(command, str(path), verbosity=0, stdout=StringIO())
    if with_v2:
        call_command("load_instrument", str(INSTRUMENT_V2_FILE), verbosity=0, stdout=StringIO())


def demo_generate(*, respondents: int = DEFAULT_RESPONDENTS, seed: int = DEFAULT_SEED,
                  years: Sequence[int] = DEMO_YEARS, instrument: str = "IINP",
                  workdir: Path | None = None,
                  last_wave_version: int | None = None) -> DemoReport:
    """Generate and import the demo responses, indicators and targets (see module doc).

    Requires the regions, the instrument and the population margins to be loaded. When the demo
    waves already hold responses nothing is generated (``skipped=True``). Every wave uses the
    latest loaded version, unless ``last_wave_version`` (>= 2) is given: the last wave then
    uses that version and the others the version before it (the items it keeps answer as
    before, reworded ones with a slightly shifted difficulty, new ones have their own).
    """
    from surveys.services.imports import responses_import

    start = time.perf_counter()
    version = (m.InstrumentVersion.objects.filter(instrument__code=instrument)
               .order_by("-version").first())
    if version is None:
        # Translators: id: instrumen {instrument} belum dimuat
        raise DemoError(both(_noop("instrument {instrument} not loaded"), instrument=instrument))
    last_version = None
    if last_wave_version is not None:
        found = {v.version: v for v in m.InstrumentVersion.objects.filter(
            instrument__code=instrument, version__in=[last_wave_version - 1, last_wave_version])}
        if len(found) != 2:
            # Translators: id: versi {before} dan {after} belum dimuat
            raise DemoError(both(_noop("versions {before} and {after} not loaded"),
                                 before=last_wave_version - 1, after=last_wave_version))
        version, last_version = found[last_wave_version - 1], found[last_wave_version]
    existing = (m.Response.objects.filter(wave__instrument__code=instrument,
                                          wave__year__in=list(years))
                .aggregate(n=Count("id"))["n"])
    regions = list(m.Region.objects.filter(level__in=[m.RegionLevel.REGENCY,
                                                      m.RegionLevel.CITY])
                   .order_by("code").values_list("code", "name"))
    if existing:
        return DemoReport(instrument=instrument, years=tuple(years), responses=existing,
                          respondents=m.Respondent.objects.count(), regions=len(regions),
                          skipped=True, seconds=time.perf_counter() - start)
    if not regions:
        # Translators: id: wilayah belum dimuat
        raise DemoError(both(_noop("regions not loaded")))
    pop = pd.DataFrame(list(m.PopulationMargin.objects.filter(year__in=list(years)).values_list(
        "year", "region__code", "sex", "age_group", "population")),
        columns=["year", "region", "sex", "age_group", "population"])
    missing = sorted(set(years) - set(pop["year"]))
    if missing:
        # Translators: id: marginal penduduk belum dimuat untuk {years}
        raise DemoError(both(_noop("population margins missing for {years}"), years=missing))

    layout = version_layout(version)
    spec = layout.spec
    rng = np.random.default_rng(seed)
    codes = [c for c, _ in regions]
    n_reg = len(codes)
    n_dim = len(spec.dimensions)
    p = len(spec.item_codes)
    k = spec.scale_max - spec.scale_min + 1
    # Fixed traits of the simulated province.
    region_level = rng.normal(0.0, 0.35, n_reg)
    region_slope = np.clip(0.08 + rng.normal(0.0, 0.05, n_reg), -0.02, 0.2)
    dim_level = rng.normal(0.0, 0.15, n_dim)
    discrimination = rng.uniform(1.2, 2.2, p)
    location = rng.normal(0.0, 0.3, p)
    dim_of_item = np.repeat(np.arange(n_dim), [len(d.item_codes) for d in spec.dimensions])
    reverse = np.asarray(spec.reverse)
    small_region = int(np.argmin(pop[pop["year"] == years[0]].groupby("region")["population"]
                                 .sum().reindex(codes).to_numpy()))

    # the last wave's version (if it switches): answer parameters by item code, a reworded
    # item keeps its predecessor's discrimination with a slightly shifted location
    last_spec = spec
    last_params: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    if last_version is not None:
        last_spec = version_layout(last_version).spec
        pred = dict(m.ItemLink.objects.filter(version=last_version).exclude(item=None)
                    .values_list("item__code", "predecessor__code"))
        where = {c: j for j, c in enumerate(spec.item_codes)}
        disc2, loc2 = [], []
        for code in last_spec.item_codes:
            before = pred.get(code)
            if before in where:
                disc2.append(discrimination[where[before]])
                shift = 0.0 if before == code else rng.normal(0.0, 0.1)
                loc2.append(location[where[before]] + shift)
            else:
                disc2.append(rng.uniform(1.2, 2.2))
                loc2.append(rng.normal(0.0, 0.3))
        dim2 = np.repeat(np.arange(n_dim), [len(d.item_codes) for d in last_spec.dimensions])
        last_params = (np.array(disc2), np.array(loc2), dim2)

    programmes = _demo_programmes(codes, spec, years)
    per_wave = max(respondents // len(years), n_reg * PSU_SIZE)
    prev_keys: dict[int, np.ndarray] = {}
    serial = 0
    frames: dict[int, list[pa.Table]] = {}
    index_means: dict[tuple[str, int], float] = {}
    for t, year in enumerate(years):
        pop_y = pop[pop["year"] == year]
        cell = pop_y.pivot_table(index="region", columns=["sex", "age_group"],
                                 values="population", aggfunc="sum").reindex(codes)
        totals = cell.sum(axis=1).to_numpy(dtype=float)
        n_r = _allocate(per_wave, totals)
        if len(years) > 2 and t == len(years) // 2:
            n_r[small_region] = min(n_r[small_region], SMALL_WAVE_N)
        region_idx = np.repeat(np.arange(n_reg), n_r)
        n = int(n_r.sum())
        # sex x age drawn from the population cells tilted by the response bias
        cells = list(cell.columns)
        bias = np.array([SEX_BIAS[s] * AGE_BIAS[a] for s, a in cells])
        probs = cell.to_numpy(dtype=float) * bias
        probs /= probs.sum(axis=1, keepdims=True)
        cum = probs.cumsum(axis=1)[region_idx]
        pick = (rng.random(n)[:, None] > cum).sum(axis=1).clip(max=len(cells) - 1)
        sex = np.array([cells[i][0] for i in range(len(cells))], dtype=object)[pick]
        age = np.array([cells[i][1] for i in range(len(cells))], dtype=object)[pick]
        # clusters of ~PSU_SIZE within region
        within = np.concatenate([np.arange(c) for c in n_r])
        # every raking cell (region x sex, region x age group) needs a respondent, however
        # small the sample: the first five of each region cover them
        first = within < len(AGE_GROUPS)
        age[first] = np.array(AGE_GROUPS, dtype=object)[within[first]]
        sex[first] = np.array(SEXES, dtype=object)[within[first] % len(SEXES)]
        psu_no = within // PSU_SIZE
        psu_effect = rng.normal(0.0, 0.3, (n_reg, int(psu_no.max()) + 1))[region_idx, psu_no]
        # panel: about half of a region's respondents answered the previous wave
        keys = np.empty(n, dtype=object)
        offset = 0
        for r in range(n_reg):
            count = int(n_r[r])
            old = prev_keys.get(r, np.empty(0, dtype=object))
            reuse = min(len(old), count // 2)
            chosen = rng.choice(old, reuse, replace=False) if reuse else old[:0]
            fresh = np.array([f"DM{codes[r]}-{serial + i:07d}" for i in range(count - reuse)],
                             dtype=object)
            serial += count - reuse
            keys[offset:offset + count] = np.concatenate([chosen, fresh])
            offset += count
        # panel members are spread over the PSUs
        for r in range(n_reg):
            sel = np.flatnonzero(region_idx == r)
            keys[sel] = keys[sel][rng.permutation(sel.size)]
        prev_keys = {r: keys[region_idx == r] for r in range(n_reg)}

        age_eff = np.array([AGE_EFFECT[a] for a in age])
        sex_eff = np.where(sex == "P", 0.04, 0.0)
        general = rng.normal(0.0, 1.0, n)
        theta = (0.75 * general[:, None] + 0.55 * rng.normal(0.0, 1.0, (n, n_dim))
                 + region_level[region_idx, None] + region_slope[region_idx, None] * t
                 + psu_effect[:, None] + age_eff[:, None] + sex_eff[:, None] + dim_level
                 + 0.35)
        for r, dims, end, effect in programmes["effects"]:
            if effect and year > end:
                theta[np.ix_(region_idx == r, dims)] += effect
        wave_spec, wave_version = spec, version
        disc_t, loc_t, dim_t, rev_t, p_t = discrimination, location, dim_of_item, reverse, p
        if last_params is not None and t == len(years) - 1:
            wave_spec, wave_version = last_spec, last_version
            disc_t, loc_t, dim_t = last_params
            rev_t, p_t = np.asarray(last_spec.reverse), len(last_spec.item_codes)
        th = theta[:, dim_t]                                        # (n, p)
        u = rng.random((n, p_t))
        x = np.ones((n, p_t), dtype=np.uint8)
        for tau in THRESHOLDS[: k - 1] if k == 5 else np.linspace(-2.2, 1.0, k - 1):
            x += u < 1.0 / (1.0 + np.exp(-disc_t * (th - tau - loc_t)))
        x = np.where(rev_t, k + 1 - x, x).astype(np.uint8) + np.uint8(spec.scale_min - 1)
        answers = x.astype(np.float64)
        answers[rng.random((n, p_t)) < 0.03] = np.nan
        skip = rng.random(n) < 0.01
        skip_dim = rng.integers(0, n_dim, n)
        answers[skip[:, None] & (dim_t[None, :] == skip_dim[:, None])] = np.nan

        idx = scoring.score(answers, wave_spec).index
        for r in range(n_reg):
            vals = idx[region_idx == r]
            index_means[(codes[r], year)] = float(np.nanmean(vals)) if vals.size else np.nan

        code_arr = np.array(codes, dtype=object)[region_idx]
        columns = {
            "respondent": pa.array(keys, pa.string()),
            "wave": pa.array(np.full(n, year, dtype=np.int32)),
            "region": pa.array(code_arr, pa.string()),
            "sex": pa.array(sex, pa.string()),
            "age_group": pa.array(age, pa.string()),
            "stratum": pa.array(code_arr, pa.string()),
            "psu": pa.array([f"{c}-{year}-{q:04d}" for c, q in zip(code_arr, psu_no.tolist(),
                                                                   strict=True)], pa.string()),
            "base_weight": pa.array((totals / n_r)[region_idx]),
        }
        missing_mask = np.isnan(answers)
        filled = np.where(missing_mask, 0, answers).astype(np.int16)
        for j, code in enumerate(wave_spec.item_codes):
            columns[code] = pa.array(filled[:, j], mask=missing_mask[:, j])
        frames.setdefault(wave_version.version, []).append(pa.table(columns))

    rows = created = 0
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for number, tables in frames.items():  # one responses file per instrument version
            path = Path(tmp) / f"demo_responses_v{number}.csv"
            pacsv.write_csv(pa.concat_tables(tables), path,
                            pacsv.WriteOptions(quoting_style="none"))
            report = responses_import(path=path, instrument_code=instrument, version=number)
            rows += report.rows
            created += report.respondents_created
        del frames
        _indicators(rng, codes, years, index_means, Path(tmp))
        _load_programmes(programmes["rows"], Path(tmp))
    return DemoReport(instrument=instrument, years=tuple(years), responses=rows,
                      respondents=created, regions=n_reg, skipped=False,
                      seconds=time.perf_counter() - start)


def _demo_programmes(codes: list[str], spec: scoring.InstrumentSpec,
                     years: Sequence[int]) -> dict[str, list]:
    """The demo registry (rows of a programmes CSV) and the effects built into the answers."""
    province = (m.Region.objects.filter(level=m.RegionLevel.PROVINCE).order_by("code")
                .values_list("code", flat=True).first())
    dims = [d.code for d in spec.dimensions]
    rows, effects = [], []
    for pos, kind, dim, start, end, effect in DEMO_PROGRAMMES:
        if pos is None and province is None:
            continue
        region = province if pos is None else codes[pos % len(codes)]
        # the table is written for 2021-2025; other demo years move it along
        first = start - DEMO_YEARS[0] + years[0]
        last = end - DEMO_YEARS[0] + years[0]
        dimension = "" if dim is None else dims[dim % len(dims)]
        name_id, name_en = PROGRAMME_NAMES[kind]
        rows.append({
            "code": f"DM-{kind[:3].upper()}-{region}-{first % 100:02d}{dimension}",
            "region": region, "type": kind, "dimension": dimension,
            "start_year": first, "end_year": last,
            "name_id": name_id, "name_en": name_en,
            "budget": 100_000_000 + 25_000_000 * len(rows), "participants": 200 + 150 * len(rows),
            "rpjmd_code": f"3.01.{len(rows) + 1:02d}",
        })
        if pos is not None:
            targets = list(range(len(dims))) if dim is None else [dim % len(dims)]
            effects.append((pos % len(codes), targets, last, effect))
    return {"rows": rows, "effects": effects}


def _load_programmes(rows: list[dict], tmp: Path) -> None:
    from surveys.services.imports.programmes import programmes_load

    path = tmp / "programmes.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    programmes_load(path=path)


def _indicators(rng: np.random.Generator, codes: list[str], years: Sequence[int],
                index_means: dict[tuple[str, int], float], tmp: Path) -> None:
    """Proxy/output indicators driven by the simulated regional index, and targets."""
    from surveys.services.imports import indicators_load, targets_load

    definitions = [
        {"code": "KONFLIK_SARA",
         "name": {"id": "Insiden konflik SARA per 100.000 penduduk",
                  "en": "Ethnic/religious conflict incidents per 100,000 population"},
         "polarity": "negative", "level": "outcome", "unit": "per 100k",
         "source": "Kesbangpol/Polda (simulasi / simulated)", "dimension": "S3"},
        {"code": "PARTISIPASI_MUSRENBANG",
         "name": {"id": "Partisipasi warga dalam musrenbang (%)",
                  "en": "Citizen participation in development deliberation (%)"},
         "polarity": "positive", "level": "outcome", "unit": "%",
         "source": "Bappeda (simulasi / simulated)", "dimension": "S4"},
        {"code": "PASKIBRAKA_TAHAPAN",
         "name": {"id": "Tahapan Paskibraka terlaksana (seleksi, pelatihan, upacara)",
                  "en": "Paskibraka stages completed (selection, training, ceremony)"},
         "polarity": "positive", "level": "output", "unit": "tahap dari 3 / stages of 3",
         "source": "Kesbangpol (simulasi / simulated)"},
        {"code": "SOSIALISASI_PANCASILA",
         "name": {"id": "Kegiatan sosialisasi Pancasila", "en": "Pancasila outreach events"},
         "polarity": "positive", "level": "output", "unit": "kegiatan / events",
         "source": "Kesbangpol (simulasi / simulated)"},
    ]
    values, targets = [], []
    first = years[0]
    for region in codes:
        base_idx = index_means[(region, first)]
        base_conflict = max(0.3, 14.0 - 0.16 * base_idx + rng.normal(0, 0.6))
        for t, year in enumerate(years):
            idx = index_means[(region, year)]
            conflict = max(0.1, 14.0 - 0.16 * idx + rng.normal(0, 0.6))
            musren = float(np.clip(5.0 + 0.45 * idx + rng.normal(0, 3.0), 0, 100))
            values += [("KONFLIK_SARA", region, year, round(conflict, 3)),
                       ("PARTISIPASI_MUSRENBANG", region, year, round(musren, 2)),
                       ("PASKIBRAKA_TAHAPAN", region, year,
                        int(rng.choice([1, 2, 3], p=[0.1, 0.2, 0.7]))),
                       ("SOSIALISASI_PANCASILA", region, year, int(rng.poisson(10 + 2 * t)))]
            targets += [("INDEX", region, year, round(base_idx + 1.0 * t, 1)),
                        ("KONFLIK_SARA", region, year, round(base_conflict * 0.95 ** t, 2))]
    (tmp / "indicators.json").write_text(json.dumps(definitions, ensure_ascii=False),
                                         encoding="utf-8")
    pd.DataFrame(values, columns=["indicator", "region", "year", "value"]).to_csv(
        tmp / "indicator_values.csv", index=False)
    pd.DataFrame(targets, columns=["indicator", "region", "year", "target"]).to_csv(
        tmp / "targets.csv", index=False)
    indicators_load(definitions=tmp / "indicators.json", values=tmp / "indicator_values.csv")
    targets_load(path=tmp / "targets.csv")


# ---------------------------------------------------------------------------------------------
# the trend table printed at the end of `manage.py demo`


def trend_table_text(*, instrument: str = "IINP", dimension: str = "INDEX") -> str:
    """Region x year table of the stored estimates with 95 % CIs and significant changes."""
    est = list(m.EstimateResult.objects.filter(wave__instrument__code=instrument,
                                               dimension=dimension)
               .values_list("region_code", "wave__year", "estimate", "ci_low", "ci_high",
                            "suppressed", "n"))
    ses = dict(((r, y), se) for r, y, se in m.EstimateResult.objects.filter(
        wave__instrument__code=instrument, dimension=dimension).values_list(
        "region_code", "wave__year", "se"))
    if not est:
        # Translators: id: belum ada estimasi
        return both(_noop("no estimates yet"))
    changes = {(r, y): (d, s) for r, y, d, s in m.ChangeResult.objects.filter(
        instrument__code=instrument, dimension=dimension).exclude(delta=None).values_list(
        "region_code", "to_wave", "delta", "significant")}
    series = _current_series(instrument, dimension, est, ses)
    names = dict(m.Region.objects.values_list("code", "name"))
    # Translators: id: semua
    everyone = both(_noop("all"))
    names[m.ALL_REGIONS] = f"KALTIM ({everyone})"
    years = sorted({y for _, y, *_ in est})
    cells: dict[tuple[str, int], str] = {}
    for region, year, value, lo, hi, suppressed, n in est:
        if suppressed or value is None:
            cells[(region, year)] = f"   -- (n={n}<30)"
            continue
        mark = ""
        if (region, year) in changes:
            delta, sig = changes[(region, year)]
            mark = (" ▲*" if delta > 0 else " ▼*") if sig else ""
        cells[(region, year)] = f"{value:5.1f} [{lo:4.1f}-{hi:4.1f}]{mark}"
    regions = sorted({r for r, *_ in est}, key=lambda r: (r == m.ALL_REGIONS, r))
    width = max(len(v) for v in cells.values()) + 1
    name_w = max(len(names.get(r, r)) for r in regions) + 1
    # Translators: id: Wilayah
    header = both(_noop("Region")).ljust(name_w) + "".join(str(y).ljust(width) for y in years)
    # Translators: id: Perubahan
    header += both(_noop("change"))
    # Translators: id: nilai indeks [selang kepercayaan 95 %]
    estimate = both(_noop("estimate [95% CI]"))
    title = f"Indeks Internalisasi Nilai Pancasila ({instrument}, {dimension}, 0-100): {estimate}"
    lines = [title, "=" * len(header), header, "-" * len(header)]
    for region in regions:
        row = names.get(region, region).ljust(name_w)
        row += "".join(cells.get((region, y), "").ljust(width) for y in years)
        points = sorted(series.get(region, []))
        if len(points) >= 2:
            verdict = trends.office_verdict(*zip(*points, strict=True))
            word = {"up": "naik", "down": "turun"}.get(verdict.direction, "belum berubah")
            star = "*" if verdict.change.significant else ""
            row += f"{verdict.change.delta:+5.1f}{star} {word}"
            if verdict.n_points >= 3:
                row += f", {verdict.sen_slope:+.1f}/th"
        lines.append(row)
    lines.append("-" * len(header))
    lines += _version_notes(instrument, dimension)
    lines += [
        # Translators: id: naik / turun signifikan dari tahun sebelumnya (p < 0,05)
        "▲* / ▼*  " + both(_noop("significant rise / fall since the previous wave (p < .05)")),
        # Translators: id: tidak ditampilkan (responden < 30)
        "--       " + both(_noop("not shown (fewer than 30 respondents)")),
        # Translators: id: Perubahan dari tahun pertama ke terakhir yang dipublikasikan;
        #   naik/turun hanya bila p < 0,05 (*), selain itu belum berubah secara signifikan; /th =
        #   rata-rata poin per tahun (Theil-Sen)
        both(_noop("change from the first to the latest published year; rise/fall only when "
                   "p < .05 (*), else not significantly changed; /th = average points per year")),
    ]
    return "\n".join(lines)


def _current_series(instrument: str, dimension: str, est: list[tuple], ses: dict
                    ) -> dict[str, list[tuple[int, float, float]]]:
    """Per region the published points of its latest series (docs/DECISIONS.md 53-59): the
    bridge estimates when the series spans instrument versions, else the full estimates of
    its waves; the verdict is read on them, never across a break."""
    latest = {}
    for t in m.TrendResult.objects.filter(instrument__code=instrument, dimension=dimension
                                          ).order_by("series"):
        latest[t.region_code] = t
    bridged = {}
    for r, y, v, se, series_no in m.BridgeResult.objects.filter(
            instrument__code=instrument, dimension=dimension, suppressed=False).exclude(
            estimate=None).values_list("region_code", "wave__year", "estimate", "se", "series"):
        bridged.setdefault((r, series_no), []).append((y, v, se))
    out: dict[str, list[tuple[int, float, float]]] = {}
    for region, year, value, _lo, _hi, suppressed, _n in est:
        t = latest.get(region)
        if suppressed or value is None or t is None or t.basis != "full":
            continue
        if t.first_wave is not None and year >= t.first_wave:
            out.setdefault(region, []).append((year, value, ses[(region, year)]))
    for region, t in latest.items():
        if t.basis == "linked":
            out[region] = bridged.get((region, t.series), [])
    return out


def _version_notes(instrument: str, dimension: str) -> list[str]:
    """One line per instrument version boundary: bridged (on the linked items) or broken."""
    from surveys.services.bridges import version_boundaries

    lines = []
    for year, before, after in version_boundaries(instrument):
        broken = m.TrendResult.objects.filter(instrument__code=instrument, dimension=dimension,
                                              series__gt=1, first_wave=year).exists()
        if broken:
            # Translators: id: versi instrumen berganti (v{before} -> v{after}), deret putus:
            #   kurang dari 3 butir tertaut
            text = both(_noop("instrument version changed (v{before} -> v{after}), the series "
                              "breaks: fewer than 3 linked items"), before=before, after=after)
        else:
            # Translators: id: versi instrumen berganti (v{before} -> v{after}); perubahan lintas
            #   versi dan tren dihitung pada butir tertaut (estimasi jembatan)
            text = both(_noop("instrument version changed (v{before} -> v{after}); the change "
                              "across it and the trend use the linked items (bridge estimates)"),
                        before=before, after=after)
        lines.append(f"|| {year}: {text}")
    return lines


def bridge_table_text(instrument: str = "IINP", region: str = m.ALL_REGIONS) -> str:
    """The bridge across each version boundary for one region: per dimension and the index,
    the full and the linked-item estimates of the waves on both sides and the bridge change."""
    from surveys.services.bridges import version_boundaries

    bounds = version_boundaries(instrument)
    if not bounds:
        # Translators: id: satu versi instrumen, tanpa jembatan
        return both(_noop("one instrument version, no bridge"))
    # Translators: id: Jembatan versi
    bridge = both(_noop("version bridge"))
    heads = " | ".join((
        # Translators: id: penuh
        both(_noop("full")),
        # Translators: id: butir tertaut
        both(_noop("linked items")),
        # Translators: id: perubahan jembatan
        both(_noop("bridge change"))))
    lines = []
    for year, before, after in bounds:
        prev = (m.Wave.objects.filter(instrument__code=instrument, year__lt=year)
                .order_by("-year").values_list("year", flat=True).first())
        lines += [f"{bridge} v{before} {prev} -> v{after} {year} ({region}): {heads}",
                  "-" * 78]
        full = {(d, y): v for d, y, v in m.EstimateResult.objects.filter(
            wave__instrument__code=instrument, region_code=region,
            wave__year__in=[prev, year], suppressed=False).values_list(
            "dimension", "wave__year", "estimate")}
        linked = {(d, y): (v, k) for d, y, v, k in m.BridgeResult.objects.filter(
            instrument__code=instrument, region_code=region, wave__year__in=[prev, year],
            suppressed=False).values_list("dimension", "wave__year", "estimate",
                                          "linked_items")}
        change = {c.dimension: c for c in m.ChangeResult.objects.filter(
            instrument__code=instrument, region_code=region, from_wave=prev, to_wave=year)}
        for dim in sorted({d for d, _ in full}, key=lambda d: (d == m.OVERALL, d)):
            c = change.get(dim)
            cells = [f"{dim:6}"]
            for y in (prev, year):
                v = full.get((dim, y))
                cells.append(f"{y} {v:5.1f}" if v is not None else f"{y}    --")
            for y in (prev, year):
                v = linked.get((dim, y))
                cells.append(f"{v[0]:5.1f} ({v[1]} butir)" if v else "   --")
            if c is None:
                cells.append("")
            elif c.delta is None:
                cells.append(f"-- ({c.reason})")
            else:
                cells.append(f"{c.delta:+5.1f}{'*' if c.significant else ''} [{c.basis}]")
            lines.append("  ".join(cells))
    return "\n".join(lines)


#: A programme evaluation's status (msgids; ``both`` in the table)
STATUS_TEXT = {
    # Translators: id: dievaluasi
    "ok": _noop("evaluated"),
    # Translators: id: tanpa survei sebelum
    "no_pre": ("programme status", _noop("no wave before")),
    # Translators: id: tanpa survei sesudah
    "no_post": ("programme status", _noop("no wave after")),
    # Translators: id: tanpa pembanding
    "no_comparison": ("programme status", _noop("no comparison")),
}


def programme_table_text() -> str:
    """The programmes and their difference-in-differences, with the honest caveats."""
    rows = list(m.ProgrammeEffectResult.objects.select_related("programme")
                .order_by("programme__code"))
    if not rows:
        # Translators: id: belum ada evaluasi program
        return both(_noop("no programme evaluated yet"))
    names = dict(m.Region.objects.values_list("code", "name"))
    status = {key: both(text) for key, text in STATUS_TEXT.items()}
    # Translators: id: Kode
    code_head = both(("table heading", _noop("code")))
    # Translators: id: Wilayah
    region_head = both(("table heading", _noop("region")))
    lines = [
        # Translators: id: Program dan dampaknya (selisih-dari-selisih, DiD)
        both(_noop("programmes and their effect (difference-in-differences)")), "=" * 100,
        f"{code_head:<26}{region_head:<24}{'Sila':<6}{'Tahun':<11}"
        f"{'DiD [95 %]':<22}{'p':<7}{'MDE':<6}Status"]
    for r in rows:
        years = f"{r.start_year}-{r.end_year}" if r.end_year != r.start_year else str(r.start_year)
        if r.did is None:
            effect = "--".ljust(22) + "".ljust(7) + "".ljust(6)
        else:
            star = "*" if r.significant else ""
            effect = (f"{r.did:+5.1f}{star} [{r.did_ci_low:+.1f}, {r.did_ci_high:+.1f}]".ljust(22)
                      + f"{r.p:.3f}".ljust(7) + f"{r.mde:.1f}".ljust(6))
        lines.append(f"{r.programme.code:<26}{names.get(r.region_code, r.region_code)[:23]:<24}"
                     f"{r.dimension:<6}{years:<11}{effect}{status.get(r.status, r.status)}")
    lines += [
        "-" * 100,
        # Translators: id: Program tidak ditempatkan secara acak: DiD adalah bukti, bukan
        #   kepastian; efek di bawah MDE tidak dapat terlihat.
        "*  p < 0,05. " + both(_noop("Programmes are not placed at random: a DiD is evidence, "
                                     "not proof; an effect below the MDE cannot be seen.")),
        # Translators: id: [ ] = selang kepercayaan 95 %
        both(_noop("[ ] = 95 % confidence interval")),
    ]
    return "\n".join(lines)


def small_area_text(instrument: str = "IINP") -> str:
    """How many region-years the Fay-Herriot model filled (synthetic) or sharpened (EBLUP)."""
    rows = m.SmallAreaResult.objects.filter(wave__instrument__code=instrument, status="ok")
    synthetic = list(rows.filter(method="synthetic").order_by("wave__year", "region_code")
                     .values_list("region_code", "wave__year", "model_estimate", "model_se"))
    eblup = rows.filter(method="eblup").count()
    if not synthetic and not eblup:
        # Translators: id: estimasi area kecil: model tidak dapat dipasang
        return both(_noop("small areas: no model fitted"))
    names = dict(m.Region.objects.values_list("code", "name"))
    filled = ", ".join(f"{names.get(c, c)} {y}: {v:.1f} (±{1.96 * se:.1f})"
                       for c, y, v, se in synthetic) or "-"
    # Translators: id: estimasi model
    model = both(_noop("model-based"))
    # Translators: id: sel diisi model
    cells = both(_noop("cells filled by the model"))
    # Translators: id: estimasi survei dipertajam (EBLUP)
    sharpened = both(_noop("survey estimates sharpened"))
    return (f"Estimasi area kecil (Fay-Herriot, {model}): {len(synthetic)} {cells} ({filled}); "
            f"{eblup} {sharpened}")
