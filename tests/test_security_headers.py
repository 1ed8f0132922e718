"""Content-Security-Policy on every page, and Swagger UI served from the installed package
(drf-spectacular-sidecar), never a CDN (issue 16 item 11)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.test import Client

from surveys.services.accounts import user_grant_role

pytestmark = pytest.mark.django_db

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
STYLE_TAG = re.compile(r"<style\b([^>]*)>", re.IGNORECASE)
URL_ATTR = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    out: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def _researcher_client() -> Client:
    user_grant_role(username="rina", role="researcher")
    client = Client()
    client.force_login(get_user_model().objects.get(username="rina"))
    return client


def _assert_no_inline_script(html: str) -> None:
    for attrs in SCRIPT_TAG.findall(html):
        assert "src=" in attrs or 'type="application/json"' in attrs, attrs


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/login/"])
def test_dashboard_pages_allow_only_own_scripts_and_the_nonced_style(path):
    client = _researcher_client() if path == "/dashboard/" else Client()
    r = client.get(path)
    assert r.status_code == 200
    policy = _policy(r)
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["style-src"]
    nonces = [v for v in policy["style-src"] if v.startswith("'nonce-")]
    assert len(nonces) == 1
    html = r.content.decode()
    _assert_no_inline_script(html)
    styles = STYLE_TAG.findall(html)
    assert styles, "the dashboard's stylesheet is inline"
    for attrs in styles:
        assert f'nonce="{nonces[0][7:-1]}"' in attrs


def test_each_request_gets_a_new_nonce():
    a, b = Client().get("/dashboard/login/"), Client().get("/dashboard/login/")
    assert _policy(a)["style-src"] != _policy(b)["style-src"]


def test_api_responses_carry_the_policy_too():
    r = Client().get("/api/v1/regions/")
    assert r.status_code == 401
    assert _policy(r)["script-src"] == ["'self'"]


def test_swagger_ui_uses_only_local_static_files():
    r = Client().get("/api/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "cdn" not in html.lower() and "http://" not in html and "https://" not in html
    _assert_no_inline_script(html)
    urls = URL_ATTR.findall(html)
    assert urls
    for url in urls:
        assert url.startswith("/"), url  # same site
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), f"{url} is not installed"
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls)
    # the init script is a same-site file, not an inline script
    script = next(u for u in urls if "script" in u and u.startswith("/api/docs/"))
    js = Client().get(script.replace("&amp;", "&"))
    assert js.status_code == 200 and js["Content-Type"].startswith("application/javascript")
    policy = _policy(r)
    assert policy["script-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
