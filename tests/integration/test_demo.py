"""``attestgw demo`` (the README's main command): the whole path on loopback, with the tiny model.

Runs the real command as a user would (a subprocess, which itself starts the worker and the gateway
as processes) and checks what a user sees and what ``stack.json`` promises.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

for _module in ("torch", "transformers", "fastapi", "cedarpy", "openai"):
    pytest.importorskip(_module, reason=f"the demo runs the worker, the gateway and openai: needs {_module}")

pytestmark = pytest.mark.slow


def test_the_demo_runs_the_whole_path_and_writes_stack_json(tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = subprocess.run(
        [sys.executable, "-m", "attestgw", "demo", "--model", "tiny", "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "SIMULATED" in out
    assert "AFFIRMING" in out
    assert "receipt  VERIFIED" in out
    assert "[access.denied]" in out  # the unauthorized caller
    assert "[snp.signature_invalid]" in out  # the tampered attestation
    assert "checkpoint VERIFIED" in out
    assert "client   INCLUDED" in out  # the client verified its attestation is in the signed log
    assert "entry 0 INCLUDED" in out or " INCLUDED  (" in out
    assert "UNEXPECTED" not in out
    stack = json.loads((state / "stack.json").read_text())
    assert {"gateway", "model", "token", "policy", "oidc_issuer", "log_db", "log_public_key"} <= set(stack)
    assert stack["model"] == "tiny"
    assert Path(stack["policy"]).is_file()
    assert Path(stack["log_db"]).is_file()
    assert Path(stack["log_public_key"]).read_text().strip()
    assert (state / "stack.json").stat().st_mode & 0o077 == 0  # it holds a bearer token
    claims = json.loads(_b64url(stack["token"].split(".")[1]))
    assert claims["exp"] - claims["iat"] >= 3600
    # the stack stopped with the demo: nothing is left listening
    with pytest.raises(httpx.TransportError):
        httpx.get(stack["gateway"] + "/healthz", timeout=2)


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
