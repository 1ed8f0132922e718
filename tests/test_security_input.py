"""Crafted input ends in a 4xx with a JSON message, never a 500 (issue 16 items 7 and 9)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from rest_framework.test import APIClient

from surveys import safejson
from surveys.api.parsers import RequestTooLarge, SafeJSONParser
from tests import api_fixtures as fx
from tests.api_fixtures import payload, responses_url

world = fx.world
respondent_client = fx.respondent_client
enumerator_client = fx.enumerator_client

REDEEM = "/api/v1/invitations/redeem/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["errors"] == {} or isinstance(body["errors"], dict)
    return body


# --------------------------------------------------------------------------- safejson


def test_safejson_refuses_depth_nul_and_lone_surrogates_and_keeps_the_rest():
    assert safejson.loads('{"a": [1, {"b": "\\ud83d\\ude00"}]}') == {"a": [1, {"b": "😀"}]}
    with pytest.raises(safejson.JSONRejected, match="more than 64 levels"):
        safejson.loads(_deep(2000))
    with pytest.raises(safejson.JSONRejected, match="more than 64 levels"):
        safejson.loads(_deep(65))
    assert safejson.loads(_deep(64)) == json.loads(_deep(64))
    with pytest.raises(safejson.JSONRejected, match=r"string at answers\.S1_01 .*surrogate"):
        safejson.loads('{"answers": {"S1_01": "\\udc00"}}')
    with pytest.raises(safejson.JSONRejected, match=r"key at answers .*surrogate"):
        safejson.loads('{"answers": {"\\ud800": 1}}')
    with pytest.raises(safejson.JSONRejected, match="NUL"):
        safejson.loads('["a\\u0000b"]')
    with pytest.raises(json.JSONDecodeError):
        safejson.loads("{")


# --------------------------------------------------------------------------- API bodies


def test_deeply_nested_submission_is_400_in_json(world, respondent_client):
    r = respondent_client.post(
        responses_url(world["wave"]), _deep(2000), content_type="application/json", **EN
    )
    body = _assert_json_error(r, 400)
    assert "nested more than" in body["detail"]


def test_deeply_nested_answers_are_400_not_a_recursion(world, enumerator_client):
    body = json.dumps(payload()).replace('"answers": {', '"answers": {"x": ' + _deep(900) + ", ")
    r = enumerator_client.post(responses_url(world["wave"]), body,
                               content_type="application/json")
    _assert_json_error(r, 400)


def test_deeply_nested_redeem_is_400_anonymously(world):
    body = '{"code": ' + _deep(2000) + "}"
    r = APIClient().post(REDEEM, body, content_type="application/json", **EN)
    assert "nested more than" in _assert_json_error(r, 400)["detail"]


@pytest.mark.parametrize("field", ["sex", "age_group", "region", "respondent"])
def test_lone_surrogate_in_a_choice_or_text_field_is_400(world, enumerator_client, field):
    raw = json.dumps(payload(**{field: "\ud800"}))  # ensure_ascii: sent as the escape \ud800
    assert "\\ud800" in raw
    r = enumerator_client.post(responses_url(world["wave"]), raw,
                               content_type="application/json", **EN)
    body = _assert_json_error(r, 400)
    assert "surrogate" in body["detail"] and field in body["detail"]


def test_lone_surrogate_in_an_answer_key_is_400(world, enumerator_client):
    body = payload()
    body["answers"]["\udfff"] = 3
    r = enumerator_client.post(responses_url(world["wave"]), json.dumps(body),
                               content_type="application/json", **EN)
    assert "surrogate" in _assert_json_error(r, 400)["detail"]


def test_lone_surrogate_through_drf_parsing_is_400(world, enumerator_client):
    """PATCH and the redeem endpoint read request.data: DRF's parser (settings) refuses too."""
    r = APIClient().post(REDEEM, '{"code": "\\ud800"}', content_type="application/json")
    body = _assert_json_error(r, 400)
    assert "surrogate" in body["detail"]  # Indonesian by default: "surrogate tunggal"


