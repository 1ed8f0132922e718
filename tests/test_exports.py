"""Exports: formats, labels, publication rule, region filter, streaming and k-anonymity."""

from __future__ import annotations

import io
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from surveys import models as m
from surveys.selectors.weights import weighted_count
from surveys.services import demo, exports
from surveys.services.compute import compute_indices

pytestmark = pytest.mark.django_db


@pytest.fixture
def computed(settings) -> None:
    settings.NILAI_AUTO_RECOMPUTE = False
    demo.load_bundled()
    demo.demo_generate(respondents=3000, seed=11, years=(2021, 2022, 2023))
    compute_indices()


def _csv(table: str, **kw) -> pd.DataFrame:
    data = b"".join(exports.iter_export(table=table, fmt="csv", **kw))
    return pd.read_csv(io.BytesIO(data), dtype={"region": str}, keep_default_na=False,
                       na_values=[""])


def test_registry_covers_interface_tables_in_order() -> None:
    assert list(exports.EXPORT_TABLES) == [
        "estimates", "weights", "reliability", "items", "cfa", "trends", "changes",
        "proxy_validation", "achievements", "programme_effects", "programme_types", "sae",
        "invariance", "retention", "panel_changes", "bridges", "microdata", "codebook"]
    assert exports.FORMATS == ("csv", "xlsx", "parquet", "sav", "dta")
    kinds = {name: t.kind for name, t in exports.EXPORT_TABLES.items()}
    assert {n for n, k in kinds.items() if k == "microdata"} == {"weights", "microdata"}


def test_csv_conventions_and_suppression(computed: None) -> None:
    raw = b"".join(exports.iter_export(table="estimates", fmt="csv")).decode()
    header, first = raw.splitlines()[:2]
    assert header.replace('"', "") == ("wave,region,dimension,n,n_eff,estimate,se,ci_low,"
                                       "ci_high,df,suppressed,category,instrument,version")
    assert first.startswith("2021,")  # wave is a plain integer
    assert ",false," in first
    est = _csv("estimates")
    supp = est[est["suppressed"]]
    assert len(supp) and (supp["n"] < 30).all()
    assert supp[["estimate", "se", "ci_low", "ci_high", "category"]].isna().all().all()
    assert supp["n_eff"].notna().all()
    # floats are not rounded: the CSV equals the stored doubles
    stored = dict(m.EstimateResult.objects.filter(suppressed=False).values_list("id", "se"))
    assert sorted(est["se"].dropna()) == sorted(stored.values())


