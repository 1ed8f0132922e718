"""One headless Chromium walk through the dashboard: log in, pick a region, read the trend table.

Runs only where /usr/bin/chromium and chromedriver exist (apt-get install chromium
chromium-driver) and selenium is installed (requirements-dev.txt); skipped elsewhere.
"""

from __future__ import annotations

import pytest

from surveys.models import Role
from tests.browser import BROWSER_MARKS, chrome, quit_and_settle
from tests.results_world import build_world, make_user

pytestmark = BROWSER_MARKS

PASSWORD = "kata-sandi-uji-123"


@pytest.fixture
def browser():
    driver = chrome("--window-size=390,844")
    driver.implicitly_wait(5)
    yield driver
    quit_and_settle(driver)


def test_office_logs_in_picks_a_region_and_reads_the_trend_table(live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    build_world()
    make_user("kesbang-kaltim", Role.OFFICE, "64", password=PASSWORD)

    browser.get(f"{live_server.url}/dashboard/")
    assert browser.current_url == f"{live_server.url}/dashboard/login/?next=/dashboard/"
    browser.find_element(By.NAME, "username").send_keys("kesbang-kaltim")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "region-select")))

    picker = Select(browser.find_element(By.ID, "region-select"))
    assert [o.get_attribute("value") for o in picker.options] == ["ALL", "6401", "6402"]
    picker.select_by_value("6402")
    browser.find_element(By.ID, "show").click()
    WebDriverWait(browser, 10).until(ec.url_contains("region=6402"))

    rows = browser.find_elements(By.CSS_SELECTOR, "#dimension-INDEX .trend-table tbody tr")
    assert [r.get_attribute("data-year") for r in rows] == ["2021", "2022", "2023"]
    assert rows[0].find_elements(By.TAG_NAME, "td")[1].text == "56,0"
    assert rows[1].get_attribute("class") == "suppressed"
    assert "tidak ditampilkan (responden < 30)" in rows[1].text
    assert "estimasi model / model-based" in rows[1].text  # the SAE cell, labelled
    assert browser.find_element(By.CSS_SELECTOR, "#summary h2").text == "Kutai Barat"

    # the chart image loads through the session (same-origin API call) and fits a phone screen
    image = browser.find_element(By.CSS_SELECTOR, "#dimension-INDEX img.chart")
    browser.execute_script("arguments[0].scrollIntoView()", image)
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > 0", image
        )
    )
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth"
    )
    if overflow > 0:
        browser.save_screenshot("/tmp/nilai-dashboard-phone.png")
    assert overflow <= 0
