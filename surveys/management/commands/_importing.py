"""Shared glue of the load/import commands: every run is recorded as an ImportJob (failed runs
included, with their messages), and ImportFailed becomes CommandError."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from surveys.services.imports import ImportFailed
from surveys.services.jobs import ImportRecorder, import_job


@contextmanager
def import_errors() -> Iterator[None]:
    try:
        yield
    except ImportFailed as exc:
        raise CommandError("\n".join(exc.messages)) from None


@contextmanager
def recorded_import(command: str, files: Sequence[str | Path],
                    options: dict[str, Any] | None = None) -> Iterator[ImportRecorder]:
    """`import_errors` plus the ImportJob of this run (surveys.services.jobs.import_job);
    call ``job.finish(report)`` with the loader's report(s)."""
    with import_errors(), import_job(command, files, options) as job:
        yield job
