"""Login throttling (django-axes): a username is locked from one address after repeated wrong
passwords, with a 429 in Indonesian and English; an admin unlocks it (issue 16 item 5)."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token

from surveys.services.accounts import user_grant_role

PASSWORD = "benar-sekali-2025"
LIMIT = settings.AXES_FAILURE_LIMIT
ATTACKER = "203.0.113.7"
OFFICE = "198.51.100.20"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_axes_on")]


@pytest.fixture
def _axes_on():
    with override_settings(AXES_ENABLED=True):
        yield


@pytest.fixture
def budi():
    user = get_user_model().objects.create_user("budi", password=PASSWORD, is_staff=True)
    user_grant_role(username="budi", role="researcher")
    return user


def _login(url: str, username: str, password: str, ip: str) -> tuple[Client, object]:
    client = Client(REMOTE_ADDR=ip)
    response = client.post(url, {"username": username, "password": password})
    return client, response


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_settings_lock_per_username_and_address():
    assert LIMIT <= 10
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


@pytest.mark.parametrize("url", ["/dashboard/login/", "/admin/login/"])
def test_wrong_passwords_then_the_right_one_is_refused_with_429(budi, url):
    for _ in range(LIMIT - 1):
        _, r = _login(url, "budi", "salah", ATTACKER)
        assert r.status_code == 200  # the form again, with its error
    _, r = _login(url, "budi", "salah", ATTACKER)
    assert r.status_code == 429
    client, r = _login(url, "budi", PASSWORD, ATTACKER)
    assert r.status_code == 429
    assert not _logged_in(client)
    text = r.content.decode()
    assert "Terlalu banyak percobaan masuk" in text and "Too many failed login attempts" in text
    assert r["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))


def test_the_lock_holds_for_that_username_from_that_address_only(budi):
    get_user_model().objects.create_user("sari", password=PASSWORD)
    for _ in range(LIMIT):
        _login("/dashboard/login/", "budi", "salah", ATTACKER)
    # the same user from the office's address, and another user from the attacker's, still work
    client, r = _login("/dashboard/login/", "budi", PASSWORD, OFFICE)
    assert r.status_code == 302 and _logged_in(client)
    client, r = _login("/dashboard/login/", "sari", PASSWORD, ATTACKER)
    assert r.status_code == 302 and _logged_in(client)
    client, r = _login("/admin/login/", "budi", PASSWORD, ATTACKER)
    assert r.status_code == 429 and not _logged_in(client)


def test_a_success_before_the_limit_resets_the_count(budi):
    for _ in range(LIMIT - 1):
        _login("/dashboard/login/", "budi", "salah", ATTACKER)
    client, r = _login("/dashboard/login/", "budi", PASSWORD, ATTACKER)
    assert r.status_code == 302 and _logged_in(client)
    _, r = _login("/dashboard/login/", "budi", "salah", ATTACKER)
    assert r.status_code == 200


def test_an_admin_unlocks_through_the_admin(budi):
    for _ in range(LIMIT):
        _login("/dashboard/login/", "budi", "salah", ATTACKER)
    attempt = AccessAttempt.objects.get(username="budi")
    admin = get_user_model().objects.create_superuser("root", password=PASSWORD)
    staff = Client(REMOTE_ADDR=OFFICE)
    staff.force_login(admin)
    listing = staff.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "budi" in listing.content.decode()
    r = staff.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    client, r = _login("/dashboard/login/", "budi", PASSWORD, ATTACKER)
    assert r.status_code == 302 and _logged_in(client)


def test_token_authentication_is_not_throttled_by_the_login_lock(budi):
    for _ in range(LIMIT):
        _login("/dashboard/login/", "budi", "salah", ATTACKER)
    token = Token.objects.create(user=budi)
    api = Client(REMOTE_ADDR=ATTACKER, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/regions/").status_code == 200
    # and wrong tokens are not login attempts: nothing is added to the lock
    for _ in range(LIMIT):
        Client(REMOTE_ADDR=OFFICE, HTTP_AUTHORIZATION="Token wrong").get("/api/v1/regions/")
    client, r = _login("/dashboard/login/", "budi", PASSWORD, OFFICE)
    assert r.status_code == 302 and _logged_in(client)
