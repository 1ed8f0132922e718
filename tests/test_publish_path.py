"""One publish path, proven (issue 9): every URL pattern, every export table and format, the
charts and the dashboard, for every role, show no suppressed number and no region outside the
caller's scope.

The walk iterates Django's URL resolver, so a new endpoint is covered without being listed by
hand: each pattern must either have an exerciser in `EXERCISE` (requests that reach it with
real arguments) or be declared non-publishing in `NON_PUBLISHING` with the reason; any other
pattern fails `test_every_url_pattern_is_exercised_or_declared`.

The world (tests/results_world.py) gets two suppressed cells whose stored numbers are unique
(nothing published carries them): 6402 INDEX 2022 (outside the office's scope) and 6401 S1
2023 (inside it, so the office sees the row with n but blank numbers). Outputs are parsed
(JSON values, CSV/XLSX/Parquet/SAV/DTA cells, SVG text and axis ticks, HTML text and
attributes), not grepped.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pyreadstat
import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from surveys import models as m
from surveys.publish import SUPPRESSED_FIELDS
from surveys.services import exports
from tests.results_world import build_world, make_user, token_for

pytestmark = pytest.mark.django_db

#: stored numbers of the suppressed cells: region, dimension, year -> field -> value
HIDDEN = {
    ("6402", "INDEX", 2022): {"estimate": 41.37, "se": 8.17, "ci_low": 32.83, "ci_high": 49.91},
    ("6401", "S1", 2023): {"estimate": 38.46, "se": 6.29, "ci_low": 26.13, "ci_high": 47.52},
}
HIDDEN_NUMBERS = sorted({v for cell in HIDDEN.values() for v in cell.values()})
HIDDEN_CATEGORY = "sangat rendah"  # stored on both suppressed rows, on no published one
#: every honest estimate and CI of the world is >= 53.5, every hidden one < 50
LOWEST_PUBLISHED = 50.0

OFFICE_SCOPE = {"ALL", "6401", "640101"}
OUT_OF_SCOPE_STRINGS = {"6402", "Kutai Barat"}

ROLES = ["respondent", "enumerator", "office", "researcher", "admin", "anonymous"]
READERS = {"office", "researcher", "admin"}

#: URL names that publish no result numbers, with the reason (prefix match for `admin:`).
NON_PUBLISHING = {
    "admin:": "Django admin: the staff back office over the stored tables (DECISIONS 18), "
              "behind is_staff, not a publication",
    "dashboard:login": "login form",
    "dashboard:logout": "logout",
    "dashboard:password-set": "set-password form of a first-login link",
    "schema": "OpenAPI description (no data)",
    "swagger-ui": "API documentation page (no data)",
    "wave-response-create": "submission endpoint (write side)",
    "wave-response-detail": "submission endpoint: a caller's own draft/response",
    "wave-response-submit": "submission endpoint (write side)",
    "invitation-redeem": "submission side: redeems an invitation code",
    "collect:": "data-collection form and its service worker (submission side)",
    # the Bappeda report (issue 13): these start a report job or show its status; the PDF/DOCX
    # comes from export-job-file. Its scope (office: own region only) and the suppression rule
    # are proven on the documents themselves (pdftotext, python-docx) in tests/test_report*.py
    "report-create": "starts a report job (job record only; scope tested in test_report_jobs)",
    "dashboard:report-start": "starts a report job (redirect only; test_report_jobs)",
    "dashboard:report-status": "status page of the caller's own report job (test_report_jobs)",
}


@dataclass
class Req:
    """One request of the walk; `ok`: the role must get 200 here (a reader on data it may
    see), so the walk cannot pass by every endpoint refusing."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    ok: bool = False
    follow_file: bool = False  # export job: fetch the finished file too
    shared: bool = False  # a table every reader sees whole (SHARED_TABLES): no scope check


# --- the world -------------------------------------------------------------------------------


@pytest.fixture
def world(settings, tmp_path):
    settings.NILAI_EXPORT_DIR = tmp_path / "exports"
    built = build_world()
    for (region, dimension, year), numbers in HIDDEN.items():
        updated = m.EstimateResult.objects.filter(
            region_code=region, dimension=dimension, wave__year=year
        ).update(n=25, n_eff=20.5, suppressed=True, category=HIDDEN_CATEGORY, **numbers)
        assert updated == 1
    return built


