"""Revocation is immediate on every worker with a shared cache (issue 16 item 6).

The submission endpoint caches each token's caller per process (surveys.api.permissions). A
worker's cached entry is simulated by keeping `_PRINCIPALS` as it was while the revocation
happens (as if another worker had handled it); the only way the entry can be refused is the
generation in the shared cache (Redis). One test bumps the generation from a second Python
process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.checks import Error
from django.test import override_settings
from rest_framework.authtoken.models import Token

from surveys import models as m
from surveys.api import permissions
from surveys.checks import shared_cache_check
from surveys.services.accounts import caller_generation, token_issue
from tests import api_fixtures as fx
from tests.api_fixtures import payload, responses_url

REPO = Path(__file__).resolve().parents[1]
CACHE_URL = os.environ.get("NILAI_TEST_CACHE_URL", "redis://127.0.0.1:6379/14")
REDIS_CACHE = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
}

world = fx.world


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(CACHE_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason=f"no Redis at {CACHE_URL}")


@pytest.fixture
def shared_cache() -> Iterator[None]:
    with override_settings(CACHES=REDIS_CACHE):
        yield


@pytest.fixture
def enumerator(world):
    return fx.client_for("enum6401", "enumerator", ("6401",))


def _submit(client, world, n: int):
    return client.post(
        responses_url(world["wave"]),
        payload(respondent=f"R-{n:04d}"),
        format="json",
    )


def _on_another_worker(change: Callable[[], object]) -> None:
    """Run `change` as another worker would: this worker's cached callers stay as they were."""
    kept = dict(permissions._PRINCIPALS)  # noqa: SLF001
    change()
    permissions._PRINCIPALS.clear()  # noqa: SLF001
    permissions._PRINCIPALS.update(kept)  # noqa: SLF001


def _user(name: str):
    return get_user_model().objects.get(username=name)


def _revocations() -> dict[str, tuple[Callable[[], object], int]]:
    return {
        "token deleted": (lambda: Token.objects.filter(user__username="enum6401").delete(), 401),
        "token rotated": (lambda: token_issue(username="enum6401", rotate=True), 401),
        "user deactivated": (lambda: _deactivate("enum6401"), 401),
        "role removed": (
            lambda: _user("enum6401").groups.remove(Group.objects.get(name="enumerator")), 403
        ),
        "role removed from the group side": (
            lambda: Group.objects.get(name="enumerator").user_set.clear(), 403
        ),
        "region assignment removed": (
            lambda: m.RegionAssignment.objects.filter(user__username="enum6401").delete(), 403
        ),
        "group renamed": (lambda: _rename_group(), 403),
    }


def _deactivate(name: str) -> None:
    user = _user(name)
    user.is_active = False
    user.save()


def _rename_group() -> None:
    group = Group.objects.get(name="enumerator")
    group.name = "enumerator-old"
    group.save()


CASES = list(_revocations())


@needs_redis
@pytest.mark.parametrize("case", CASES)
def test_revocation_holds_at_once_on_a_worker_that_cached_the_caller(
    world, shared_cache, enumerator, case
):
    change, status = _revocations()[case]
    assert _submit(enumerator, world, 1).status_code == 201  # cached on this worker now
    assert permissions._PRINCIPALS  # noqa: SLF001
    _on_another_worker(change)
    r = _submit(enumerator, world, 2)
    assert r.status_code == status, r.json()


@needs_redis
def test_a_bump_from_another_process_reaches_this_worker(world, shared_cache, enumerator):
    """A second Python process, sharing only Redis, invalidates the caller cached here."""
    assert _submit(enumerator, world, 1).status_code == 201
    user = _user("enum6401")
    # a change that sends no signal: this worker keeps serving its cached caller ...
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert _submit(enumerator, world, 2).status_code == 201
    # ... until another process bumps the user's generation in the shared cache
    env = {**os.environ, "CACHE_URL": CACHE_URL,
           "DJANGO_SETTINGS_MODULE": "backend.settings.test"}
    code = (
        "import django; django.setup(); "
        "from surveys.services.accounts import callers_invalidate; "
        f"callers_invalidate([{user.pk}])"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True, timeout=120)
    assert _submit(enumerator, world, 3).status_code == 401


def test_with_the_default_cache_the_revocation_holds_in_this_process(world, enumerator):
    """Without CACHE_URL (development, tests) the generation lives in the process's memory."""
    assert _submit(enumerator, world, 1).status_code == 201
    Token.objects.filter(user__username="enum6401").delete()
    assert _submit(enumerator, world, 2).status_code == 401


def test_login_and_unrelated_saves_do_not_invalidate(world, enumerator):
    assert _submit(enumerator, world, 1).status_code == 201
    user = _user("enum6401")
    before = caller_generation(user.pk)
    user.last_login = user.date_joined
    user.save(update_fields=["last_login"])
    get_user_model().objects.create_user("someone-else")
    assert caller_generation(user.pk) == before
    user.first_name = "Budi"
    user.save()
    assert caller_generation(user.pk) != before


def test_a_revocation_inside_a_transaction_bumps_again_on_commit(
    world, enumerator, django_capture_on_commit_callbacks
):
    user = _user("enum6401")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _deactivate("enum6401")
    after_save = caller_generation(user.pk)
    assert callbacks, "no bump queued for the commit"
    for callback in callbacks:
        callback()
    assert caller_generation(user.pk) != after_save


def test_deploy_check_requires_a_shared_cache():
    cache.clear()
    errors = shared_cache_check()
    assert [e.id for e in errors] == ["nilai.E101"] and isinstance(errors[0], Error)
    assert "CACHE_URL" in errors[0].msg
    with override_settings(CACHES=REDIS_CACHE):
        assert shared_cache_check() == []
