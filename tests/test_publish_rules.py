"""The rules of the publish path are defined once (issue 9): READER_ROLES, the year range and
the region-write rule, each in one module; one column catalogue per result table feeds the API
serializers and the export files."""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from surveys import publish
from surveys.api import results
from surveys.models import Role
from surveys.models.waves import YEAR_MAX, YEAR_MIN
from surveys.selectors.access import READER_ROLES, is_reader, write_scope
from surveys.services import exports
from tests.results_world import build_world, make_user, token_for

SURVEYS = Path(__file__).resolve().parent.parent / "surveys"


def _modules() -> list[Path]:
    return [p for p in SURVEYS.rglob("*.py") if "migrations" not in p.parts]


def test_the_year_range_is_written_once():
    copies = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in (1945, 2200) and not isinstance(
                    node.value, bool):
                copies.append(str(path.relative_to(SURVEYS)))
    assert copies == ["models/waves.py", "models/waves.py"]  # YEAR_MIN, YEAR_MAX
    assert (YEAR_MIN, YEAR_MAX) == (1945, 2200)
    year = results.WaveParams().fields["wave"]
    assert (year.min_value, year.max_value) == (YEAR_MIN, YEAR_MAX)


def test_reader_roles_and_the_write_rule_are_defined_in_access_only():
    defined = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if "READER_ROLES" in names:
                defined.append(str(path.relative_to(SURVEYS)))
            if isinstance(node, ast.FunctionDef) and node.name == "write_scope":
                defined.append(f"{path.relative_to(SURVEYS)}:write_scope")
    assert sorted(defined) == ["selectors/access.py", "selectors/access.py:write_scope"]
    assert READER_ROLES == {Role.OFFICE, Role.RESEARCHER, Role.ADMIN}
    assert is_reader({Role.OFFICE}) and not is_reader({Role.ENUMERATOR, Role.RESPONDENT})


@pytest.mark.parametrize(("roles", "scope"), [
    ({Role.ADMIN}, "any"), ({Role.RESPONDENT}, "any"), ({Role.ENUMERATOR}, "assigned"),
    ({Role.ENUMERATOR, Role.RESPONDENT}, "any"), ({Role.OFFICE}, "none"),
    ({Role.RESEARCHER}, "none"), (set(), "none"),
])
def test_write_scope(roles, scope):
    assert write_scope(roles) == scope


API_PATHS = {"estimates": "estimates/", "trends": "trends/", "changes": "changes/",
             "reliability": "reliability/", "items": "items/", "cfa": "cfa/",
             "proxy_validation": "proxy-validation/", "achievements": "achievements/",
             "programme_effects": "programme-effects/", "programme_types": "programme-types/",
             "sae": "small-area/", "retention": "retention/",
             "panel_changes": "panel-changes/", "invariance": "invariance/",
             "bridges": "bridges/"}


@pytest.mark.django_db
@pytest.mark.parametrize("table", sorted(publish.TABLES))
def test_api_keys_and_export_header_come_from_the_catalogue(table):
    build_world()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(make_user('r', Role.RESEARCHER))}")
    spec = publish.TABLES[table]

    rows = client.get(f"/api/v1/{API_PATHS[table]}").json()["results"]
    header = next(csv.reader(io.StringIO(
        b"".join(exports.iter_export(table=table, fmt="csv")).decode())))

    assert rows and all(list(row) == [c.name for c in spec.columns] for row in rows)
    assert header == [c.name for c in spec.exported_columns]
    assert exports.EXPORT_TABLES[table].region_column == (
        "region" if spec.region_lookup else None)
