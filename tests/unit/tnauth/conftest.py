"""Fixtures for the tnauth tests: the real SHAKEN certificate corpus, unpacked once per session."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
# Outside corpora live next to the repository, never inside it (STYLE.md, Tests).
CORPUS_DIR = REPO_ROOT.parent / "shared" / "testdata" / "real-shaken-certs"
CORPUS_TARBALL = CORPUS_DIR / "certs.tar.xz"


@pytest.fixture(scope="session")
def shaken_corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every certificate of the corpus as a DER file path, sorted by name."""
    if not CORPUS_TARBALL.exists():
        pytest.skip(f"corpus not present: {CORPUS_TARBALL}")
    target = tmp_path_factory.mktemp("real-shaken-certs")
    subprocess.run(["tar", "xJf", str(CORPUS_TARBALL), "-C", str(target)], check=True)
    return sorted(target.rglob("*.der"))
