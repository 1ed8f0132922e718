"""The response contract (surveys.ingest): one set of rules, one fingerprint and one insert for the
API and the file import; design fields only from the design; respondent keys at the door."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from surveys import models as m
from surveys.api.views import _fast_input
from surveys.checks import panel_key_secret_check
from surveys.ingest import contract, panel_key_for
from surveys.ingest import sql as ingest_sql
from surveys.ingest.keys import IdentifyingKeyError, RespondentKeyError, looks_identifying
from surveys.ingest.layout import layout_for_version
from surveys.models.invitations import RespondentAccount
from surveys.services.accounts import invitation_create
from surveys.services.submissions import stored_fingerprint
from tests import api_fixtures as fx
from tests.api_fixtures import ITEM_CODES, client_for, payload, responses_url
from tests.import_files import responses_csv

world = fx.world
fresh_throttle_counters = fx.fresh_throttle_counters
EN = fx.EN
respondent_client = fx.respondent_client
enumerator_client = fx.enumerator_client

#: What differs by nature between an API row and an imported row of the same response.
BOOKKEEPING = {"id", "source", "created_by_id", "created_at", "updated_at", "submitted_at"}


@pytest.fixture(autouse=True)
def _fresh_throttle_counters(fresh_throttle_counters: None) -> None:
    """Every test starts with empty throttle counters (tests.api_fixtures)."""


def _csv(tmp_path: Path, rows: list[dict[str, Any]], name: str = "responses.csv") -> Path:
    return responses_csv(tmp_path, rows, ITEM_CODES, name)


def _import(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("import_responses", path, "--instrument", "IINP", *args, stdout=out)
    return out.getvalue()


def _stored_row() -> dict[str, Any]:
    (row,) = m.Response.objects.values()
    stored = m.Response.objects.select_related("region", "wave__version").get()
    row = {k: v for k, v in row.items() if k not in BOOKKEEPING}
    # the fingerprint as the API's replay check reads it: stored by API writes, computed from
    # the row for imported ones (which store none)
    row["fingerprint"] = stored_fingerprint(stored, layout_for_version(stored.wave.version))
    row["answers"] = bytes(row["answers"])
    row["respondent_pk"] = row.pop("respondent_id")
    row["panel_key"] = m.Respondent.objects.get(pk=row["respondent_pk"]).panel_key
    return row


# ------------------------------------------------------------------------- one contract, proven


def test_api_submission_then_identical_csv_row_is_unchanged_and_replay_is_200(
        world, enumerator_client, tmp_path):
    url = responses_url(world["wave"])
    body = payload(respondent="R-77", stratum="S-6401", psu="EA-9", base_weight=12.5)
    first = enumerator_client.post(url, body, format="json")
    assert first.status_code == 201
    row = dict(body, wave=2025)

    out = _import(_csv(tmp_path, [row]))

    assert out.startswith("Tidak ada perubahan / nothing changed")
    assert "0 new, 1 unchanged, 0 replaced" in out
    replay = enumerator_client.post(url, body, format="json")
    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert m.Response.objects.get().source == m.ResponseSource.API


def test_a_changed_row_replaced_by_the_import_makes_the_replay_a_conflict(
        world, enumerator_client, tmp_path):
    url = responses_url(world["wave"])
    body = payload(respondent="R-78", stratum="S", psu="P", base_weight=2.0)
    assert enumerator_client.post(url, body, format="json").status_code == 201
    changed = dict(body, wave=2025, answers=dict(body["answers"], S1_01=5))
    with pytest.raises(CommandError, match="use --replace"):
        _import(_csv(tmp_path, [changed]))
    assert "1 replaced" in _import(_csv(tmp_path, [changed]), "--replace")
    assert enumerator_client.post(url, body, format="json").status_code == 409


def test_an_api_replay_of_an_imported_instance_id_is_recognised(
        world, enumerator_client, tmp_path):
    """An import keeps a field export's instance ids and stores no fingerprint; the API's
    replay check computes it from the stored row (docs/DECISIONS.md 80): the same response
    again is 200, another content under that id 409."""
    from surveys.services.imports import responses_import

    url = responses_url(world["wave"])
    body = payload(respondent="R-79", stratum="S", psu="P", base_weight=3.5)
    responses_import(path=_csv(tmp_path, [dict(body, wave=2025)]), instrument_code="IINP",
                     submission_ids=[body["submission_id"]])
    stored = m.Response.objects.get()
    assert (stored.source, str(stored.submission_id), stored.content_hash) == (
        m.ResponseSource.IMPORT, body["submission_id"], "")

    replay = enumerator_client.post(url, body, format="json")
    assert replay.status_code == 200, replay.json()
    assert replay.json()["submission_id"] == body["submission_id"]
    changed = dict(body, answers=dict(body["answers"], S1_01=5))
    assert enumerator_client.post(url, changed, format="json").status_code == 409
    assert m.Response.objects.count() == 1


_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S"),
                           exclude_characters=",\r\n"),
    min_size=1, max_size=12,
).filter(lambda t: t == t.strip())
_KEY = st.from_regex(r"\A[A-Za-z][A-Za-z0-9_.]{0,11}\Z")
_RESPONSE = st.fixed_dictionaries({
    "respondent": _KEY,
    "region": st.sampled_from(["6400", "6401", "6402", "640101"]),
    "sex": st.sampled_from(m.Sex.values),
    "age_group": st.sampled_from(m.AgeGroup.values),
    "stratum": _TEXT,
    "psu": _TEXT,
    "base_weight": st.floats(min_value=1e-6, max_value=2_000.0, allow_nan=False),
    "answers": st.fixed_dictionaries({code: st.integers(1, 5) for code in ITEM_CODES}),
})


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(response=_RESPONSE)
def test_property_api_and_import_store_the_same_row_and_fingerprint(world, tmp_path, response):
    """Two fresh states of one database (each path runs in a savepoint that is rolled back):
    the same response through the API and through a CSV import stores the same row and has
    the same fingerprint (stored by the API, computed from the row for the import). The rows
    are compared apart from bookkeeping (id, source, author, timestamps), the submission id
    (the client's random one; the import stores none, its id being the one derived from the
    respondent's and the wave's primary keys: the API refuses that form,
    tests/test_import_submission_ids.py) and the respondent's key (sequences are not rolled
    back)."""
    admin = client_for("admin-prop", "admin")
    wave = world["wave"]
    with transaction.atomic():
        body = dict(response, submission_id=str(uuid.uuid4()))
        r = admin.post(responses_url(wave), body, format="json")
        assert r.status_code == 201, r.json()
        through_api = _stored_row()
        transaction.set_rollback(True)
    with transaction.atomic():
        assert "1 new" in _import(_csv(tmp_path, [dict(response, wave=2025)]))
        through_file = _stored_row()
        transaction.set_rollback(True)
    assert through_api.pop("submission_id") == uuid.UUID(body["submission_id"])
    assert through_file.pop("submission_id") is None  # derived, not stored
    for row in (through_api, through_file):
        row.pop("respondent_pk")
    assert through_api.pop("content_hash") == through_api["fingerprint"]
    assert through_file.pop("content_hash") == ""
    assert through_api == through_file  # the fingerprint included


def test_the_insert_column_list_is_written_once_and_filled_by_name():
    concrete = {f.name for f in m.Response._meta.concrete_fields} - {"id"}
    assert set(ingest_sql.RESPONSE_COLUMNS) == concrete
    values = dict.fromkeys(ingest_sql.RESPONSE_COLUMNS)
    with pytest.raises(KeyError):
        ingest_sql.db_params({k: v for k, v in values.items() if k != "psu"})
    with pytest.raises(KeyError, match="not a response column"):
        ingest_sql.db_params({**values, "weight": 1.0})


# ------------------------------------------------------------------------- design fields


@pytest.mark.parametrize("lang,text", [
    ("en", "A control character (U+001F) is not allowed here."),
    ("id", "Karakter kendali (U+001F) tidak diperbolehkan di sini.")])
@pytest.mark.parametrize("field", ["stratum", "psu"])
def test_a_design_label_with_a_control_character_is_refused(world, enumerator_client, field,
                                                            lang, text):
    """Stratum and PSU labels hold no control character (the file import's rule too): the
    aggregated reads of a wave split texts on chr(31)."""
    body = payload(respondent="R-CTL", **{field: "EA\x1f9"})
    r = enumerator_client.post(responses_url(world["wave"]), body, format="json",
                               HTTP_ACCEPT_LANGUAGE=lang)
    assert r.status_code == 400, r.json()
    assert r.json()["errors"][field] == [text]
    assert not m.Response.objects.exists()
    ok = enumerator_client.post(responses_url(world["wave"]), dict(body, **{field: "EA 9"}),
                                format="json")
    assert ok.status_code == 201, ok.json()


@pytest.mark.parametrize("field,value", [("stratum", "URBAN"), ("psu", "EA-1"),
                                         ("base_weight", 1e308), ("base_weight", 2.0)])
def test_a_respondent_account_cannot_send_design_fields(world, respondent_client, field, value):
    url = responses_url(world["wave"])
    r = respondent_client.post(url, payload(**{field: value}), format="json", **EN)
    assert r.status_code == 403
    message = (f"A respondent account may not send {field}: the sample design (stratum, PSU, "
               "base weight) is set by enumerators, imports or admins.")
    assert r.json() == {"detail": message, "errors": {field: [message]}}
    r = respondent_client.post(url, payload(**{field: value}), format="json")
    assert r.json()["errors"][field] == [
        f"Akun responden tidak boleh mengisi {field}: rancangan sampel (strata, PSU, bobot "
        "dasar) ditetapkan oleh enumerator, impor, atau admin."]
    assert not m.Response.objects.exists()
    assert not RespondentAccount.objects.exists()
    # null is "not sent"
    body = payload(stratum=None, psu=None, base_weight=None)
    assert respondent_client.post(url, body, format="json").status_code == 201


def _margins(region: m.Region, year: int, counts: tuple[int, int]) -> None:
    for sex, count in zip(("L", "P"), counts, strict=True):
        m.PopulationMargin.objects.create(year=year, region=region, sex=sex, age_group="17-24",
                                          population=count)


@pytest.mark.parametrize("weight,message", [
    (1e308, "The base weight 1e+308 exceeds the adult population of region 6401 (2,500, year "
            "2025)."),
    (2500.5, "The base weight 2500.5 exceeds the adult population of region 6401 (2,500, year "
             "2025)."),
    (0, "The base weight 0.0 must be greater than 0."),
    (-1, "The base weight -1.0 must be greater than 0."),
    (float("inf"), "The base weight inf must be a finite number greater than 0."),
    (float("nan"), "The base weight nan must be a finite number greater than 0."),
])
def test_base_weight_must_be_finite_positive_and_at_most_the_population(
        world, enumerator_client, weight, message):
    _margins(world["r6401"], 2025, (1000, 1500))
    # JSON cannot carry inf/nan; Python's parser accepts the Infinity/NaN literals: send raw
    body = json.dumps(payload(base_weight=weight))
    r = enumerator_client.post(responses_url(world["wave"]), body,
                               content_type="application/json", **EN)
    assert r.status_code == 400, r.json()
    assert r.json()["errors"] == {"base_weight": [message]}
    assert not m.Response.objects.exists()


def test_weight_at_the_population_is_accepted_and_the_nearest_year_is_used(
        world, enumerator_client):
    _margins(world["r6401"], 2023, (1000, 1500))
    url = responses_url(world["wave"])
    assert enumerator_client.post(url, payload(base_weight=2500), format="json") \
        .status_code == 201
    r = enumerator_client.post(url, payload(respondent="R-2", base_weight=2501), format="json",
                               **EN)
    assert r.json()["errors"]["base_weight"] == [
        "The base weight 2501.0 exceeds the adult population of region 6401 (2,500, year "
        "2023)."]


@pytest.mark.parametrize("dense", [True, False])
def test_weight_caps_of_many_rows_equal_the_scalar_caps(world, monkeypatch, dense):
    """The column-wise caps of the import (distinct (region, year) pairs found with a table,
    or by sorting when the codes span too wide a range) equal `weight_cap` row by row: a year
    with figures, the nearest earlier and later year, a region without figures, and year 0
    (a row whose wave is in error)."""
    if not dense:
        monkeypatch.setattr(contract, "_DENSE_CODES", 0)
    _margins(world["r6401"], 2021, (1000, 1500))
    _margins(world["r6401"], 2024, (700, 900))
    regions = np.array([world["r6401"].pk, world["r6402"].pk] * 4 + [world["r6401"].pk])
    years = np.array([2021, 2021, 2020, 2022, 2024, 2030, 0, 2024, 2023])
    caps, cap_years = contract.weight_caps(regions, years)
    expected = [contract.weight_cap(int(r), int(y)) for r, y in zip(regions, years, strict=True)]
    assert caps.tolist() == [cap for cap, _ in expected]
    assert cap_years.tolist() == [y or 0 for _, y in expected]
    # 6401: its year, the earliest later year (2020, and year 0), the latest earlier (2023)
    assert caps[[0, 2, 4, 6, 8]].tolist() == [2500, 2500, 1600, 2500, 2500]
    assert cap_years[[0, 2, 4, 6, 8]].tolist() == [2021, 2021, 2024, 2021, 2021]
    assert (caps[[1, 3, 5, 7]] == contract.WEIGHT_HARD_CAP).all()  # 6402: no figures


def test_without_population_figures_the_hard_cap_applies(world):
    admin = client_for("admin-cap", "admin")
    url = responses_url(world["wave"])
    r = admin.post(url, payload(region="6402", base_weight=3e8 + 1), format="json", **EN)
    assert r.status_code == 400
    assert r.json()["errors"]["base_weight"] == [
        "The base weight 300000001.0 exceeds the limit of 300,000,000 (a region without "
        "population figures)."]
    assert admin.post(url, payload(region="6402", base_weight=3e8), format="json") \
        .status_code == 201


@pytest.mark.parametrize("weight", ["1e3", "inf", "nan", "1e308", True])
def test_a_base_weight_that_is_not_a_json_number_is_400(world, enumerator_client, weight):
    r = enumerator_client.post(responses_url(world["wave"]), payload(base_weight=weight),
                               format="json", **EN)
    assert r.status_code == 400
    assert r.json()["errors"] == {
        "base_weight": ["Must be a JSON number, not a string or a boolean."]}


def test_the_import_applies_the_same_weight_rule_and_names_the_row(world, tmp_path):
    _margins(world["r6401"], 2025, (1000, 1500))
    good = payload(respondent="R-1", stratum="S", psu="P", base_weight=2500)
    rows = [dict(good, wave=2025), dict(good, respondent="R-2", base_weight=1e308, wave=2025),
            dict(good, respondent="R-3", base_weight=0, wave=2025)]
    with pytest.raises(CommandError) as err:
        _import(_csv(tmp_path, rows))
    lines = str(err.value).splitlines()
    assert lines[1:] == [
        "responses.csv, baris/row 3, kolom/column base_weight: Bobot dasar 1e+308 melebihi "
        "penduduk dewasa wilayah 6401 (2,500, tahun 2025). / The base weight 1e+308 exceeds the "
        "adult population of region 6401 (2,500, year 2025).",
        "responses.csv, baris/row 4, kolom/column base_weight: Bobot dasar 0 harus lebih dari "
        "0. / The base weight 0 must be greater than 0.",
    ]
    assert not m.Response.objects.exists()


# ------------------------------------------------------------------------- respondent keys

BAD_KEYS = {
    "R\u202e1": "The respondent id contains a control or invisible character (U+202E).",
    "R\u200b1": "The respondent id contains a control or invisible character (U+200B).",
    "R\n1": "The respondent id contains a control or invisible character (U+000A).",
    "R\t1": "The respondent id contains a control or invisible character (U+0009).",
    "=HYPERLINK(\"x\")": "The respondent id may not start with '=' (spreadsheets read it as a "
                         "formula).",
    "+R1": "The respondent id may not start with '+' (spreadsheets read it as a formula).",
    "-R1": "The respondent id may not start with '-' (spreadsheets read it as a formula).",
    "@R1": "The respondent id may not start with '@' (spreadsheets read it as a formula).",
}


@pytest.mark.parametrize("key", list(BAD_KEYS))
def test_unprintable_or_formula_keys_are_refused_by_the_api(world, enumerator_client, key):
    r = enumerator_client.post(responses_url(world["wave"]), payload(respondent=key),
                               format="json", **EN)
    assert r.status_code == 400
    assert r.json()["errors"] == {"respondent": [BAD_KEYS[key]]}
    assert not m.Respondent.objects.exists()


@pytest.mark.parametrize("key", ["R\u202e1", "R\u200b1", "R\t1", "=1+2", "@SUM", "+62", "-R"])
def test_unprintable_or_formula_keys_are_refused_by_the_import(world, tmp_path, key):
    row = dict(payload(respondent=key, stratum="S", psu="P", base_weight=1.0), wave=2025)
    with pytest.raises(CommandError) as err:
        _import(_csv(tmp_path, [row]))
    problem = RespondentKeyError  # the same rule, worded by the contract
    with pytest.raises(problem) as expected:
        panel_key_for(key)
    assert (f"responses.csv, baris/row 2, kolom/column respondent: "
            f"{expected.value.msg.render('id')} / {expected.value.msg.render('en')}"
            ) in str(err.value)
    assert not m.Response.objects.exists()


IDENTIFYING = ["3171-0123-4567-8901", "3171 0123 4567 8901", "NIK3171012345678901",
               "+62 812 3456 7890", "(0812)34567890", "\uff13\uff11\uff17\uff11012345678901",
               "0812.3456.7890", "6281234567890"]


@pytest.mark.parametrize("key", IDENTIFYING)
def test_nik_and_phone_numbers_are_found_however_they_are_written(settings, key):
    settings.PANEL_KEY_SECRET = ""
    assert looks_identifying(key)
    # refused ("+62..." also for its leading formula character)
    with pytest.raises(IdentifyingKeyError if key[0] != "+" else RespondentKeyError):
        panel_key_for(key)
    settings.PANEL_KEY_SECRET = "s3cret"
    assert len(panel_key_for(key.lstrip("+"))) == 64


@pytest.mark.parametrize("key", ["R251000097", "DM6401-0000099", "6401-2021-000", "R-0001"])
def test_pseudonymous_codes_pass(settings, key):
    settings.PANEL_KEY_SECRET = ""
    assert panel_key_for(key) == key


def test_the_api_refuses_a_formatted_nik(world, enumerator_client, settings):
    settings.PANEL_KEY_SECRET = ""
    r = enumerator_client.post(responses_url(world["wave"]),
                               payload(respondent="NIK 3171-0123-4567-8901"), format="json",
                               **EN)
    assert r.status_code == 400
    assert r.json()["errors"]["respondent"] == [
        "The respondent id looks like a NIK or phone number; use a pseudonymous code."]


def test_deploy_check_requires_a_panel_key_secret(settings):
    settings.PANEL_KEY_SECRET = ""
    assert [e.id for e in panel_key_secret_check()] == ["nilai.E201"]
    settings.PANEL_KEY_SECRET = "s3cret"
    assert panel_key_secret_check() == []


def test_check_deploy_reports_the_missing_secret(settings):
    settings.PANEL_KEY_SECRET = ""
    out = io.StringIO()
    with pytest.raises(Exception, match="nilai.E201"):
        call_command("check", "--deploy", "--fail-level", "ERROR", stdout=out, stderr=out)


# ------------------------------------------------------------------------- panel keys


def test_a_respondent_account_cannot_squat_an_existing_panel_key(world, enumerator_client):
    url = responses_url(world["wave"])
    assert enumerator_client.post(url, payload(respondent="DM6401-0000099"), format="json") \
        .status_code == 201
    wave_2026 = fx.f.WaveFactory(version=world["version"], instrument=world["instrument"],
                                 year=2026)
    squatter = client_for("squatter", "respondent")
    r = squatter.post(responses_url(wave_2026), payload(respondent="DM6401-0000099"),
                      format="json", **EN)
    assert r.status_code == 403
    assert r.json()["errors"] == {"respondent": [
        "This respondent id already belongs to someone else; a respondent account may only use "
        "an id created for it or the one named by its invitation."]}
    assert not RespondentAccount.objects.exists()
    assert not m.Response.objects.filter(wave=wave_2026).exists()
    # that person's own later submission (through the enumerator) still works
    r = enumerator_client.post(responses_url(wave_2026), payload(respondent="DM6401-0000099"),
                               format="json")
    assert r.status_code == 201
    # the squatter may still create a key of its own
    assert squatter.post(responses_url(wave_2026), payload(respondent="R-NEW"),
                         format="json").status_code == 201


def test_a_panel_follow_up_invitation_binds_its_key_on_redemption(world, enumerator_client):
    url = responses_url(world["wave"])
    assert enumerator_client.post(url, payload(respondent="DM6401-0000007"), format="json") \
        .status_code == 201
    wave_2026 = fx.f.WaveFactory(version=world["version"], instrument=world["instrument"],
                                 year=2026)
    (code,) = invitation_create(wave=wave_2026, count=1, respondent="DM6401-0000007")
    redeemed = APIClient().post("/api/v1/invitations/redeem/", {"code": code}, format="json")
    assert redeemed.status_code == 201
    binding = RespondentAccount.objects.get()
    assert binding.respondent.panel_key == "DM6401-0000007"
    assert binding.user.username == redeemed.json()["username"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {redeemed.json()['token']}")
    assert client.post(responses_url(wave_2026), payload(respondent="DM6401-0000007"),
                       format="json").status_code == 201
    r = client.post(responses_url(wave_2026), payload(respondent="R-OTHER"), format="json")
    assert r.status_code == 403


# ------------------------------------------------------------------------- strict types


@pytest.mark.parametrize("field,value,message", [
    ("submission_id", 5, "Must be a UUID written as a string."),
    ("respondent", 12345, "Must be a JSON string."),
    ("region", 6401, "Must be a JSON string."),
    ("sex", 1, "Must be a JSON string."),
    ("stratum", 7, "Must be a JSON string."),
    ("base_weight", "1e3", "Must be a JSON number, not a string or a boolean."),
    ("base_weight", True, "Must be a JSON number, not a string or a boolean."),
])
def test_strict_json_types(world, enumerator_client, field, value, message):
    body = payload(**{field: value})
    assert _fast_input(body) is None, "the fast path must not coerce it either"
    r = enumerator_client.post(responses_url(world["wave"]), body, format="json", **EN)
    assert r.status_code == 400
    assert r.json()["errors"] == {field: [message]}
    r = enumerator_client.post(responses_url(world["wave"]), body, format="json")
    assert r.json()["errors"][field][0].startswith("Harus berupa")
    assert not m.Response.objects.exists()


def test_weight_rule_arrays_and_scalars_agree():
    weights = np.array([1.0, 0.0, -1.0, np.inf, np.nan, 10.0, 11.0])
    caps = np.full(7, 10.0)
    assert contract.weight_problems(weights, caps).tolist() == [
        contract.WEIGHT_OK, contract.WEIGHT_NOT_POSITIVE, contract.WEIGHT_NOT_POSITIVE,
        contract.WEIGHT_NOT_FINITE, contract.WEIGHT_NOT_FINITE, contract.WEIGHT_OK,
        contract.WEIGHT_ABOVE_CAP]

