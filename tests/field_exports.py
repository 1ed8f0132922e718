"""Test generator of ODK Central and KoboToolbox submission exports, laid out from an XLSForm.

Columns come from walking the XLSForm's survey sheet (groups open and close; metadata types
start/end are fields too), exactly as the platforms document their exports:

- ODK Central ``submissions.csv``: ``SubmissionDate``, the fields in form order with group paths
  joined by ``-`` and the ``meta-instanceID`` field last, then ``KEY, SubmitterID,
  SubmitterName, AttachmentsPresent, AttachmentsExpected, Status, ReviewState, DeviceID,
  Edits, FormVersion``; ``meta-instanceID`` and ``KEY`` hold ``uuid:<UUID>``.
- KoboToolbox CSV ("XML values and headers", ``;`` separated) or XLSX: the fields in form
  order with group paths joined by ``/``, then ``_id, _uuid, _submission_time,
  _validation_status, _notes, _status, _submitted_by, __version__, _tags, _index``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

ODK_TAIL = ["KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected",
            "Status", "ReviewState", "DeviceID", "Edits", "FormVersion"]
KOBO_TAIL = ["_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
             "_submitted_by", "__version__", "_tags", "_index"]
SKIP_TYPES = {"begin_group", "end_group", "note"}


def form_columns(survey: list[Mapping[str, Any]], sep: str) -> list[tuple[str, str]]:
    """(export column, field name) in form order, walking the group structure."""
    stack: list[str] = []
    out = []
    for row in survey:
        kind = str(row["type"]).split(" ")[0]
        if kind == "begin_group":
            stack.append(str(row["name"]))
        elif kind == "end_group":
            stack.pop()
        elif kind not in SKIP_TYPES:
            out.append((sep.join([*stack, str(row["name"])]), str(row["name"])))
    return out


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def write_odk_csv(path: Path, survey: list[Mapping[str, Any]],
                  submissions: Iterable[Mapping[str, Any]], version: str = "1") -> None:
    columns = form_columns(survey, "-")
    header = ["SubmissionDate", *[c for c, _ in columns], "meta-instanceID", *ODK_TAIL]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for sub in submissions:
            instance = f"uuid:{sub['submission_id']}"
            writer.writerow([sub.get("submitted_at", "2026-06-01T08:00:00.000Z"),
                             *[_cell(sub.get(name)) for _, name in columns], instance,
                             instance, "5", "enumerator-1", "0", "0", "", "", "collect:abc",
                             "0", version])


def _kobo_frame(survey: list[Mapping[str, Any]],
                submissions: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    columns = form_columns(survey, "/")
    rows = []
    for i, sub in enumerate(submissions, start=1):
        rows.append([*[_cell(sub.get(name)) for _, name in columns], str(1000 + i),
                     sub["submission_id"], sub.get("submitted_at", "2026-06-01T08:00:00"),
                     "", "", "submitted_via_web", "enumerator", "vAbC123", "", str(i)])
    return pd.DataFrame(rows, columns=[*[c for c, _ in columns], *KOBO_TAIL])


def write_kobo_csv(path: Path, survey: list[Mapping[str, Any]],
                   submissions: Iterable[Mapping[str, Any]]) -> None:
    _kobo_frame(survey, submissions).to_csv(path, sep=";", index=False)


def write_kobo_xlsx(path: Path, survey: list[Mapping[str, Any]],
                    submissions: Iterable[Mapping[str, Any]]) -> None:
    _kobo_frame(survey, submissions).to_excel(path, index=False)
