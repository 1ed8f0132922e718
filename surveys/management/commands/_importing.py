"""Shared glue of the load/import commands: ImportFailed becomes CommandError."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError

from surveys.services.imports import ImportFailed


@contextmanager
def import_errors() -> Iterator[None]:
    try:
        yield
    except ImportFailed as exc:
        raise CommandError("\n".join(exc.messages)) from None
