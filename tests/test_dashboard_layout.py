"""Dashboard layout in headless Chromium (issue 9, "The office's first login"): at 1280 px no
table is clipped (a wide table scrolls inside its card and shows a visible cue), and on a phone
every chart is on screen. Skipped where Chromium/chromedriver/selenium are missing."""

from __future__ import annotations

import pytest

from surveys import models as m
from surveys.models import Role
from tests.browser import BROWSER_MARKS, chrome, quit_and_settle
from tests.results_world import build_world, make_user

pytestmark = BROWSER_MARKS

PASSWORD = "kata-sandi-uji-123"

#: per table: its wrapper (the nearest .scroll), whether it overflows it, whether the wrapper
#: scrolls, whether the cue shows, and whether the table's right edge is cut by any ancestor
TABLES_JS = """
return Array.from(document.querySelectorAll('main table')).map(function (table) {
  var wrap = table.closest('.scroll');
  var box = table.getBoundingClientRect();
  var clipped = false;
  for (var el = table.parentElement; el && el !== document.body; el = el.parentElement) {
    var style = getComputedStyle(el);
    if (el !== wrap && style.overflowX !== 'visible' &&
        el.getBoundingClientRect().right < box.right - 1) { clipped = true; }
  }
  var scrolls = wrap && getComputedStyle(wrap).overflowX === 'auto';
  return {
    id: table.className || table.parentElement.id,
    wrapped: !!wrap,
    overflows: wrap ? wrap.scrollWidth > wrap.clientWidth + 1 : box.right > innerWidth,
    scrolls: !!scrolls,
    cue: wrap ? (getComputedStyle(wrap).backgroundImage.indexOf('gradient') >= 0 &&
                 getComputedStyle(wrap).backgroundAttachment.indexOf('local') >= 0 &&
                 getComputedStyle(wrap).scrollbarWidth !== 'none' &&
                 wrap.tabIndex === 0) : false,
    clipped: clipped,
    pageOverflow: document.documentElement.scrollWidth - innerWidth
  };
});
"""

CHARTS_JS = """
return Array.from(document.querySelectorAll('img.chart')).map(function (img) {
  var r = img.getBoundingClientRect();
  return {w: r.width, h: r.height, left: r.left, right: r.right, vw: innerWidth,
          display: getComputedStyle(img).display};
});
"""


@pytest.fixture
def browser():
    driver = chrome()
    driver.implicitly_wait(5)
    yield driver
    quit_and_settle(driver)


def _login(browser, live_server) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    build_world()
    # long names make the indicator tables wide, as real ones are
    m.Indicator.objects.filter(code="KONFLIK_SARA").update(
        name_id="Jumlah insiden konflik bernuansa suku, agama, ras dan antargolongan per 100 ribu"
    )
    make_user("kesbang-kaltim", Role.OFFICE, "64", password=PASSWORD)
    browser.get(f"{live_server.url}/dashboard/login/")
    browser.find_element(By.NAME, "username").send_keys("kesbang-kaltim")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "region-select")))


@pytest.mark.parametrize("width", [1280, 390])
def test_no_table_is_clipped_and_wide_ones_scroll_with_a_cue(live_server, browser, width):
    browser.set_window_size(width, 900)
    _login(browser, live_server)
    browser.get(f"{live_server.url}/dashboard/?region=ALL")

    tables = browser.execute_script(TABLES_JS)

    assert tables
    for table in tables:
        assert table["wrapped"], table
        assert not table["clipped"], table
        assert table["pageOverflow"] <= 0, table
        if table["overflows"]:
            assert table["scrolls"] and table["cue"], table


def test_every_chart_is_on_a_phone_screen(live_server, browser):
    browser.set_window_size(390, 844)
    _login(browser, live_server)
    browser.get(f"{live_server.url}/dashboard/?region=6401")

    charts = browser.execute_script(CHARTS_JS)

    assert charts
    for chart in charts:
        assert chart["display"] != "none" and chart["w"] > 200 and chart["h"] > 100, chart
        assert chart["left"] >= 0 and chart["right"] <= chart["vw"], chart


