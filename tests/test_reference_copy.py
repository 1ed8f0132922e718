"""The repository's copy of the reference set equals the upstream one, file for file.

The tests read only ``tests/reference`` (so a clone passes alone). When the upstream set exists
beside the checkout (``../shared/reference``), this test fails on any file that differs, is missing
from the copy, or exists only in the copy, so an upstream update cannot go unnoticed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COPY = REPO / "tests" / "reference"
UPSTREAM = REPO.parent / "shared" / "reference"


def _digests(root: Path, below: str) -> dict[str, str]:
    base = root / below
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(base.rglob("*")) if path.is_file()
    }


def _tree(root: Path) -> dict[str, str]:
    found = _digests(root, "kaltim")
    vectors = root / "test_vectors.md"
    if vectors.is_file():
        found["test_vectors.md"] = hashlib.sha256(vectors.read_bytes()).hexdigest()
    return found


def test_copy_holds_every_input_and_expected_file() -> None:
    names = set(_tree(COPY))
    required = {f"kaltim/{n}" for n in (
        "regions.csv", "instrument.json", "population.csv", "responses.csv", "indicators.json",
        "indicator_values.csv", "targets.csv", "programmes.csv")}
    required |= {f"kaltim/expected/{n}.csv" for n in (
        "weights", "estimates", "reliability", "items", "cfa", "trends", "changes",
        "proxy_validation", "achievements", "invariance", "programme_effects",
        "programme_types", "sae")}
    assert required <= names, sorted(required - names)


@pytest.mark.skipif(not (UPSTREAM / "kaltim").is_dir(),
                    reason="no upstream ../shared/reference/kaltim beside this checkout")
def test_copy_is_byte_identical_to_upstream() -> None:
    copy, upstream = _tree(COPY), _tree(UPSTREAM)
    differ = sorted(n for n in copy.keys() & upstream.keys() if copy[n] != upstream[n])
    assert differ == [], f"differ from ../shared/reference: {differ}"
    assert sorted(upstream.keys() - copy.keys()) == [], "new upstream files missing in the copy"
    assert sorted(copy.keys() - upstream.keys()) == [], "files only in the copy"
