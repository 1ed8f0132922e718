"""The dashboard speaks SAKIP (issue 17), shows model-based cells apart (issue 11), lets an office
learn from other regions (issue 10) and says when a wave was skipped (issue 16 item 10)."""

from __future__ import annotations

import csv
import io
import itertools
import re

import pytest
from django.test import Client
from django.utils import timezone

from surveys import models as m
from surveys.models import Role
from tests.results_world import build_world, make_user

pytestmark = pytest.mark.django_db

PASSWORD = "kata-sandi-uji-123"
_users = itertools.count()


@pytest.fixture
def world():
    built = build_world()
    # this year's achievement of Paser's index (2023): met, not certain at 95 %
    m.AchievementResult.objects.create(
        run=built.run, indicator=built.index_indicator, region_code="6401", year=2023,
        target=64.0, realisation=65.0, achievement_pct=101.5625, met=True,
        met_with_confidence=False)
    m.Region.objects.filter(code="6401").update(code_kemendagri="64.01")
    m.Region.objects.filter(code="6402").update(code_kemendagri="64.07")
    return built


def page(role: str, *regions: str, lang: str = "id", **query: str) -> str:
    user = make_user(f"{role}-{next(_users)}", role, *regions, password=PASSWORD)
    client = Client()
    client.force_login(user)
    response = client.get("/dashboard/", query, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, section_id: str, end: str = "</section>") -> str:
    start = html.index(">", html.index(f'id="{section_id}"')) + 1
    return html[start:html.index(end, start)]


def text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def test_first_card_has_target_realisation_capaian_and_a_pasteable_verdict(world):
    summary = section(page(Role.OFFICE, "6401", region="6401"), "summary")

    assert "Target 2023" in text(section(summary, "kpi-target", "</div>"))
    assert "64,0" in section(summary, "kpi-target", "</div>")
    assert "65,0" in section(summary, "kpi-realisation", "</div>")
    achievement = text(section(summary, "kpi-achievement", "</div>"))
    assert "101,6" in achievement
    assert "tercapai" in achievement
    assert "belum pasti pada keyakinan 95 %" in achievement
    verdict = text(section(summary, "verdict-text", "</span>"))
    assert verdict == (
        "Paser 2023: nilai indeks 65,0 (tinggi; selang kepercayaan 95 % 62,5–67,5). "
        "Target 2023: 64,0; capaian 101,6 %, tercapai (belum pasti pada keyakinan 95 %). "
        "Dari 2021 ke 2023 indeks belum berubah secara signifikan (+3,0 poin, p = 0,090); "
        "rata-rata kenaikan 1,50 poin per tahun. Terlalu sedikit tahun untuk uji tren.")
    assert "IK 95%" not in summary and "SK 95%" not in summary


def test_names_first_with_both_codes(world):
    html = page(Role.RESEARCHER, region="6402")

    assert ('<option value="6402" selected>Kutai Barat (BPS 6402 · Kemendagri 64.07)</option>'
            in html)
    assert "BPS 6402 · Kemendagri 64.07" in section(html, "summary")


def test_suppressed_year_shows_the_labelled_model_estimate_never_the_direct_one(world):
    html = page(Role.RESEARCHER, region="6402")

    index = html[html.index('id="dimension-INDEX"'):html.index('id="dimension-S1"')]
    row = index[index.index('<tr data-year="2022"'):]
    row = row[:row.index("</tr>")]
    assert "tidak ditampilkan (responden &lt; 30)" in row
    assert 'data-model="true"' in row
    assert "57,3" in row and "estimasi model / model-based" in row
    assert "55,1" not in html  # the stored direct value stays hidden
    # the verdict uses the survey points only: 2021 -> 2023, two points, no model year
    assert "Dari 2021 ke 2023" in section(html, "verdict-text", "</span>")
    assert 'id="model-note"' in html


def test_a_region_year_with_a_published_estimate_has_no_model_cell(world):
    html = page(Role.OFFICE, "6401", region="6401")

    assert 'data-model="true"' not in html
    assert 'id="model-note"' not in html


