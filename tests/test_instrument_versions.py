"""Instrument versions (issue 12 part 2): item links, bridge estimates, series breaks.

References are computed here by hand, independently of `analysis` (numpy/pandas: METHODS 2
scoring and the METHODS 4 Taylor-linearised domain mean written out from the formulas).
"""

from __future__ import annotations

import copy
import json
import tempfile
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analysis import bridges, trends
from analysis.scoring import DimensionSpec, InstrumentSpec
from surveys import models as m
from surveys.selectors import responses as sel
from surveys.selectors.weights import wave_weights
from surveys.services import bridges as bridge_service
from surveys.services import demo
from surveys.services.charts import TrendChart, TrendPoint, draw_trend
from surveys.services.compute import compute_indices

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
V1 = json.loads((FIXTURES / "instrument_pancasila_v1.json").read_text(encoding="utf-8"))
V2 = json.loads((FIXTURES / "instrument_pancasila_v2.json").read_text(encoding="utf-8"))


def _load(tmp_path: Path, doc: dict, name: str) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    out = StringIO()
    call_command("load_instrument", str(path), stdout=out)
    return out.getvalue()


def _fail(tmp_path: Path, doc: dict, name: str = "v2.json") -> str:
    with pytest.raises(CommandError) as err:
        _load(tmp_path, doc, name)
    return str(err.value)


# --- the loader ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bundled_v2_loads_with_its_links(tmp_path: Path) -> None:
    _load(tmp_path, V1, "v1.json")
    out = _load(tmp_path, V2, "v2.json")
    assert "versi/version 2" in out and "same 15, reworded 10, new 5, dropped 5" in out
    v2 = m.InstrumentVersion.objects.get(version=2)
    links = m.ItemLink.objects.filter(version=v2)
    assert links.count() == 35
    link = links.get(item__code="S1_02B")
    assert (link.relation, link.predecessor.code, link.predecessor.version.version) == (
        "reworded", "S1_02", 1)
    assert links.get(item__code="S3_07").predecessor is None
    assert set(links.filter(relation="dropped").values_list("predecessor__code", flat=True)) \
        == {"S1_05", "S2_04", "S3_04", "S4_05", "S5_02"}
    # realistic: id and en texts differ from v1 where reworded, every dimension keeps 5 linked
    texts = {it["code"]: it["text"] for d in V1["dimensions"] for it in d["items"]}
    for entry in V2["links"]["items"]:
        if entry["relation"] == "reworded":
            new = next(it for d in V2["dimensions"] for it in d["items"]
                       if it["code"] == entry["item"])
            assert new["text"]["id"] != texts[entry["from"]]["id"]
            assert new["text"]["en"] != texts[entry["from"]]["en"]
    plan = bridges.plan_segments([(2024, 1), (2025, 2)],
                                 bridge_service.version_items(v2.instrument_id))
    assert all(len(segs) == 1 and segs[0].basis == "linked" for segs in plan.values())
    assert {len(segs[0].items[2][code]) for code, segs in plan.items() if code != "INDEX"} \
        == {5}
    # loading it again is a no-op
    assert _load(tmp_path, V2, "again.json").startswith("Tidak ada perubahan")


def _v2() -> dict:
    return copy.deepcopy(V2)


def _entry(doc: dict, item: str) -> dict:
    return next(e for e in doc["links"]["items"] if e["item"] == item)


