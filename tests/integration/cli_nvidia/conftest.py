"""Helpers for the ``attestgw verify nvidia`` / ``trust fetch nvidia`` tests: the CLI runner, a simulated
GPU (one per module) and files written from it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from attestgw.attester.simulated_nvidia import SimulatedNvidiaGpu
from attestgw.cli import main

N931 = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb"
CORPUS_AT = "2025-01-15T00:00:00Z"


def run(args: Sequence[str]) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["verify", "nvidia", *args, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


@pytest.fixture(scope="module")
def gpu() -> SimulatedNvidiaGpu:
    return SimulatedNvidiaGpu(enable_simulation=True)


def write_collateral(tmp: Path, gpu: SimulatedNvidiaGpu, ocsp: Sequence[bytes]) -> tuple[Path, Path]:
    rims, responses = tmp / "rims", tmp / "ocsp"
    rims.mkdir()
    responses.mkdir()
    (rims / "driver.xml").write_bytes(gpu.driver_rim())
    (rims / "vbios.xml").write_bytes(gpu.vbios_rim())
    for i, der in enumerate(ocsp):
        (responses / f"{i}.der").write_bytes(der)
    return rims, responses
