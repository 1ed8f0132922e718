"""One-time invitation codes: `invite` prints them, the API redeems each exactly once."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from surveys import models as m
from tests import api_fixtures as fx
from tests.api_fixtures import payload, responses_url

world = fx.world
fresh_throttle_counters = fx.fresh_throttle_counters
EN = fx.EN

REDEEM = "/api/v1/invitations/redeem/"


@pytest.fixture(autouse=True)
def _fresh_throttle_counters(fresh_throttle_counters: None) -> None:
    """Every test starts with empty throttle counters (tests.api_fixtures)."""


def _invite(count: int = 2) -> list[str]:
    out = StringIO()
    call_command("invite", "IINP", "2025", "--count", str(count), stdout=out)
    return out.getvalue().split()


def test_invite_prints_codes_and_stores_only_their_hashes(world):
    codes = _invite(3)
    assert len(codes) == 3 and len(set(codes)) == 3
    assert all(len(code) == 11 and code[5] == "-" for code in codes)
    stored = set(m.Invitation.objects.values_list("code_hash", flat=True))
    assert len(stored) == 3
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored
    expected = {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    assert stored == expected
    assert set(m.Invitation.objects.values_list("wave_id", flat=True)) == {world["wave"].pk}


def test_invite_needs_an_existing_wave(world):
    with pytest.raises(CommandError, match="Tidak ada gelombang IINP 1999"):
        call_command("invite", "IINP", "1999", "--count", "1")
    with pytest.raises(CommandError, match="Jumlah harus positif"):
        call_command("invite", "IINP", "2025", "--count", "0")


def test_redeem_creates_a_respondent_with_a_working_token_once(world):
    code = _invite(1)[0]
    r = APIClient().post(REDEEM, {"code": code}, format="json")
    assert r.status_code == 201, r.json()
    data = r.json()
    assert data["wave"] == world["wave"].pk and data["instrument"] == "IINP"
    assert data["year"] == 2025
    user = m.Invitation.objects.get().redeemed_by
    assert user.username == data["username"]
    assert list(user.groups.values_list("name", flat=True)) == ["respondent"]
    assert not user.has_usable_password()

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {data['token']}")
    r = client.post(responses_url(world["wave"]), payload(), format="json")
    assert r.status_code == 201

    again = APIClient().post(REDEEM, {"code": code}, format="json", **EN)
    assert again.status_code == 409
    assert again.json() == {"detail": "This invitation code has already been used.", "errors": {}}
    again = APIClient().post(REDEEM, {"code": code.lower()}, format="json")
    assert again.status_code == 409
    assert again.json()["detail"] == "Kode undangan ini sudah dipakai."
    assert m.Invitation.objects.filter(redeemed_at__isnull=False).count() == 1


def test_unknown_code_is_400_in_both_languages(world):
    r = APIClient().post(REDEEM, {"code": "AAAAA-BBBBB"}, format="json")
    assert r.status_code == 400
    assert r.json() == {
        "detail": "Kode undangan tidak dikenal.",
        "errors": {"code": ["Kode undangan tidak dikenal."]},
    }
    r = APIClient().post(REDEEM, {"code": "AAAAA-BBBBB"}, format="json", **EN)
    assert r.json()["detail"] == "Unknown invitation code."
    r = APIClient().post(REDEEM, {}, format="json", **EN)
    assert r.status_code == 400
    assert r.json()["errors"] == {"code": ["This field is required."]}


def test_code_for_a_closed_wave_is_409_and_not_consumed(world):
    code = _invite(1)[0]
    world["wave"].status = m.WaveStatus.CLOSED
    world["wave"].save()
    r = APIClient().post(REDEEM, {"code": code}, format="json", **EN)
    assert r.status_code == 409
    assert r.json()["detail"].startswith("Wave IINP 2025 is closed")
    assert m.Invitation.objects.get().redeemed_at is None