def _breaks(case: str) -> tuple[dict, str]:
    """A v2 document broken one way, and the text its error must contain."""
    doc = _v2()
    entries = doc["links"]["items"]
    if case == "unknown item":
        _entry(doc, "S1_07")["item"] = "S1_99"
        return doc, "links.items[5].item: butir 'S1_99' tidak ada di versi 2"
    if case == "item linked twice":
        entries.append({"item": "S1_01", "relation": "new"})
        return doc, "links.items[30].item: butir S1_01 ditautkan dua kali (juga links.items[0])"
    if case == "predecessor linked twice":
        _entry(doc, "S1_07").update(relation="reworded", **{"from": "S1_01"})
        return doc, ("links.items[5].from: butir S1_01 versi 1 ditautkan dua kali (juga "
                     "links.items[0])")
    if case == "same with other reverse keying":
        doc["dimensions"][0]["items"][4]["reverse"] = False  # S1_06
        return doc, ("links.items[4].relation: tautan 'same' S1_06 <- S1_06 tidak sah: arah "
                     "(reverse) berbeda")
    if case == "same on another scale":
        doc["scale"] = {"min": 1, "max": 7, "labels": {"id": [], "en": []}}
        return doc, "tautan 'same' S1_01 <- S1_01 tidak sah: skala berbeda (1..5)"
    if case == "dropped item that is linked":
        doc["links"]["dropped"].append("S2_01")
        return doc, ("links.dropped[5]: butir S2_01 dinyatakan dihapus tetapi ditautkan di "
                     "links.items[6]")
    if case == "missing link entry":
        entries.remove(_entry(doc, "S3_07"))
        return doc, "links.items: butir S3_07 tidak mempunyai tautan"
    if case == "old item neither linked nor dropped":
        doc["links"]["dropped"].remove("S5_02")
        return doc, "links.dropped: butir S5_02 versi 1 tidak ditautkan dan tidak ada"
    if case == "link across dimensions":
        _entry(doc, "S2_07").update(relation="reworded", **{"from": "S1_05"})
        doc["links"]["dropped"].remove("S1_05")
        return doc, "links.items[11].from: butir tertaut harus tetap di dimensinya"
    if case == "new item with a predecessor":
        _entry(doc, "S4_07")["from"] = "S4_05"
        return doc, "links.items[23].from: butir baru tidak mempunyai 'from'"
    raise AssertionError(case)


CASES = ["unknown item", "item linked twice", "predecessor linked twice",
         "same with other reverse keying", "same on another scale",
         "dropped item that is linked", "missing link entry",
         "old item neither linked nor dropped", "link across dimensions",
         "new item with a predecessor"]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES)
def test_link_errors_name_the_field(tmp_path: Path, case: str) -> None:
    _load(tmp_path, V1, "v1.json")
    doc, expected = _breaks(case)
    message = _fail(tmp_path, doc)
    assert message.startswith("v2.json: ")
    assert expected in message, message
    assert not m.InstrumentVersion.objects.filter(version=2).exists()
    assert not m.ItemLink.objects.exists()


@pytest.mark.django_db
def test_links_need_a_predecessor(tmp_path: Path) -> None:
    v3 = _v2()
    v3["version"] = 3
    _load(tmp_path, V1, "v1.json")
    assert ("isian/field links: versi 2 belum diterbitkan: muat versi sebelumnya dulu / "
            "version 2 has not been published: load the previous version first") in _fail(
        tmp_path, v3, "v3.json")
    v1 = copy.deepcopy(V1)
    v1["code"] = "LAIN"
    v1["links"] = V2["links"]
    assert "versi 1 tidak mempunyai versi sebelumnya" in _fail(tmp_path, v1, "lain.json")


@pytest.mark.django_db
def test_without_links_kept_codes_link_as_same(tmp_path: Path) -> None:
    _load(tmp_path, V1, "v1.json")
    doc = copy.deepcopy(V1)
    doc["version"] = 2
    doc["dimensions"][0]["items"][0]["text"]["id"] = "Teks baru yang lain"
    out = _load(tmp_path, doc, "v2.json")
    assert "tautan tersirat" in out and "same 29, reworded 0, new 1, dropped 1" in out


# --- the plan (pure) ---------------------------------------------------------------------------


def _versions(links2: dict[str, str | None], links3: dict[str, str | None] | None = None
              ) -> dict[int, bridges.VersionItems]:
    out = {1: bridges.VersionItems(1, {"A": ("a1", "a2", "a3", "a4"), "B": ("b1", "b2", "b3")},
                                   {})}
    out[2] = bridges.VersionItems(
        2, {"A": tuple(c for c in links2 if c.startswith("a")),
            "B": tuple(c for c in links2 if c.startswith("b"))}, links2)
    if links3 is not None:
        out[3] = bridges.VersionItems(
            3, {"A": tuple(c for c in links3 if c.startswith("a")),
                "B": tuple(c for c in links3 if c.startswith("b"))}, links3)
    return out