def test_indonesian_is_the_default_language_of_the_messages(world, respondent_client):
    r = respondent_client.post(responses_url(world["wave"]), _deep(100),
                               content_type="application/json")
    assert "bersarang lebih dari 64 tingkat" in _assert_json_error(r, 400)["detail"]


# --------------------------------------------------------------------------- paths and size


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/regions/%00/",
        "/api/v1/instruments/%00/",
        "/api/v1/regions/64%0001/",
        "/api/v1/waves/?instrument=%00",
        "/api/v1/regions/?parent=6400%00",
    ],
)
def test_nul_in_path_or_query_is_400_in_json(world, respondent_client, url):
    body = _assert_json_error(respondent_client.get(url, **EN), 400)
    assert "NUL" in body["detail"]


def test_a_percent_sign_that_is_not_nul_passes(world, respondent_client):
    # %2500 is the text "%00", not a NUL character: an ordinary unknown region
    assert respondent_client.get("/api/v1/regions/%2500/").status_code == 404


@pytest.mark.parametrize("url", ["REDEEM", "RESPONSES"])
def test_a_10_mb_body_is_413_in_json(world, respondent_client, url):
    target = REDEEM if url == "REDEEM" else responses_url(world["wave"])
    big = json.dumps({"code": "x" * (10 * 1024 * 1024)})
    r = respondent_client.post(target, big, content_type="application/json", **EN)
    assert "too large" in _assert_json_error(r, 413)["detail"]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_the_parser_itself_stops_at_the_body_limit():
    """DRF reads the body stream itself, past Django's request.body limit: the parser counts."""
    parser = SafeJSONParser()
    assert parser.parse(io.BytesIO(b'{"a": 1}'), "application/json", {}) == {"a": 1}
    with pytest.raises(RequestTooLarge):
        parser.parse(io.BytesIO(json.dumps({"a": "y" * 5000}).encode()), "application/json", {})


# --------------------------------------------------------------------------- commands


def _one_line(exc: pytest.ExceptionInfo, *, after_summary: bool = False) -> str:
    """The error as one line (the load commands put their usual "n errors, nothing was saved"
    summary line first, then one line per error)."""
    lines = str(exc.value).strip().splitlines()
    assert "Traceback" not in str(exc.value)
    if after_summary:
        assert len(lines) == 2 and "nothing was saved" in lines[0], lines
        return lines[1]
    assert len(lines) == 1, lines
    return lines[0]


def test_load_instrument_with_deeply_nested_json_is_a_one_line_error(tmp_path: Path, db):
    path = tmp_path / "deep.json"
    path.write_text('{"code": "X", "dimensions": ' + _deep(5000) + "}", encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        call_command("load_instrument", str(path))
    line = _one_line(exc, after_summary=True)
    assert line.startswith("deep.json: ") and "nested more than 64 levels" in line


def test_load_indicators_with_deeply_nested_json_is_a_one_line_error(tmp_path: Path, db):
    definitions = tmp_path / "indicators.json"
    definitions.write_text(_deep(5000), encoding="utf-8")
    values = tmp_path / "values.csv"
    values.write_text("indicator,region,year,value\n", encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        call_command("load_indicators", str(definitions), str(values))
    line = _one_line(exc, after_summary=True)
    assert line.startswith("indicators.json: ") and "nested more than 64 levels" in line


def test_export_into_a_missing_folder_is_a_one_line_error(tmp_path: Path, db):
    target = tmp_path / "no" / "such" / "folder" / "estimates.csv"
    with pytest.raises(CommandError) as exc:
        call_command("export", "estimates", "--output", str(target))
    text = _one_line(exc)
    assert "folder keluaran tidak ada" in text and str(target.parent) in text
    assert not target.parent.exists()
