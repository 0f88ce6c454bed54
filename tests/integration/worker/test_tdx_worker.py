"""``attestgw worker serve --tee simulated-tdx`` as a user runs it, attested by the SDK and the CLI.

A real worker process (tiny model, loopback socket): the policy it writes affirms it through
``attestgw.client.attest``, the official openai client streams a chat completion through the SDK
transport with a receipt naming the attested instance, ``attestgw attest`` and ``attestgw chat``
work against it, and the default policies, a tampered quote, a swapped key configuration and a
binding made for another nonce are refused with their codes. A restart with the same state dir keeps
the simulated Intel roots: the first policy still affirms the new instance.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from attestgw.attestation import load_bundle_policy, parse_bundle_policy
from attestgw.cli import main
from attestgw.client import AttestationRefused, AttestedTransport, attest, verify_bundle
from attestgw.clock import utcnow
from attestgw.errors import VerificationError
from attestgw.ohttp import ServerKey, encode_key_configs
from attestgw.receipt import Receipt
from tests.conftest import REPO
from tests.integration.worker.test_cli_worker import serve

pytestmark = pytest.mark.slow

_MRTD_OFFSET = 48 + 136  # v4 header, then MRTD's offset in the TD 1.0 body (formats.md §3.2)
MESSAGES = [{"role": "user", "content": "Say something."}]


def _cli(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def _bundle(url: str, nonce: bytes) -> dict[str, Any]:
    response = httpx.get(f"{url}/v1/attestation", params={"nonce": nonce.hex()}, timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _refusals(url: str, policy_file: Path) -> None:
    """Real bundle bytes from the worker, tampered the way a relay or a forger could."""
    policy = load_bundle_policy(policy_file)
    nonce = os.urandom(32)
    genuine = _bundle(url, nonce)
    verify_bundle(json.dumps(genuine).encode(), nonce, policy, url=url, at=utcnow())  # affirms untouched

    tampered = json.loads(json.dumps(genuine))
    quote = bytearray(base64.b64decode(tampered["evidence"]["report"]))
    quote[_MRTD_OFFSET] ^= 0x01
    tampered["evidence"]["report"] = base64.b64encode(bytes(quote)).decode()
    with pytest.raises(VerificationError) as err:
        verify_bundle(json.dumps(tampered).encode(), nonce, policy, url=url, at=utcnow())
    assert err.value.code == "tdx.quote_signature_invalid"

    # a relay's own key config in place of the worker's; a bundle bound to another nonce echoing ours
    attacker = encode_key_configs([ServerKey.generate(1).config])
    swapped = dict(genuine, ohttp_keys=base64.b64encode(attacker).decode())
    for forged in (swapped, dict(_bundle(url, os.urandom(32)), nonce=nonce.hex())):
        with pytest.raises(AttestationRefused) as refused:
            verify_bundle(json.dumps(forged).encode(), nonce, policy, url=url, at=utcnow())
        assert "policy.report_data_mismatch" in refused.value.codes

    default_tdx = parse_bundle_policy((REPO / "policies" / "attestation" / "default-tdx.toml").read_bytes())
    with pytest.raises(VerificationError) as err:
        verify_bundle(json.dumps(genuine).encode(), nonce, default_tdx, url=url, at=utcnow())
    assert err.value.code == "tdx.root_not_pinned"


def test_simulated_tdx_worker_end_to_end_and_across_a_restart(tmp_path: Path) -> None:
    openai = pytest.importorskip("openai", reason="the end-to-end test uses the official openai client")
    state = tmp_path / "state"
    policy_file = state / "policy.toml"
    with serve("--tee", "simulated-tdx", "--model", "tiny", "--state-dir", str(state)) as worker:
        assert (worker.summary["tee"], worker.summary["simulated"]) == ("tdx", True)
        assert worker.summary["policy"] == str(policy_file)
        assert (state / "simulated-intel" / "authority.json").is_file()
        policy = load_bundle_policy(policy_file)
        assert policy.tdx is not None

        session = attest(worker.url, policy)
        assert session.tee == "tdx"
        assert session.result.affirming
        assert session.simulated
        assert session.measurement.hex() == worker.summary["measurement"]
        assert session.tdx_claims is not None
        assert session.tdx_claims.body.mr_td.hex() == worker.summary["measurement"]

        # the official openai client, unchanged, through the SDK transport: a streamed completion
        receipts: list[Receipt] = []
        transport = AttestedTransport(worker.url, policy, on_receipt=receipts.append)
        client = openai.OpenAI(
            base_url="http://worker/v1", api_key="unused", http_client=httpx.Client(transport=transport)
        )
        stream = client.chat.completions.create(
            model="tiny", messages=MESSAGES, max_tokens=8, temperature=0, stream=True
        )
        pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
        assert "".join(pieces)
        assert len(receipts) == 1
        assert receipts[0].evidence_digest == session.instance_digest.hex()
        assert receipts[0].model_digest == worker.summary["model"]["digest"]

        # the CLI: the worker's policy affirms, the default policy refuses, chat answers
        code, out = _cli("attest", "--url", worker.url, "--policy", str(policy_file))
        assert code == 0, out
        assert (out["status"], out["tee"], out["simulated"]) == ("affirming", "tdx", True)
        assert out["claims"]["mrtd"] == worker.summary["measurement"]
        assert out["claims"]["tcb_status"] == "UpToDate"
        code, out = _cli("attest", "--url", worker.url)
        assert code == 1
        assert (out["error"]["code"], out["tee"]) == ("policy.tee_policy_missing", "tdx")
        code, out = _cli("chat", "--url", worker.url, "--policy", str(policy_file), "--max-tokens", "4", "hi")
        assert code == 0, out
        assert out["answer"]
        assert out["receipt"]["verified"] is True
        code, out = _cli("chat", "--url", worker.url, "a secret")
        assert (code, out["error"]["code"]) == (1, "policy.tee_policy_missing")

        _refusals(worker.url, policy_file)
        first_policy = policy_file.read_bytes()
        first_keys = worker.summary["ohttp_keys_sha256"]
    assert worker.process.returncode == 0

    # A restart keeps the simulated Intel roots (the same policy still affirms) but makes new keys.
    with serve("--tee", "simulated-tdx", "--model", "tiny", "--state-dir", str(state)) as again:
        assert policy_file.read_bytes() == first_policy
        assert again.summary["ohttp_keys_sha256"] != first_keys
        renewed = attest(again.url, parse_bundle_policy(first_policy))
        assert renewed.result.affirming
        assert renewed.instance_digest != session.instance_digest
