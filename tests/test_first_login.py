"""An office's first login: grant, login_link, set a password by the link, see the dashboard."""

from __future__ import annotations

from io import StringIO
from urllib.parse import urlparse

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import RegionFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Pancasila-1945-Samarinda"


def _link(username: str) -> str:
    out = StringIO()
    call_command("login_link", username, "--base-url", "https://nilai.example.id/", stdout=out)
    return out.getvalue().strip()


def test_office_sets_password_through_one_time_link_then_reaches_dashboard(client) -> None:
    RegionFactory(code="6472")
    out = StringIO()
    call_command("grant", "budi", "office", "--region", "6472", stdout=out)
    assert "manage.py login_link budi" in out.getvalue()
    user = get_user_model().objects.get(username="budi")
    assert not user.has_usable_password()

    link = _link("budi")
    assert link.startswith("https://nilai.example.id/dashboard/password/")
    path = urlparse(link).path
    # Django redirects the token URL to a session-bound "set-password" URL first
    page = client.get(path, follow=True)
    assert page.status_code == 200
    assert b'id="password-set-form"' in page.content
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else path

    mismatch = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": "other"})
    assert mismatch.status_code == 200 and b"pw2-errors" in mismatch.content
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/dashboard/login/?password_set=1"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    login = client.get(done["Location"])
    assert b'id="password-set-done"' in login.content
    assert client.login(username="budi", password=NEW_PASSWORD)
    assert client.get("/dashboard/").status_code == 200


def test_link_works_once(client) -> None:
    RegionFactory(code="6472")
    call_command("grant", "sari", "office", "--region", "6472", stdout=StringIO())
    path = urlparse(_link("sari")).path
    page = client.get(path, follow=True)
    form_url = page.redirect_chain[-1][0]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    client.logout()
    again = client.get(path, follow=True)
    assert b'id="password-link-invalid"' in again.content
    assert b'id="password-set-form"' not in again.content


def test_login_link_for_unknown_user_is_a_one_line_error() -> None:
    with pytest.raises(CommandError, match="pengguna tidak dikenal: nobody"):
        call_command("login_link", "nobody", stdout=StringIO())
