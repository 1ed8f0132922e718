"""The Bappeda report (issue 13), checked as a reader would: the PDF read back with pdftotext
(region name, every number of the RPJMD indicator table as the database holds it, rounded as
printed), its first page rendered with pdftoppm (not blank), its charts vector (no raster image)
and its fonts real and embedded; the .docx read back with python-docx (the same table) and
opened by LibreOffice (soffice --convert-to pdf). A region with a suppressed year, the
province-wide report (no targets) and a 7-point instrument all give valid reports.

The world is the demo's (bundled Kaltim regions and instrument, three synthetic waves,
compute_indices), built once for the module; its middle wave has a region with n < 30."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from docx import Document

from surveys import models as m
from surveys.reports import build_report, render
from tests import factories as f

YEARS = (2021, 2022, 2023)
REGION = "6472"  # Kota Samarinda
NEEDS = {tool: shutil.which(tool) for tool in ("pdftotext", "pdftoppm", "pdfimages", "pdffonts")}
poppler = pytest.mark.skipif(not all(NEEDS.values()),
                             reason="poppler-utils not installed (apt-get install poppler-utils)")


@pytest.fixture(scope="module")
def demo_world(django_db_setup: None, django_db_blocker) -> Iterator[dict]:
    """The demo data (3 waves, 3,000 responses) with every index computed."""
    from django.core.management import call_command
    from django.test import override_settings

    from surveys.services import demo
    from surveys.services.compute import compute_indices

    with django_db_blocker.unblock(), override_settings(NILAI_AUTO_RECOMPUTE=False):
        demo.load_bundled()
        demo.demo_generate(respondents=3000, seed=7, years=YEARS)
        compute_indices()
        suppressed = (m.EstimateResult.objects.filter(suppressed=True, dimension="INDEX")
                      .exclude(region_code="ALL").values_list("region_code", "wave__year")
                      .first())
        try:
            yield {"suppressed": suppressed}
        finally:
            call_command("flush", interactive=False, verbosity=0)


# --- reading documents back ------------------------------------------------------------------


def pdftotext(data: bytes, tmp_path: Path, *, layout: bool = True) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    args = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True).stdout.decode("utf-8")


def tool(args: list[str]) -> str:
    return subprocess.run(args, check=True, capture_output=True).stdout.decode("utf-8")


def ink_share_of_first_page(data: bytes, tmp_path: Path) -> float:
    """Share of the first page's pixels that are not white (pdftoppm, greyscale PGM)."""
    path = tmp_path / "page.pdf"
    path.write_bytes(data)
    tool(["pdftoppm", "-f", "1", "-l", "1", "-r", "40", "-gray", str(path),
          str(tmp_path / "page")])
    pgm = next(tmp_path.glob("page*.pgm")).read_bytes()
    magic, width, height, maxval, pixels = re.match(
        rb"(P5)\s+(\d+)\s+(\d+)\s+(\d+)\s(.*)", pgm, re.S).groups()
    assert magic == b"P5" and int(maxval) == 255
    assert len(pixels) == int(width) * int(height)
    return sum(1 for p in pixels if p < 200) / len(pixels)


