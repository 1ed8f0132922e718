"""The OpenAPI schema is valid, and the running API honours it (schemathesis).

Every operation of the live schema (/api/schema/, loaded through the WSGI app) gets 20
deterministic examples (derandomize=True) sent with an admin token; the checks are: no 5xx and
every documented response matches its schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from backend.wsgi import application
from surveys.services.accounts import token_issue, user_grant_role
from tests.api_fixtures import build_world


def test_spectacular_validate_fail_on_warn_is_clean(tmp_path: Path) -> None:
    out, err = StringIO(), StringIO()
    target = tmp_path / "schema.yml"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(target),
        stdout=out, stderr=err,
    )
    assert err.getvalue() == ""
    text = target.read_text()
    assert text.startswith("openapi: 3.0.3")
    for path in ("/api/v1/waves/{wave_id}/responses/", "/api/v1/regions/",
                 "/api/v1/instruments/{code}/", "/api/v1/invitations/redeem/"):
        assert f"  {path}:" in text


def _operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


@pytest.fixture
def api_world(db: None) -> Iterator[dict[str, Any]]:
    world = build_world()
    user_grant_role(username="fuzz-admin", role="admin")
    world["headers"] = {"Authorization": f"Token {token_issue(username='fuzz-admin')}"}
    # The WSGI handler closes DB connections after each request, which would end the test's
    # transaction on PostgreSQL; Django's own test client disconnects these handlers too.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield world
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize("method,path", _operations())
def test_api_conforms_to_its_schema(api_world: dict[str, Any], method: str, path: str) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    operation = schema[path][method]
    fixed: dict[str, Any] = {}
    if "{wave_id}" in path:
        fixed["wave_id"] = api_world["wave"].pk  # reach the response logic, not only 404s
    strategy = operation.as_strategy(path_parameters=fixed or None)

    @settings(
        max_examples=20, derandomize=True, deadline=None, database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(
            headers=api_world["headers"],
            checks=[not_a_server_error, response_schema_conformance],
        )

    check()