def clients_for(role: str) -> tuple[APIClient, Client]:
    api, web = APIClient(), Client()
    if role == "anonymous":
        return api, web
    regions = {"office": ("6401",), "enumerator": ("6402",)}.get(role, ())
    user = make_user(f"walk-{role}", role, *regions)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    web.force_login(user)
    return api, web


# --- the URL resolver ------------------------------------------------------------------------


def url_names() -> Iterator[tuple[str, str]]:
    """(route, name) of every URL pattern, namespaced names as ``ns:name``."""

    def walk(patterns: list, prefix: str, namespace: str | None) -> Iterator[tuple[str, str]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern),
                                pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern):
                name = pattern.name or "<unnamed>"
                yield prefix + str(pattern.pattern), f"{namespace}:{name}" if namespace else name

    yield from walk(get_resolver().url_patterns, "", None)


def declared(name: str) -> bool:
    return name in NON_PUBLISHING or any(
        key.endswith(":") and name.startswith(key) for key in NON_PUBLISHING
    )


# --- exercisers: URL name -> requests for a role ----------------------------------------------

RESULT_LISTS = {
    "results-estimate-list": "estimates/", "results-trend-list": "trends/",
    "results-change-list": "changes/", "results-reliability-list": "reliability/",
    "results-item-list": "items/", "results-cfa-list": "cfa/",
    "results-proxy-list": "proxy-validation/", "results-indicator-list": "indicators/",
    "results-achievement-list": "achievements/",
    "results-programme-effect-list": "programme-effects/",
    "results-programme-type-list": "programme-types/",
    "results-small-area-list": "small-area/",
    "results-retention-list": "retention/", "results-panel-change-list": "panel-changes/",
    "results-invariance-list": "invariance/", "results-bridge-list": "bridges/",
}
#: the programme evaluation is shared with every reader of the province on purpose (learning
#: from other regions is the point, DECISIONS 38): the suppression check applies, not the scope
SHARED_TABLES = {"programme_effects", "programme_types"}
SHARED_LISTS = {"results-programme-effect-list", "results-programme-type-list"}


def _lists(name: str) -> Callable[[str], list[Req]]:
    def requests(role: str) -> list[Req]:
        path = f"/api/v1/{RESULT_LISTS[name]}"
        return [Req("get", path, {"page_size": 1000}, ok=role in READERS),
                Req("get", path, {"page_size": 1000, "region": "6402"}, ok=role in READERS)]
    return requests


def _exports(role: str) -> list[Req]:
    out = []
    for table, spec in exports.EXPORT_TABLES.items():
        for fmt in exports.FORMATS:
            # respondent-level tables are served through export jobs only
            ok = role in READERS and spec.kind == "aggregate"
            out.append(Req("get", f"/api/v1/exports/{table}.{fmt}", ok=ok,
                           shared=table in SHARED_TABLES))
    return out


def _job_create(role: str) -> list[Req]:
    out = []
    for table, spec in exports.EXPORT_TABLES.items():
        for fmt in exports.FORMATS:
            ok = role in {"researcher", "admin"} or (role == "office" and spec.kind == "aggregate")
            out.append(Req("post", "/api/v1/exports/jobs/", {"table": table, "format": fmt},
                           ok=ok, follow_file=True, shared=table in SHARED_TABLES))
        if spec.region_column is not None:
            out.append(Req("post", "/api/v1/exports/jobs/",
                           {"table": table, "format": "csv", "filters": {"region": ["6402"]}},
                           ok=role in {"researcher", "admin"}, follow_file=True))
    return out


def _job_ids() -> list[int]:
    return list(m.ExportJob.objects.order_by("pk").values_list("pk", flat=True))


def _charts(role: str) -> list[Req]:
    out = []
    for region in ("ALL", "6401", "6402", "640101"):
        for dimension in ("INDEX", "S1"):
            for fmt in ("svg", "png"):
                visible = region != "640101" and (  # 640101 has no estimates: 404
                    role in {"researcher", "admin"} or (role == "office" and region != "6402"))
                out.append(Req("get", f"/api/v1/charts/trend.{fmt}",
                               {"region": region, "dimension": dimension}, ok=visible))
    return out


