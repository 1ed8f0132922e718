"""The pure packages import numpy, pandas, scipy, pyarrow and the standard library only: no
Django, no web app, no task queue (STYLE.md; issue 9). Every module is found on disk, so a new
one is covered without being listed."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN_PREFIXES = ("django", "surveys", "rest_framework", "backend", "celery")
#: package -> modules that must be among those found (guards against an empty walk)
PACKAGES = {
    "analysis": {"analysis.scoring", "analysis.weighting", "analysis.estimation",
                 "analysis.sae", "analysis.programmes", "analysis.panels"},
    "datafiles": {"datafiles.statfiles", "datafiles.xlsx", "datafiles.formats",
                  "datafiles.answers", "datafiles.xlsform"},
}


def _modules(package: str) -> list[str]:
    path = importlib.import_module(package).__path__
    names = [f"{package}.{m.name}" for m in pkgutil.walk_packages(path)]
    return [package, *sorted(names)]


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_module_imports_without_django_or_the_web_app(package: str) -> None:
    modules = _modules(package)
    assert PACKAGES[package] <= set(modules)
    # a fresh interpreter without DJANGO_SETTINGS_MODULE: importing must not pull in the web app
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert [m for m in loaded if m.split(".")[0] in FORBIDDEN_PREFIXES] == []


def test_the_moved_writers_are_gone_from_services() -> None:
    """One home: the writers live in ``datafiles`` only (no copy or shim left in services)."""
    services = REPO / "surveys" / "services"
    assert not [p.name for p in services.glob("*.py")
                if p.stem in ("statfiles", "xlsxstream", "formats", "answers")]