def amount(value: float, lang: str = "id") -> str:
    """As the report prints a target or realisation: 2 decimals, trailing zeros dropped."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if lang == "id" else text


def one_decimal(value: float, lang: str = "id") -> str:
    text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "id" else text


def expected_rpjmd_rows(region: str, year: int, lang: str = "id") -> list[tuple[str, ...]]:
    """(code, target, realisation, capaian) of every achievement row in the database."""
    rows = m.AchievementResult.objects.filter(region_code=region, year=year).exclude(
        indicator__level=m.IndicatorLevel.OUTPUT).select_related("indicator")
    return [(a.indicator.code, amount(a.target, lang), amount(a.realisation, lang),
             one_decimal(a.achievement_pct, lang)) for a in rows]


def docx_table(document, first_header: str) -> list[list[str]]:
    for table in document.tables:
        cells = [[c.text for c in row.cells] for row in table.rows]
        if cells and cells[0][0] == first_header:
            return cells
    raise AssertionError(f"no table headed {first_header!r}")


# --- the PDF -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def samarinda_pdf(demo_world, django_db_blocker) -> bytes:
    with django_db_blocker.unblock():
        report = build_report(region=REGION, year=2023, regions=None)
        return render(report, "pdf")


@poppler
@pytest.mark.django_db
def test_pdf_holds_the_region_and_every_number_of_the_indicator_table(
        samarinda_pdf: bytes, tmp_path: Path) -> None:
    text = pdftotext(samarinda_pdf, tmp_path)
    assert samarinda_pdf.startswith(b"%PDF-")
    assert "Kota Samarinda" in text and "Sumber: Nilai" in text
    rows = expected_rpjmd_rows(REGION, 2023)
    codes = {code for code, *_ in rows}
    assert {"INDEX", "KONFLIK_SARA"} <= codes  # the demo's targets: the index and a proxy
    for code, target, realisation, achievement in rows:
        # one printed line holds the three numbers, in the table's column order
        pattern = rf"{re.escape(target)}\s+{re.escape(realisation)}\s+{re.escape(achievement)}"
        assert re.search(pattern, text), (code, target, realisation, achievement)
        assert f"({code})" in text


@poppler
@pytest.mark.django_db
def test_pdf_first_page_is_not_blank_and_has_contents_and_page_numbers(
        samarinda_pdf: bytes, tmp_path: Path) -> None:
    assert ink_share_of_first_page(samarinda_pdf, tmp_path) > 0.005
    text = pdftotext(samarinda_pdf, tmp_path)
    pages = int(re.search(r"Pages:\s+(\d+)", tool(
        ["pdfinfo", str(tmp_path / "report.pdf")])).group(1))
    assert pages >= 8
    assert f"Halaman 2 dari {pages}" in text
    # the table of contents names each section with its page number (leader dots)
    assert re.search(r"1\. Ringkasan \.+ \d+", text)
    assert re.search(r"2\. Tabel indikator RPJMD \.+ \d+", text)


@poppler
@pytest.mark.django_db
def test_pdf_charts_are_vector_and_fonts_are_embedded(samarinda_pdf: bytes,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "r.pdf"
    path.write_bytes(samarinda_pdf)
    images = tool(["pdfimages", "-list", str(path)]).strip().splitlines()
    assert len(images) == 2, images  # the header lines only: no raster image at all
    fonts = tool(["pdffonts", str(path)]).strip().splitlines()[2:]
    assert fonts
    for line in fonts:
        assert re.search(r"DejaVu|Noto|Liberation", line), line
        assert " yes yes " in line, line  # embedded, subset
    text = pdftotext(samarinda_pdf, tmp_path)
    # the chart's own text (title, legend) is text in the PDF: drawn as vectors with glyphs
    assert "Selang kepercayaan 95 %" in text and "Target" in text


@poppler
@pytest.mark.django_db
def test_summary_never_calls_a_non_significant_change_a_rise(samarinda_pdf, tmp_path) -> None:
    from analysis import trends

    text = " ".join(pdftotext(samarinda_pdf, tmp_path, layout=False).split())
    rows = m.EstimateResult.objects.filter(region_code=REGION, dimension="INDEX",
                                           suppressed=False).order_by("wave__year")
    verdict = trends.office_verdict([r.wave.year for r in rows], [r.estimate for r in rows],
                                    [r.se for r in rows])
    # the dashboard's sentence (surveys.reports.text.verdict_sentence) under the series' name
    sentence = re.search(r"Indeks keseluruhan: Dari [^.]*\.(?: Terlalu sedikit tahun untuk uji "
                         r"tren\.)?", text).group(0)
    if verdict.direction == "none":
        assert "belum berubah secara signifikan" in sentence
        # "rata-rata kenaikan ... per tahun" describes the average change; never "naik"/"turun"
        assert not re.search(r"\b(naik|turun)\b", sentence)
    else:
        assert {"up": "naik", "down": "turun"}[verdict.direction] in sentence
    assert "Terlalu sedikit tahun untuk uji tren." in sentence  # 3 points: MK cannot reject


# --- the Word file -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def samarinda_docx(demo_world, django_db_blocker) -> bytes:
    with django_db_blocker.unblock():
        return render(build_report(region=REGION, year=2023, regions=None), "docx")


@pytest.mark.django_db
def test_docx_read_back_holds_the_same_indicator_table(samarinda_docx: bytes) -> None:
    document = Document(io.BytesIO(samarinda_docx))
    table = docx_table(document, "Indikator")
    assert table[0] == ["Indikator", "Satuan", "Target", "Realisasi", "Capaian (%)", "Tercapai",
                        "Tercapai pada keyakinan 95 %"]
    printed = {re.search(r"\((\w+)\)$", row[0]).group(1): tuple(row[2:5]) for row in table[1:]}
    expected = {code: (t, r, a) for code, t, r, a in expected_rpjmd_rows(REGION, 2023)}
    assert printed == expected
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert "1. Ringkasan" in headings and "6. Metode dan catatan" in headings
    assert any("Kota Samarinda" in p.text for p in document.paragraphs)
    assert len(document.inline_shapes) >= 6  # a chart per sila and the index


@pytest.mark.skipif(not shutil.which("soffice"),
                    reason="LibreOffice not installed (apt-get install libreoffice-writer-nogui)")
@poppler
@pytest.mark.django_db
def test_libreoffice_opens_the_docx(samarinda_docx: bytes, tmp_path: Path) -> None:
    source = tmp_path / "laporan.docx"
    source.write_bytes(samarinda_docx)
    result = subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path / "out"), str(source)],
        capture_output=True, timeout=240)
    converted = tmp_path / "out" / "laporan.pdf"
    assert result.returncode == 0 and converted.is_file(), result.stderr.decode()
    text = pdftotext(converted.read_bytes(), tmp_path)
    assert "Kota Samarinda" in text and "Tabel indikator RPJMD" in text
    for _code, target, realisation, achievement in expected_rpjmd_rows(REGION, 2023):
        assert target in text and realisation in text and achievement in text


# --- the hard cases ----------------------------------------------------------------------------


@poppler
@pytest.mark.django_db
def test_region_with_a_suppressed_year_gives_a_valid_report(demo_world, tmp_path) -> None:
    region, year = demo_world["suppressed"]
    stored = m.EstimateResult.objects.get(region_code=region, dimension="INDEX",
                                          wave__year=year)
    # numbers no published cell carries: a leak of the stored values would show
    m.EstimateResult.objects.filter(pk=stored.pk).update(estimate=11.11, se=0.567,
                                                          ci_low=10.01, ci_high=12.21)
    data = render(build_report(region=region, year=year, regions=None), "pdf")
    text = " ".join(pdftotext(data, tmp_path, layout=False).split())
    name = m.Region.objects.get(code=region).name
    assert name in text
    assert f"tidak ditampilkan: hanya {stored.n} responden" in text
    assert "tidak ditampilkan (responden < 30)" in text
    # the INDEX target is listed, its realisation shown as not published, never the number
    target = m.Target.objects.get(indicator__code="INDEX", region__code=region, year=year)
    assert amount(target.target) in text
    assert "11,1 dari 100" not in text and "10,0–12,2" not in text and "0,567" not in text
    model = m.SmallAreaResult.objects.filter(region_code=region, wave__year=year, status="ok",
                                             dimension="INDEX").first()
    if model is not None:  # the model fills the hidden cell, labelled as a model's number
        assert (f"Estimasi model / model-based (Fay-Herriot, bukan hasil survei): "
                f"{one_decimal(model.model_estimate)}") in text


@poppler
@pytest.mark.django_db
def test_province_report_without_targets_is_valid(demo_world, tmp_path) -> None:
    assert not m.Target.objects.filter(region__level=m.RegionLevel.PROVINCE).exists()
    data = render(build_report(region="ALL", year=2023, regions=None), "pdf")
    text = " ".join(pdftotext(data, tmp_path, layout=False).split())
    assert "Kalimantan Timur" in text
    assert "Tidak ada indikator bertarget untuk Kalimantan Timur tahun 2023" in text
    whole = m.EstimateResult.objects.get(region_code="ALL", dimension="INDEX", wave__year=2023)
    assert f"adalah {one_decimal(whole.estimate)} dari 100" in text
    assert ink_share_of_first_page(data, tmp_path) > 0.005


@poppler
@pytest.mark.django_db
def test_english_report(demo_world, tmp_path) -> None:
    report = build_report(region=REGION, year=2023, regions=None, lang="en")
    text = " ".join(pdftotext(render(report, "pdf"), tmp_path, layout=False).split())
    assert "Summary" in text and "RPJMD indicator table" in text and "Source: Nilai" in text
    assert "Achievement (%)" in text and "Ringkasan" not in text
    for _code, target, realisation, achievement in expected_rpjmd_rows(REGION, 2023, "en"):
        assert target in text and realisation in text and achievement in text


@pytest.mark.django_db
def test_report_refuses_a_region_outside_the_callers_scope(demo_world) -> None:
    from surveys.reports import ReportError

    with pytest.raises(ReportError, match="di luar cakupan akun ini / region 6401 is outside"):
        build_report(region="6401", year=2023, regions={"ALL", REGION})
    with pytest.raises(ReportError, match="tahun tersedia: 2021, 2022, 2023"):
        build_report(region=REGION, year=2030, regions=None)


# --- a 7-point instrument (its own small world) -----------------------------------------------


@poppler
@pytest.mark.django_db
def test_seven_point_instrument_report(tmp_path) -> None:
    province = f.RegionFactory(code="71", name="Sulawesi Utara", level=m.RegionLevel.PROVINCE)
    f.RegionFactory(code="7171", name="Kota Manado", parent=province,
                    level=m.RegionLevel.REGENCY)
    version = f.InstrumentVersionFactory(instrument=f.InstrumentFactory(code="SEVEN"),
                                         scale_min=1, scale_max=7, title_id="Survei tujuh poin")
    f.DimensionFactory(version=version, code="S1", name_id="Ketuhanan", name_en="Belief in God")
    run = f.IndexRunFactory()
    numbers = {  # (region, dimension, year): (estimate, se)
        ("7171", "INDEX", 2022): (60.0, 2.0), ("7171", "INDEX", 2023): (61.0, 2.0),
        ("7171", "S1", 2022): (50.0, 1.0), ("7171", "S1", 2023): (60.0, 1.0),
        ("ALL", "INDEX", 2022): (58.0, 1.0), ("ALL", "INDEX", 2023): (59.0, 1.0),
    }
    waves = {y: m.Wave.objects.create(instrument=version.instrument, version=version, year=y,
                                      status=m.WaveStatus.CLOSED) for y in (2022, 2023)}
    for (region, dimension, year), (value, se) in numbers.items():
        f.EstimateResultFactory(run=run, wave=waves[year], region_code=region,
                                dimension=dimension, n=200, n_eff=150.0, estimate=value, se=se,
                                ci_low=value - 1.96 * se, ci_high=value + 1.96 * se, df=40,
                                suppressed=False, category="tinggi" if value >= 60 else "sedang")
    from analysis.trends import year_change

    for region, dimension in {(r, d) for r, d, _ in numbers}:
        (a, sa), (b, sb) = numbers[(region, dimension, 2022)], numbers[(region, dimension, 2023)]
        c = year_change(2022, 2023, a, sa, b, sb)
        m.ChangeResult.objects.create(run=run, instrument=version.instrument, region_code=region,
                                      dimension=dimension, from_wave=2022, to_wave=2023,
                                      delta=c.delta, se=c.se, z=c.z, p=c.p,
                                      significant=c.significant, mdc=c.mdc)
    index = m.Indicator.objects.index()
    m.Target.objects.create(indicator=index, region=m.Region.objects.get(code="7171"),
                            year=2023, target=62.5)
    m.AchievementResult.objects.create(run=run, indicator=index, region_code="7171", year=2023,
                                       target=62.5, realisation=61.0, achievement_pct=97.6,
                                       met=False, met_with_confidence=False)
    report = build_report(region="7171", year=2023, regions=None)
    data = render(report, "pdf")
    text = " ".join(pdftotext(data, tmp_path, layout=False).split())
    assert "Kota Manado" in text and "skala jawaban 1–7" in text
    assert "62,5 61 97,6 tidak tidak" in text
    # +1.0 with SE 2.83: not significant, and said so; S1 +10 with SE 1.41: a rise
    assert ("Indeks keseluruhan: Dari 2022 ke 2023 indeks belum berubah secara signifikan (+1,0 "
            "poin, p = " in text)
    assert ("S1 Ketuhanan: Dari 2022 ke 2023 indeks naik 10,0 poin secara signifikan (p < 0,001; "
            "MDC " in text)
    assert "Terlalu sedikit tahun untuk uji tren." in text
    assert "Belum berubah secara signifikan dibanding 2022: Indeks keseluruhan" in text
    assert "Dari 1 indikator bertarget tahun 2023, 0 tercapai; 1 belum tercapai" in text
    document = Document(io.BytesIO(render(report, "docx")))
    assert docx_table(document, "Indikator")[1][2:7] == ["62,5", "61", "97,6", "tidak", "tidak"]