KPIS_JS = """
return ['kpi-target', 'kpi-realisation', 'kpi-achievement'].map(function (id) {
  var r = document.getElementById(id).getBoundingClientRect();
  return {id: id, left: r.left, right: r.right, top: r.top, bottom: r.bottom,
          vw: innerWidth, vh: innerHeight,
          pageOverflow: document.documentElement.scrollWidth - innerWidth};
});
"""


def test_phone_first_screen_shows_target_realisation_and_capaian(live_server, browser):
    """Issue 17: at 390 px the first card's target, realisasi and capaian are on the first
    screen, with no horizontal scrolling."""
    browser.set_window_size(390, 844)
    _login(browser, live_server)
    m.AchievementResult.objects.create(
        run=m.IndexRun.objects.get(), indicator=m.Indicator.objects.get(code="INDEX"),
        region_code="6401", year=2023, target=64.0, realisation=65.0, achievement_pct=101.6,
        met=True, met_with_confidence=False)
    browser.get(f"{live_server.url}/dashboard/?region=6401")

    kpis = browser.execute_script(KPIS_JS)

    for kpi in kpis:
        assert kpi["left"] >= 0 and kpi["right"] <= kpi["vw"], kpi
        assert kpi["top"] >= 0 and kpi["bottom"] <= kpi["vh"], kpi
        assert kpi["pageOverflow"] <= 0, kpi
    from selenium.webdriver.common.by import By
    assert "101,6" in browser.find_element(By.ID, "kpi-achievement").text
    assert "tercapai" in browser.find_element(By.ID, "kpi-achievement").text


@pytest.mark.parametrize("region", ["ALL", "6401", "6402"])
def test_no_table_overflows_its_card_at_1280(live_server, browser, region):
    browser.set_window_size(1280, 900)
    _login(browser, live_server)
    browser.get(f"{live_server.url}/dashboard/?region={region}&sila=INDEX")

    tables = browser.execute_script(TABLES_JS)

    assert len(tables) >= 4
    for table in tables:
        assert not table["overflows"], table
        assert not table["clipped"] and table["pageOverflow"] <= 0, table


def test_phone_tables_are_card_rows_and_model_cells_are_labelled(live_server, browser):
    from selenium.webdriver.common.by import By

    browser.set_window_size(390, 844)
    _login(browser, live_server)
    browser.get(f"{live_server.url}/dashboard/?region=6402")

    row = browser.find_element(By.CSS_SELECTOR, '#dimension-INDEX tr[data-year="2022"]')
    assert "estimasi model / model-based" in row.text
    label = browser.execute_script(
        "return getComputedStyle(arguments[0], '::before').content",
        row.find_element(By.TAG_NAME, "td"))
    assert label == '"Tahun"'  # each cell names its column on a phone
    # card-row tables never need sideways scrolling on a phone (others scroll with a cue)
    tables = [t for t in browser.execute_script(TABLES_JS) if "cards" in t["id"].split()]
    assert len(tables) >= 3
    assert all(not t["overflows"] for t in tables), tables


def test_programme_panel_renders_with_its_caveat(live_server, browser):
    from selenium.webdriver.common.by import By

    browser.set_window_size(390, 844)
    _login(browser, live_server)
    browser.get(f"{live_server.url}/dashboard/?region=6401&sila=INDEX")

    caveat = browser.find_element(By.ID, "learn-caveat")
    browser.execute_script("arguments[0].scrollIntoView()", caveat)
    assert caveat.is_displayed()
    assert "tidak ditempatkan secara acak" in caveat.text
    forest = browser.find_element(By.ID, "forest")
    assert forest.is_displayed() and forest.size["width"] > 200
    assert browser.execute_script(
        "return document.documentElement.scrollWidth - innerWidth") <= 0


def test_english_page_is_english_throughout_in_the_browser(live_server, browser):
    import re

    from selenium.webdriver.common.by import By

    browser.set_window_size(1280, 900)
    _login(browser, live_server)
    browser.get(f"{live_server.url}/dashboard/?region=6402&lang=en")

    body = browser.find_element(By.TAG_NAME, "main").text
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    for word in ("selang", "ditampilkan", "Tahun", "Perubahan", "sedang", "tinggi",
                 "Belajar", "Kesimpulan", "Capaian", "Wilayah", "signifikan"):
        assert not re.search(rf"\b{word}\b", body), word
    assert "Learn from other regions" in body