def test_a_dimension_with_two_linked_items_breaks_and_takes_the_index_with_it() -> None:
    versions = _versions({"a1": "a1", "a2x": "a2", "a3": "a3", "a5": None,
                          "b1": "b1", "b2x": "b2", "b4": None})
    plan = bridges.plan_segments([(2021, 1), (2022, 1), (2023, 2)], versions)
    assert [(s.waves, s.basis) for s in plan["A"]] == [((2021, 2022, 2023), "linked")]
    assert plan["A"][0].items == {1: {"A": ("a1", "a2", "a3")}, 2: {"A": ("a1", "a2x", "a3")}}
    assert [(s.series, s.waves, s.basis) for s in plan["B"]] == [
        (1, (2021, 2022), "full"), (2, (2023,), "full")]
    assert [s.waves for s in plan["INDEX"]] == [(2021, 2022), (2023,)]
    # a wave of a linked series is scored once more; a wave with no linked series never
    tasks = bridges.scoring_tasks(plan, 2023, 2)
    assert [(dict(t.items), dict(t.publish)) for t in tasks] == [
        ({"A": ("a1", "a2x", "a3")}, {"A": 1})]
    versions_ok = _versions({"a1": "a1", "a2x": "a2", "a3": "a3", "b1": "b1", "b2": "b2",
                             "b3x": "b3"})
    plan_ok = bridges.plan_segments([(2022, 1), (2023, 2)], versions_ok)
    tasks = bridges.scoring_tasks(plan_ok, 2022, 1)
    assert len(tasks) == 1 and dict(tasks[0].publish) == {"INDEX": 1, "A": 1, "B": 1}


def test_links_chain_over_versions_and_a_lost_item_does_not_come_back() -> None:
    versions = _versions({"a1": "a1", "a2": "a2", "a3": "a3", "a4": "a4", "b1": "b1",
                          "b2": "b2", "b3": "b3"},
                         {"a1": "a1", "a2": "a2", "a3": "a3", "a4": None, "b1": "b1",
                          "b2": "b2", "b3": "b3"})
    common = bridges.linked_items(versions, 1, 3)
    assert common[1]["A"] == ("a1", "a2", "a3") and common[3]["A"] == ("a1", "a2", "a3")
    # waves v1, v3 (v2 never fielded): chained through v2
    plan = bridges.plan_segments([(2021, 1), (2025, 3)], versions)
    assert plan["INDEX"][0].versions == (1, 3)
    # going back to an older version is a break
    plan = bridges.plan_segments([(2021, 1), (2022, 2), (2023, 1)], versions)
    assert [s.waves for s in plan["A"]] == [(2021, 2022), (2023,)]