def _dashboard(role: str) -> list[Req]:
    out = [Req("get", "/dashboard/", ok=role in READERS)]
    for region in ("ALL", "6401", "6402", "640101"):
        visible = role in {"researcher", "admin"} or (role == "office" and region != "6402")
        out.append(Req("get", "/dashboard/", {"region": region},
                       ok=visible and region != "640101"))  # 640101 has no estimates
    return out


def _catalogue(kind: str, detail: bool, suffix: bool) -> Callable[[str], list[Req]]:
    def requests(role: str) -> list[Req]:
        ext = ".json" if suffix else "/"
        if not detail:
            return [Req("get", f"/api/v1/{kind}{ext}")]
        keys = {
            "regions": ["64", "6401", "6402"], "instruments": ["IINP"],
            "waves": [str(pk) for pk in m.Wave.objects.values_list("pk", flat=True)],
            "programmes": list(m.Programme.objects.values_list("code", flat=True)),
        }[kind]
        return [Req("get", f"/api/v1/{kind}/{key}{ext}") for key in keys]
    return requests


#: exercisers keyed by (name, whether the route has a format suffix)
EXERCISE: dict[tuple[str, bool], Callable[[str], list[Req]]] = {
    **{(name, False): _lists(name) for name in RESULT_LISTS},
    ("results-export", False): _exports,
    ("results-trend-chart", False): _charts,
    ("dashboard:home", False): _dashboard,
    ("export-job-list", False): _job_create,
    # list/detail/file of the jobs made by export-job-list's requests (see `walk`)
    ("export-job-detail", False): lambda role: [
        Req("get", f"/api/v1/exports/jobs/{pk}/") for pk in _job_ids()],
    ("export-job-file", False): lambda role: [
        Req("get", f"/api/v1/exports/jobs/{pk}/file", shared=table in SHARED_TABLES)
        for pk, table in m.ExportJob.objects.order_by("pk").values_list("pk", "table")],
    **{(f"{kind[:-1]}-{what}", suffix): _catalogue(kind, what == "detail", suffix)
       for kind in ("regions", "instruments", "waves", "programmes")
       for what in ("list", "detail")
       for suffix in (False, True)},
}
#: catalogue endpoints list region definitions (and the programme registry, shared across
#: regions on purpose) to every caller by design, not results: the scope check does not apply
#: to them, the suppression check does
CATALOGUE = {"region-list", "region-detail", "instrument-list", "instrument-detail",
             "wave-list", "wave-detail", "programme-list", "programme-detail"}
#: job records echo the caller's own request (its region filter); their files are scoped
ECHO = {"export-job-list", "export-job-detail"}


def _has_suffix(route: str) -> bool:
    return "(?P<format>" in route


# --- parsing -----------------------------------------------------------------------------------


@dataclass
class Parsed:
    """What an output says: its scalar values, its rows (dicts) and chart y ticks."""

    scalars: list[Any]
    rows: list[dict[str, Any]]
    y_ticks: list[float]
    html_text: list[str]
    shared_text: list[str] = field(default_factory=list)  # see `_Html`


