"""One click to the data (issue 17 item 6): the Excel download for people (labels, names, units,
polarity, rounded display formats over full values), codes and full precision in CSV, the
codebook's codes matching the .sav, Swagger UI served offline, and a schema written for users."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import openpyxl
import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from datafiles.xlsx import XlsxWriter
from surveys import models as m
from surveys.models import Role
from surveys.publish.catalogue import NAME_COLUMNS, TABLES
from surveys.services import exports
from tests.results_world import build_world, make_user

pytestmark = pytest.mark.django_db

PASSWORD = "kata-sandi-uji-123"


@pytest.fixture
def world():
    built = build_world()
    m.Region.objects.filter(code="6401").update(code_kemendagri="64.01")
    return built


def client_for(role: str, *regions: str) -> Client:
    user = make_user(f"{role}-dl", role, *regions, password=PASSWORD)
    client = Client()
    client.force_login(user)
    return client


def download(client: Client, table: str, fmt: str, lang: str = "id", **query: str) -> bytes:
    response = client.get(f"/api/v1/exports/{table}.{fmt}", query, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def sheet_rows(data: bytes, sheet: str) -> list[list[openpyxl.cell.Cell]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [list(row) for row in book[sheet].iter_rows()]


def by_header(rows: list[list[openpyxl.cell.Cell]]) -> list[dict[str, openpyxl.cell.Cell]]:
    header = [c.value for c in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


# --- Excel for people ---------------------------------------------------------------------------

def test_estimates_excel_has_labels_names_and_rounded_formats_over_full_values(world):
    office = client_for(Role.OFFICE, "6401")
    data = download(office, "estimates", "xlsx", region="6401", instrument="IINP")
    rows = sheet_rows(data, "Tabel (untuk dibaca)")

    header = [c.value for c in rows[0]]
    assert header[:6] == ["Tahun gelombang survei", "Kode wilayah BPS (ALL = provinsi)",
                          "Nama wilayah", "Kode wilayah Kemendagri", "Dimensi (sila) atau INDEX",
                          "Nama sila / indeks"]
    cells = by_header(rows)
    stored = {(e.wave.year, e.dimension): e for e in m.EstimateResult.objects.filter(
        region_code="6401").select_related("wave")}
    assert len(cells) == len(stored)
    for row in cells:
        assert row["Nama wilayah"].value == "Paser"
        assert row["Kode wilayah Kemendagri"].value == "64.01"
        est = stored[(row["Tahun gelombang survei"].value,
                      row["Dimensi (sila) atau INDEX"].value)]
        value = row["Nilai indeks (rata-rata tertimbang, 0-100)"]
        assert value.value == est.estimate and value.number_format == "0.0"  # full value kept
        se = row["Galat baku (linearisasi Taylor)"]
        assert se.value == est.se and se.number_format == "0.00"
        n = row["Jumlah responden dengan skor sah"]
        assert n.value == est.n and n.number_format == "0"
    names = {row["Dimensi (sila) atau INDEX"].value: row["Nama sila / indeks"].value
             for row in cells}
    assert names == {"INDEX": "Nilai indeks (keseluruhan)", "S1": "S1 Ketuhanan"}
    # the variable sheet maps every header back to its variable
    variables = [r[0].value for r in sheet_rows(
        download(office, "estimates", "xlsx", region="6401"), "variabel")[1:]]
    assert variables[:4] == ["wave", "region", "region_name", "region_kemendagri"]


def test_estimates_excel_in_english(world):
    rows = sheet_rows(download(client_for(Role.RESEARCHER), "estimates", "xlsx", lang="en"),
                      "Table (to read)")
    cells = by_header(rows)

    assert [c.value for c in rows[0]][:3] == ["Survey wave (year)",
                                              "BPS region code (ALL = province)", "Region name"]
    assert {row["Sila / index name"].value for row in cells} == {"Index value (overall)",
                                                                  "S1 Belief in God"}
    assert {row["Category"].value for row in cells} <= {"medium", "high", None}
    whole = {row["Region name"].value for row in cells
             if row["BPS region code (ALL = province)"].value == "ALL"}
    assert whole == {"Kalimantan Timur"}  # ALL is the province, by name


def test_achievements_excel_has_indicator_names_units_polarity_and_percent(world):
    rows = sheet_rows(download(client_for(Role.RESEARCHER), "achievements", "xlsx"),
                      "Tabel (untuk dibaca)")
    cells = {(row["Kode indikator"].value, row["Kode wilayah BPS (ALL = provinsi)"].value): row
             for row in by_header(rows)}

    konflik = cells[("KONFLIK_SARA", "6401")]
    assert konflik["Nama indikator"].value == "Insiden konflik SARA"
    assert konflik["Satuan"].value == "per 100k"
    assert konflik["Polaritas"].value == "negatif (semakin kecil semakin baik)"
    assert konflik["Capaian (%)"].value == 94.0
    assert konflik["Capaian (%)"].number_format == '0.0" %"'
    kubar = cells[("INDEX", "6402")]
    assert kubar["Capaian (%)"].value == 56.0 / 62.0 * 100  # unrounded in the cell
    assert kubar["Polaritas"].value == "positif (semakin besar semakin baik)"
    assert kubar["Target"].number_format == "0.00"


def test_excel_first_sheet_is_the_export_table_and_excel_opens_on_the_readable_one(world):
    data = download(client_for(Role.RESEARCHER), "estimates", "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(data))

    assert book.sheetnames == ["estimates", "Tabel (untuk dibaca)", "variabel"]
    assert book.active.title == "Tabel (untuk dibaca)"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert '<workbookView activeTab="1"/>' in z.read("xl/workbook.xml").decode()
    # the first sheet is INTERFACE section 3's table: names in order, full values, and the
    # same display formats
    rows = by_header([list(r) for r in book["estimates"].iter_rows()])
    assert list(rows[0]) == [c.name for c in TABLES["estimates"].exported_columns]
    shown = [r for r in rows if r["estimate"].value is not None]
    assert {r["estimate"].number_format for r in shown} == {"0.0"}
    assert {r["se"].value for r in shown} == {1.25}
    assert {r["category"].value for r in shown} <= {"sedang", "tinggi"}  # the codes
    import pandas as pd

    assert list(pd.read_excel(io.BytesIO(data)).columns) == list(rows[0])  # first sheet


def test_csv_and_parquet_keep_codes_and_full_precision(world):
    researcher = client_for(Role.RESEARCHER)
    body = download(researcher, "estimates", "csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))

    assert list(rows[0]) == [c.name for c in TABLES["estimates"].exported_columns]
    assert "region_name" not in rows[0]
    se = {float(r["se"]) for r in rows if r["se"]}
    assert se == {1.25}
    m.EstimateResult.objects.filter(region_code="6401", dimension="S1", wave__year=2021).update(
        estimate=61.23456789012345)
    body = download(researcher, "estimates", "csv").decode("utf-8-sig")
    assert ",61.23456789012345," in body  # shortest round-trip digits, not rounded
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(download(researcher, "estimates", "parquet")))
    assert table.column_names == [c.name for c in TABLES["estimates"].exported_columns]


def test_every_name_column_is_declared_once_in_the_catalogue():
    for code, extra in NAME_COLUMNS.items():
        assert any(code in {c.name for c in t.columns} for t in TABLES.values()), code
        for column in extra:
            assert column.label_id and column.label_en


@pytest.mark.parametrize(("table", "column", "expected"), [
    ("estimates", "estimate", "0.0"), ("estimates", "se", "0.00"), ("estimates", "n", "0"),
    ("estimates", "n_eff", "0"), ("changes", "p", "0.0000"), ("trends", "sen_slope", "0.00"),
    ("reliability", "alpha", "0.000"), ("achievements", "achievement_pct", '0.0" %"'),
    ("retention", "retention_pct", '0.0" %"'), ("estimates", "category", None),
])
def test_display_formats_come_from_the_catalogue(table: str, column: str, expected: str | None):
    col = next(c for c in TABLES[table].columns if c.name == column)
    assert col.number_format == expected


def test_the_index_run_stores_the_catalogue_columns_of_the_estimates():
    from analysis.estimation import ESTIMATE_COLUMNS

    stored = TABLES["estimates"].stored_fields()
    assert [c for c, _ in stored] == list(ESTIMATE_COLUMNS)
    assert dict(stored)["region"] == "region_code"


def test_codebook_names_the_spss_stata_codes_of_the_coded_columns():
    for column in (exports._c("sex", "sex", "Jenis kelamin", "Sex"),
                   exports._c("age_group", "age_group", "Kelompok umur", "Age group")):
        codes = exports._stat_codes(column)
        labels = exports._value_labels(column, "id", {})
        assert set(codes) == set(labels)  # the codebook's codes are the .sav's value codes
        for code, text in codes.items():
            assert labels[code] in text
    # and the codes the .sav stores for L / P are those the codebook names
    sex = exports._c("sex", "sex", "Jenis kelamin", "Sex")
    assert exports._codes(sex, ["L", "P", None]) == [1, 2, None]
    assert exports._stat_codes(sex) == {1: "L Laki-laki", 2: "P Perempuan"}


# --- the writer's number formats ----------------------------------------------------------------

def test_xlsx_writer_number_formats_and_widths():
    import pyarrow as pa

    out = io.BytesIO()
    with XlsxWriter(out) as wb:
        sheet = wb.add_sheet("t", header=["a", "b", "c", "d"],
                             formats=["0.0", "0", '0.0" %"', None], widths=[12, None, 9, 30])
        sheet.write_batch([pa.array([61.23456, None]), pa.array([5, 7]),
                           pa.array([106.349, 99.0]), pa.array(["x", "y"])])
        wb.add_sheet("u", header=["v", "w"], formats=["0.00", "0.00"]).write_rows(
            [[1.23456, "teks"], [True, 2.5]])
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    t = [list(r) for r in book["t"].iter_rows(min_row=2)]
    assert [(c.value, c.number_format) for c in t[0]] == [
        (61.23456, "0.0"), (5, "0"), (106.349, '0.0" %"'), ("x", "General")]
    assert t[1][0].value is None
    assert book["t"].column_dimensions["A"].width == 12
    u = [list(r) for r in book["u"].iter_rows(min_row=2)]
    # text and booleans carry no number format
    assert [(c.value, c.number_format) for c in u[0]] == [(1.23456, "0.00"), ("teks", "General")]
    assert (u[1][0].value, u[1][0].number_format) == (True, "General")
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as z:
        styles = z.read("xl/styles.xml").decode()
    # built-in formats by id, the others declared once
    assert styles.count("<numFmt ") == 2 and 'formatCode="0.0"' in styles
    assert 'formatCode="0.0&quot; %&quot;"' in styles
    assert '<xf numFmtId="1" ' in styles and '<xf numFmtId="2" ' in styles


def test_xlsx_writer_refuses_a_format_list_of_the_wrong_length():
    with XlsxWriter(io.BytesIO()) as wb, pytest.raises(ValueError, match="2 formats for 3"):
        wb.add_sheet("t", header=["a", "b", "c"], formats=["0", "0"])


# --- the API documentation ----------------------------------------------------------------------

def test_swagger_ui_is_served_from_the_installed_package(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)

    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assets = [u for u in urls if u.startswith("/static/")]
    assert any(u.endswith("swagger-ui-bundle.js") for u in assets)
    for url in assets:  # each one is a file of the installed package
        assert finders.find(url.removeprefix("/static/")), url
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content


#: Words of a developer's comment, never of a user's description.
DEVELOPER_WORDS = ("self.", "Admit office", "ExportDownload", "audit row", "job null",
                   "INTERFACE", "queryset", "is None", "docstring", "TODO")


def _operations() -> list[tuple[str, str, dict]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(method.upper(), path, op) for path, item in schema["paths"].items()
            for method, op in item.items() if method in {"get", "post", "put", "patch",
                                                         "delete"}]


def test_every_operation_is_described_for_its_users():
    operations = _operations()
    assert len(operations) > 30
    for method, path, op in operations:
        description = op.get("description", "").strip()
        assert len(description) >= 20, (method, path)
        texts = [description] + [p.get("description", "") for p in op.get("parameters", [])]
        for text in texts:
            found = [w for w in DEVELOPER_WORDS if w in text]
            assert not found, (method, path, found)


def test_export_table_parameter_lists_every_table_with_its_description():
    op = next(op for _, path, op in _operations() if path == "/api/v1/exports/{table}.{fmt}")
    table = next(p for p in op["parameters"] if p["name"] == "table")

    assert table["schema"]["enum"] == sorted(exports.EXPORT_TABLES)
    for name, spec in exports.EXPORT_TABLES.items():
        assert f"- `{name}`: {spec.description}" in table["description"]
    assert {p["name"] for p in op["parameters"]} >= {"region", "instrument"}


def test_dashboard_download_row_offers_estimates_trends_and_achievements(world):
    response = client_for(Role.OFFICE, "6401").get("/dashboard/", {"region": "6401"})
    html = response.content.decode()
    row = html[html.index('id="downloads"'):]
    row = row[:row.index("</div>")]

    for table in ("estimates", "trends", "achievements"):
        for fmt in ("xlsx", "csv"):
            assert (f'href="/api/v1/exports/{table}.{fmt}?region=6401&amp;instrument=IINP"'
                    in row), (table, fmt)