def test_segmented_tables_bridge_breaks_and_a_region_missing_a_wave() -> None:
    versions = _versions({"a1": "a1", "a2": "a2", "a3": "a3", "b1": "b1", "b2": "b2"})
    plan = bridges.plan_segments([(2021, 1), (2022, 1), (2023, 2)], versions)
    full = pd.DataFrame([
        # region R is missing in 2022 (not surveyed there)
        (2021, "R", "A", 60.0, 1.0), (2023, "R", "A", 70.0, 1.5),
        (2021, "S", "A", 50.0, 1.0), (2022, "S", "A", 52.0, 1.0), (2023, "S", "A", 58.0, 1.0),
        (2021, "S", "B", 40.0, 1.0), (2022, "S", "B", 41.0, 1.0), (2023, "S", "B", 45.0, 1.0),
    ], columns=["wave", "region", "dimension", "estimate", "se"]).assign(suppressed=False)
    bridge = pd.DataFrame([
        (2021, "R", "A", 61.0, 1.1), (2023, "R", "A", 66.0, 1.4),
        (2021, "S", "A", 51.0, 1.0), (2022, "S", "A", 53.0, 1.0), (2023, "S", "A", 55.0, 2.0),
    ], columns=["wave", "region", "dimension", "estimate", "se"]).assign(
        suppressed=False, series=1)
    bridge.loc[(bridge["region"] == "S") & (bridge["wave"] == 2023), "suppressed"] = True
    trend_df, change_df = bridges.segmented_tables(full, bridge, plan,
                                                   {2021: 1, 2022: 1, 2023: 2})
    r = change_df[change_df["region"] == "R"].iloc[0]
    expected = trends.year_change(2021, 2023, 61.0, 1.1, 66.0, 1.4)
    assert (r["from_wave"], r["to_wave"], r["basis"], r["reason"]) == (2021, 2023, "linked", "")
    assert r["delta"] == pytest.approx(expected.delta) and r["se"] == pytest.approx(expected.se)
    s = change_df[(change_df["region"] == "S") & (change_df["dimension"] == "A")]
    assert list(s["basis"]) == ["full", "linked"]
    assert s.iloc[1]["reason"] == "bridge_missing" and np.isnan(s.iloc[1]["delta"])
    b = change_df[(change_df["region"] == "S") & (change_df["dimension"] == "B")]
    assert list(b["reason"]) == ["", "series_break"] and np.isnan(b.iloc[1]["delta"])
    assert not b.iloc[1]["significant"]
    tb = trend_df[(trend_df["region"] == "S") & (trend_df["dimension"] == "B")]
    assert list(zip(tb["series"], tb["first_wave"], tb["last_wave"], tb["n_points"],
                    strict=True)) == [(1, 2021, 2022, 2), (2, 2023, 2023, 1)]
    ta = trend_df[(trend_df["region"] == "S") & (trend_df["dimension"] == "A")].iloc[0]
    # the linked series: its published bridge points only (2023 suppressed)
    assert (ta["basis"], ta["n_points"], ta["from_version"], ta["to_version"]) == (
        "linked", 2, 1, 2)


def test_one_version_gives_the_plain_tables() -> None:
    versions = {1: bridges.VersionItems(1, {"A": ("a1", "a2")}, {})}
    plan = bridges.plan_segments([(y, 1) for y in (2021, 2022, 2023, 2024)], versions)
    rng = np.random.default_rng(1)
    full = pd.DataFrame([(y, r, d, rng.normal(60, 3), 1.0 + rng.random())
                         for y in (2021, 2022, 2023, 2024) for r in ("R", "S", "ALL")
                         for d in ("A", "INDEX")],
                        columns=["wave", "region", "dimension", "estimate", "se"]).assign(
        suppressed=False)
    full.loc[3, "suppressed"] = True
    trend_df, change_df = bridges.segmented_tables(full, pd.DataFrame(), plan, {})
    pd.testing.assert_frame_equal(trend_df[list(trends.TREND_COLUMNS)],
                                  trends.trend_table(full))
    pd.testing.assert_frame_equal(change_df[list(trends.CHANGE_COLUMNS)],
                                  trends.change_table(full))
    assert set(change_df["basis"]) == {"full"} and set(trend_df["series"]) == {1}


# --- bridge estimates against a hand computation ---------------------------------------------


def _taylor(y: np.ndarray, w: np.ndarray, stratum: np.ndarray, psu: np.ndarray,
            member: np.ndarray) -> tuple[float, float, int]:
    """METHODS 4 written out: weighted domain mean, linearised SE (with replacement, a
    single-PSU stratum adds nothing), n."""
    d = member & ~np.isnan(y)
    total = w[d].sum()
    mean = float((w[d] * y[d]).sum() / total)
    z = np.where(d, w * (np.where(d, y, 0.0) - mean) / total, 0.0)
    frame = pd.DataFrame({"h": stratum, "k": psu, "z": z})
    zk = frame.groupby(["h", "k"], sort=False)["z"].sum().reset_index()
    var = 0.0
    for _, grp in zk.groupby("h"):
        n_h = len(grp)
        if n_h > 1:
            var += n_h / (n_h - 1) * float(((grp["z"] - grp["z"].mean()) ** 2).sum())
    return mean, float(np.sqrt(var)), int(d.sum())


def _score_by_hand(x: np.ndarray, reverse: list[bool], lo: int, hi: int,
                   share: float) -> np.ndarray:
    keyed = np.where(reverse, lo + hi - x, x)
    s = 100.0 * (keyed - lo) / (hi - lo)
    valid = ~np.isnan(s)
    ok = valid.sum(axis=1) / s.shape[1] >= share - 1e-9
    with np.errstate(invalid="ignore"):
        mean = np.nansum(s, axis=1) / valid.sum(axis=1)
    return np.where(ok, mean, np.nan)


