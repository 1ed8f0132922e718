"""Reports as tracked jobs: an `ExportJob` with table ``report`` and format ``pdf`` or ``docx``
(the same audit trail, status endpoint, file endpoint and download records as the exports).

* who may report on which region: `report_regions` (researchers and admins: any; an office: its
  assigned regions and everything below them, plus ``ALL`` for an office of the province);
* `request_report` records a queued job and queues the export task on commit (the task
  dispatches on the table, `surveys.services.jobs.run_export_job`); `run_report_job` writes
  ``<NILAI_EXPORT_DIR>/<job id>/laporan-<region>-<year>.<fmt>``, or one ZIP of the documents when
  the job covers several regions;
* `report_to_path`: the same, synchronously, for ``manage.py report``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _noop

from surveys.language import both
from surveys.models import (
    ALL_REGIONS,
    ExportJob,
    JobSource,
    JobStatus,
    Region,
    RegionAssignment,
    RegionLevel,
    Role,
)
from surveys.reports import ReportError, build_report, render
from surveys.routers import replica_reads
from surveys.selectors.access import user_roles

log = logging.getLogger(__name__)

REPORT_TABLE = "report"


class ReportForbidden(ReportError):
    """The account may not produce a report of that region."""


def report_regions(user: AbstractBaseUser | AnonymousUser) -> set[str] | None:
    """Regions whose report `user` may produce: None = any (researcher, admin); an office its
    assigned regions and everything below them (plus ALL when it is the province's office);
    anyone else none."""
    roles = user_roles(user)
    if roles & {Role.ADMIN, Role.RESEARCHER}:
        return None
    if Role.OFFICE not in roles:
        return set()
    codes: set[str] = set()
    for code, level in RegionAssignment.objects.filter(user=user).values_list(
            "region__code", "region__level"):
        codes.update(Region.objects.subtree_codes(code))
        if level == RegionLevel.PROVINCE:
            codes.add(ALL_REGIONS)
    return codes


def check_regions(user: AbstractBaseUser, regions: Sequence[str]) -> None:
    allowed = report_regions(user)
    if allowed is None:
        return
    outside = sorted(set(regions) - allowed)
    if outside:
        # Translators: id: akun ini hanya dapat membuat laporan wilayahnya sendiri; di luar
        # cakupan: {regions}
        raise ReportForbidden(both(_noop(
            "this account may produce its own region's report only; outside its scope: "
            "{regions}"), regions=", ".join(outside)))


def file_name(region: str, year: int, fmt: str, lang: str) -> str:
    stem = "report" if lang == "en" else "laporan"
    return f"{stem}-{region}-{year}.{fmt}"


def bundle_name(year: int, fmt: str, lang: str) -> str:
    stem = "reports" if lang == "en" else "laporan"
    return f"{stem}-{year}-{fmt}.zip"


def documents(*, regions: Sequence[str], year: int, fmt: str, lang: str,
              scope: set[str] | None, instrument: str | None = None
              ) -> list[tuple[str, bytes]]:
    """(file name, bytes) of each region's report, in the order given."""
    out = []
    for region in regions:
        with replica_reads():  # the read replica when configured (surveys.routers)
            report = build_report(region=region, year=year, regions=scope, lang=lang,
                                  instrument=instrument)
        out.append((file_name(region, year, fmt, lang), render(report, fmt)))
    return out


def _payload(docs: list[tuple[str, bytes]], *, year: int, fmt: str, lang: str
             ) -> tuple[str, bytes]:
    if len(docs) == 1:
        return docs[0]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in docs:
            archive.writestr(name, data)
    return bundle_name(year, fmt, lang), buffer.getvalue()


def _scope(job: ExportJob) -> set[str] | None:
    return set(job.region_scope) if job.region_scope is not None else None


def _write(job: ExportJob, directory: Path | None, output: Path | None = None) -> None:
    """Make the job's documents and write them (API: into `directory`; CLI: to `output`);
    record the outcome. Raises what the report raised, after recording it."""
    filters = job.filters or {}
    job.status = JobStatus.RUNNING
    job.started_at = timezone.now()
    job.save(update_fields=["status", "started_at"])
    try:
        docs = documents(regions=filters["region"], year=int(filters["year"]), fmt=job.format,
                         lang=job.language, scope=_scope(job),
                         instrument=filters.get("instrument"))
        name, data = _payload(docs, year=int(filters["year"]), fmt=job.format,
                              lang=job.language)
        path = output if output is not None else directory / name  # type: ignore[operator]
        tmp = path.with_name(f".{path.name}.part")
        with open(tmp, "wb") as fh:
            if output is None:
                os.chmod(tmp, 0o600)
            fh.write(data)
        tmp.replace(path)
    except BaseException as exc:
        job.status = JobStatus.FAILED
        job.finished_at = timezone.now()
        job.messages = [*job.messages, _error_text(exc)]
        job.save(update_fields=["status", "finished_at", "messages"])
        raise
    job.status = JobStatus.DONE
    job.finished_at = timezone.now()
    job.rows = len(docs)
    job.bytes = len(data)
    job.sha256 = hashlib.sha256(data).hexdigest()
    job.file_path = str(path) if output is not None else f"{job.pk}/{name}"
    # Translators: id: laporan dibuat
    written = both(_noop("report written"))
    job.messages = [*job.messages, *[f"{written}: {doc_name}" for doc_name, _ in docs]]
    job.save(update_fields=["status", "finished_at", "rows", "bytes", "sha256", "file_path",
                            "messages"])


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ReportError | OSError):
        return str(exc)
    # Translators: id: laporan gagal karena kesalahan internal ({error})
    return both(_noop("the report failed with an internal error ({error})"),
                error=type(exc).__name__)


