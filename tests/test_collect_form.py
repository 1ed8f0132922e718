"""The respondent web form /isi/ (issue 14 part 1), server side: the shell page in Indonesian and
English, invitation codes refused kindly before any JavaScript runs (unknown 404, used 410,
closed wave 409), the service worker at /isi/sw.js, and a page that passes the
Content-Security-Policy (no inline script or style). The browser walk is in
tests/test_collect_form_browser.py."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from surveys import models as m
from surveys.collect import web
from surveys.services.accounts import invitation_create
from tests import api_fixtures as fx

world = fx.world
fresh_throttle_counters = fx.fresh_throttle_counters
EN = fx.EN

FORM = "/isi/"


@pytest.fixture(autouse=True)
def _fresh_throttle_counters(fresh_throttle_counters: None) -> None:
    """Every test starts with empty throttle counters (tests.api_fixtures)."""


def _code(wave: m.Wave) -> str:
    return invitation_create(wave=wave, count=1)[0]


def _client_data(html: str) -> dict:
    match = re.search(r'<script id="isi-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page carries its data as a JSON block"
    return json.loads(match.group(1))


def test_start_page_in_indonesian_by_default(world):
    r = Client().get(FORM)
    assert r.status_code == 200
    html = r.content.decode()
    assert '<html lang="id">' in html
    assert "Kode undangan" in html and "Survei Nilai Pancasila" in html
    assert 'data-state="start"' in html
    # the switch offers English, marked as English for screen readers
    assert 'href="?lang=en" lang="en"' in html and ">English</a>" in html
    # the code field has its label and hint tied to it
    assert '<label for="kode"' in html and 'aria-describedby="kode-hint"' in html


@pytest.mark.parametrize("how", ["header", "switch"])
def test_start_page_in_english(world, how):
    client = Client()
    r = client.get(FORM, **EN) if how == "header" else client.get(FORM, {"lang": "en"})
    assert r.status_code == 200
    html = r.content.decode()
    assert '<html lang="en">' in html
    assert "Invitation code" in html and "Pancasila Values Survey" in html
    assert ">Bahasa Indonesia</a>" in html


def test_page_passes_the_content_security_policy(world):
    r = Client().get(FORM)
    csp = r["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    html = r.content.decode()
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts, "the page has its script"
    for attrs in scripts:
        # only the JSON data block (never executed) and scripts loaded from this site
        assert 'type="application/json"' in attrs or 'src="/static/' in attrs, attrs
    assert not re.search(r"\son[a-z]+\s*=", html), "no inline event handlers"
    assert " style=" not in html and "<style" not in html, "no inline styles"


def test_client_data_has_both_languages_regions_and_choices(world):
    data = _client_data(Client().get(FORM).content.decode())
    assert set(data["strings"]) == {"id", "en"}
    assert set(data["strings"]["id"]) == set(data["strings"]["en"])
    # regencies and cities by name: not the province, not a district
    assert data["regions"] == [
        {"code": "6402", "name": "Kutai Barat"}, {"code": "6401", "name": "Paser"},
    ]
    assert data["sexes"] == ["L", "P"]
    assert data["age_groups"] == ["17-24", "25-34", "35-44", "45-54", "55+"]


def test_every_string_has_both_languages():
    strings = web.strings()
    assert set(strings["id"]) == set(strings["en"])
    for lang in ("id", "en"):
        assert all(text.strip() for text in strings[lang].values()), lang
    # the catalogues answer (a missing translation would repeat the English msgid)
    assert strings["id"]["start"] == "Mulai" and strings["en"]["start"] == "Start"


def test_valid_code_opens_the_form_without_spending_the_code(world):
    code = _code(world["wave"])
    r = Client().get(FORM, {"kode": code})
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-state="redeem"' in html and f'data-code="{code}"' in html
    # a page carrying a code is neither stored nor leaked
    assert r["Cache-Control"] == "no-store"
    assert r["Referrer-Policy"] == "no-referrer"
    # only looking: the browser redeems it through the API
    assert m.Invitation.objects.get().redeemed_at is None
    redeemed = APIClient().post("/api/v1/invitations/redeem/", {"code": code}, format="json")
    assert redeemed.status_code == 201


@pytest.mark.parametrize(
    ("lang", "title", "text"),
    [
        ("id", "Kode tidak dikenal", "Periksa lagi penulisannya"),
        ("en", "Unknown code", "Please check how it is written"),
    ],
)
def test_unknown_code_is_refused_kindly(world, lang, title, text):
    r = Client().get(FORM, {"kode": "ABCDE-FGHJK", "lang": lang})
    assert r.status_code == 404
    html = r.content.decode()
    assert title in html and text in html
    assert 'role="alert"' in html and 'data-problem="invalid"' in html
    # the code form is offered again, the wrong code is not echoed into the page
    assert 'id="code-form"' in html and "ABCDE-FGHJK" not in html


@pytest.mark.parametrize("code", ["", "x" * 41, "ABC\x00DE"])
def test_malformed_code_is_unknown_not_an_error(world, code):
    r = Client().get(FORM, {"kode": code})
    assert r.status_code == 404
    assert "Kode tidak dikenal" in r.content.decode()


def test_used_code_is_refused_kindly(world):
    code = _code(world["wave"])
    assert APIClient().post(
        "/api/v1/invitations/redeem/", {"code": code}, format="json"
    ).status_code == 201
    r = Client().get(FORM, {"kode": code})
    assert r.status_code == 410
    html = r.content.decode()
    assert "Kode sudah dipakai" in html and "mintalah kode baru" in html
    assert 'data-problem="used"' in html
    # the same code typed in lower case and without the dash is the same code
    r = Client().get(FORM, {"kode": code.replace("-", "").lower(), "lang": "en"})
    assert r.status_code == 410
    assert "Code already used" in r.content.decode()


def test_closed_wave_shows_a_clear_message(world):
    code = _code(world["wave"])
    world["wave"].status = m.WaveStatus.CLOSED
    world["wave"].save()
    r = Client().get(FORM, {"kode": code})
    assert r.status_code == 409
    html = r.content.decode()
    assert "Survei sudah ditutup" in html
    assert "Masa pengisian survei ini (IINP 2025) sudah berakhir" in html
    r = Client().get(FORM, {"kode": code}, **EN)
    assert "The survey is closed" in r.content.decode()
    # looking did not spend the code
    assert m.Invitation.objects.get().redeemed_at is None


def test_service_worker_is_served_from_the_form_scope(world):
    r = Client().get("/isi/sw.js")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/javascript")
    assert r["Service-Worker-Allowed"] == "/isi/"
    assert r["Cache-Control"] == "no-cache"
    body = r.content.decode()
    assert "__ASSETS__" not in body and "__VERSION__" not in body
    assert (
        'var ASSETS = ["/isi/", "/static/surveys/collect/form.js", '
        '"/static/surveys/collect/form.css"];' in body
    )
    assert re.search(r'var CACHE = "nilai-isi-[0-9a-f]{16}";', body)


def test_static_files_of_the_form_are_served(live_server):
    # the live server (and `collectstatic` in production) find them in the app's static dir
    import urllib.request

    for name in web.ASSETS:
        with urllib.request.urlopen(f"{live_server.url}/static/{name}") as response:
            assert response.status == 200


def test_form_script_never_sends_design_fields():
    # stratum, psu and base_weight come from the design, never from a respondent (issue 16)
    from django.contrib.staticfiles import finders

    source = open(finders.find("surveys/collect/form.js"), encoding="utf-8").read()
    for name in ("stratum", "psu", "base_weight"):
        assert name not in source.split("*/", 1)[1], name
