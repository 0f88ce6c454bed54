"""Shared fixtures: where the shared corpus lives, and a skip with a clear reason when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("ATTESTGW_CORPUS", REPO.parent / "shared" / "corpus"))


def corpus_file(relative: str) -> Path:
    """Path of a corpus file, or skip the calling test with the reason it is missing."""
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(f"corpus file {relative} not found under {CORPUS} (set ATTESTGW_CORPUS)")
    return path


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS} (set ATTESTGW_CORPUS)")
    return CORPUS
