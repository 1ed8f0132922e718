"""The respondent web form /isi/ in headless Chromium at phone width (390 px), as a new user
would use it (issue 14 part 1): open the invitation link, answer the bundled Pancasila
questionnaire one sila per page, reload mid-way and continue, lose the network before
submitting (DevTools network emulation), submit, come back online: exactly one stored response,
equal to what was typed. Also: a closed wave and a used or unknown code are refused kindly,
replies lost on the way never duplicate anything, and the form reopens from the service worker.

Screenshots go to tests/artifacts/collect_form/ (gitignored). Runs only where /usr/bin/chromium
and chromedriver exist and selenium is installed (requirements-dev.txt); skipped elsewhere.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command

from surveys import models as m
from surveys.api import views as api_views
from surveys.ingest.layout import layout_for
from surveys.services.accounts import invitation_create
from surveys.services.waves import wave_close, wave_open
from tests.browser import BROWSER_MARKS, chrome, quit_and_settle

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "collect_form"

pytestmark = BROWSER_MARKS

WAIT = 15


@pytest.fixture(autouse=True)
def _fresh_caches():
    # the submission endpoint caches waves and tokens per process; ids are reused between tests
    api_views.clear_caches()
    cache.clear()
    yield
    api_views.clear_caches()
    cache.clear()


@pytest.fixture
def browser():
    driver = chrome("--window-size=390,844")
    # a phone's viewport (headless windows are at least 500 px wide)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True,
    })
    driver.execute_cdp_cmd("Network.enable", {})
    yield driver
    while _WORKER_SESSIONS:
        _WORKER_SESSIONS.pop().close()
    quit_and_settle(driver)


@pytest.fixture
def pancasila():
    """The bundled Kalimantan Timur regions and Pancasila instrument (30 items, 5 sila)."""
    call_command("load_regions", str(ROOT / "fixtures" / "regions_kaltim.csv"), verbosity=0)
    call_command(
        "load_instrument", str(ROOT / "fixtures" / "instrument_pancasila_v1.json"), verbosity=0
    )
    return wave_open(instrument="IINP", year=2025).wave


@pytest.fixture
def small_wave():
    """Two regencies and a two-sila instrument of three items each (scale 1..5)."""
    from tests.api_fixtures import build_world

    return build_world()["wave"]


# --------------------------------------------------------------------------- helpers


def shot(driver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _conditions(online: bool) -> dict:
    return {"offline": not online, "latency": 0, "downloadThroughput": -1,
            "uploadThroughput": -1}


#: DevTools sessions on service workers, kept open while their emulation holds
_WORKER_SESSIONS: list = []


def network(driver, *, online: bool) -> None:
    """DevTools network emulation, on the page and (like the Offline box of DevTools) on the
    service workers: a worker's own fetches are not covered by the page's emulation."""
    import websocket

    driver.execute_cdp_cmd("Network.emulateNetworkConditions", _conditions(online))
    while _WORKER_SESSIONS:
        _WORKER_SESSIONS.pop().close()
    if online:
        return
    address = driver.capabilities["goog:chromeOptions"]["debuggerAddress"]
    with urllib.request.urlopen(f"http://{address}/json/list") as response:
        targets = json.load(response)
    for target in targets:
        if target.get("type") != "service_worker":
            continue
        ws = websocket.create_connection(
            target["webSocketDebuggerUrl"], timeout=10, suppress_origin=True)
        for number, (method, params) in enumerate(
            [("Network.enable", {}), ("Network.emulateNetworkConditions", _conditions(False))],
            start=1,
        ):
            ws.send(json.dumps({"id": number, "method": method, "params": params}))
            while json.loads(ws.recv()).get("id") != number:
                pass
        _WORKER_SESSIONS.append(ws)


def wait_for(driver, predicate, message: str = ""):
    """Poll ``predicate`` until it holds. The form re-renders its items (after a reload, a
    sync), so an element found in one poll may be replaced before its text is read: that
    poll is retried like one that found nothing."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,)
                         ).until(predicate, message)


def heading(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, "page-title").text


def wait_heading(driver, text: str) -> None:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    def found(d):
        try:
            return heading(d) == text
        except (NoSuchElementException, StaleElementReferenceException):
            return False

    wait_for(driver, found, f"heading {text!r}")


