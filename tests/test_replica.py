"""DATABASE_REPLICA_URL (issue 15): the publish path and the exports read from the replica.

In tests the ``replica`` alias is a test mirror of ``default`` (backend/settings/test.py): the
same database through its own connection. `writer_guard` makes every SELECT on a result or
response table FAIL when it runs on the writer's connection during the call - at Django's level
(`execute_wrapper`) and, on PostgreSQL, at psycopg's as well, since the streaming readers
execute on the raw psycopg connection - and counts the ones that ran on the replica. The tests
pass only because those reads go to the replica; with ``NILAI_READ_REPLICA`` off (no replica
configured) the same calls read from the writer, which `test_the_guard_catches_reads_on_the_writer`
shows the guard would refuse.

The data must be committed for the replica's connection to see it, hence ``transaction=True``.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest
from django.db import connections, router
from django.test import Client
from rest_framework.test import APIClient

from surveys import models as m
from surveys import publish
from surveys.publish.catalogue import TABLES
from surveys.reports.jobs import documents
from surveys.routers import REPLICA, ReplicaRouter, read_alias, replica_iter, replica_reads
from surveys.services import demo, exports
from surveys.services.compute import compute_indices
from tests.results_world import make_user, token_for
from tests.test_publish_path import (
    EXERCISE,
    _has_suffix,
    clients_for,
    declared,
    perform,
    url_names,
)
from tests.test_publish_path import world as world  # noqa: F401 - the walk's world fixture

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])

#: the tables whose reads belong on the replica: every published result table, the responses,
#: respondents and stored weights, the indicator values and targets
GUARDED_MODELS = {spec.model for spec in TABLES.values()} | {
    m.Response, m.Respondent, m.WaveWeights, m.IndicatorValue, m.Target}
GUARDED = re.compile(
    r"\b(" + "|".join(sorted(re.escape(model._meta.db_table) for model in GUARDED_MODELS))
    + r")\b", re.IGNORECASE)
READ = re.compile(r"^\s*(SELECT|WITH|DECLARE)\b", re.IGNORECASE)


@dataclass
class Guard:
    on_writer: list[str] = field(default_factory=list)
    on_replica: Counter = field(default_factory=Counter)

    def table(self, sql: str) -> str | None:
        sql = sql.decode() if isinstance(sql, bytes) else str(sql)
        if not READ.match(sql):
            return None
        found = GUARDED.search(sql)
        return found.group(1).lower() if found else None

    def writer_read(self, sql: Any) -> None:
        table = self.table(sql)
        if table:
            self.on_writer.append(str(sql)[:160])
            raise AssertionError(f"read of {table} on the writer connection: {str(sql)[:160]}")

    def replica_read(self, sql: Any) -> None:
        table = self.table(sql)
        if table:
            self.on_replica[table] += 1


@contextmanager
def writer_guard() -> Iterator[Guard]:
    guard = Guard()
    writer, replica = connections["default"], connections[REPLICA]

    def on_writer(execute, sql, params, many, context):
        guard.writer_read(sql)
        return execute(sql, params, many, context)

    def on_replica(execute, sql, params, many, context):
        guard.replica_read(sql)
        return execute(sql, params, many, context)

    patches: list[tuple[type, Any]] = []
    if writer.vendor == "postgresql":
        import psycopg

        def raw(cls: type) -> None:
            original = cls.execute

            def execute(self, query, *args, **kwargs):
                sql = query.as_string(self) if hasattr(query, "as_string") else query
                if self.connection is writer.connection:
                    guard.writer_read(sql)
                elif self.connection is replica.connection:
                    guard.replica_read(sql)
                return original(self, query, *args, **kwargs)

            patches.append((cls, original))
            cls.execute = execute

        raw(psycopg.Cursor)
        raw(psycopg.ServerCursor)
    try:
        with writer.execute_wrapper(on_writer), replica.execute_wrapper(on_replica):
            yield guard
    finally:
        for cls, original in patches:
            cls.execute = original


@pytest.fixture
def replica_on(settings) -> None:
    settings.NILAI_READ_REPLICA = True


def test_the_replica_alias_mirrors_default_and_is_never_migrated(settings) -> None:
    assert settings.DATABASES[REPLICA]["TEST"]["MIRROR"] == "default"
    assert read_alias() == "default"  # NILAI_READ_REPLICA off: the no-replica default
    with replica_reads():
        assert router.db_for_read(m.Response) == "default"
    settings.NILAI_READ_REPLICA = True
    assert read_alias() == REPLICA
    assert router.db_for_read(m.Response) == "default"  # outside the publish/export paths
    with replica_reads():
        assert router.db_for_read(m.Response) == REPLICA
        assert router.db_for_write(m.ExportJob) == "default"
    assert ReplicaRouter().allow_migrate(REPLICA, "surveys") is False
    assert ReplicaRouter().allow_migrate("default", "surveys") is None


def test_replica_iter_routes_only_while_the_generator_runs(replica_on) -> None:
    def produce() -> Iterator[str]:
        for _ in range(2):
            yield router.db_for_read(m.Response)

    for alias in replica_iter(produce()):
        assert alias == REPLICA
        assert router.db_for_read(m.Response) == "default"  # the consumer's reads


def test_the_guard_catches_reads_on_the_writer(world) -> None:  # noqa: F811
    """Without the replica switched on, the same reads hit the writer and the guard refuses."""
    with writer_guard() as guard, pytest.raises(AssertionError, match="on the writer"):
        list(publish.estimates(regions=None))
    assert guard.on_writer
    with writer_guard() as guard, pytest.raises(AssertionError, match="on the writer"):
        b"".join(exports.iter_export(table="estimates", fmt="csv"))


@pytest.mark.parametrize("role", ["admin", "office"])
def test_api_exports_jobs_charts_and_dashboard_read_only_from_the_replica(
        world, role, replica_on, tmp_path, django_capture_on_commit_callbacks):  # noqa: F811
    """The publish-path walk of tests/test_publish_path.py (every result list, every export
    table in every format, every export job - microdata and weights included - and its file,
    the charts, the dashboard) with the writer guarded."""
    api, web = clients_for(role)
    seen: dict[str, int] = {}
    patterns = [(route, name) for route, name in url_names() if not declared(name)]
    patterns.sort(key=lambda p: p[1] not in ("export-job-list",))
    replica_reads_by_name: Counter = Counter()
    with writer_guard() as guard:
        for route, name in patterns:
            before = sum(guard.on_replica.values())
            for req in EXERCISE[(name, _has_suffix(route))](role):
                perform(role, api, web, name, req, tmp_path, seen,
                        django_capture_on_commit_callbacks)
            replica_reads_by_name[name] += sum(guard.on_replica.values()) - before
    assert not guard.on_writer
    published = {"results-estimate-list", "results-trend-list", "results-indicator-list",
                 "results-export", "results-trend-chart", "dashboard:home", "export-job-list"}
    assert published <= set(seen)
    assert all(replica_reads_by_name[name] > 0 for name in published), replica_reads_by_name
    jobs = m.ExportJob.objects.filter(table__in=["microdata", "weights"])
    if role == "admin":  # offices may not export respondent-level tables
        assert set(jobs.values_list("table", "status")) == {("microdata", "done"),
                                                            ("weights", "done")}


# --- real microdata: demo responses and a computed run ----------------------------------------


@pytest.fixture
def computed(settings, tmp_path) -> None:
    settings.NILAI_AUTO_RECOMPUTE = False
    settings.NILAI_EXPORT_DIR = tmp_path / "exports"
    demo.load_bundled()
    demo.demo_generate(respondents=600, seed=5, years=(2022, 2023))
    compute_indices()


def _exported(table: str, fmt: str = "csv", **kw: Any) -> bytes:
    return b"".join(exports.iter_export(table=table, fmt=fmt, salt=b"s" * 32, **kw))


def test_microdata_weights_and_report_stream_from_the_replica(computed, settings) -> None:
    tables = ["estimates", "weights", "microdata", "codebook", "reliability"]
    on_writer = {t: _exported(t) for t in tables}
    report_writer = documents(regions=["ALL"], year=2022, fmt="docx", lang="id", scope=None)
    settings.NILAI_READ_REPLICA = True
    with writer_guard() as guard:
        on_replica = {t: _exported(t) for t in tables}
        parquet = _exported("microdata", "parquet")
        report_replica = documents(regions=["ALL"], year=2022, fmt="docx", lang="id",
                                   scope=None)
    assert not guard.on_writer
    assert on_replica == on_writer  # same bytes from either connection
    micro = pd.read_csv(io.BytesIO(on_replica["microdata"]))
    assert len(micro) > 100 and len(pd.read_csv(io.BytesIO(on_replica["weights"]))) > 100
    assert len(parquet) > 0
    assert [name for name, _ in report_replica] == [name for name, _ in report_writer]
    for table in ("surveys_response", "surveys_waveweights", "surveys_estimateresult"):
        assert guard.on_replica[table] > 0, guard.on_replica


def test_a_microdata_job_through_the_api_reads_from_the_replica(
        computed, replica_on, django_capture_on_commit_callbacks) -> None:
    user = make_user("replica-researcher", "researcher")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    web = Client()
    web.force_login(user)
    with writer_guard() as guard:
        with django_capture_on_commit_callbacks(execute=True):
            created = api.post("/api/v1/exports/jobs/", {"table": "microdata", "format": "csv"},
                               format="json")
        assert created.status_code == 202, created.content[:300]
        job = api.get(created.json()["url"]).json()
        assert job["status"] == "done", job
        body = b"".join(api.get(job["file_url"]).streaming_content)
        assert web.get("/dashboard/").status_code == 200
    assert not guard.on_writer
    assert len(pd.read_csv(io.BytesIO(body))) > 100
    assert guard.on_replica["surveys_response"] > 0
