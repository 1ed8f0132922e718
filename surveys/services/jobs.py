"""Export and import jobs: the audit trail of who took or loaded what, and when (issue 9).

Exports. `request_export` records a queued `ExportJob` and queues `surveys.run_export_job` on
commit (eager in-process without a broker); `run_export_job` writes the file under
``settings.NILAI_EXPORT_DIR`` (``<job id>/nilai-<table>.<fmt>``, directory 0700, file 0600),
hashing it as it goes, and records rows, bytes, sha256 and the exporter's messages (or the
error). `export_to_path` does the same synchronously for `manage.py export`, writing where
``--output`` says. The exports themselves are `surveys.services.exports.export_table`; who may
export which table is the caller's decision (the API: offices aggregate tables only).
Every file served over HTTP is recorded by `record_download`.

Imports. `import_job` wraps one run of an import command: the `ImportJob` row is written in
autocommit outside the loader's own transaction, so a failed import (which writes nothing)
still leaves a ``failed`` job with its messages (file, row, column).
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _noop

from surveys.language import both
from surveys.models import ExportDownload, ExportJob, ImportJob, JobSource, JobStatus

log = logging.getLogger(__name__)

#: Respondent-level tables: only ever produced through a job.
JOB_ONLY_TABLES = frozenset({"microdata", "weights"})


def os_user() -> str:
    """The operating-system user running a command ('' when it cannot be told)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (e.g. a container without passwd entry)
        return ""


def export_dir() -> Path:
    return Path(settings.NILAI_EXPORT_DIR)


def job_file(job: ExportJob) -> Path | None:
    """The file of an API job inside NILAI_EXPORT_DIR, or None while there is none (or it was
    removed). Files written by `manage.py export` (anywhere --output said) are never served."""
    if job.source != JobSource.API or not job.file_path:
        return None
    root = export_dir().resolve()
    path = (root / job.file_path).resolve()
    if not path.is_relative_to(root):
        return None
    return path if path.is_file() else None


# --- writing ----------------------------------------------------------------------------------


class _HashingWriter:
    """A binary sink that hashes and counts what goes through it."""

    def __init__(self, fh: Any):
        self.fh = fh
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        return self.fh.write(data)


def _options(job: ExportJob) -> dict[str, Any]:
    options: dict[str, Any] = {}
    instrument = (job.filters or {}).get("instrument")
    if instrument:
        options["instrument"] = instrument
    if job.k is not None:
        options["k"] = job.k
    return options


