"""Concurrency on a real PostgreSQL server, through a real HTTP server (live_server).

Run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/nilai_test; skipped on SQLite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connection
from pytest_django.live_server_helper import LiveServer

from surveys import models as m
from surveys.api import views as api_views
from surveys.services.accounts import token_issue, user_grant_role
from tests.api_fixtures import build_world, payload

pytestmark = pytest.mark.postgres
REPO = Path(__file__).resolve().parents[1]
N_CLIENTS = 50


@pytest.fixture(autouse=True)
def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: DATABASE_URL=postgres://...")


class _WideBacklogServer(ThreadedWSGIServer):
    # Django's development server listens with a backlog of 10: fifty simultaneous connects
    # would be reset by the kernel before any request reached Django.
    request_queue_size = 256


@pytest.fixture(scope="module")
def live_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[LiveServer]:
    """A live server like pytest-django's, but one that accepts 50 connections at once."""
    with django_db_blocker.unblock():
        server = LiveServer("127.0.0.1:0", start=False)
    server.thread.server_class = _WideBacklogServer
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_world(transactional_db: None) -> dict[str, Any]:
    api_views.clear_caches()
    world = build_world()
    user_grant_role(username="enum", role="enumerator", region_codes=["6400"])
    world["token"] = token_issue(username="enum")
    return world


def _post_concurrently(
    url: str, token: str, bodies: list[dict[str, Any]]
) -> list[requests.Response]:
    barrier = threading.Barrier(len(bodies))
    results: list[requests.Response | BaseException | None] = [None] * len(bodies)

    def worker(i: int) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Token {token}"
            barrier.wait()
            try:
                results[i] = session.post(url, json=bodies[i], timeout=60)
            except requests.RequestException as exc:  # reported below, never swallowed
                results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    errors = [r for r in results if not isinstance(r, requests.Response)]
    assert not errors, errors
    return results  # type: ignore[return-value]


def test_fifty_clients_posting_the_same_submission_store_exactly_one(live_server, live_world):
    wave = live_world["wave"]
    url = f"{live_server.url}/api/v1/waves/{wave.pk}/responses/"
    body = payload(region="6401", respondent="R-CONC")
    responses = _post_concurrently(url, live_world["token"], [body] * N_CLIENTS)

    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * (N_CLIENTS - 1) + [201], codes
    bodies = [r.json() for r in responses]
    assert all(b == bodies[0] for b in bodies), "every client sees the same stored response"
    assert m.Response.objects.filter(submission_id=body["submission_id"]).count() == 1
    assert m.Response.objects.count() == 1
    assert m.Respondent.objects.count() == 1


def test_fifty_clients_same_respondent_different_ids_one_wins(live_server, live_world):
    wave = live_world["wave"]
    url = f"{live_server.url}/api/v1/waves/{wave.pk}/responses/"
    bodies = [payload(region="6402", respondent="R-SAME") for _ in range(N_CLIENTS)]
    responses = _post_concurrently(url, live_world["token"], bodies)

    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * (N_CLIENTS - 1), codes
    assert m.Response.objects.count() == 1
    winner = next(r for r in responses if r.status_code == 201).json()
    assert str(m.Response.objects.get().submission_id) == winner["submission_id"]


_HOLDER = textwrap.dedent(
    """
    import sys, time, uuid
    import django
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from surveys.models import Wave
    from surveys.services.submissions import response_submit

    wave = Wave.objects.select_related("instrument", "version").get(pk=int(sys.argv[1]))
    user = get_user_model().objects.get(username=sys.argv[2])
    answers = dict(zip(sys.argv[4].split(","), [1, 2, 3, 4, 5, 1]))
    with transaction.atomic():
        response_submit(
            wave=wave, user=user, submission_id=uuid.UUID(sys.argv[3]), respondent="R-KILL",
            region="6401", sex="P", age_group="25-34", answers=answers,
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        print(f"INSERTED {pid}", flush=True)
        time.sleep(300)  # killed long before this ends
    """
)