def request_report(*, user: AbstractBaseUser, regions: Sequence[str], year: int, fmt: str,
                   language: str, scope: set[str] | None,
                   instrument: str | None = None) -> ExportJob:
    """Record a queued report job (the caller has checked `regions` with `check_regions`) and
    queue it once the row is committed. `scope`: the requester's visible regions."""
    from surveys.tasks import run_export_job_task

    filters: dict[str, Any] = {"region": list(regions), "year": year}
    if instrument:
        filters["instrument"] = instrument
    job = ExportJob.objects.create(
        requested_by=user, requested_by_name=user.get_username(), source=JobSource.API,
        table=REPORT_TABLE, format=fmt, filters=filters, language=language,
        region_scope=sorted(scope) if scope is not None else None,
    )
    transaction.on_commit(lambda: run_export_job_task.delay(job.pk))
    return job


def run_report_job(job: ExportJob) -> ExportJob:
    """Run a queued report job (called by `surveys.services.jobs.run_export_job`); errors are
    recorded on the job, never raised."""
    from surveys.services.jobs import discard_failed_job, export_dir

    directory = export_dir() / str(job.pk)
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write(job, directory)
    except Exception:
        log.exception("report job %s failed", job.pk)
        # Translators: id: direktori laporan tidak dapat dibuat
        discard_failed_job(job, directory, both(_noop("the report directory cannot be created")))
    return job


def report_to_path(*, regions: Sequence[str], year: int, fmt: str, lang: str,
                   output: str | Path, instrument: str | None = None) -> ExportJob:
    """``manage.py report``: a CLI job (OS user) written to `output`, every region visible.
    Raises ReportError (after recording the job as failed)."""
    from surveys.services.jobs import os_user

    filters: dict[str, Any] = {"region": list(regions), "year": year}
    if instrument:
        filters["instrument"] = instrument
    path = Path(output).resolve()
    job = ExportJob.objects.create(
        requested_by=None, requested_by_name=os_user(), source=JobSource.CLI,
        table=REPORT_TABLE, format=fmt, filters=filters, language=lang, file_path=str(path),
        region_scope=None,
    )
    _write(job, None, output=path)
    return job
