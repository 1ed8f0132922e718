"""Runtime requirements hold what the running code imports, and no test-only package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Packages only the tests (or their tools) use, with the module name they are imported as.
TEST_ONLY = {"factory-boy": "factory", "pytest": "pytest", "pytest-django": "pytest_django",
             "hypothesis": "hypothesis", "schemathesis": "schemathesis",
             "selenium": "selenium", "pyreadstat": "pyreadstat", "pyxform": "pyxform"}
RUNTIME_CODE = ("backend", "surveys", "analysis", "datafiles", "manage.py")


def _pinned(name: str) -> set[str]:
    names = set()
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r"):
            names.add(re.split(r"[\[=<>~! ]", line, maxsplit=1)[0].lower())
    return names


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_test_only_packages_are_in_the_dev_requirements_only() -> None:
    runtime, dev = _pinned("requirements.txt"), _pinned("requirements-dev.txt")
    assert not runtime & set(TEST_ONLY), "test-only packages in requirements.txt"
    assert set(TEST_ONLY) <= dev


def test_runtime_code_imports_no_test_only_package() -> None:
    files = [p for name in RUNTIME_CODE for p in (
        [ROOT / name] if name.endswith(".py") else (ROOT / name).rglob("*.py")) if p.exists()]
    assert len(files) > 20
    offenders = {str(p.relative_to(ROOT)): sorted(_imported_modules(p) & set(TEST_ONLY.values()))
                 for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}