@pytest.mark.parametrize("kill", ["sigkill_client", "pg_terminate_backend"])
def test_connection_killed_mid_transaction_leaves_nothing(live_server, live_world, kill):
    """A writer holds an uncommitted INSERT of a submission; a second client posting the same
    submission waits on the unique index. Killing the first leaves no trace of it, and the
    waiting client's insert goes through (201)."""
    wave = live_world["wave"]
    submission_id = str(uuid.uuid4())
    settings = connection.settings_dict
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="backend.settings.test",
        DATABASE_URL=(
            f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
            f"{settings['PORT'] or 5432}/{settings['NAME']}"
        ),
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(wave.pk), "enum", submission_id,
         ",".join(live_world["codes"])],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = holder.stdout.readline()
        assert line.startswith("INSERTED"), (line, holder.stderr.read() if holder.poll() else "")
        backend_pid = int(line.split()[1])
        assert m.Response.objects.count() == 0, "uncommitted rows are invisible"

        body = payload(region="6401", respondent="R-KILL", submission_id=submission_id,
                       answers=dict(zip(live_world["codes"], [1, 2, 3, 4, 5, 1], strict=True)))
        url = f"{live_server.url}/api/v1/waves/{wave.pk}/responses/"
        result: dict[str, requests.Response] = {}
        waiter = threading.Thread(
            target=lambda: result.setdefault("r", requests.post(
                url, json=body, timeout=60,
                headers={"Authorization": f"Token {live_world['token']}"},
            ))
        )
        waiter.start()
        time.sleep(1.0)
        assert waiter.is_alive(), "the second writer waits for the first transaction"

        if kill == "sigkill_client":
            holder.send_signal(signal.SIGKILL)
        else:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
                assert cursor.fetchone()[0] is True
        waiter.join(timeout=30)
        assert not waiter.is_alive()
    finally:
        holder.kill()
        holder.wait(timeout=10)

    assert result["r"].status_code == 201, result["r"].text
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [backend_pid])
        assert cursor.fetchone()[0] == 0
    stored = m.Response.objects.get()
    assert str(stored.submission_id) == submission_id
    assert m.Respondent.objects.filter(panel_key="R-KILL").count() == 1
    assert m.Response.objects.count() == 1


def test_a_new_submission_is_one_statement_in_autocommit(live_world):
    """Outside a transaction (as under gunicorn) PostgreSQL stores a new response with one
    statement; replays, conflicts and closed waves take the transactional path."""
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    wave = live_world["wave"]
    client = Client(HTTP_AUTHORIZATION=f"Token {live_world['token']}")
    url = f"/api/v1/waves/{wave.pk}/responses/"
    client.post(url, payload(region="6401", respondent="W-0"), content_type="application/json")
    body = payload(region="6401", respondent="W-1")
    with CaptureQueriesContext(connection) as ctx:
        r = client.post(url, body, content_type="application/json")
    assert r.status_code == 201, r.json()
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert len(sqls) == 1 and sqls[0].startswith("WITH w AS"), sqls
    assert client.post(url, body, content_type="application/json").status_code == 200
    again = dict(body, submission_id=str(uuid.uuid4()))
    r = client.post(url, again, content_type="application/json")
    assert r.status_code == 409
    changed = dict(body, respondent="W-NEW", sex="L")
    assert client.post(url, changed, content_type="application/json").status_code == 409
    assert not m.Respondent.objects.filter(panel_key="W-NEW").exists(), "nothing half-stored"
    wave.status = m.WaveStatus.CLOSED
    wave.save()
    r = client.post(url, payload(region="6401", respondent="W-2"),
                    content_type="application/json")
    assert r.status_code == 409
    assert m.Response.objects.count() == 2
    assert m.Respondent.objects.count() == 2
