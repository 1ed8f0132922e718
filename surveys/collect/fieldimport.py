"""Import ODK Central / KoboToolbox submission exports through the one ingest contract.

The export is read by `datafiles.xlsform.read_submissions` (the same field layout the XLSForm
was made from), written as a responses CSV of INTERFACE section 1 and imported by
`responses_import` with each submission's instance UUID as its ``submission_id``: re-importing
an updated export adds only the new submissions and duplicates nothing, and every rule and error
message is the file import's (rows numbered as in the export).

Design fields: the form asks the enumerator for the PSU; a blank stratum means the region (as
in the API), a blank base weight means 1 (equal selection chances within the region; raking to
the population margins then sets the weights). DECISIONS records this.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from datafiles.xlsform import SubmissionsError, read_submissions
from surveys.collect.xlsform import instrument_document
from surveys.services.imports import ImportFailed, ResponsesImportReport, responses_import
from surveys.services.instruments import InstrumentNotFound, instrument_version_get

RESPONSE_COLUMNS = ("respondent", "wave", "region", "sex", "age_group", "stratum", "psu",
                    "base_weight")


def import_field_export(*, path: Path, platform: str, instrument_code: str,
                        version: int | None = None, wave: int | None = None,
                        replace: bool = False) -> ResponsesImportReport:
    try:
        instrument_version = instrument_version_get(code=instrument_code, version=version)
    except InstrumentNotFound as exc:
        raise ImportFailed([f"{path.name}: {exc}"]) from None
    document = instrument_document(instrument_version)
    try:
        frame = read_submissions(path, platform, document, wave=wave)
    except (SubmissionsError, OSError, ValueError) as exc:
        raise ImportFailed([f"{path.name}: {exc}"]) from None
    frame.loc[frame["stratum"] == "", "stratum"] = frame["region"]
    frame.loc[frame["base_weight"] == "", "base_weight"] = "1"
    items = [c for c in frame.columns
             if c not in (*RESPONSE_COLUMNS, "submission_id", "submitted_at")]
    with tempfile.TemporaryDirectory() as tmp:
        converted = Path(tmp) / "responses.csv"
        frame.loc[:, [*RESPONSE_COLUMNS, *items]].to_csv(converted, index=False)
        return responses_import(path=converted, instrument_code=instrument_code,
                                version=version, replace=replace,
                                submission_ids=frame["submission_id"].tolist(), label=path.name)
