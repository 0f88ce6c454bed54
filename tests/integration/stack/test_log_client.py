"""The SDK checks the evidence log over the real stack: a client with the pinned log key attests through
the gateway, and every way the gateway could lie about the log is a refusal with its code."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from attestgw.cli import main
from attestgw.client import AttestedSession, AttestedTransport, LogMonitor, attest, attest_async
from attestgw.client.logcheck import (
    LOG_CHECKPOINT_HEADER,
    LOG_ENTRY_HEADER,
    LOG_INCLUSION_HEADER,
    LOG_INDEX_HEADER,
)
from attestgw.errors import FormatError, VerificationError
from attestgw.log import NoteSigner, load_signer, parse_record, sign_note
from attestgw.merkle import Checkpoint, parse_checkpoint, parse_note
from tests.integration.stack.conftest import Stack

Edit = Callable[[dict[str, str]], None]


class Tamper(httpx.BaseTransport):
    """Real HTTP to the gateway; ``edit`` rewrites the headers of attestation answers only."""

    def __init__(self, edit: Edit) -> None:
        self._inner = httpx.HTTPTransport()
        self._edit = edit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if request.url.path != "/v1/attestation":
            return response
        body = response.read()
        headers = {k.lower(): v for k, v in response.headers.items()}
        self._edit(headers)
        headers.pop("content-length", None)
        return httpx.Response(response.status_code, headers=headers, content=body)

    def close(self) -> None:
        self._inner.close()


def _monitor(stack: Stack, state: Path | None = None) -> LogMonitor:
    assert stack.wired.log_public_key is not None
    return LogMonitor.from_key(stack.wired.log_public_key, state_file=state)


def _attest(stack: Stack, log_key: LogMonitor | str | Path, edit: Edit | None = None) -> AttestedSession:
    token = stack.provider.token("infer")
    if edit is None:
        return attest(stack.url, stack.worker.policy, model="tiny", token=token, log_key=log_key)
    with httpx.Client(transport=Tamper(edit), timeout=30) as client:
        return attest(
            stack.url, stack.worker.policy, model="tiny", token=token, log_key=log_key, http_client=client
        )


def test_the_attestation_a_client_relied_on_is_proven_in_the_log(stack: Stack) -> None:
    monitor = _monitor(stack)
    session = attest(
        stack.url, stack.worker.policy, model="tiny", token=stack.provider.token("infer"), log_key=monitor
    )
    assert session.log is not None
    assert session.log.origin == "attestgw.test/stack"
    assert session.log.recorded_status == "affirming"
    assert session.log.consistent_with is None  # nothing kept before
    assert session.summary()["log"]["checked"] is True
    (row,) = stack.wired.store.entries(session.log.index, session.log.index + 1)
    record = parse_record(row.data)
    assert record.type == "attestation.appraised"
    assert row.evidence is not None
    assert row.evidence.nonce == session.nonce
    assert record.fields["nonce_digest"] == hashlib.sha256(session.nonce).hexdigest()

    again = attest(
        stack.url, stack.worker.policy, model="tiny", token=stack.provider.token("infer"), log_key=monitor
    )
    assert again.log is not None
    assert again.log.index > session.log.index
    assert again.log.consistent_with == session.log.size  # the newer checkpoint extends the first
    kept = monitor.kept()
    assert kept is not None
    assert kept.size == again.log.size


def test_without_a_log_key_nothing_about_the_log_is_checked(stack: Stack) -> None:
    session = attest(stack.url, stack.worker.policy, model="tiny", token=stack.provider.token("infer"))
    assert session.log is None
    assert session.summary()["log"] == {"checked": False}


def test_the_gateway_returns_the_worker_bundle_unchanged_and_records_it_beside_the_entry(
    stack: Stack,
) -> None:
    nonce = os.urandom(32)
    answer = httpx.get(
        f"{stack.url}/v1/attestation",
        params={"nonce": nonce.hex(), "model": "tiny"},
        headers={"authorization": f"Bearer {stack.provider.token('infer')}"},
    )
    assert answer.status_code == 200
    index = int(answer.headers["Attestgw-Log-Index"])
    (row,) = stack.wired.store.entries(index, index + 1)
    assert row.evidence is not None
    assert row.evidence.bundle == answer.content
    assert row.evidence.nonce == nonce
    assert base64.b64decode(answer.headers["Attestgw-Log-Entry"]) == row.data
    note = base64.b64decode(answer.headers["Attestgw-Log-Checkpoint"])
    assert parse_checkpoint(parse_note(note).text).size > index


def _flip_first_proof_hash(headers: dict[str, str]) -> None:
    hashes = headers[LOG_INCLUSION_HEADER].split(",")
    first = bytearray(base64.b64decode(hashes[0]))
    first[0] ^= 1
    headers[LOG_INCLUSION_HEADER] = ",".join([base64.b64encode(bytes(first)).decode(), *hashes[1:]])


def test_a_tampered_inclusion_proof_is_refused(stack: Stack) -> None:
    with pytest.raises(VerificationError) as err:
        _attest(stack, _monitor(stack), _flip_first_proof_hash)
    assert err.value.code == "log.proof_invalid"


def test_a_checkpoint_signed_by_another_key_is_refused(stack: Stack) -> None:
    def resign(headers: dict[str, str]) -> None:
        text = parse_note(base64.b64decode(headers[LOG_CHECKPOINT_HEADER])).text
        forged = sign_note(text, [NoteSigner.generate("attestgw.test/stack")])
        headers[LOG_CHECKPOINT_HEADER] = base64.b64encode(forged).decode()

    with pytest.raises(VerificationError) as err:
        _attest(stack, _monitor(stack), resign)
    assert err.value.code == "log.unknown_key"


def test_a_proven_record_of_another_bundle_is_refused(stack: Stack) -> None:
    store = stack.wired.store
    admission = next(  # the pool's own attestation of the worker: another nonce, another bundle
        row for row in store.entries(0, store.size) if parse_record(row.data).type == "attestation.appraised"
    )

    def swap(headers: dict[str, str]) -> None:
        size = parse_checkpoint(parse_note(base64.b64decode(headers[LOG_CHECKPOINT_HEADER])).text).size
        proof = store.inclusion_proof(admission.index, size)  # a genuine proof, for the wrong entry
        headers[LOG_INDEX_HEADER] = str(admission.index)
        headers[LOG_ENTRY_HEADER] = base64.b64encode(admission.data).decode()
        headers[LOG_INCLUSION_HEADER] = ",".join(base64.b64encode(h).decode() for h in proof)

    with pytest.raises(VerificationError) as err:
        _attest(stack, _monitor(stack), swap)
    assert err.value.code == "log.entry_mismatch"


def test_an_answer_without_the_log_proof_is_refused_when_a_key_is_pinned(stack: Stack) -> None:
    def strip(headers: dict[str, str]) -> None:
        for name in (LOG_INDEX_HEADER, LOG_ENTRY_HEADER, LOG_CHECKPOINT_HEADER, LOG_INCLUSION_HEADER):
            headers.pop(name)

    with pytest.raises(FormatError) as err:
        _attest(stack, _monitor(stack), strip)
    assert err.value.code == "log.proof_missing"


def test_a_kept_checkpoint_the_log_does_not_extend_is_a_split_view(stack: Stack, tmp_path: Path) -> None:
    # A checkpoint signed with the real log key for a tree the log never had (a fork shown earlier):
    # the log's consistency proof from it to the current checkpoint cannot hold.
    signer = load_signer(stack.state / "log.key")
    forged = Checkpoint("attestgw.test/stack", 2, hashlib.sha256(b"another history").digest())
    state = tmp_path / "log-state.json"
    note = sign_note(forged.to_text(), [signer])
    state.write_text(json.dumps({"attestgw.test/stack": note.decode()}))
    monitor = _monitor(stack, state)
    assert monitor.kept() == forged
    with pytest.raises(VerificationError) as err:
        _attest(stack, monitor)
    assert err.value.code == "log.split_view"
    assert monitor.kept() == forged  # nothing newer was accepted


def test_the_state_file_keeps_the_last_checkpoint_across_monitors(stack: Stack, tmp_path: Path) -> None:
    state = tmp_path / "log-state.json"
    first = _attest(stack, _monitor(stack, state))
    second = _attest(stack, _monitor(stack, state))
    assert first.log is not None
    assert second.log is not None
    assert second.log.consistent_with == first.log.size


def test_the_transport_checks_the_log_on_every_attestation(stack: Stack) -> None:
    assert stack.wired.log_public_key is not None
    key = stack.wired.log_public_key.read_text().strip()
    transport = AttestedTransport(
        stack.url, stack.worker.policy, model="tiny", token=stack.provider.token("infer"), log_key=key
    )
    try:
        session = transport.session()
        assert session.log is not None
        assert session.log.recorded_status == "affirming"
    finally:
        transport.close()


def test_the_async_client_checks_the_log_and_consistency_too(stack: Stack) -> None:
    monitor = _monitor(stack)
    token = stack.provider.token("infer")

    async def twice() -> tuple[AttestedSession, AttestedSession]:
        policy = stack.worker.policy
        first = await attest_async(stack.url, policy, model="tiny", token=token, log_key=monitor)
        second = await attest_async(stack.url, policy, model="tiny", token=token, log_key=monitor)
        return first, second

    first, second = asyncio.run(twice())
    assert first.log is not None
    assert second.log is not None
    assert second.log.consistent_with == first.log.size


def test_chat_on_the_command_line_checks_the_log_with_a_pinned_key(stack: Stack) -> None:
    args = ["chat", "--url", stack.url, "--model", "tiny", "--token", stack.provider.token("infer")]
    args += ["--policy", str(stack.worker.policy_path), "--max-tokens", "3", "--json"]
    pinned = CliRunner().invoke(main, [*args, "--log-key", str(stack.state / "log.key.pub"), "hi"])
    assert pinned.exit_code == 0, pinned.output
    out = json.loads(pinned.output)
    assert out["log"]["checked"] is True
    assert out["log"]["index"] >= 0
    unpinned = json.loads(CliRunner().invoke(main, [*args, "hi"]).output)
    assert unpinned["log"] == {"checked": False}
