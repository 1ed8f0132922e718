"""grant, issue_token, open_wave, close_wave."""

from __future__ import annotations

from io import StringIO
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from surveys import models as m
from surveys.selectors.access import user_roles, writable_region_codes
from tests import api_fixtures as fx
from tests import factories as f

world = fx.world


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_grant_creates_the_user_with_role_and_regions(world):
    out = run("grant", "budi", "enumerator", "--region", "6401", "--region", "6402")
    assert out.splitlines()[0] == "budi: enumerator di 6401, 6402"
    # a new account has no password yet: grant says how to send a one-time link
    assert out.splitlines()[1].endswith("python manage.py login_link budi")
    user = get_user_model().objects.get(username="budi")
    assert not user.has_usable_password()
    assert user_roles(user) == {"enumerator"}
    assert writable_region_codes(user) == {"6401", "6402", "640101"}
    # granting again adds, never duplicates
    run("grant", "budi", "enumerator", "--region", "6401")
    run("grant", "budi", "researcher")
    assert m.RegionAssignment.objects.filter(user=user).count() == 2
    assert user_roles(user) == {"enumerator", "researcher"}


def test_grant_office_and_plain_roles(world):
    run("grant", "kesbang-paser", "office", "--region", "6401")
    office = get_user_model().objects.get(username="kesbang-paser")
    assert list(office.region_assignments.values_list("region__code", flat=True)) == ["6401"]
    for role in ("respondent", "researcher", "admin"):
        run("grant", f"u-{role}", role)
        assert user_roles(get_user_model().objects.get(username=f"u-{role}")) == {role}


@pytest.mark.parametrize(
    "args,message",
    [
        (("grant", "x", "boss"), "Unknown role boss; choose one of: respondent, enumerator, "
                                  "office, researcher, admin."),
        (("grant", "x", "enumerator", "--region", "9999"), "Unknown region 9999."),
        (("grant", "x", "enumerator"), "Role enumerator needs at least one --region."),
        (("grant", "x", "researcher", "--region", "6401"),
         "Regions can only be assigned to enumerators and offices."),
    ],
)
def test_grant_rejects_bad_input_and_changes_nothing(world, args, message):
    # in English (NILAI_LANGUAGE=en activates it for a real run); Indonesian is the default
    with translation.override("en"), pytest.raises(CommandError) as exc:
        run(*args)
    assert str(exc.value) == message
    assert not get_user_model().objects.filter(username="x").exists()


def test_issue_token_prints_a_working_token_on_its_last_line(world):
    run("grant", "siti", "respondent")
    token = run("issue_token", "siti").splitlines()[-1]
    assert Token.objects.get(user__username="siti").key == token
    assert run("issue_token", "siti").splitlines()[-1] == token, "stable unless rotated"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/waves/").status_code == 200
    rotated = run("issue_token", "siti", "--rotate").splitlines()[-1]
    assert rotated != token
    assert client.get("/api/v1/waves/").status_code == 401


def test_issue_token_for_unknown_user_fails(db):
    with pytest.raises(CommandError, match="Pengguna nobody tidak dikenal."):
        run("issue_token", "nobody")


def test_open_wave_creates_an_open_wave_on_the_latest_version(world):
    v2 = f.InstrumentVersionFactory(instrument=world["instrument"], version=2)
    out = run("open_wave", "IINP", "2026")
    wave = m.Wave.objects.get(instrument__code="IINP", year=2026)
    assert wave.status == m.WaveStatus.OPEN and wave.version == v2
    assert out.strip() == f"gelombang {wave.pk}: IINP 2026 (versi 2) dibuka"
    out = run("open_wave", "IINP", "2027", "--instrument-version", "1")
    assert m.Wave.objects.get(year=2027).version == world["version"]
    assert run("open_wave", "IINP", "2027").strip().endswith("sudah dibuka")


def test_open_wave_errors(world):
    with pytest.raises(CommandError, match="Instrumen NOPE tidak dikenal."):
        run("open_wave", "NOPE", "2026")
    with pytest.raises(CommandError, match="Instrumen IINP tidak memiliki versi 9."):
        run("open_wave", "IINP", "2026", "--instrument-version", "9")
    with pytest.raises(CommandError, match="sudah memakai versi 1, bukan 2"):
        f.InstrumentVersionFactory(instrument=world["instrument"], version=2)
        run("open_wave", "IINP", "2025", "--instrument-version", "2")
    assert not m.Wave.objects.filter(year=2026).exists()


def test_close_wave_closes_and_queues_a_recompute_on_commit(
    world, settings, django_capture_on_commit_callbacks
):
    settings.NILAI_AUTO_RECOMPUTE = True  # off by default in the test settings
    with mock.patch("surveys.tasks.compute_indices_task") as task:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            out = run("close_wave", "IINP", "2025")
        assert task.delay.call_count == 0, "nothing is queued before the commit"
        assert len(callbacks) == 1
        callbacks[0]()
        task.delay.assert_called_once_with(wave_id=world["wave"].pk)
    assert out.strip() == (f"gelombang {world['wave'].pk}: IINP 2025 ditutup; perhitungan ulang "
                           "diantrekan")
    world["wave"].refresh_from_db()
    assert world["wave"].status == m.WaveStatus.CLOSED


def test_close_wave_twice_queues_once_and_reopen_works(
    world, settings, django_capture_on_commit_callbacks
):
    settings.NILAI_AUTO_RECOMPUTE = True  # off by default in the test settings
    with mock.patch("surveys.tasks.compute_indices_task") as task:
        with django_capture_on_commit_callbacks(execute=True):
            run("close_wave", "IINP", "2025")
        with django_capture_on_commit_callbacks(execute=True):
            assert run("close_wave", "IINP", "2025").strip().endswith("sudah ditutup")
        assert task.delay.call_count == 1
    assert run("open_wave", "IINP", "2025").strip().endswith("dibuka")
    world["wave"].refresh_from_db()
    assert world["wave"].status == m.WaveStatus.OPEN


def test_close_unknown_wave_fails(world):
    with pytest.raises(CommandError, match="Tidak ada gelombang IINP 1990."):
        run("close_wave", "IINP", "1990")
