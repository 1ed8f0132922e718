"""A large import never blocks API submissions (issue 15), on a real PostgreSQL server.

While `import_responses` loads ~50,000 rows (into a new wave and into the open wave the API
writes to), a paced client posts through a real HTTP server (live_server). The import is
held open right after its rows are written (its locks all taken, nothing committed): the
client's submissions must go through in that window, which they could not while the loader
dropped the table's foreign keys and indexes (ACCESS EXCLUSIVE until commit) or held the
waves FOR UPDATE. Then the import's result must equal a quiet run of the same file.

Run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/nilai_<area> ... --create-db;
skipped on SQLite.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from django.db import connection

from surveys import models as m
from surveys.api import views as api_views
from surveys.services.accounts import token_issue, user_grant_role
from surveys.services.imports import responses as module
from tests.api_fixtures import build_world, payload

pytestmark = pytest.mark.postgres
ROWS = 50_000
IN_WINDOW = 10  # submissions that must succeed while the import holds its transaction
WAIT = 120.0  # a guard against hanging, never a measurement


@pytest.fixture(autouse=True)
def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: DATABASE_URL=postgres://...")


@pytest.fixture
def live_world(transactional_db: None) -> dict[str, Any]:
    api_views.clear_caches()
    world = build_world()
    user_grant_role(username="enum", role="enumerator", region_codes=["6400"])
    world["token"] = token_issue(username="enum")
    yield world
    api_views.clear_caches()


def _write_file(path: Path, codes: list[str], open_year: int) -> Path:
    """ROWS rows: half into a new wave (open_year - 1), half into the open wave."""
    rng = np.random.default_rng(15)
    half = ROWS // 2
    years = np.repeat([open_year - 1, open_year], [half, ROWS - half])
    ids = np.concatenate([np.arange(half), np.arange(ROWS - half)])
    regions = rng.choice(["6401", "6402"], size=ROWS)
    sexes = rng.choice(["L", "P"], size=ROWS)
    answers = rng.integers(1, 6, size=(ROWS, len(codes)))
    lines = [",".join(["respondent", "wave", "region", "sex", "age_group", "stratum", "psu",
                       "base_weight", *codes])]
    for i in range(ROWS):
        lines.append(",".join([
            f"IMP{ids[i]:06d}", str(years[i]), regions[i], sexes[i], "35-44", regions[i],
            f"P{i % 97}", f"{1 + (i % 50) / 7:.4f}", *map(str, answers[i].tolist())]))
    path.write_text("\n".join(lines) + "\n")
    return path


def _imported() -> list[tuple]:
    """The imported rows; the submission id as whether none is stored (the row's id is then
    the one derived from its own respondent and wave, whose primary keys differ from one run
    to the next)."""
    rows = m.Response.objects.filter(source=m.ResponseSource.IMPORT).values_list(
        "wave__year", "respondent__panel_key", "submission_id", "respondent_id", "wave_id",
        "content_hash", "answers", "region__code", "sex", "stratum", "psu", "base_weight",
        "status")
    return sorted((year, key, sid is None, *rest)
                  for year, key, sid, respondent, wave, *rest in rows)


class _PacedClient(threading.Thread):
    """Posts a new response every `interval` seconds until stopped; records every result."""

    def __init__(self, url: str, token: str, interval: float = 0.05):
        super().__init__(daemon=True)
        self.url, self.token, self.interval = url, token, interval
        self.stop = threading.Event()
        self.results: list[tuple[int | str, float]] = []
        self.lock = threading.Lock()

    def ok_count(self) -> int:
        with self.lock:
            return sum(1 for code, _ in self.results if code == 201)

    def run(self) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Token {self.token}"
            i = 0
            while not self.stop.is_set():
                body = payload(region="6401", respondent=f"API{i:05d}")
                start = time.perf_counter()
                try:
                    code: int | str = session.post(self.url, json=body, timeout=WAIT).status_code
                except requests.RequestException as exc:  # reported by the test
                    code = repr(exc)
                with self.lock:
                    self.results.append((code, time.perf_counter() - start))
                i += 1
                self.stop.wait(self.interval)


def test_submissions_go_on_during_a_large_import_and_the_result_is_a_quiet_runs(
        live_server, live_world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    wave = live_world["wave"]
    path = _write_file(tmp_path / "big.csv", live_world["codes"], wave.year)
    client = _PacedClient(f"{live_server.url}/api/v1/waves/{wave.pk}/responses/",
                          live_world["token"])
    window: dict[str, Any] = {}
    original = module._insert_responses

    def held_open(*args: Any) -> None:
        original(*args)
        # every row written, every lock of the import taken, nothing committed
        before = client.ok_count()
        deadline = time.monotonic() + WAIT
        while client.ok_count() < before + IN_WINDOW and time.monotonic() < deadline:
            time.sleep(0.05)
        window["succeeded"] = client.ok_count() - before
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT mode FROM pg_locks WHERE pid = pg_backend_pid() "
                "AND relation = 'surveys_response'::regclass")
            window["modes"] = {row[0] for row in cursor.fetchall()}

    monkeypatch.setattr(module, "_insert_responses", held_open)
    client.start()
    try:
        report = module.responses_import(path=path, instrument_code="IINP")
    finally:
        client.stop.set()
        client.join(timeout=WAIT)
    monkeypatch.setattr(module, "_insert_responses", original)

    assert window["succeeded"] >= IN_WINDOW, (
        f"only {window['succeeded']} submissions while the import held its transaction")
    assert window["modes"] <= {"AccessShareLock", "RowExclusiveLock",
                               "ShareUpdateExclusiveLock"}, window["modes"]
    codes = [code for code, _ in client.results]
    assert codes and set(codes) == {201}, codes
    assert (report.created, report.unchanged, report.waves_created) == (
        ROWS, 0, (wave.year - 1,))
    api_rows = m.Response.objects.filter(source=m.ResponseSource.API).count()
    assert api_rows == len(codes)
    concurrent = _imported()
    assert len(concurrent) == ROWS

    # the same file imported on a quiet database gives the same rows
    m.Response.objects.filter(source=m.ResponseSource.IMPORT).delete()
    m.Respondent.objects.filter(responses__isnull=True).delete()
    m.Wave.objects.filter(year=wave.year - 1).delete()
    quiet = module.responses_import(path=path, instrument_code="IINP")
    assert (quiet.created, quiet.respondents_created, quiet.waves_created) == (
        report.created, report.respondents_created, report.waves_created)
    assert _imported() == concurrent
    assert m.Response.objects.filter(source=m.ResponseSource.API).count() == api_rows


def test_rows_the_new_responses_point_to_cannot_be_deleted_meanwhile(
        live_world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """With the foreign-key triggers skipped for the COPY, the import itself holds the locks
    they would take: an existing respondent and the region of a new response cannot be locked
    for a delete (FOR UPDATE) by another session until the import commits."""
    import psycopg

    codes = live_world["codes"]
    header = "respondent,wave,region,sex,age_group,stratum,psu,base_weight," + ",".join(codes)
    cells = "6401,L,35-44,6401,P1,1.5," + ",".join(["3"] * len(codes))
    first = tmp_path / "first.csv"
    first.write_text(f"{header}\nOLD1,2023,{cells}\n")
    module.responses_import(path=first, instrument_code="IINP")
    second = tmp_path / "second.csv"
    second.write_text(f"{header}\nOLD1,2024,{cells}\nNEW1,2024,{cells}\n")
    settings = connection.settings_dict
    blocked: dict[str, bool] = {}
    original = module._insert_responses

    def try_delete_locks(*args: Any) -> None:
        original(*args)
        with psycopg.connect(host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
                             user=settings["USER"], dbname=settings["NAME"],
                             autocommit=True) as other:
            for name, sql in (
                ("respondent", "SELECT 1 FROM surveys_respondent WHERE panel_key = 'OLD1' "
                               "FOR UPDATE NOWAIT"),
                ("region", "SELECT 1 FROM surveys_region WHERE code = '6401' FOR UPDATE NOWAIT"),
            ):
                try:
                    other.execute(sql)
                    blocked[name] = False
                except psycopg.errors.LockNotAvailable:
                    blocked[name] = True

    monkeypatch.setattr(module, "_insert_responses", try_delete_locks)
    report = module.responses_import(path=second, instrument_code="IINP")

    assert report.created == 2
    assert blocked == {"respondent": True, "region": True}


def test_a_respondent_created_meanwhile_is_taken_as_it_is(
        live_world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The import creates the respondents of the keys not stored yet by a COPY. A respondent
    of the file created by another session after the import looked (an API submission) makes
    it fail on the unique key; the import then takes that respondent as it is (INSERT ... ON
    CONFLICT DO NOTHING) and succeeds, its row pointing to it."""
    import psycopg
    from django.conf import settings as django_settings

    from surveys.ingest.keys import panel_key_for

    codes = live_world["codes"]
    header = "respondent,wave,region,sex,age_group,stratum,psu,base_weight," + ",".join(codes)
    cells = "6401,L,35-44,6401,P1,1.5," + ",".join(["3"] * len(codes))
    path = tmp_path / "race.csv"
    path.write_text(f"{header}\nRACE1,2024,{cells}\nRACE2,2024,{cells}\n")
    key = panel_key_for("RACE1", secret=django_settings.PANEL_KEY_SECRET)
    db = connection.settings_dict
    dsn = dict(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
               dbname=db["NAME"])
    other = psycopg.connect(**dsn)  # a transaction of its own, left open
    other.execute("INSERT INTO surveys_respondent (panel_key, created_at) VALUES (%s, now())",
                  [key])
    seen_waiting = threading.Event()

    def commit_once_the_import_waits() -> None:
        with psycopg.connect(**dsn, autocommit=True) as watcher:
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline:
                (waiting,) = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND "
                    "wait_event_type = 'Lock' AND query LIKE "
                    "'COPY \"surveys_respondent\"%%'",
                    [db["NAME"]]).fetchone()
                if waiting:
                    seen_waiting.set()
                    break
                time.sleep(0.02)
        other.commit()
        other.close()

    committer = threading.Thread(target=commit_once_the_import_waits, daemon=True)
    committer.start()
    report = module.responses_import(path=path, instrument_code="IINP")
    committer.join(WAIT)

    assert seen_waiting.is_set(), "the import's COPY never waited on the other session"
    assert (report.created, report.respondents_created) == (2, 1)
    theirs = m.Respondent.objects.get(panel_key=key)
    assert m.Response.objects.get(respondent__panel_key=key).respondent_id == theirs.pk
    assert m.Respondent.objects.filter(panel_key=key).count() == 1