def test_seven_point_bridge_estimate_by_hand() -> None:
    rng = np.random.default_rng(12)
    n = 400
    spec = InstrumentSpec(1, 7, 2 / 3, (
        DimensionSpec("A", 1.0, ("a1", "a2", "a3", "a4", "a5"), (False, True, False, False,
                                                                   False)),
        DimensionSpec("B", 3.0, ("b1", "b2", "b3", "b4"), (False, False, True, False)),
    ))
    answers = rng.integers(1, 8, (n, 9)).astype(float)
    answers[rng.random((n, 9)) < 0.12] = np.nan
    weights = rng.uniform(0.5, 3.0, n)
    region = np.where(np.arange(n) < 150, "R1", "R2").astype(object)
    stratum = region.copy()
    psu = np.array([f"{r}-{i // 10}" for i, r in enumerate(region)], dtype=object)
    items = {1: {"A": ("a1", "a2", "a3"), "B": ("b1", "b2", "b4")}}
    segments = {
        "A": [bridges.Segment("A", 1, (2022, 2023), (1, 2), {**items, 2: {}})],
        "B": [bridges.Segment("B", 1, (2022, 2023), (1, 2), {**items, 2: {}})],
        "INDEX": [bridges.Segment("INDEX", 1, (2022, 2023), (1, 2), {**items, 2: {}})],
    }
    wave = SimpleNamespace(year=2022, version=SimpleNamespace(version=1))
    table = bridge_service.bridge_estimates(wave, spec, answers, weights, stratum, psu, region,
                                            segments)  # type: ignore[arg-type]
    dim_a = _score_by_hand(answers[:, [0, 1, 2]], [False, True, False], 1, 7, 2 / 3)
    dim_b = _score_by_hand(answers[:, [5, 6, 8]], [False, False, False], 1, 7, 2 / 3)
    index = (1.0 * dim_a + 3.0 * dim_b) / 4.0
    assert set(table["dimension"]) == {"A", "B", "INDEX"}
    for code, y in (("A", dim_a), ("B", dim_b), ("INDEX", index)):
        for reg, member in (("R1", region == "R1"), ("ALL", np.ones(n, bool))):
            row = table[(table["dimension"] == code) & (table["region"] == reg)].iloc[0]
            mean, se, count = _taylor(y, weights, stratum, psu, member)
            assert row["estimate"] == pytest.approx(mean, rel=1e-12)
            assert row["se"] == pytest.approx(se, rel=1e-10)
            assert (row["n"], row["series"], row["version"]) == (count, 1, 1)
            assert row["linked_items"] == (6 if code == "INDEX" else 3)
    assert table.loc[table["dimension"] == "B", "items"].iloc[0] == "b1,b2,b4"


# --- end to end: the demo with a version switch, and a break ---------------------------------


def _world(settings, v2: dict | None = None) -> None:
    settings.NILAI_AUTO_RECOMPUTE = False
    demo.load_bundled()
    doc = v2 if v2 is not None else V2
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "v2.json"
        target.write_text(json.dumps(doc), encoding="utf-8")
        call_command("load_instrument", str(target), stdout=StringIO())
    demo.demo_generate(respondents=3000, seed=4, years=(2022, 2023, 2024, 2025),
                       last_wave_version=2)