def wait_message(driver, kind: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    return wait_for(
        driver,
        ec.visibility_of_element_located((By.CSS_SELECTOR, f"#message[data-kind='{kind}']")),
        f"message {kind}",
    )


def click_label(driver, input_id: str) -> None:
    from selenium.webdriver.common.by import By

    label = driver.find_element(By.CSS_SELECTOR, f"label[for='{input_id}']")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", label)
    label.click()


def answer_page(driver, codes: list[str], typed: dict[str, int]) -> None:
    for code in codes:
        click_label(driver, f"f-q-{code}-{typed[code]}")


def press_next(driver) -> None:
    from selenium.webdriver.common.by import By

    button = driver.find_element(By.CSS_SELECTOR, "#next, #submit")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()


def local_session(driver) -> dict | None:
    raw = driver.execute_script(
        "var id = JSON.parse(localStorage.getItem('nilai-isi:current'));"
        "return id ? localStorage.getItem('nilai-isi:s:' + id) : null;"
    )
    return None if raw is None else json.loads(raw)


def fill_about(driver, region_name: str, *, sex: str = "P", age: str = "35-44") -> None:
    """Region with the mouse, sex and age group with the keyboard only."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, "f-region")).select_by_visible_text(region_name)
    # keyboard: Tab from the select reaches the first sex radio; arrows move within the group
    driver.find_element(By.ID, "f-region").send_keys(Keys.TAB)
    active = driver.switch_to.active_element
    assert active.get_attribute("id") == "f-sex-L"
    if sex == "P":
        active.send_keys(Keys.ARROW_DOWN)
    else:
        active.send_keys(Keys.SPACE)
    assert driver.find_element(By.ID, f"f-sex-{sex}").is_selected()
    driver.switch_to.active_element.send_keys(Keys.TAB)
    active = driver.switch_to.active_element
    assert active.get_attribute("id") == "f-age_group-17-24"
    active.send_keys(Keys.SPACE)
    steps = ["17-24", "25-34", "35-44", "45-54", "55+"].index(age)
    for _ in range(steps):
        driver.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
    assert driver.find_element(By.ID, f"f-age_group-{age}").is_selected()


def stored_answers(response: m.Response) -> dict[str, int | None]:
    from datafiles.answers import unpack_answers

    return unpack_answers(layout_for(response.wave.version), bytes(response.answers))


def wait_service_worker(driver) -> None:
    wait_for(driver, lambda d: d.execute_script(
        "return !!(navigator.serviceWorker && navigator.serviceWorker.controller)"
    ), "service worker in control")


# --------------------------------------------------------------------------- the whole walk


def test_respondent_fills_the_questionnaire_on_a_phone_with_the_network_cut(
    live_server, browser, pancasila
):
    from selenium.webdriver.common.by import By

    wave = pancasila
    dims = list(wave.version.dimensions.order_by("position").prefetch_related("items"))
    pages = [[item.code for item in dim.items.order_by("position")] for dim in dims]
    assert [len(p) for p in pages] == [6, 6, 6, 6, 6]
    codes = [code for page in pages for code in page]
    typed = {code: (i * 3) % 5 + 1 for i, code in enumerate(codes)}
    code = invitation_create(wave=wave, count=1)[0]

    # the invitation link opens the questionnaire in Indonesian
    browser.get(f"{live_server.url}/isi/?kode={code}")
    wait_heading(browser, "Tentang Anda")
    assert browser.current_url == f"{live_server.url}/isi/", "the spent code leaves the URL"
    assert browser.find_element(By.ID, "page-of").text == "Halaman 1 dari 6"
    assert browser.execute_script("return document.documentElement.lang") == "id"
    # the page fits a phone: nothing scrolls sideways
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
    shot(browser, "01-tentang-anda")

    # Next without answers: per-field messages, focus on the first
    press_next(browser)
    error = browser.find_element(By.ID, "err-region")
    assert error.is_displayed() and error.text == "Mohon pilih salah satu."
    assert browser.switch_to.active_element.get_attribute("id") == "f-region"
    assert browser.find_element(By.ID, "error-summary").text == (
        "Masih ada 3 isian yang perlu dilengkapi atau diperbaiki.")

    fill_about(browser, "Mahakam Ulu", sex="P", age="35-44")
    press_next(browser)
    wait_heading(browser, dims[0].name_id)
    assert browser.find_element(By.ID, "page-of").text == "Halaman 2 dari 6"
    assert browser.find_element(By.ID, "progress-bar").get_attribute("value") == "2"

    # the scale's labels, tied to their inputs; reverse-keyed items look like every other item
    labels = [el.text for el in browser.find_elements(
        By.CSS_SELECTOR, f"#field-{pages[0][0]} label.point")]
    assert labels == ["Sangat tidak setuju", "Tidak setuju", "Netral", "Setuju",
                      "Sangat setuju"]
    reversed_codes = set(wave.version.items.filter(reverse=True).values_list("code", flat=True))
    markup = browser.execute_script(
        "return Array.from(document.querySelectorAll('fieldset.item')).map(function (f) {"
        " return [f.id.slice(6), f.className, f.querySelectorAll('input').length,"
        " f.outerHTML.indexOf('reverse') >= 0]; });")
    assert {row[1] for row in markup} == {"field item"}
    assert {row[2] for row in markup} == {5}
    assert not any(row[3] for row in markup)
    if reversed_codes & set(pages[0]):
        assert len({tuple(row[1:]) for row in markup}) == 1

    # an unanswered item is named under the item itself
    answer_page(browser, pages[0][:-1], typed)
    press_next(browser)
    last = pages[0][-1]
    assert browser.find_element(By.ID, f"err-{last}").text == "Pertanyaan ini belum dijawab."
    assert browser.switch_to.active_element.get_attribute("name") == f"q-{last}"
    answer_page(browser, [last], typed)
    shot(browser, "02-sila-1")
    press_next(browser)
    wait_heading(browser, dims[1].name_id)

    # the answers are saved as a server draft while online, never with design fields
    wait_for(browser, lambda d: m.Response.objects.filter(wave=wave).exists(), "draft saved")
    wait_for(
        browser,
        lambda d: sum(v is not None for v in stored_answers(
            m.Response.objects.get(wave=wave)).values()) == 6,
        "first sila in the draft",
    )
    draft = m.Response.objects.get(wave=wave)
    assert draft.status == m.ResponseStatus.DRAFT
    assert not draft.probability_sample and draft.base_weight == 1.0

    # answer half of sila 2, then reload: the same page, the same answers
    answer_page(browser, pages[1][:3], typed)
    browser.refresh()
    wait_heading(browser, dims[1].name_id)
    assert browser.find_element(By.ID, "page-of").text == "Halaman 3 dari 6"
    for c in pages[1][:3]:
        assert browser.find_element(By.ID, f"f-q-{c}-{typed[c]}").is_selected()
    assert not browser.find_element(By.ID, f"f-q-{pages[1][3]}-1").is_selected()
    answer_page(browser, pages[1][3:], typed)
    press_next(browser)

    # Back keeps everything
    wait_heading(browser, dims[2].name_id)
    browser.find_element(By.ID, "back").click()
    wait_heading(browser, dims[1].name_id)
    for c in pages[1]:
        assert browser.find_element(By.ID, f"f-q-{c}-{typed[c]}").is_selected()
    press_next(browser)

    for page_number, page in enumerate(pages[2:-1], start=3):
        wait_heading(browser, dims[page_number - 1].name_id)
        answer_page(browser, page, typed)
        press_next(browser)
    wait_heading(browser, dims[-1].name_id)
    assert browser.find_element(By.ID, "page-of").text == "Halaman 6 dari 6"
    answer_page(browser, pages[-1], typed)
    wait_service_worker(browser)
    shot(browser, "03-sila-5-sebelum-kirim")

    # the signal goes: submit anyway
    network(browser, online=False)
    wait_for(browser, lambda d: d.find_element(By.ID, "status").text.startswith(
        "Tidak ada sinyal"), "offline notice")
    press_next(browser)
    pending = wait_message(browser, "pending")
    assert "Jawaban akan dikirim nanti" in pending.text
    assert "dikirim otomatis" in pending.text
    shot(browser, "04-terkirim-nanti")
    assert not m.Response.objects.filter(status=m.ResponseStatus.SUBMITTED).exists()

    # still without signal, the form reopens from the service worker, still waiting to send
    # (the invitation link again: the network would refuse the spent code, the cache cannot)
    browser.get(f"{live_server.url}/isi/?kode={code}")
    wait_message(browser, "pending")
    assert browser.find_elements(By.ID, "refusal") == [], "served by the service worker"
    assert local_session(browser)["final"] is True

    # the signal comes back: the form sends by itself
    network(browser, online=True)
    done = wait_message(browser, "done")
    assert "Terima kasih" in done.text
    shot(browser, "05-terima-kasih")

    stored = m.Response.objects.select_related("region", "respondent").get()
    assert stored.wave_id == wave.pk
    assert stored.status == m.ResponseStatus.SUBMITTED
    assert stored.region.code == "6411"
    assert (stored.sex, stored.age_group) == ("P", "35-44")
    assert stored_answers(stored) == typed
    # the design comes from the design: defaults, no probability sample
    assert not stored.probability_sample
    assert stored.base_weight == 1.0
    assert stored.stratum == "6411" and stored.psu == str(stored.submission_id)
    assert stored.respondent.panel_key.startswith("web-")
    # nothing personal is left on the phone
    session = local_session(browser)
    assert session["done"] is True and session["answers"] == {} and session["token"] is None

    # the invitation link opened again (online: the server knows the code is spent) finds the
    # finished answers on this phone and thanks again, instead of refusing the code
    browser.get(f"{live_server.url}/isi/?kode={code}")
    wait_message(browser, "done")
    assert not browser.find_element(By.ID, "refusal").is_displayed()
    assert m.Response.objects.count() == 1


# --------------------------------------------------------------------------- refusals


def test_closed_wave_and_spent_or_unknown_codes_are_refused_kindly(live_server, browser,
                                                                   small_wave):
    from rest_framework.test import APIClient
    from selenium.webdriver.common.by import By

    used, closed = invitation_create(wave=small_wave, count=2)
    assert APIClient().post("/api/v1/invitations/redeem/", {"code": used},
                            format="json").status_code == 201

    browser.get(f"{live_server.url}/isi/?kode={used}")
    refusal = browser.find_element(By.ID, "refusal")
    assert "Kode sudah dipakai" in refusal.text
    shot(browser, "10-kode-sudah-dipakai")

    # a mistyped code, entered in the form on the start page
    browser.get(f"{live_server.url}/isi/")
    browser.find_element(By.ID, "kode").send_keys("ZZZZZ-ZZZZZ")
    browser.find_element(By.CSS_SELECTOR, "#code-form button[type=submit]").click()
    wait_for(browser, lambda d: "Kode tidak dikenal" in d.find_element(By.ID, "refusal").text)
    assert browser.find_element(By.ID, "kode").is_displayed(), "the code can be typed again"

    # the English switch, on the refusal itself
    browser.find_element(By.ID, "lang-switch").click()
    wait_for(browser, lambda d: "Unknown code" in d.find_element(By.ID, "refusal").text)

    small_wave.status = m.WaveStatus.CLOSED
    small_wave.save()
    browser.get(f"{live_server.url}/isi/?kode={closed}&lang=id")
    refusal = browser.find_element(By.ID, "refusal")
    assert "Survei sudah ditutup" in refusal.text and "IINP 2025" in refusal.text
    shot(browser, "11-survei-ditutup")


def test_wave_closing_while_answering_shows_a_clear_message(live_server, browser, small_wave):
    from selenium.webdriver.common.by import By

    # an unlabelled scale: numbered points
    small_wave.version.labels_id = []
    small_wave.version.labels_en = []
    small_wave.version.save()
    code = invitation_create(wave=small_wave, count=1)[0]
    browser.get(f"{live_server.url}/isi/?kode={code}")
    wait_heading(browser, "Tentang Anda")
    fill_about(browser, "Paser")
    press_next(browser)
    wait_heading(browser, "Sila 1")
    assert [el.text for el in browser.find_elements(
        By.CSS_SELECTOR, "#field-S1_01 label.point")] == ["1", "2", "3", "4", "5"]
    wave_close(instrument="IINP", year=2025)
    api_views.clear_caches()
    # the next save of the draft is refused; the form says why instead of asking for more
    answer_page(browser, ["S1_01"], {"S1_01": 1})
    message = wait_message(browser, "closed")
    assert "Survei sudah ditutup" in message.text
    shot(browser, "12-ditutup-saat-mengisi")
    assert not m.Response.objects.filter(status=m.ResponseStatus.SUBMITTED).exists()


# --------------------------------------------------------------------------- lost replies


def test_lost_replies_never_duplicate_a_response(live_server, browser, small_wave):
    """The server got a request whose reply never reached the phone: the draft, then the
    final submit. The form finds out, carries on, and one response is stored."""
    from rest_framework.test import APIClient
    from selenium.webdriver.common.by import By

    code = invitation_create(wave=small_wave, count=1)[0]
    browser.get(f"{live_server.url}/isi/?kode={code}&lang=en")
    wait_heading(browser, "About you")
    network(browser, online=False)
    fill_about(browser, "Kutai Barat", sex="L", age="55+")
    press_next(browser)
    wait_heading(browser, "Principle 1")
    session = local_session(browser)
    assert session["server"]["draft"] is False
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {session['token']}")
    url = f"/api/v1/waves/{small_wave.pk}/responses/"
    # the draft POST reached the server with what was known then; its reply was lost
    lost = api.post(url, {
        "submission_id": session["submissionId"], "respondent": session["key"],
        "region": "6402", "sex": "L", "age_group": "55+", "answers": {}, "status": "draft",
    }, format="json")
    assert lost.status_code == 201, lost.json()

    typed = {"S1_01": 5, "S1_02": 4, "S1_03": 3, "S2_01": 2, "S2_02": 1, "S2_03": 5}
    answer_page(browser, ["S1_01", "S1_02", "S1_03"], typed)
    network(browser, online=True)  # the form's POST now conflicts: it reads the draft back
    wait_for(browser, lambda d: local_session(d)["server"]["draft"] is True, "draft adopted")
    press_next(browser)
    wait_heading(browser, "Principle 2")
    answer_page(browser, ["S2_01", "S2_02", "S2_03"], typed)
    wait_for(
        browser,
        lambda d: stored_answers(m.Response.objects.get()) == typed,
        "every answer in the draft",
    )
    # the final submit reached the server, its reply was lost; the form sends it again
    network(browser, online=False)
    press_next(browser)
    wait_message(browser, "pending")
    assert api.post(f"{url}{session['submissionId']}/submit/").status_code == 200
    network(browser, online=True)
    wait_message(browser, "done")
    assert browser.find_element(By.ID, "page-title").text == "Thank you!"
    stored = m.Response.objects.select_related("region").get()
    assert stored.status == m.ResponseStatus.SUBMITTED
    assert stored_answers(stored) == typed
    assert (stored.region.code, stored.sex, stored.age_group) == ("6402", "L", "55+")


def test_the_api_messages_are_shown_under_their_item(live_server, browser, small_wave):
    """What the API refuses is said under the item it concerns, in the API's own words."""
    from rest_framework.test import APIClient
    from selenium.webdriver.common.by import By

    code = invitation_create(wave=small_wave, count=1)[0]
    browser.get(f"{live_server.url}/isi/?kode={code}")
    wait_heading(browser, "Tentang Anda")
    fill_about(browser, "Paser")
    press_next(browser)
    wait_heading(browser, "Sila 1")
    wait_for(browser, lambda d: local_session(d)["server"]["draft"] is True, "draft saved")
    # a value the form itself never offers (a stale copy, a tampered one) reaches the server
    browser.execute_script(
        "var id = JSON.parse(localStorage.getItem('nilai-isi:current'));"
        "var s = JSON.parse(localStorage.getItem('nilai-isi:s:' + id));"
        "s.answers.S1_02 = 9; localStorage.setItem('nilai-isi:s:' + id, JSON.stringify(s));"
    )
    browser.refresh()
    session = local_session(browser)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {session['token']}")
    refused = api.patch(
        f"/api/v1/waves/{small_wave.pk}/responses/{session['submissionId']}/",
        {"answers": {"S1_02": 9}}, format="json",
    )
    assert refused.status_code == 400
    expected = " ".join(refused.json()["errors"]["answers"]["S1_02"])
    wait_for(browser, lambda d: d.find_element(By.ID, "err-S1_02").text == expected,
             "the API's message under the item")
    assert browser.find_element(By.ID, "error-summary").is_displayed()
    assert browser.find_element(By.ID, "f-q-S1_02-1").get_attribute("aria-invalid") == "true"
    shot(browser, "13-pesan-dari-api")
    # choosing an offered answer clears it and the draft takes it
    click_label(browser, "f-q-S1_02-4")
    assert not browser.find_element(By.ID, "err-S1_02").is_displayed()
    wait_for(browser, lambda d: stored_answers(m.Response.objects.get())["S1_02"] == 4,
             "draft corrected")