def test_capaian_table_keeps_a_suppressed_year_with_its_reason(world):
    achievements = section(page(Role.RESEARCHER, region="6402"), "achievements")

    row = achievements[achievements.index('data-year="2022"'):]
    row = row[:row.index("</tr>")]
    assert 'class="suppressed"' in row
    assert "tidak ditampilkan (responden &lt; 30)" in row
    assert 'data-label="Target">63</td>' in row
    assert "Laporkan kolom" in achievements  # which "tercapai" to report


def test_province_readers_get_a_ranking_dot_plot_with_intervals(world):
    html = page(Role.RESEARCHER, region="ALL")

    ranking = section(html, "ranking")
    assert re.findall(r'data-region="(\d+)"', ranking) == ["6401", "6402"]  # ranked
    assert "Paser: 65,0 (62,5–67,5)" in ranking
    assert '<line x1="405.0" x2="548.3"' in ranking  # interval, not localised coordinates
    assert "Peta tidak ditampilkan" in ranking
    assert 'id="ranking"' not in page(Role.RESEARCHER, region="6401")


def test_office_ranking_keeps_to_its_scope(world):
    ranking = section(page(Role.OFFICE, "6401", region="ALL"), "ranking")

    assert re.findall(r'data-region="(\d+)"', ranking) == ["6401"]
    assert "Kutai Barat" not in ranking


def test_learn_from_other_regions_panel_with_caveats_forest_and_pooled_effect(world):
    m.Programme.objects.filter(code="P-6402").update(budget=150000000, participants=120)

    html = page(Role.OFFICE, "6401", region="6401", sila="INDEX")
    learn = section(html, "learn")

    assert "Belajar dari daerah lain" in learn
    assert '<section class="card" id="learn" data-shared="programmes">' in html
    assert re.findall(r'<tr data-programme="([\w-]+)"', learn) == ["P-6401", "P-6402"]
    other = learn[learn.index('data-programme="P-6402"'):]
    assert "Kutai Barat" in other and "Rp 150.000.000" in other and ">120<" in other
    assert "+2,00 (-1,10 s.d. 5,10; p = 0,210)" in learn
    assert "tidak ditempatkan secara acak" in learn
    assert "bukti, bukan kepastian" in learn
    assert "efek minimum terdeteksi tidak dapat terlihat" in learn
    assert 'id="forest"' in learn
    assert '<li data-type="dialog">' in learn
    assert 'class="own"' in learn[learn.index('data-programme="P-6401"') - 30:]


def test_sila_of_concern_defaults_to_the_lowest_sila_and_says_when_nothing_ran(world):
    learn = section(page(Role.OFFICE, "6401", region="6401"), "learn")

    assert '<option value="S1" selected>' in learn
    assert "Belum ada program untuk sila ini." in learn
    assert "tidak ditempatkan secara acak" in learn


def test_a_skipped_wave_is_announced(world):
    m.IndexRun.objects.create(
        status=m.RunStatus.SUCCEEDED, finished_at=timezone.now(),
        parameters={"waves": ["IINP 2023"]},
        messages=[{"level": "error", "skipped": True, "instrument": "IINP", "wave": 2023,
                   "message": "IINP 2023: tidak dapat diboboti / cannot be weighted"}])

    notices = section(page(Role.OFFICE, "6401", region="6401"), "notices")

    assert "Gelombang IINP 2023 dilewati pada perhitungan terakhir" in notices
    assert "cannot be weighted" in notices


def test_no_notice_without_a_skipped_wave(world):
    assert 'id="notices"' not in page(Role.OFFICE, "6401", region="6401")


def test_demo_data_carries_a_banner(world, settings):
    assert 'id="demo-banner"' not in page(Role.RESEARCHER, region="6401")
    m.Programme.objects.filter(code="P-6401").update(code="DM-DIA-6401-22INDEX")
    html = page(Role.RESEARCHER, region="6401")
    assert "Data demo sintetis" in section(html, "demo-banner", "</p>")