@pytest.mark.django_db
def test_demo_version_switch_bridges_by_hand(settings) -> None:
    _world(settings)
    run = compute_indices(instrument="IINP")
    assert run.status == m.RunStatus.SUCCEEDED
    assert run.parameters["rows"]["bridges"] == m.BridgeResult.objects.count() > 0
    # every wave of the linked series has its bridge estimates, with the version it rests on
    got = set(m.BridgeResult.objects.values_list("wave__year", "version", "dimension",
                                                 "linked_items").distinct())
    assert {(y, v, d, k) for y, v, d, k in got if d == "INDEX"} == {
        (2022, 1, "INDEX", 25), (2023, 1, "INDEX", 25), (2024, 1, "INDEX", 25),
        (2025, 2, "INDEX", 25)}
    # independent: the linked items of ALL INDEX 2025 and 2024, scored and estimated by hand
    v2 = json.loads(json.dumps(V2))
    linked2 = {e["item"]: e["from"] for e in v2["links"]["items"] if e["relation"] != "new"}
    for year, version in ((2024, 1), (2025, 2)):
        wave = m.Wave.objects.get(year=year)
        data = sel.wave_data(wave_id=wave.pk, with_respondent=False)
        found, w = wave_weights(wave.pk).lookup(data.response_id)
        assert found.all()
        codes = list(data.spec.item_codes)
        dims = []
        for dim in data.spec.dimensions:
            keep = [c for c in dim.item_codes
                    if (c in linked2 if version == 2 else c in linked2.values())]
            cols = [codes.index(c) for c in keep]
            rev = [dim.reverse[dim.item_codes.index(c)] for c in keep]
            dims.append(_score_by_hand(data.answers[:, cols], rev, 1, 5, 2 / 3))
        index = np.nanmean(np.column_stack(dims), axis=1)
        index[np.isnan(np.column_stack(dims)).any(axis=1)] = np.nan
        mean, se, count = _taylor(index, w, data.stratum, data.psu,
                                  np.ones(data.n, dtype=bool))
        row = m.BridgeResult.objects.get(wave=wave, region_code="ALL", dimension="INDEX")
        assert row.estimate == pytest.approx(mean, rel=1e-9)
        assert row.se == pytest.approx(se, rel=1e-8)
        assert row.n == count
        assert row.items.count(",") == 24
    # the change across the boundary is the bridge change; within a version the full one
    change = m.ChangeResult.objects.get(region_code="ALL", dimension="INDEX", from_wave=2024,
                                        to_wave=2025)
    b24 = m.BridgeResult.objects.get(wave__year=2024, region_code="ALL", dimension="INDEX")
    b25 = m.BridgeResult.objects.get(wave__year=2025, region_code="ALL", dimension="INDEX")
    assert (change.basis, change.from_version, change.to_version) == ("linked", 1, 2)
    assert change.delta == pytest.approx(b25.estimate - b24.estimate)
    assert change.se == pytest.approx(np.hypot(b25.se, b24.se))
    inner = m.ChangeResult.objects.get(region_code="ALL", dimension="INDEX", from_wave=2023,
                                       to_wave=2024)
    full = dict(m.EstimateResult.objects.filter(region_code="ALL", dimension="INDEX")
                .values_list("wave__year", "estimate"))
    assert inner.basis == "full" and inner.delta == pytest.approx(full[2024] - full[2023])
    # the trend spans the versions on the linked basis: the bridge series
    trend = m.TrendResult.objects.get(region_code="ALL", dimension="INDEX")
    assert (trend.series, trend.basis, trend.n_points, trend.from_version,
            trend.to_version) == (1, "linked", 4, 1, 2)
    pts = sorted(m.BridgeResult.objects.filter(region_code="ALL", dimension="INDEX")
                 .values_list("wave__year", "estimate"))
    assert trend.sen_slope == pytest.approx(
        trends.series_trend(*zip(*pts, strict=True)).sen_slope)
    # the demo text shows the bridge
    text = demo.bridge_table_text()
    assert "v1 2024 -> v2 2025" in text and "[linked]" in text and "(25 butir)" in text


def _v2_with_s1_break() -> dict:
    """v2 where S1 keeps two linked items (S1_01, S1_06): its series, and the index's, break."""
    doc = _v2()
    for entry in doc["links"]["items"]:
        if entry["item"] in ("S1_02B", "S1_03", "S1_04B"):
            entry["relation"] = "new"
            entry.pop("from")
    doc["links"]["dropped"] += ["S1_02", "S1_03", "S1_04"]
    return doc


