"""The index run's longitudinal stage (issue 12): panels and measurement invariance.

Called by `surveys.services.compute.compute_indices`:

- per computed wave, `PanelStage.add` pairs the wave with the previous wave of its instrument
  (by year, whether or not that wave is part of the run: its responses are then read and
  scored again) and computes the `retention` rows (``analysis.panels.retention``) and the
  within-person change of every dimension and the index for the panel members (the paired
  difference as a domain of the later wave's design, weights = the later wave's final
  weights: the estimator of ``analysis.panels.panel_change``, computed for every region and
  score in one vectorised pass by ``analysis.estimation.estimate_domains``, where a
  non-member's or an invalid pair's difference is missing and so outside the domain while its
  PSU stays in the design);
- per computed wave, `wave_moments` keeps the complete-case item means and covariance of the
  reverse-keyed answers (stored as `WaveMoments`);
- once per run, `invariance_tables` fits configural, metric and scalar models of every
  instrument version on its waves' moments (``analysis.validity.
  measurement_invariance_from_moments``) and gives each version its comparability:
  ``comparable`` (scalar holds), ``partial`` (metric: relations, not means), ``not``.

Panel rows belong to the later wave: they are replaced when it is computed and kept when it
is skipped, like its estimates. A pair of waves of different instrument versions is
``not`` comparable: panel changes are not bridged (docs/DECISIONS.md 43, 56).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _noop
from scipy import stats

from analysis import panels, scoring, validity
from analysis.estimation import estimate_domains
from surveys import models as m
from surveys.language import both, in_language
from surveys.selectors import responses as sel
from surveys.services._rows import db_value, frame_rows
from surveys.services.bulk import insert_objects, insert_rows

Note = Callable[..., None]

RETENTION_FIELDS = ("region", "variable", "group", "n_previous", "reinterviewed",
                    "retention_pct", "attrition_pct", "new_entrants")
CHANGE_FIELDS = ("region", "dimension", "n_pairs", "change", "se", "ci_low", "ci_high", "df",
                 "p", "significant", "suppressed")


@dataclass
class PanelWave:
    """What one wave brings to a panel: respondents (Respondent ids, -1 where unknown), their
    design and scores (``codes`` columns: dimensions then INDEX) and, for a wave computed in
    this run, its final weights. The design columns are arrays of labels, or categoricals of
    them (a parallel run's parts)."""

    wave: m.Wave
    respondent: np.ndarray
    region: np.ndarray
    sex: np.ndarray
    age_group: np.ndarray
    stratum: np.ndarray
    psu: np.ndarray
    codes: tuple[str, ...]
    scores: np.ndarray
    weights: np.ndarray | None = None


def panel_wave(wave: m.Wave, data: sel.WaveData, scores: scoring.ScoreResult,
               weights: np.ndarray | None) -> PanelWave:
    return PanelWave(wave=wave, respondent=data.respondent_id,
                     region=data.region, sex=data.sex, age_group=data.age_group,
                     stratum=data.stratum, psu=data.psu, codes=tuple(scores.all_codes),
                     scores=np.column_stack([scores.dimensions, scores.index]),
                     weights=weights)


def load_panel_wave(wave: m.Wave) -> PanelWave | None:
    """A wave outside the run (or skipped by it), read and scored as the index run scores."""
    data = sel.wave_data(wave_id=wave.pk, with_respondent=False)
    if data.n == 0:
        return None
    return panel_wave(wave, data, scoring.score(data.answers, data.spec), None)


def previous_wave(wave: m.Wave) -> m.Wave | None:
    return (m.Wave.objects.select_related("instrument", "version")
            .filter(instrument_id=wave.instrument_id, year__lt=wave.year)
            .order_by("-year").first())


def retention_table(prev: PanelWave, cur: PanelWave) -> pd.DataFrame:
    """Retention per region of the previous wave and ALL (``variable = all``) and attrition by
    sex and age group, as one table of `RETENTION_FIELDS`."""
    keep_p, keep_c = prev.respondent >= 0, cur.respondent >= 0

    def text(values: Any) -> pd.Series:
        # a parallel run's categoricals as they are (factorized from their codes); else kept
        # as Python objects: a string column would be converted to arrow and back by
        # panels.retention (0.37 s of 0.64 s at 500k respondents; issue 15)
        if isinstance(values, pd.Categorical):
            return pd.Series(values, copy=False)
        return pd.Series(values, dtype=object, copy=False)
    previous = pd.DataFrame({"respondent": prev.respondent[keep_p],
                             "region": text(prev.region[keep_p]), "sex": text(prev.sex[keep_p]),
                             "age_group": text(prev.age_group[keep_p])})
    current = pd.DataFrame({"respondent": cur.respondent[keep_c],
                            "region": text(cur.region[keep_c])})
    ret, att = panels.retention(previous, current, wave=cur.wave.year,
                                previous_wave=prev.wave.year)
    ret = ret.assign(variable="all", group=panels.ALL_REGION,
                     attrition_pct=100.0 - ret["retention_pct"])
    att = att.assign(retention_pct=100.0 - att["attrition_pct"], new_entrants=pd.NA)
    return pd.concat([ret[list(RETENTION_FIELDS)], att[list(RETENTION_FIELDS)]],
                     ignore_index=True)


def panel_change_table(prev: PanelWave, cur: PanelWave, *,
                       lonely_psu: str = "certainty") -> pd.DataFrame:
    """Within-person change of the panel members of ``prev`` and ``cur`` (`CHANGE_FIELDS`,
    regions of the later wave and ALL; the estimator of ``analysis.panels.panel_change``)."""
    if cur.weights is None:
        raise ValueError("the later wave needs its final weights")
    codes = [c for c in cur.codes if c in prev.codes]
    order = np.argsort(prev.respondent, kind="stable")
    sorted_keys = prev.respondent[order]
    pos = np.clip(np.searchsorted(sorted_keys, cur.respondent), 0, max(sorted_keys.size - 1, 0))
    member = (cur.respondent >= 0) & (sorted_keys.size > 0)
    if sorted_keys.size:
        member &= sorted_keys[pos] == cur.respondent
    before_rows = order[pos]
    d = np.full((cur.respondent.size, len(codes)), np.nan)
    for j, code in enumerate(codes):
        now = cur.scores[:, cur.codes.index(code)]
        then = prev.scores[before_rows, prev.codes.index(code)] if sorted_keys.size else now
        d[:, j] = np.where(member, now - then, np.nan)
    table = estimate_domains(d, cur.weights, cur.stratum, cur.psu, cur.region,
                             dimension_codes=codes, lonely_psu=lonely_psu).table  # type: ignore[arg-type]
    est, se, df = (table[c].to_numpy(float, copy=True) for c in ("estimate", "se", "df"))
    n_pairs = table["n"].to_numpy(int)
    ci_low = table["ci_low"].to_numpy(float, copy=True)
    ci_high = table["ci_high"].to_numpy(float, copy=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where((se > 0) & (df > 0), 2.0 * stats.t.sf(np.abs(est / se), df), np.nan)
    for arr in (est, se, ci_low, ci_high, p):
        arr[n_pairs == 0] = np.nan
    # a suppressed change says nothing, not even whether it is significant
    significant = np.array([None if np.isnan(v) or k < panels.MIN_PUBLISH_N else bool(v < 0.05)
                            for v, k in zip(p, n_pairs, strict=True)], dtype=object)
    out = pd.DataFrame({
        "region": table["region"].astype(str).to_numpy(), "dimension": table["dimension"],
        "n_pairs": n_pairs, "change": est, "se": se, "ci_low": ci_low, "ci_high": ci_high,
        "df": table["df"], "p": p, "significant": significant,
        "suppressed": n_pairs < panels.MIN_PUBLISH_N,
    })
    return out[list(CHANGE_FIELDS)]


@dataclass
class PanelStage:
    """Pairs each computed wave with the previous wave of its instrument (see the module)."""

    note: Note
    lonely_psu: str = "certainty"
    last: dict[int, PanelWave] = field(default_factory=dict)
    #: later wave id -> (previous wave, retention rows, change rows)
    tables: dict[int, tuple[m.Wave, pd.DataFrame, pd.DataFrame]] = field(default_factory=dict)

    def add(self, current: PanelWave) -> None:
        wave = current.wave
        before = previous_wave(wave)
        last = self.last.get(wave.instrument_id)
        self.last[wave.instrument_id] = current
        if before is None:
            return
        prev = last if last is not None and last.wave.pk == before.pk else None
        if prev is None:
            prev = load_panel_wave(before)
        tables = pair_tables(before, prev, current, note=self.note, lonely_psu=self.lonely_psu)
        if tables is not None:
            self.tables[wave.pk] = (before, *tables)
        if last is not None:
            last.weights = None  # no longer needed

    def put(self, wave: m.Wave, before: m.Wave | None,
            tables: tuple[pd.DataFrame, pd.DataFrame] | None) -> None:
        """A pair `pair_tables` computed elsewhere (a parallel run's wave stage; its notes
        were given there)."""
        self.last.pop(wave.instrument_id, None)  # a later wave pairs with a reloaded one
        if before is not None and tables is not None:
            self.tables[wave.pk] = (before, *tables)


def pair_tables(before: m.Wave, prev: PanelWave | None, current: PanelWave, *, note: Note,
                lonely_psu: str = "certainty") -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Retention and within-person change of ``current`` against ``prev``, the panel data
    of ``before`` (its previous wave; None: it has no responses); None when there is nothing
    to publish (the reason, if any, given to ``note``)."""
    if prev is None:
        return None
    wave = current.wave
    label = f"{wave.instrument.code} {before.year}-{wave.year}"
    try:
        ret = retention_table(prev, current)
        change = panel_change_table(prev, current, lonely_psu=lonely_psu)
    except ValueError as exc:
        # Translators: id: panel tidak dihitung
        text = both(_noop("panel not computed"))
        note("warning", f"{label}: {text}: {exc}",
             wave=wave.year, instrument=wave.instrument.code)
        return None
    if prev.wave.version_id != wave.version_id:
        # Translators: id: versi instrumen berbeda, perubahan panel tidak sebanding
        text = both(_noop("different instrument versions, panel change not comparable"))
        note("warning", f"{label}: {text}", wave=wave.year, instrument=wave.instrument.code)
    return ret, change


def wave_moments(keyed: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Complete-case ``(n, mean, covariance with divisor n)`` of reverse-keyed answers."""
    x = keyed[~np.isnan(keyed).any(axis=1)]
    n = int(x.shape[0])
    if n == 0:
        p = keyed.shape[1]
        return 0, np.full(p, np.nan), np.full((p, p), np.nan)
    mean = x.mean(axis=0)
    xc = x - mean
    return n, mean, (xc.T @ xc) / n


@dataclass(frozen=True)
class Moments:
    year: int
    version_id: int
    items: tuple[str, ...]
    n: int
    mean: np.ndarray
    cov: np.ndarray


def stored_moments(instrument_ids: list[int], exclude_wave_ids: set[int]) -> list[Moments]:
    rows = (m.WaveMoments.objects.filter(wave__instrument_id__in=instrument_ids)
            .exclude(wave_id__in=exclude_wave_ids)
            .values_list("wave__year", "version_id", "items", "n", "means", "cov"))
    return [Moments(year, version, tuple(items), n, np.asarray(mean, float),
                    np.asarray(cov, float)) for year, version, items, n, mean, cov in rows]


def invariance_rows(version: m.InstrumentVersion, moments: list[Moments],
                    note: Note) -> list[dict[str, Any]]:
    """The three invariance rows of one version across its waves (none with < 2 waves)."""
    spec = sel.version_layout(version).spec
    factor_of_item = [k for k, dim in enumerate(spec.dimensions) for _ in dim.item_codes]
    label = f"{version.instrument.code} v{version.version}"
    usable = sorted((mo for mo in moments if mo.items == tuple(spec.item_codes)
                     and mo.n > len(spec.item_codes)), key=lambda mo: mo.year)
    if len(usable) < 2:
        return []
    try:
        res = validity.measurement_invariance_from_moments(
            [mo.year for mo in usable], [mo.cov for mo in usable], [mo.mean for mo in usable],
            [mo.n for mo in usable], factor_of_item)
    except (validity.InvarianceError, validity.CfaConvergenceError, ValueError) as exc:
        # Translators: id: invariansi pengukuran tidak dihitung
        text = both(_noop("measurement invariance not computed"))
        note("warning", f"{label}: {text}: {exc}", instrument=version.instrument.code)
        return []
    verdict = m.COMPARABILITY_OF_LEVEL[res.level]
    if verdict != m.Comparability.COMPARABLE:
        # Translators: id: invariansi {level}, perbandingan antar-gelombang: {verdict}
        text = both(_noop("invariance {level}, comparison across waves: {verdict}"),
                    level=res.level, verdict=verdict.label)
        note("warning", f"{label}: {text}", instrument=version.instrument.code)
    waves = ",".join(str(mo.year) for mo in usable)
    n = int(sum(res.group_sizes))
    return [dict(level=s.level, n=n, chisq=s.chisq, df=s.df, cfi=s.cfi, tli=s.tli,
                 rmsea=s.rmsea, srmr=s.srmr, delta_cfi=s.delta_cfi, delta_rmsea=s.delta_rmsea,
                 delta_srmr=s.delta_srmr, rejected=s.rejected, waves=waves,
                 comparability=verdict.value) for s in res.steps]


def invariance_tables(instruments: list[m.Instrument], fresh: list[Moments],
                      covered: set[int], note: Note
                      ) -> dict[int, tuple[m.InstrumentVersion, list[dict[str, Any]]]]:
    """Invariance rows of every version of ``instruments``: fresh moments of the computed
    waves plus the stored moments of every other (not covered) wave."""
    everything = fresh + stored_moments([i.pk for i in instruments], covered)
    versions = m.InstrumentVersion.objects.select_related("instrument").filter(
        instrument__in=instruments).order_by("instrument__code", "version")
    out: dict[int, tuple[m.InstrumentVersion, list[dict[str, Any]]]] = {}
    for version in versions:
        rows = invariance_rows(version, [mo for mo in everything if mo.version_id == version.pk],
                               note)
        if rows:
            out[version.pk] = (version, rows)
    return out


def _insert_retention(run: m.IndexRun, wave_id: int, before: m.Wave, ret: pd.DataFrame) -> int:
    if not len(ret):
        return 0
    other = [c for c in ret.columns if c != "region"]
    return insert_rows(  # rows as tuples: no model instance per row (issue 15)
        m.RetentionResult, ["run", "wave_id", "previous_wave", "region_code", *other],
        ((run, wave_id, before.year, str(region), *rest)
         for region, *rest in frame_rows(ret, ["region", *other])))


def write_retention(run: m.IndexRun, wave: m.Wave, panel: PanelStage) -> int:
    """Replace one covered wave's retention rows by those of its pair in ``panel`` (none when
    it has no pair), inside the run's write transaction: a parallel run's body writes them as
    the wave is in (they depend on nothing else), `write` the rest at the end
    (docs/DECISIONS.md 85)."""
    m.RetentionResult.objects.filter(wave_id=wave.pk).delete()
    pair = panel.tables.get(wave.pk)
    return 0 if pair is None else _insert_retention(run, wave.pk, pair[0], pair[1])


def write(run: m.IndexRun, *, covered: list[int], instruments: list[m.Instrument],
          panel: PanelStage, moments: dict[int, Moments],
          invariance: dict[int, tuple[m.InstrumentVersion, list[dict[str, Any]]]],
          cross: dict[int, pd.DataFrame], retention_written: Collection[int] = ()
          ) -> dict[str, int]:
    """Replace the longitudinal rows (inside the run's write transaction).

    ``moments``: wave id -> fresh moments; ``cross``: instrument id -> its change table (the
    cross-sectional changes written beside the panel changes); ``retention_written``: covered
    waves whose retention rows `write_retention` has replaced already (counted by the
    caller)."""
    for model in (m.WaveMoments, m.PanelChangeResult):
        model.objects.filter(wave_id__in=covered).delete()
    m.RetentionResult.objects.filter(
        wave_id__in=[w for w in covered if w not in retention_written]).delete()
    m.InvarianceResult.objects.filter(instrument__in=instruments).delete()
    waves = {w.pk: w for w in m.Wave.objects.filter(pk__in=[*moments, *panel.tables])}
    moment_objs = [m.WaveMoments(run=run, wave_id=wid, version_id=mo.version_id, n=mo.n,
                                 items=list(mo.items), means=[db_value(v) for v in mo.mean],
                                 cov=[[db_value(v) for v in row] for row in mo.cov])
                   for wid, mo in moments.items()]
    inv_objs = []
    verdict: dict[int, str] = {}
    for version, rows in invariance.values():
        verdict[version.pk] = rows[0]["comparability"]
        inv_objs += [m.InvarianceResult(run=run, instrument_id=version.instrument_id,
                                        version=version, **{k: db_value(v) for k, v in r.items()})
                     for r in rows]
    n_retention = n_changes = 0  # rows as tuples: no model instance per row (issue 15)
    for wave_id, (before, ret, change) in panel.tables.items():
        wave = waves[wave_id]
        same = before.version_id == wave.version_id
        comparability = verdict.get(wave.version_id, "") if same else m.Comparability.NOT.value
        cross_df = cross.get(wave.instrument_id)
        lookup: dict[tuple[str, str], tuple[Any, Any, Any]] = {}
        if cross_df is not None and len(cross_df):
            sel_rows = cross_df[(cross_df["from_wave"] == before.year)
                                & (cross_df["to_wave"] == wave.year)]
            # (delta, se, significant) by (region, dimension), column-wise: no dict a row
            lookup = {(str(region), str(dimension)): (delta, se, significant)
                      for region, dimension, delta, se, significant in zip(
                          *(sel_rows[c].tolist() for c in ("region", "dimension", "delta",
                                                            "se", "significant")), strict=True)}
        if wave_id not in retention_written:
            n_retention += _insert_retention(run, wave_id, before, ret)
        if len(change):
            other = [c for c in change.columns if c != "region"]
            dim = other.index("dimension")
            rows = []
            for region, *rest in frame_rows(change, ["region", *other]):
                region = str(region)
                delta, se, significant = lookup.get((region, str(rest[dim])),
                                                    (None, None, None))
                rows.append((run, wave_id, before.year, region, db_value(delta),
                             db_value(se), db_value(significant), comparability, *rest))
            n_changes += insert_rows(
                m.PanelChangeResult,
                ["run", "wave_id", "previous_wave", "region_code", "cross_delta", "cross_se",
                 "cross_significant", "comparability", *other], rows)
    return {
        "wave_moments": insert_objects(m.WaveMoments, moment_objs),
        "invariance": insert_objects(m.InvarianceResult, inv_objs),
        "retention": n_retention,
        "panel_changes": n_changes,
    }


# ---------------------------------------------------------------------------------------------
# dashboard


#: comparability verdict -> msgid (the dashboard's comparability card)
VERDICT_TEXT = {
    # Translators: id: Sebanding: invariansi skalar terpenuhi, rata-rata antar-gelombang dapat
    # dibandingkan.
    "comparable": _noop("Comparable: scalar invariance holds, means can be compared across "
                        "waves."),
    # Translators: id: Sebagian sebanding (invariansi metrik): bandingkan hubungan
    # antar-dimensi, bukan rata-rata.
    "partial": _noop("Partially comparable (metric invariance): compare relations, not means."),
    # Translators: id: Tidak sebanding: makna butir berubah antar-gelombang; tren dan perubahan
    # tidak boleh ditafsirkan.
    "not": _noop("Not comparable: the items' meaning changed across waves; trends and changes "
                 "must not be read."),
}


@dataclass
class DashboardLongitudinal:
    """What the dashboard's comparability card shows (plain data, already published)."""

    comparability: str
    verdict: str
    waves: str
    heading: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]


def dashboard_panel(*, regions: set[str] | None, region: str, instrument: str,
                    lang: str = "id") -> DashboardLongitudinal | None:
    """The comparability verdict of the instrument's latest version and the region's panel
    (retention, within-person and cross-sectional change of the index), read through
    `surveys.publish` (scope and suppression applied)."""
    from surveys import publish

    inv = list(publish.rows("invariance", regions=regions, instrument=instrument))
    verdict = inv[-1]["comparability"] if inv else ""
    waves = inv[-1]["waves"] if inv else ""
    ret = {r["wave__year"]: r for r in publish.rows(
        "retention", regions=regions, instrument=instrument, region=region, variable="all")}
    changes = list(publish.rows("panel_changes", regions=regions, instrument=instrument,
                                region=region, dimension=m.OVERALL))
    if not inv and not ret and not changes:
        return None
    rows = []
    for c in changes:
        r = ret.get(c["wave__year"], {})
        rows.append({"wave": c["wave__year"], "previous_wave": c["previous_wave"],
                     "retention_pct": r.get("retention_pct"), "n_pairs": c["n_pairs"],
                     "suppressed": c["suppressed"], "change": c["pub_change"],
                     "ci_low": c["pub_ci_low"], "ci_high": c["pub_ci_high"],
                     "significant": c["significant"], "cross_delta": c["cross_delta"],
                     "comparability": c["comparability"]})
    with in_language(lang):
        columns = (
            # Translators: id: Gelombang
            gettext("Waves"),
            # Translators: id: Retensi panel (%)
            gettext("Panel retention (%)"),
            # Translators: id: Pasangan
            gettext("Pairs"),
            # Translators: id: Perubahan dalam-individu (selang kepercayaan 95 %)
            gettext("Within-person change (95% CI)"),
            # Translators: id: Perubahan lintas-seksi
            gettext("Cross-sectional change"),
            # Translators: id: Keterbandingan
            gettext("Comparability"),
        )
        # Translators: id: Invariansi pengukuran belum dihitung.
        not_yet = gettext("Measurement invariance not computed yet.")
        return DashboardLongitudinal(
            comparability=verdict,
            verdict=gettext(VERDICT_TEXT[verdict]) if verdict else not_yet,
            waves=waves,
            # Translators: id: Panel dan keterbandingan
            heading=gettext("Panel and comparability"),
            columns=columns, rows=rows)
