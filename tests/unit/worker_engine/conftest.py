"""Fixtures: the tiny model built once per session, and engines over it.

Engines use one CPU thread: the tiny model gains nothing from more, and on a busy machine torch's
thread pool makes it several times slower.

The engines run their worker thread for the whole session; every test drives them from its own
``asyncio.run`` loop (jobs carry the loop that submitted them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from attestgw.worker.engine import TINY_MODEL_ID, Engine, EngineLimits, build_tiny_model


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="session")
def engine(tiny_dir: Path) -> Iterator[Engine]:
    limits = EngineLimits(batch_window_s=0.002)
    with Engine.load(tiny_dir, model_id=TINY_MODEL_ID, limits=limits, cpu_threads=1) as loaded:
        yield loaded


def make_engine(directory: Path, **limits: Any) -> Engine:
    """A separate engine with its own limits (close it when done)."""
    return Engine.load(directory, model_id=TINY_MODEL_ID, limits=EngineLimits(**limits), cpu_threads=1)