@pytest.mark.parametrize("fmt", ["xlsx", "parquet", "sav", "dta"])
def test_suppressed_blank_in_every_format(computed: None, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"estimates.{fmt}"
    summary = exports.export_table(table="estimates", fmt=fmt, output=path)
    assert summary.rows == m.EstimateResult.objects.count()
    if fmt == "xlsx":
        df = pd.read_excel(path, sheet_name="estimates")
        labels = pd.read_excel(path, sheet_name="variabel")
        assert labels.loc[labels["variable"] == "se", "label_id"].item().startswith("Galat")
    elif fmt == "parquet":
        table = pq.read_table(path)
        assert str(table.schema.field("wave").type) == "int64"
        assert str(table.schema.field("suppressed").type) == "bool"
        df = table.to_pandas()
    else:
        reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
        df, meta = reader(str(path), apply_value_formats=True)
        assert meta.column_names_to_labels["n_eff"] == "Ukuran sampel efektif (Kish)"
        assert meta.variable_value_labels["category"][4] == "tinggi"
        df["suppressed"] = df["suppressed"] == "ya"
    supp = df[df["suppressed"].astype(bool)]
    assert len(supp) > 0
    for col in ("estimate", "se", "ci_low", "ci_high"):
        assert supp[col].isna().all(), col
    assert supp["category"].replace("", np.nan).isna().all()
    kept = df[~df["suppressed"].astype(bool)]
    assert kept["estimate"].notna().all()


def test_region_filter(computed: None) -> None:
    est = _csv("estimates", region_codes={"6401"})
    assert set(est["region"]) == {"6401"}
    est = _csv("estimates", region_codes={"6401", "ALL"})
    assert set(est["region"]) == {"6401", "ALL"}
    weights = _csv("weights", region_codes={"6472"})
    assert len(weights) == m.Response.objects.filter(region__code="6472").count()
    # wave-level tables without a region column are not filtered
    assert len(_csv("reliability", region_codes={"6401"})) == 15


def test_streams_in_batches(computed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "CHUNK_ROWS", 500)
    chunks = list(exports.iter_export(table="weights", fmt="csv"))
    per_wave = m.WaveWeights.objects.values_list("n", flat=True)
    assert len(chunks) == sum(-(-n // 500) for n in per_wave)  # one query per wave
    assert all(len(c) > 10_000 for c in chunks[:-1])  # many rows per write, not one
    parquet = list(exports.iter_export(table="weights", fmt="parquet"))
    assert len(parquet) > 1
    df = pd.read_parquet(io.BytesIO(b"".join(parquet)))
    assert len(df) == weighted_count()


def test_microdata_k_anonymity_generalises_then_suppresses(computed: None) -> None:
    summary = exports.ExportSummary(table="microdata", fmt="csv")
    data = b"".join(exports.iter_export(table="microdata", fmt="csv", k=25, summary=summary,
                                        salt=b"fixed"))
    micro = pd.read_csv(io.BytesIO(data), dtype={"region": str}, keep_default_na=False,
                        na_values=[""])
    cells = micro.astype({"sex": object}).fillna({"sex": ""}).groupby(
        ["wave", "region", "sex", "age_group"]).size()
    assert cells.min() >= 25
    assert summary.suppressed_records > 0
    assert len(micro) == weighted_count() - summary.suppressed_records
    assert {"17-34", "35-54"} & set(micro["age_group"])
    assert micro["sex"].isna().any()
    assert any("sex blanked" in msg for msg in summary.messages)
    # pseudonymous: no stored panel key appears, the salt fixes the mapping
    assert not set(micro["respondent"]) & set(m.Respondent.objects.values_list("panel_key",
                                                                                flat=True))
    again = b"".join(exports.iter_export(table="microdata", fmt="csv", k=25, salt=b"fixed"))
    assert again == data
    other = b"".join(exports.iter_export(table="microdata", fmt="csv", k=25))
    assert other != data
    # generalised cells carry their mean weight: region totals are kept
    totals = micro.groupby(["wave", "region"])["final_weight"].sum()
    assert (totals > 0).all()


def test_microdata_scores_match_scoring(computed: None) -> None:
    micro = _csv("microdata", k=1, salt=b"s")
    assert len(micro) == weighted_count()
    # INDEX is the weighted mean of the dimensions (weights 0.2 each) where all are present
    dims = micro[["S1", "S2", "S3", "S4", "S5"]]
    full = dims.notna().all(axis=1)
    np.testing.assert_allclose(micro.loc[full, "INDEX"], dims[full].mean(axis=1), rtol=1e-12)
    # the weighted mean of INDEX by region-wave equals the stored estimate (k=1: no change)
    ok = micro[micro["INDEX"].notna()]
    mean = (ok["INDEX"] * ok["final_weight"]).groupby([ok["wave"], ok["region"]]).sum() / \
        ok["final_weight"].groupby([ok["wave"], ok["region"]]).sum()
    stored = {(y, r): e for y, r, e in m.EstimateResult.objects.filter(
        dimension="INDEX").exclude(region_code="ALL").values_list("wave__year", "region_code",
                                                                  "estimate")}
    for key, value in mean.items():
        assert value == pytest.approx(stored[key], rel=1e-12)


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_microdata_labels_round_trip(computed: None, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"micro.{fmt}"
    exports.export_table(table="microdata", fmt=fmt, output=path, salt=b"x")
    csv = _csv("microdata", salt=b"x")
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    df, meta = reader(str(path))
    assert list(df.columns) == list(csv.columns)
    assert meta.variable_value_labels["sex"] == {1: "Laki-laki", 2: "Perempuan"}
    assert meta.variable_value_labels["S1_01"][1] == "Sangat tidak setuju"
    assert meta.column_names_to_labels["INDEX"] == "Indeks keseluruhan (0-100)"
    np.testing.assert_array_equal(df["INDEX"].to_numpy(dtype=float),
                                  csv["INDEX"].to_numpy(dtype=float))
    np.testing.assert_array_equal(df["S1_01"].to_numpy(dtype=float),
                                  csv["S1_01"].to_numpy(dtype=float))
    labelled, _ = reader(str(path), apply_value_formats=True)
    sex = {"L": "Laki-laki", "P": "Perempuan"}
    assert [v if isinstance(v, str) and v else None for v in labelled["sex"].astype(object)] == [
        sex.get(v) if isinstance(v, str) else None for v in csv["sex"]]
    assert list(labelled["age_group"].astype(str)) == list(csv["age_group"].astype(str))
    en, meta_en = reader(str(path), apply_value_formats=False)
    del en, meta_en


def _typed_csv(table: str, columns: list[exports.Column], **kw) -> pd.DataFrame:
    data = b"".join(exports.iter_export(table=table, fmt="csv", **kw))
    return pd.read_csv(io.BytesIO(data), keep_default_na=False, na_values=[""],
                       dtype={c.name: str for c in columns if c.kind == "str"})


def _assert_stat_equals_csv(df: pd.DataFrame, csv: pd.DataFrame,
                            columns: list[exports.Column]) -> None:
    """Every value and every missing cell of a .sav/.dta read back equals the CSV export:
    strings ("" for a missing one), numbers exactly, labelled kinds as their integer codes."""
    assert list(df.columns) == list(csv.columns) == [c.name for c in columns]
    assert len(df) == len(csv)
    codes = {"sex": {s[0]: i + 1 for i, s in enumerate(exports.SEXES)},
             "age_group": {a: i + 1 for i, a in enumerate(exports.AGE_GROUPS)},
             "category": {c: i + 1 for i, c in enumerate(exports.CATEGORIES)},
             "bool": {True: 1, False: 0, "true": 1, "false": 0}}
    for c in columns:
        got, want = list(df[c.name]), list(csv[c.name])
        if c.kind == "str":
            assert [g if isinstance(g, str) else "" for g in got] == \
                [w if isinstance(w, str) else "" for w in want], c.name
            continue
        if c.kind in codes:
            want = [codes[c.kind].get(w) if isinstance(w, str | bool) else None for w in want]
        want_f = np.array([np.nan if w is None else w for w in want], dtype=float)
        np.testing.assert_array_equal(np.asarray(got, dtype=float), want_f, err_msg=c.name)


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_microdata_stat_equals_csv(computed: None, tmp_path: Path, fmt: str) -> None:
    columns = exports._micro_columns(exports._micro_context(None))
    csv = _typed_csv("microdata", columns, k=25, salt=b"z")
    assert csv["sex"].isna().any() and csv["final_weight"].notna().all()
    path = tmp_path / f"micro.{fmt}"
    summary = exports.export_table(table="microdata", fmt=fmt, output=path, k=25, salt=b"z")
    assert summary.rows == len(csv)
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    df, meta = reader(str(path))
    assert meta.number_rows == len(csv)
    _assert_stat_equals_csv(df, csv, columns)
    if fmt == "dta":  # and pandas' own Stata reader agrees
        _assert_stat_equals_csv(pd.read_stata(path, convert_categoricals=False), csv, columns)


@pytest.mark.parametrize("fmt", ["sav", "dta"])
@pytest.mark.parametrize("table", ["estimates", "codebook"])
def test_aggregate_stat_equals_csv(computed: None, tmp_path: Path, fmt: str,
                                   table: str) -> None:
    """Estimates (bool and category codes, suppressed blanks) and the codebook (free-text
    columns without a declared width, sized from the data)."""
    src = exports.EXPORT_TABLES[table].build(
        region_codes=None, summary=exports.ExportSummary(table=table, fmt="csv"), lang="id")
    csv = _typed_csv(table, src.columns)
    path = tmp_path / f"{table}.{fmt}"
    exports.export_table(table=table, fmt=fmt, output=path)
    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    df, _ = reader(str(path))
    _assert_stat_equals_csv(df, csv, src.columns)


def test_streamed_string_columns_declare_widths(computed: None) -> None:
    """A string column without a width is sized by reading the whole table first: only the
    small codebook may do that."""
    for name, spec in exports.EXPORT_TABLES.items():
        src = spec.build(region_codes=None, summary=exports.ExportSummary(table=name, fmt="sav"),
                         lang="id")
        open_width = [c.name for c in src.columns if c.kind == "str" and c.width is None]
        if name == "codebook":
            assert set(open_width) == {"label_id", "label_en", "values"}
        else:
            assert not open_width, (name, open_width)


def test_codebook_describes_items(computed: None) -> None:
    book = _csv("codebook")
    assert list(book.columns[:7]) == ["variable", "label_id", "label_en", "values", "dimension",
                                      "facet", "reverse"]
    item = book.set_index("variable").loc["S1_06"]
    assert item["dimension"] == "S1" and item["facet"] in {"kognitif", "afektif", "praktik"}
    assert bool(item["reverse"]) is True
    assert item["values"].startswith("1=Sangat tidak setuju")
    micro = _csv("microdata", salt=b"y")
    assert list(book["variable"]) == list(micro.columns)


def test_export_command_format_from_extension(computed: None, tmp_path: Path) -> None:
    out = StringIO()
    call_command("export", "trends", "--output", str(tmp_path / "t.parquet"), stdout=out)
    assert "parquet" in out.getvalue()
    assert len(pd.read_parquet(tmp_path / "t.parquet")) == m.TrendResult.objects.count()
    with pytest.raises(CommandError, match="--format"):
        call_command("export", "trends", "--output", str(tmp_path / "t.txt"), stdout=out)
    call_command("export", "microdata", "--output", str(tmp_path / "m.csv"), "--k", "50",
                 stdout=out)
    assert "suppressed" in out.getvalue()


def test_unknown_table_or_format() -> None:
    with pytest.raises(exports.ExportError):
        exports.iter_export(table="nope", fmt="csv")
    with pytest.raises(exports.ExportError):
        exports.iter_export(table="estimates", fmt="json")


def test_microdata_xlsx_equals_csv(computed: None, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # a small row limit, so that the continuation sheets are exercised on the demo data
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 2500)
    path = tmp_path / "micro.xlsx"
    summary = exports.export_table(table="microdata", fmt="xlsx", output=path, salt=b"z")
    raw = b"".join(exports.iter_export(table="microdata", fmt="csv", salt=b"z"))
    csv = pd.read_csv(io.BytesIO(raw), dtype={"region": str}, keep_default_na=False,
                      na_values=[""])
    names = pd.ExcelFile(path, engine="openpyxl").sheet_names
    parts = ["microdata"] + [f"microdata_{k}" for k in range(2, len(names))]
    assert names == [*parts, "variabel"]
    assert len(parts) == -(-summary.rows // 2499) > 1  # 2,499 data rows under each header
    sheets = pd.read_excel(path, sheet_name=parts, engine="openpyxl", dtype={"region": str})
    xlsx = pd.concat([sheets[p] for p in parts], ignore_index=True)
    assert len(xlsx) == summary.rows == len(csv)
    pd.testing.assert_frame_equal(xlsx, csv, check_exact=True)  # floats bit for bit
    labels = pd.read_excel(path, sheet_name="variabel", engine="openpyxl")
    assert list(labels.columns) == ["variable", "label_id", "label_en"]
    assert list(labels["variable"]) == list(csv.columns)


def test_category_msgids_translate_to_the_stored_categories() -> None:
    """The people's sheet and the .sav/.dta labels name a stored (Indonesian) category through
    its msgid; the catalogue's Indonesian must be the stored value itself, or an Indonesian
    file would show other words than the data."""
    from django.utils.translation import gettext, override

    with override("id"):
        assert [gettext(msgid) for msgid in exports.CATEGORY_MSGIDS] == exports.CATEGORIES
    with override("en"):
        assert [gettext(msgid) for msgid in exports.CATEGORY_MSGIDS] == [
            "very low", "low", "medium", "high", "very high"]
    assert exports._value_labels(exports.Column("sex", "sex", "", ""), "en", {}) == {
        1: "Male", 2: "Female"}
