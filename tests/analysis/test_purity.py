"""``analysis/`` imports numpy, pandas, scipy and the standard library only (STYLE.md)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import analysis

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN_PREFIXES = ("django", "surveys", "rest_framework", "backend", "celery")


def _modules() -> list[str]:
    names = [f"analysis.{m.name}" for m in pkgutil.iter_modules(analysis.__path__)]
    return ["analysis", *sorted(names)]


def test_every_analysis_module_imports_without_django_or_surveys() -> None:
    modules = _modules()
    assert {"analysis.scoring", "analysis.weighting", "analysis.estimation"} <= set(modules)
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
    offending = [m for m in loaded
                 if m.split(".")[0] in FORBIDDEN_PREFIXES]
    assert offending == []
