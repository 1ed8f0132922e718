"""``datafiles/`` (file formats and codecs) imports numpy, pandas, pyarrow and the standard library
only: no Django, no web app, no task queue (issue 9; the same rule as ``analysis/``)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import datafiles

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN_PREFIXES = ("django", "surveys", "rest_framework", "backend", "celery")


def _modules() -> list[str]:
    """Every module of the package, found on disk, so that a new one is covered unlisted."""
    names = [f"datafiles.{m.name}" for m in pkgutil.walk_packages(datafiles.__path__)]
    return ["datafiles", *sorted(names)]


def test_every_datafiles_module_imports_without_django_or_surveys() -> None:
    modules = _modules()
    assert {"datafiles.statfiles", "datafiles.xlsx", "datafiles.formats"} <= set(modules)
    # A fresh interpreter without DJANGO_SETTINGS_MODULE: importing must not pull in the web app.
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
    offending = [m for m in loaded if m.split(".")[0] in FORBIDDEN_PREFIXES]
    assert offending == []


def test_the_moved_writers_are_gone_from_services() -> None:
    """One home: the writers live in ``datafiles`` only (no copy or shim left in services)."""
    services = REPO / "surveys" / "services"
    assert not [p.name for p in services.glob("*.py")
                if p.stem in ("statfiles", "xlsxstream", "formats")]