def test_demo_banner_from_the_setting(world, settings):
    settings.NILAI_DEMO_DATA = True
    assert 'id="demo-banner"' in page(Role.RESEARCHER, region="6401")


def test_download_buttons_point_at_the_export_endpoint_for_the_region(world):
    downloads = section(page(Role.OFFICE, "6401", region="6401"), "downloads", "</div>")

    assert ('href="/api/v1/exports/estimates.xlsx?region=6401&amp;instrument=IINP"'
            in downloads)
    assert 'href="/api/v1/exports/achievements.csv?region=6401&amp;instrument=IINP"' in downloads


def test_export_download_is_named_and_cut_to_the_region(world):
    user = make_user("office-dl", Role.OFFICE, "6401", password=PASSWORD)
    client = Client()
    client.force_login(user)

    response = client.get("/api/v1/exports/estimates.csv",
                          {"region": "6401", "instrument": "IINP"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    outside = client.get("/api/v1/exports/estimates.csv", {"region": "6402"})

    assert response.status_code == 200
    day = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="nilai-estimates-IINP-6401-{day}.csv"')
    regions = {row["region"] for row in csv.DictReader(io.StringIO(body))}
    assert regions == {"6401"}
    # outside the scope the file is empty, as a list is
    assert b"".join(outside.streaming_content).decode("utf-8-sig").count("\n") <= 1
    bad = client.get("/api/v1/exports/estimates.csv", {"region": "64/../x y"})
    assert bad.status_code == 404


def test_english_page_is_english_throughout(world):
    html = page(Role.RESEARCHER, lang="en", region="6402")

    assert '<html lang="en">' in html
    body = text(html[html.index("<main>"):])
    for word in ("selang kepercayaan", "tidak ditampilkan", "Nilai indeks", "Tahun",
                 "Perubahan", "sedang", "Belajar", "ya", "tidak", "Kesimpulan", "Capaian"):
        assert not re.search(rf"\b{word}\b", body), word
    assert "not shown (fewer than 30 respondents)" in body
    assert "model-based estimate" in body
    assert "Learn from other regions" in body
    assert "moderate" in body


def test_lang_parameter_switches_and_is_remembered(world):
    user = make_user("switcher", Role.RESEARCHER, password=PASSWORD)
    client = Client()
    client.force_login(user)

    first = client.get("/dashboard/", {"region": "6401", "lang": "en"})
    again = client.get("/dashboard/", {"region": "6401"})

    assert '<html lang="en">' in first.content.decode()
    assert first.cookies["django_language"].value == "en"
    assert '<html lang="en">' in again.content.decode()
    assert 'id="lang-switch" href="?region=6401&amp;lang=id"' in again.content.decode()
    assert client.get("/dashboard/", {"lang": "fr"}).status_code == 400


def test_english_login_page_declares_english():
    response = Client().get("/dashboard/login/", HTTP_ACCEPT_LANGUAGE="en")

    assert '<html lang="en">' in response.content.decode()
    assert "Log in" in response.content.decode()


def test_glossary_explains_each_term_in_the_page_language(world):
    glossary = section(page(Role.OFFICE, "6401", region="6401"), "glossary")

    for term in ("g-ci", "g-sig", "g-p", "g-n", "g-rho", "g-bands", "g-polarity", "g-model"):
        assert f'id="{term}"' in glossary
    assert "semakin kecil semakin baik" in glossary
    assert "60-&lt;80 tinggi" in glossary


def test_dashboard_numbers_use_the_report_notation() -> None:
    # one notation for the dashboard and the report: a significant p never reads "0,050",
    # and a rounded zero has no sign
    from surveys.web.panels import num, p_text, signed
    assert p_text(0.0496, "id") == "p = 0,0496" and p_text(0.0004, "en") == "p < 0.001"
    assert num(-0.04, 1, "id") == "0,0" and num(1234.5, 1, "id") == "1.234,5"
    assert signed(1.5, 1, "en") == "+1.5" and signed(-1.5, 1, "en") == "-1.5"