def _json_walk(value: Any, scalars: list, rows: list) -> None:
    if isinstance(value, dict):
        rows.append(value)
        for item in value.values():
            _json_walk(item, scalars, rows)
    elif isinstance(value, list):
        for item in value:
            _json_walk(item, scalars, rows)
    else:
        scalars.append(value)


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _table_rows(header: list[str], data: list[list[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(header, row, strict=False)) for row in data]


class _Html(HTMLParser):
    """Texts and attribute values of a page; those inside an element marked ``data-shared``
    (the dashboard's programme panel: the registry and its evaluation are shared with every
    reader on purpose, DECISIONS 38) are kept apart in `shared`: checked for suppressed
    numbers, not for the region scope."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.shared: list[str] = []
        self._shared_tag: str | None = None
        self._shared_depth = 0

    def _sink(self) -> list[str]:
        return self.shared if self._shared_tag else self.texts

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._shared_tag is None and any(name == "data-shared" for name, _ in attrs):
            self._shared_tag = tag
        if tag == self._shared_tag:
            self._shared_depth += 1
        self._sink().extend(value for _, value in attrs if value)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._shared_tag:
            self._shared_depth -= 1
            if self._shared_depth == 0:
                self._shared_tag = None

    def handle_data(self, data: str) -> None:
        if data.strip():
            self._sink().append(data.strip())


def parse(content: bytes, content_type: str, tmp_path: Path) -> Parsed:
    scalars: list[Any] = []
    rows: list[dict[str, Any]] = []
    ticks: list[float] = []
    html: list[str] = []
    shared: list[str] = []
    ctype = content_type.split(";")[0]
    if ctype == "application/json":
        _json_walk(json.loads(content), scalars, rows)
    elif ctype == "text/csv":
        table = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        data = [[c if c else None for c in row] for row in table[1:]]
        rows = _table_rows(table[0], data) if table else []
        scalars = [c for row in table for c in row]  # strings; numbers are parsed in check
    elif "spreadsheetml" in ctype:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        for sheet in book.worksheets:
            table = [list(r) for r in sheet.iter_rows(values_only=True)]
            scalars += [c for row in table for c in row]
            if sheet.title != "variabel" and table:
                rows += _table_rows([str(h) for h in table[0]], table[1:])
    elif ctype in ("application/vnd.apache.parquet", "application/x-parquet",
                   "application/octet-stream") and content[:4] == b"PAR1":
        rows = pq.read_table(io.BytesIO(content)).to_pylist()
        scalars = [v for row in rows for v in row.values()]
    elif content[:4] in (b"$FL2", b"$FL3") or content[:11] == b"<stata_dta>":
        path = tmp_path / ("out.sav" if content[:1] == b"$" else "out.dta")
        path.write_bytes(content)
        reader = pyreadstat.read_sav if path.suffix == ".sav" else pyreadstat.read_dta
        frame, _meta = reader(str(path))
        rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v)
                 for k, v in row.items()} for row in frame.to_dict("records")]
        scalars = [v for row in rows for v in row.values()]
    elif ctype == "image/svg+xml":
        root = ET.fromstring(content)
        svg = "{http://www.w3.org/2000/svg}"
        scalars = ["".join(n.itertext()).strip() for n in root.iter(f"{svg}text")]
        for group in root.iter(f"{svg}g"):
            if (group.get("id") or "").startswith("ytick_"):
                label = "".join(t for n in group.iter(f"{svg}text") for t in n.itertext())
                if label.strip():
                    ticks.append(float(label.strip().replace(",", ".").replace("−", "-")))
    elif ctype == "image/png":
        assert content[:8] == b"\x89PNG\r\n\x1a\n"  # drawn from the same data as the SVG
    elif ctype == "text/html":
        parser = _Html()
        parser.feed(content.decode("utf-8"))
        html = parser.texts
        shared = parser.shared
        scalars = list(html)
    else:
        raise AssertionError(f"unparsed output type {content_type!r}")
    return Parsed(scalars, rows, ticks, html, shared)


# --- checks ------------------------------------------------------------------------------------


def _is_hidden_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, str):
            value = _number(value.strip().replace(",", "."))
            if isinstance(value, str):
                return False
        else:
            return False
    return any(math.isclose(value, h, abs_tol=1e-9) for h in HIDDEN_NUMBERS)


_DECIMAL = re.compile(r"(?<![\d.,])(\d+)[.,](\d+)(?![\d.,])")


def _hidden_in_text(text: str) -> list[str]:
    """Decimal numbers in page text that are a hidden number rounded to their precision."""
    hits = []
    for whole, frac in _DECIMAL.findall(text):
        shown = float(f"{whole}.{frac}")
        if any(math.isclose(round(h, len(frac)), shown) for h in HIDDEN_NUMBERS):
            hits.append(f"{whole}.{frac}")
    return hits


def _truthy(value: Any) -> bool:
    return value in (True, 1, 1.0, "true", "True")


def check(parsed: Parsed, where: str, *, scoped: bool) -> None:
    leaks = [v for v in parsed.scalars + parsed.shared_text if _is_hidden_number(v)]
    assert not leaks, f"{where}: suppressed numbers published: {leaks}"
    assert HIDDEN_CATEGORY not in [
        v for v in parsed.scalars + parsed.shared_text if isinstance(v, str)], where
    for row in parsed.rows:
        if "suppressed" in row and _truthy(row["suppressed"]):
            shown = {f: row[f] for f in SUPPRESSED_FIELDS if f in row and row[f] is not None
                     and row[f] != ""}
            assert not shown, f"{where}: suppressed row shows {shown}"
        if scoped and "region" in row:
            assert row["region"] in OFFICE_SCOPE | {None, ""}, f"{where}: region {row['region']}"
    for text in parsed.html_text + parsed.shared_text:
        assert not _hidden_in_text(text), f"{where}: {text!r}"
    if parsed.y_ticks:
        assert min(parsed.y_ticks) >= LOWEST_PUBLISHED - 5, f"{where}: y axis {parsed.y_ticks}"
    if scoped:
        strings = {v.strip() for v in parsed.scalars if isinstance(v, str)}
        assert not strings & OUT_OF_SCOPE_STRINGS, f"{where}: out-of-scope region shown"
        for text in parsed.html_text:
            assert "6402" not in text and "Kutai Barat" not in text, f"{where}: {text!r}"


def _body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def perform(role: str, api: APIClient, web: Client, name: str, req: Req, tmp_path: Path,
            seen: dict[str, int], capture: Callable) -> None:
    client = web if req.path.startswith("/dashboard/") else api
    if req.method == "post":
        with capture(execute=True):  # run the queued export task as the commit would
            response = client.post(req.path, req.params, format="json")
    else:
        response = client.get(req.path, req.params or {})
    where = f"{role} {req.method.upper()} {req.path} {req.params or ''}"
    body = _body(response)
    assert response.status_code < 500, f"{where}: {response.status_code}"
    if req.ok:
        assert response.status_code in (200, 202), f"{where}: {response.status_code} {body[:200]}"
    if response.status_code not in (200, 202):
        return
    seen[name] = seen.get(name, 0) + 1
    scoped = role == "office" and name not in CATALOGUE | ECHO | SHARED_LISTS and not req.shared
    check(parse(body, response["Content-Type"], tmp_path), where, scoped=scoped)
    if req.follow_file:
        job = api.get(json.loads(body)["url"]).json()
        assert job["status"] == "done", f"{where}: job {job}"
        file_response = api.get(job["file_url"])
        assert file_response.status_code == 200, f"{where}: file {file_response.status_code}"
        check(parse(_body(file_response), file_response["Content-Type"], tmp_path),
              f"{where} file", scoped=role == "office" and not req.shared)


# --- the tests ---------------------------------------------------------------------------------


def test_every_url_pattern_is_exercised_or_declared():
    missing = sorted({
        f"{name} ({route})" for route, name in url_names()
        if not declared(name) and (name, _has_suffix(route)) not in EXERCISE
    })
    assert not missing, (
        "URL pattern(s) neither exercised by this walk nor declared non-publishing: "
        f"{missing}; add an exerciser to EXERCISE or a reason to NON_PUBLISHING"
    )


@pytest.mark.parametrize("role", ROLES)
def test_no_role_sees_a_suppressed_number_or_an_out_of_scope_region(
        world, role, tmp_path, django_capture_on_commit_callbacks):
    api, web = clients_for(role)
    seen: dict[str, int] = {}
    patterns = [(route, name) for route, name in url_names() if not declared(name)]
    # jobs are made first, so that the job detail and file patterns have jobs to read
    patterns.sort(key=lambda p: p[1] not in ("export-job-list",))
    for route, name in patterns:
        for req in EXERCISE[(name, _has_suffix(route))](role):
            perform(role, api, web, name, req, tmp_path, seen,
                    django_capture_on_commit_callbacks)
    if role in READERS:
        published = {"results-estimate-list", "results-export", "results-trend-chart",
                     "dashboard:home", "export-job-list", "export-job-file"}
        assert published <= set(seen), f"{role} reached only {sorted(seen)}"
