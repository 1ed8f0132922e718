"""Trend charts: valid PNG/SVG, expected series, gaps for suppressed years, scope, language."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from rest_framework.test import APIClient

from surveys.models import Role
from surveys.services.charts import TrendChart, TrendPoint, draw_trend
from tests.results_world import build_world, make_user, token_for

pytestmark = pytest.mark.django_db

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def world():
    return build_world()


def client_for(role: str, *regions: str) -> APIClient:
    client = APIClient()
    user = make_user(f"{role}-{'-'.join(regions) or 'x'}", role, *regions)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def svg_texts(content: bytes) -> list[str]:
    root = ET.fromstring(content)
    return ["".join(node.itertext()).strip() for node in root.iter(f"{SVG}text")]


def svg_ids(content: bytes) -> set[str]:
    return {node.get("id") for node in ET.fromstring(content).iter() if node.get("id")}


def test_png_chart_is_a_png(world):
    response = client_for(Role.RESEARCHER).get(
        "/api/v1/charts/trend.png", {"region": "6401", "dimension": "INDEX"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert content[:8] == PNG_MAGIC


def test_svg_chart_has_series_target_and_significance_in_indonesian(world):
    response = client_for(Role.RESEARCHER).get(
        "/api/v1/charts/trend.svg", {"region": "6401", "dimension": "INDEX"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    texts = svg_texts(response.content)
    for label in ("Nilai indeks", "Selang kepercayaan 95 %", "Target",
                  "Perubahan signifikan (p < 0,05)", "Tahun", "Nilai (0–100)",
                  "Indeks keseluruhan — Paser", "2021", "2022", "2023"):
        assert label in texts
    assert {"estimate-" + str(world.waves[2021].version_id), "target", "significant"} <= svg_ids(
        response.content
    )
    assert "suppressed" not in svg_ids(response.content)


def test_svg_chart_in_english(world):
    response = client_for(Role.RESEARCHER).get(
        "/api/v1/charts/trend.svg", {"region": "ALL", "dimension": "S1"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    texts = svg_texts(response.content)
    assert "Index value" in texts
    assert "95 % confidence interval" in texts
    assert "S1 Belief in God — Kalimantan Timur" in texts  # the province's name
    assert "Target" not in texts  # targets are drawn for INDEX only
    assert response["Content-Language"] == "en"


def test_suppressed_year_is_a_gap_and_marked(world):
    response = client_for(Role.RESEARCHER).get(
        "/api/v1/charts/trend.svg", {"region": "6402", "dimension": "INDEX"}
    )

    texts = svg_texts(response.content)
    assert "Tidak ditampilkan (responden < 30)" in texts
    assert "suppressed" in svg_ids(response.content)
    assert "55,123" not in response.content.decode()
    assert "55.123" not in response.content.decode()


def test_office_gets_404_for_another_regency_and_its_own_chart(world):
    office = client_for(Role.OFFICE, "6401")

    other = office.get("/api/v1/charts/trend.png", {"region": "6402"})
    own = office.get("/api/v1/charts/trend.svg", {"region": "6401"})
    province = office.get("/api/v1/charts/trend.svg")

    assert other.status_code == 404
    assert other["Content-Type"] == "application/json"
    assert own.status_code == 200
    assert "Indeks keseluruhan — Paser" in svg_texts(own.content)
    assert province.status_code == 200
    assert "Indeks keseluruhan — Kalimantan Timur" in svg_texts(province.content)


def test_unknown_format_or_series_is_404(world):
    researcher = client_for(Role.RESEARCHER)

    assert researcher.get("/api/v1/charts/trend.gif").status_code == 404
    assert researcher.get("/api/v1/charts/trend.png", {"dimension": "S9"}).status_code == 404


def test_chart_answers_json_errors_even_to_an_image_accept_header(world):
    response = APIClient().get("/api/v1/charts/trend.png", HTTP_ACCEPT="image/png")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


def test_draw_trend_breaks_the_line_at_a_suppressed_year():
    chart = TrendChart(
        title="Uji",
        points=[
            TrendPoint(2021, 60.0, 58.0, 62.0), TrendPoint(2022, None, None, None),
            TrendPoint(2023, 63.0, 61.0, 65.0),
        ],
    )

    content = draw_trend(chart, fmt="svg")

    root = ET.fromstring(content)
    (line,) = [g for g in root.iter(f"{SVG}g") if g.get("id") == "estimate-0"]
    path = line.find(f"{SVG}path")
    # two separate moves (M) and no line segment (L) between them: the NaN year is a gap
    assert path.get("d").count("M") == 2
    assert "L" not in path.get("d")
    # the isolated years still show their CI as a whisker
    assert "ci95-bars-0" in svg_ids(content)


@pytest.mark.parametrize(
    "name", [r"Kota $\frac{a}{b}$", "Kota $x", "Kota $$", r"Kota $\foo$", "Kota $x$ $y"]
)
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_region_names_with_dollar_signs_are_plain_text_not_mathtext(world, name, fmt):
    """Issue 16 item 7: mathtext parsed "$...$" in a region name (500 on unbalanced "$")."""
    from surveys.models import Region

    Region.objects.filter(code="6401").update(name=name)

    response = client_for(Role.RESEARCHER).get(
        f"/api/v1/charts/trend.{fmt}", {"region": "6401", "dimension": "INDEX"}
    )

    assert response.status_code == 200
    if fmt == "svg":
        assert f"Indeks keseluruhan — {name}" in svg_texts(response.content)


def test_draw_trend_keeps_dollar_signs_in_title():
    chart = TrendChart(title="$x", points=[TrendPoint(2021, 50.0, 48.0, 52.0)])

    assert "$x" in svg_texts(draw_trend(chart, fmt="svg"))


def test_a_suppressed_year_shows_the_model_estimate_apart_and_labelled(world):
    response = client_for(Role.RESEARCHER).get(
        "/api/v1/charts/trend.svg", {"region": "6402", "dimension": "INDEX"}
    )

    texts = svg_texts(response.content)
    ids = svg_ids(response.content)
    assert "Estimasi model / model-based" in texts
    assert "model-based" in ids
    # the survey line does not pass through the model point: 2022 is still a gap in it
    assert "suppressed" in ids


def test_a_surveyed_region_year_draws_no_model_point(world):
    response = client_for(Role.RESEARCHER).get(
        "/api/v1/charts/trend.svg", {"region": "6401", "dimension": "INDEX"}
    )

    assert "model-based" not in svg_ids(response.content)
    assert "Estimasi model / model-based" not in svg_texts(response.content)


def test_the_offices_programmes_are_shaded_periods_on_its_chart(world):
    response = client_for(Role.OFFICE, "6401").get(
        "/api/v1/charts/trend.svg", {"region": "6401", "dimension": "INDEX"}
    )

    assert "programme-0" in svg_ids(response.content)
    assert "Program kantor" in svg_texts(response.content)
    # S1 had no programme
    s1 = client_for(Role.RESEARCHER).get(
        "/api/v1/charts/trend.svg", {"region": "6401", "dimension": "S1"})
    assert "programme-0" not in svg_ids(s1.content)


def test_the_phone_chart_is_drawn_narrow_so_its_text_stays_legible(world):
    client = client_for(Role.RESEARCHER)
    wide = client.get("/api/v1/charts/trend.svg", {"region": "6401"})
    phone = client.get("/api/v1/charts/trend.svg", {"region": "6401", "size": "phone"})

    def width(content: bytes) -> float:
        return float(ET.fromstring(content).get("width").removesuffix("pt"))

    assert phone.status_code == 200
    # drawn at 288 pt (4 in) instead of 504 pt: a 360 px screen shrinks it far less
    assert width(phone.content) < 0.6 * width(wide.content)
    assert client.get("/api/v1/charts/trend.svg", {"size": "huge"}).status_code == 400
