"""Shared pytest fixtures for the Django side. Analysis fixtures live in tests/analysis/."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.analysis.reference import require_reference_dir


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the translation catalogues whose .mo is missing or older than the .po, so that
    `python -m pytest` alone (no `make`) tests the current wording (surveys/i18n.py)."""
    from surveys.i18n import compile_catalogues

    compile_catalogues()


@pytest.fixture(autouse=True)
def _default_language() -> object:
    """Each test starts in the default language (settings.LANGUAGE_CODE, Indonesian): Django
    keeps the language a request activated (LocaleMiddleware) on the thread, and command output
    follows the active language."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(scope="session")
def kaltim_dir() -> Path:
    """The repository's copy of the reference data set (tests/reference/kaltim)."""
    return require_reference_dir()


@pytest.fixture
def base(kaltim_dir: Path) -> Path:
    """The Kaltim reference regions and instrument loaded (the import tests' starting point);
    the reference directory."""
    call_command("load_regions", kaltim_dir / "regions.csv", stdout=StringIO())
    call_command("load_instrument", kaltim_dir / "instrument.json", stdout=StringIO())
    return kaltim_dir