def _write(job: ExportJob, path: Path, *, mode: int | None = None) -> None:
    """Export `job`'s table to `path` (atomically: a temporary file renamed at the end) and
    record the outcome on the job. Raises what the exporter raised, after recording it."""
    from surveys.services import exports

    tmp = path.with_name(f".{path.name}.part")
    job.status = JobStatus.RUNNING
    job.started_at = timezone.now()
    job.save(update_fields=["status", "started_at"])
    try:
        with open(tmp, "wb") as fh:
            if mode is not None:
                os.chmod(tmp, mode)
            sink = _HashingWriter(fh)
            summary = exports.export_table(
                table=job.table, fmt=job.format, output=sink,  # type: ignore[arg-type]
                region_codes=set(job.region_scope) if job.region_scope is not None else None,
                lang=job.language, **_options(job))
        tmp.replace(path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        job.status = JobStatus.FAILED
        job.finished_at = timezone.now()
        job.messages = [*job.messages, _error_text(exc)]
        job.save(update_fields=["status", "finished_at", "messages"])
        raise
    job.status = JobStatus.DONE
    job.finished_at = timezone.now()
    job.rows = summary.rows
    job.bytes = sink.bytes
    job.sha256 = sink.sha256.hexdigest()
    job.messages = [*job.messages, *summary.messages]
    if summary.suppressed_records:
        # Translators: id: rekaman disembunyikan (k-anonimitas)
        text = both(_noop("records suppressed (k-anonymity)"))
        job.messages.append(f"{summary.suppressed_records} {text}")
    job.save(update_fields=["status", "finished_at", "rows", "bytes", "sha256", "messages"])


def _error_text(exc: BaseException) -> str:
    from surveys.services.exports import ExportError

    if isinstance(exc, ExportError | OSError):
        return str(exc)
    # Translators: id: ekspor gagal karena kesalahan internal ({error})
    return both(_noop("the export failed with an internal error ({error})"),
                error=type(exc).__name__)


# --- exports through the API (Celery) ---------------------------------------------------------


def request_export(*, user: AbstractBaseUser, table: str, fmt: str, filters: dict[str, Any],
                   region_scope: set[str] | None, k: int | None, language: str) -> ExportJob:
    """Record a queued export job for `user` and queue its task once the row is committed.

    `region_scope`: the region codes the export is cut to (the caller's visibility and the
    requested regions already combined); None = every region."""
    from surveys.tasks import run_export_job_task

    job = ExportJob.objects.create(
        requested_by=user, requested_by_name=user.get_username(), source=JobSource.API,
        table=table, format=fmt, filters=filters, k=k, language=language,
        region_scope=sorted(region_scope) if region_scope is not None else None,
    )
    transaction.on_commit(lambda: run_export_job_task.delay(job.pk))
    return job


def run_export_job(job_id: int) -> ExportJob:
    """Run a queued (or interrupted: still `running`) job; done or failed jobs are left as
    they are, so a redelivered task does not export twice. Never raises on export errors: the
    job records them."""
    job = ExportJob.objects.get(pk=job_id)
    if job.status in (JobStatus.DONE, JobStatus.FAILED):
        return job
    if job.table == "report":  # the Bappeda report (surveys.reports.jobs)
        from surveys.reports.jobs import run_report_job

        return run_report_job(job)
    directory = export_dir() / str(job.pk)
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"nilai-{job.table}.{job.format}"
        job.file_path = f"{job.pk}/{name}"
        job.save(update_fields=["file_path"])
        _write(job, directory / name, mode=0o600)
    except Exception:
        log.exception("export job %s failed", job.pk)
        # Translators: id: direktori ekspor tidak dapat dibuat
        discard_failed_job(job, directory, both(_noop("the export directory cannot be created")))
    return job


def discard_failed_job(job: ExportJob, directory: Path, cannot_create: str) -> None:
    """After a job's failure: mark it failed if the failure came before the work started (its
    folder could not be made: `cannot_create` says so, in both languages, `surveys.language.both`),
    forget its file and remove its folder."""
    if job.status != JobStatus.FAILED:
        job.status = JobStatus.FAILED
        job.finished_at = timezone.now()
        job.messages = [*job.messages, f"{cannot_create}: {directory}"]
        job.save(update_fields=["status", "finished_at", "messages"])
    job.file_path = ""
    job.save(update_fields=["file_path"])
    shutil.rmtree(directory, ignore_errors=True)


# --- exports from the command line ------------------------------------------------------------


def export_to_path(*, table: str, fmt: str, output: str | Path, region_codes: set[str] | None,
                   lang: str, instrument: str | None = None, k: int | None = None) -> ExportJob:
    """`manage.py export`: record a CLI job (OS user), write `output`, record the outcome.
    Raises the exporter's error (after recording the job as failed)."""
    filters: dict[str, Any] = {}
    if region_codes:
        filters["region"] = sorted(region_codes)
    if instrument:
        filters["instrument"] = instrument
    path = Path(output).resolve()
    job = ExportJob.objects.create(
        requested_by=None, requested_by_name=os_user(), source=JobSource.CLI, table=table,
        format=fmt, filters=filters, k=k, language=lang, file_path=str(path),
        region_scope=sorted(region_codes) if region_codes else None,
    )
    _write(job, path)
    return job


# --- downloads --------------------------------------------------------------------------------


def record_download(*, user: AbstractBaseUser, table: str, fmt: str, ip: str | None,
                    user_agent: str = "", job: ExportJob | None = None,
                    region_scope: set[str] | None = None) -> ExportDownload:
    """One audit row for one file served (a job's file, or a directly streamed table)."""
    return ExportDownload.objects.create(
        job=job, user=user, username=user.get_username(), table=table, format=fmt,
        region_scope=sorted(region_scope) if region_scope is not None else None,
        ip=ip or None, user_agent=user_agent[:300],
    )


# --- imports ----------------------------------------------------------------------------------


def _file_facts(paths: Sequence[Path]) -> tuple[str, int | None]:
    digests: list[str] = []
    size = 0
    for path in paths:
        try:
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
                    size += len(block)
            digests.append(digest.hexdigest())
        except OSError:
            digests.append("")  # the loader reports the unreadable file itself
    return ", ".join(digests), size if any(digests) else None


class ImportRecorder:
    """Handed to the command inside `import_job`; `finish(report)` records the counts."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.reports: list[Any] = []

    def finish(self, *reports: Any) -> None:
        self.reports.extend(reports)


def _counts(reports: Sequence[Any]) -> tuple[int | None, int | None, int | None, list[str]]:
    """Inserted / updated / unchanged summed over the loaders' reports (LoadReport,
    ResponsesImportReport, InstrumentLoadResult), and their summaries."""
    inserted = updated = unchanged = 0
    known = False
    summaries: list[str] = []
    for report in reports:
        summary = getattr(report, "summary", None)
        if callable(summary):
            summaries.append(summary())
        if isinstance(getattr(report, "created", None), bool):  # an instrument version
            known = True
            inserted += int(report.created)
            unchanged += int(not report.created)
            continue
        for attr, add in (("created", "i"), ("changed", "u"), ("replaced", "u"),
                          ("unchanged", "n")):
            value = getattr(report, attr, None)
            if isinstance(value, int) and not isinstance(value, bool):
                known = True
                if add == "i":
                    inserted += value
                elif add == "u":
                    updated += value
                else:
                    unchanged += value
    if not known:
        return None, None, None, summaries
    return inserted, updated, unchanged, summaries


@contextmanager
def import_job(command: str, files: Sequence[str | Path],
               options: dict[str, Any] | None = None) -> Iterator[ImportRecorder]:
    """Record one run of import command `command` on `files` (see the module doc). The job
    row is written before and after the body, never inside the loader's transaction; the
    body's exception propagates unchanged after the job is marked failed."""
    from surveys.services.imports import ImportFailed

    paths = [Path(f) for f in files]
    sha, size = _file_facts(paths)
    job = ImportJob.objects.create(
        command=command, os_user=os_user(), source=JobSource.CLI,
        file_name=", ".join(str(p) for p in paths)[:1000], file_sha256=sha[:700],
        file_size=size, options={k: _jsonable(v) for k, v in (options or {}).items()},
        status=JobStatus.RUNNING,
    )
    recorder = ImportRecorder(job)
    try:
        yield recorder
    except BaseException as exc:
        job.status = JobStatus.FAILED
        if isinstance(exc, ImportFailed):
            job.messages = list(exc.messages)
        else:
            job.messages = [str(exc) or type(exc).__name__]
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "messages", "finished_at"])
        raise
    inserted, updated, unchanged, summaries = _counts(recorder.reports)
    job.status = JobStatus.DONE
    job.rows_inserted, job.rows_updated, job.rows_unchanged = inserted, updated, unchanged
    job.messages = summaries
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "rows_inserted", "rows_updated", "rows_unchanged",
                            "messages", "finished_at"])


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)