@pytest.mark.django_db
def test_series_break_with_two_linked_items(settings, client) -> None:
    _world(settings, _v2_with_s1_break())
    compute_indices(instrument="IINP")
    s1 = list(m.TrendResult.objects.filter(region_code="ALL", dimension="S1")
              .order_by("series").values_list("series", "basis", "first_wave", "last_wave",
                                              "n_points"))
    assert s1 == [(1, "full", 2022, 2024, 3), (2, "full", 2025, 2025, 1)]
    index = list(m.TrendResult.objects.filter(region_code="ALL", dimension="INDEX")
                 .order_by("series").values_list("series", "first_wave", "last_wave"))
    assert index == [(1, 2022, 2024), (2, 2025, 2025)]
    # S2 still bridges (5 linked items); S1 and the index do not
    assert m.TrendResult.objects.get(region_code="ALL", dimension="S2").basis == "linked"
    assert not m.BridgeResult.objects.filter(dimension__in=["S1", "INDEX"]).exists()
    for code in ("S1", "INDEX"):
        c = m.ChangeResult.objects.get(region_code="ALL", dimension=code, to_wave=2025)
        assert (c.delta, c.se, c.p, c.reason, c.significant) == (
            None, None, None, "series_break", False)
    assert any("deret baru mulai 2025" in msg["message"]
               for msg in m.IndexRun.objects.get().messages)
    # the chart draws the break, the API serves it blank with its reason
    current = bridge_service.current_series(regions=None, region="ALL", dimension="S1",
                                            instrument="IINP")
    assert current is not None and current.breaks == (2025,)
    assert [p.year for p in current.points] == [2025]
    from surveys.services.charts import trend_chart_for

    svg = trend_chart_for(regions=None, region="ALL", dimension="S1", instrument="IINP",
                          fmt="svg").decode()
    assert 'id="version-break-2025"' in svg and "Deret putus" in svg
    svg2 = trend_chart_for(regions=None, region="ALL", dimension="S2", instrument="IINP",
                           fmt="svg").decode()
    assert 'id="version-change-2025"' in svg2 and 'id="bridge"' in svg2
    # the dashboard: the verdict reads the new series only, the break is said
    from surveys.web.panels import build_dashboard

    board = build_dashboard(regions=None, region="ALL", instrument="IINP", lang="en")
    panel = next(p for p in board.dimensions if p.code == "S1")
    assert panel.verdict is not None and panel.verdict.n_points == 1
    assert any("series breaks" in note for note in panel.version_notes)
    s2 = next(p for p in board.dimensions if p.code == "S2")
    assert s2.verdict is not None and s2.verdict.n_points == 4
    assert any("linked items (bridge estimates" in note for note in s2.version_notes)
    # the report's verdict rests on the same points: the series that holds its year, never
    # across the break, and the bridge estimates where the series spans versions
    from surveys.reports import content as report

    data_2025 = report._read(regions=None, region="ALL", year=2025, instrument="IINP", lang="en")
    assert [y for y, _v, _se in report._verdict_points(data_2025, "S1")] == [2025]
    assert [y for y, _v, _se in report._verdict_points(data_2025, "INDEX")] == [2025]
    s2_points = report._verdict_points(data_2025, "S2")
    bridged = {r.wave.year: (r.estimate, r.se) for r in m.BridgeResult.objects.filter(
        region_code="ALL", dimension="S2")}
    assert {y: (v, se) for y, v, se in s2_points} == bridged and len(bridged) == 4
    data_2024 = report._read(regions=None, region="ALL", year=2024, instrument="IINP", lang="en")
    assert [y for y, _v, _se in report._verdict_points(data_2024, "S1")] == [2022, 2023, 2024]


def test_chart_draws_version_marker_and_bridge() -> None:
    chart = TrendChart(
        title="t", points=[TrendPoint(2021, 60.0, 58.0, 62.0, 1),
                           TrendPoint(2022, 61.0, 59.0, 63.0, 2)],
        boundaries=[(2022, False)],
        bridge=[TrendPoint(2021, 59.0, 57.0, 61.0), TrendPoint(2022, 62.0, 60.0, 64.0)],
        linked=frozenset({2022}), significant={2022: 3.0})
    svg = draw_trend(chart, fmt="svg", lang="en").decode()
    assert 'id="version-change-2022"' in svg and "Instrument version changed" in svg
    assert 'id="bridge"' in svg and "Bridge estimate (linked items)" in svg
