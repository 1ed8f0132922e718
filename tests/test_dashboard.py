"""The /dashboard/ pages through Django's test client: login, region scope, content, language."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from surveys.models import Role
from tests.results_world import build_world, make_user

pytestmark = pytest.mark.django_db

PASSWORD = "kata-sandi-uji-123"


@pytest.fixture
def world():
    return build_world()


def logged_in(role: str, *regions: str) -> Client:
    user = make_user(f"{role}-{'-'.join(regions) or 'x'}", role, *regions, password=PASSWORD)
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def options(html: str) -> list[str]:
    select = html[html.index('id="region-select"'):html.index("</select>")]
    return re.findall(r'<option value="([^"]+)"', select)


def section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    end = html.index("</section>", start)
    return html[start:end]


def test_anonymous_is_sent_to_the_login_page(world):
    response = Client().get("/dashboard/")

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/login/?next=/dashboard/"


def test_login_form_logs_an_office_in_and_lands_on_the_dashboard(world):
    make_user("kesbang-paser", Role.OFFICE, "6401", password=PASSWORD)
    client = Client()

    page = client.get("/dashboard/login/")
    response = client.post(
        "/dashboard/login/", {"username": "kesbang-paser", "password": PASSWORD, "next": ""}
    )

    assert page.status_code == 200
    assert 'name="password"' in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


def test_wrong_password_stays_on_the_login_page(world):
    make_user("kesbang-paser", Role.OFFICE, "6401", password=PASSWORD)

    response = Client().post("/dashboard/login/", {"username": "kesbang-paser", "password": "x"})

    assert response.status_code == 200
    assert "Nama pengguna atau kata sandi salah." in response.content.decode()


def test_office_picker_offers_only_its_regions_and_starts_on_its_own(world):
    client = logged_in(Role.OFFICE, "6401")

    html = client.get("/dashboard/").content.decode()

    assert options(html) == ["ALL", "6401"]
    assert '<option value="6401" selected>' in html
    assert "Kutai Barat" not in html
    assert "6402" not in html


def test_office_cannot_open_another_regency(world):
    client = logged_in(Role.OFFICE, "6401")

    response = client.get("/dashboard/", {"region": "6402"})

    assert response.status_code == 404


def test_researcher_picker_offers_every_region(world):
    html = logged_in(Role.RESEARCHER).get("/dashboard/").content.decode()

    assert options(html) == ["ALL", "6401", "6402"]
    assert '<option value="ALL" selected>' in html


def test_respondent_is_refused(world):
    response = logged_in(Role.RESPONDENT).get("/dashboard/")

    assert response.status_code == 403


def test_trend_table_shows_estimates_ci_category_and_changes_in_indonesian(world):
    html = logged_in(Role.OFFICE, "6401").get("/dashboard/", {"region": "6401"}).content.decode()

    index = html[html.index('id="dimension-INDEX"'):html.index('id="dimension-S1"')]
    rows = re.findall(r'<tr data-year="(\d+)"', index)
    assert rows == ["2021", "2022", "2023"]
    assert "<h3>Indeks keseluruhan</h3>" in index
    assert '<td class="num" data-label="Nilai indeks">63,5</td>' in index  # decimal comma
    assert '<td data-label="Selang kepercayaan 95 %">61,0–66,0</td>' in index
    assert '<td data-label="Kategori">tinggi</td>' in index
    assert 'data-significant="true">+1,50 (signifikan, p = 0,003)</span>' in index
    assert 'data-significant="false">+1,50 (tidak signifikan, p = 0,410)</span>' in index
    # METHODS 6: first-to-latest change, never "tidak ada tren"
    assert "tidak ada tren" not in html
    assert ("Dari 2021 ke 2023 indeks belum berubah secara signifikan (+3,0 poin, p = 0,090); "
            "rata-rata kenaikan 1,50 poin per tahun. Terlalu sedikit tahun untuk uji tren."
            ) in index
    assert (
        'src="/api/v1/charts/trend.svg?region=6401&amp;dimension=INDEX&amp;instrument=IINP"'
        in index
    )
    assert "<h3>S1 Ketuhanan</h3>" in html
    summary = section(html, "summary")
    assert '<span class="big">65,0</span>' in summary
    assert '<span class="badge">tinggi</span>' in summary


def test_suppressed_year_is_blank_on_the_dashboard(world):
    html = logged_in(Role.RESEARCHER).get("/dashboard/", {"region": "6402"}).content.decode()

    index = html[html.index('id="dimension-INDEX"'):html.index('id="dimension-S1"')]
    assert '<tr data-year="2022" class="suppressed">' in index
    assert "tidak ditampilkan (responden &lt; 30)" in index
    # the change into 2023 skips the hidden year, and says so
    assert '(tidak signifikan, p = 0,410)</span> <small class="note">2021→2023</small>' in index
    assert "55,1" not in html
    assert "55.1" not in html


def test_outputs_are_listed_apart_from_outcome_proxies(world):
    html = logged_in(Role.OFFICE, "6401").get("/dashboard/", {"region": "6401"}).content.decode()

    outcomes = section(html, "outcomes")
    outputs = section(html, "outputs")
    assert 'data-indicator="KONFLIK_SARA"' in outcomes
    assert "Insiden konflik SARA" in outcomes
    assert "5,3" in outcomes
    assert "ya (rho = -0,52)" in outcomes
    assert 'data-indicator="SOSIALISASI"' not in outcomes
    assert 'data-indicator="SOSIALISASI"' in outputs
    assert "tidak digabungkan ke dalam indeks" in outputs
    assert 'data-indicator="KONFLIK_SARA"' not in outputs


def test_achievements_against_targets_for_the_region(world):
    html = logged_in(Role.OFFICE, "6401").get("/dashboard/", {"region": "6401"}).content.decode()

    achievements = section(html, "achievements")
    assert re.findall(r'<tr data-indicator="(\w+)"', achievements) == ["INDEX", "KONFLIK_SARA"]
    assert '<td class="num" data-label="Capaian (%)">100,0</td>' in achievements
    assert '<td class="num" data-label="Capaian (%)">94,0</td>' in achievements
    assert "6402" not in achievements
    assert "Kutai Barat" not in achievements
    # negative polarity explained where it is reported
    konflik = achievements[achievements.index('data-indicator="KONFLIK_SARA"'):]
    assert "(semakin kecil semakin baik)" in konflik


def test_province_view_of_an_office_lists_only_its_regions_rows(world):
    html = logged_in(Role.OFFICE, "6401").get("/dashboard/", {"region": "ALL"}).content.decode()

    assert "6402" not in section(html, "achievements")
    assert "6402" not in section(html, "outcomes")
    assert "Kutai Barat" not in section(html, "outcomes")
    # the whole design is named after the province
    assert '<option value="ALL" selected>Kalimantan Timur</option>' in html
    assert "Seluruh wilayah survei" not in html


def test_dashboard_in_english(world):
    html = logged_in(Role.RESEARCHER).get(
        "/dashboard/", {"region": "6401"}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert '<html lang="en">' in html
    assert "<th>Year</th>" in html
    assert '<td class="num" data-label="Index value">63.5</td>' in html
    assert '<td data-label="Category">high</td>' in html
    assert "Output indicators" in html
    assert "(significant, p = 0.003)</span>" in html


def test_dashboard_query_count_does_not_grow_with_the_rows(world):
    """A fixed number of queries per page, whatever the number of rows (no query per row);
    counted twice, before and after adding programmes, achievements and indicator values."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from surveys import models as m

    client = logged_in(Role.OFFICE, "6401")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/dashboard/", {"sila": "INDEX"}).status_code == 200
        return len(queries)

    before = count()
    paser = m.Region.objects.get(code="6401")
    for year in (2019, 2020):
        m.Programme.objects.create(code=f"P-X{year}", region=paser, type="festival",
                                   start_year=year, end_year=year, name_id=f"Festival {year}")
        m.AchievementResult.objects.create(
            run=world.run, indicator=world.konflik, region_code="6401", year=year, target=5.0,
            realisation=4.0, achievement_pct=125.0, met=True, met_with_confidence=None)
        m.IndicatorValue.objects.create(indicator=world.konflik, region=paser, year=year,
                                        value=4.0)

    assert count() == before


def test_dashboard_before_any_results_says_there_is_no_data():
    html = logged_in(Role.RESEARCHER).get("/dashboard/").content.decode()

    assert options(html) == []
    assert "Belum ada data." in section(html, "achievements")
    assert 'id="summary"' not in html


@pytest.mark.parametrize("query", ["instrument=%00", "region=%00", "region=64%0001",
                                   "instrument=" + "X" * 41])
def test_a_nul_byte_or_overlong_code_in_the_query_is_a_400_not_a_500(world, query):
    response = logged_in(Role.RESEARCHER).get(f"/dashboard/?{query}")

    assert response.status_code == 400
    assert "Parameter tidak sah: " in response.content.decode()
