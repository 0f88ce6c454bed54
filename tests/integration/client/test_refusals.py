"""Refusals over real sockets, each with its own error, through a misbehaving relay on loopback.

Issue 3 "must show": evidence whose binding does not match the key config; a replayed sealed request;
a tampered ciphertext and a tampered chunk; a truncated stream; an unknown key id; a policy that does
not affirm — and then the prompt never reaches the worker (its sealed routes count nothing).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from attestgw.appraisal import load_policy, parse_policy
from attestgw.client import AttestationRefused, AttestedTransport
from attestgw.errors import DecryptionError, VerificationError
from tests.conftest import REPO
from tests.integration.client.loopback import RunningWorker
from tests.integration.client.relay import Relay

CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "a secret prompt"}], "max_tokens": 6}
STREAM = {**CHAT, "stream": True}
INNER = "http://worker/v1/chat/completions"


@pytest.fixture
def via_relay(relay: tuple[Relay, str], worker: RunningWorker) -> Iterator[tuple[Relay, httpx.Client]]:
    relay_app, url = relay
    with httpx.Client(transport=AttestedTransport(url, worker.policy), timeout=60) as client:
        yield relay_app, client


def _read_until_refused(response: httpx.Response) -> tuple[bytes, DecryptionError]:
    """The body bytes released before the transport refused the stream, and the refusal."""
    received = []
    pieces = response.iter_raw()
    while True:
        try:
            received.append(next(pieces))
        except DecryptionError as err:
            return b"".join(received), err
        except StopIteration:
            pytest.fail("the stream ended without a refusal")


def _nothing_sealed_reached(worker: RunningWorker, before: int) -> None:
    assert worker.app.sealed() == before, "a sealed request reached the worker"


def test_the_relay_passes_honest_traffic(via_relay: tuple[Relay, httpx.Client]) -> None:
    _, client = via_relay
    assert client.post(INNER, json=CHAT).status_code == 200
    with client.stream("POST", INNER, json=STREAM) as response:
        assert b"[DONE]" in response.read()


def test_a_swapped_key_config_is_refused_before_anything_is_sent(
    via_relay: tuple[Relay, httpx.Client], worker: RunningWorker
) -> None:
    relay, client = via_relay
    relay.mode = "swap_keys"
    before = worker.app.sealed()
    with pytest.raises(AttestationRefused) as err:
        client.post(INNER, json=CHAT)
    assert err.value.codes == ("policy.report_data_mismatch",)
    _nothing_sealed_reached(worker, before)


def test_a_policy_that_does_not_affirm_sends_nothing(worker: RunningWorker) -> None:
    text = worker.policy_path.read_text().replace(worker.policy.measurements[0].hex(), "ab" * 48)
    policy = parse_policy(text.encode(), source="wrong measurement")
    before = worker.app.sealed()
    with (
        httpx.Client(transport=AttestedTransport(worker.url, policy)) as client,
        pytest.raises(AttestationRefused) as err,
    ):
        client.post(INNER, json=CHAT)
    assert err.value.codes == ("policy.measurement_mismatch",)
    assert err.value.failures[0].got == worker.policy.measurements[0].hex()
    _nothing_sealed_reached(worker, before)


def test_the_default_policy_refuses_the_simulated_worker_and_sends_nothing(worker: RunningWorker) -> None:
    policy = load_policy(REPO / "policies" / "attestation" / "default-snp.toml")
    before = worker.app.sealed()
    with (
        httpx.Client(transport=AttestedTransport(worker.url, policy)) as client,
        pytest.raises(VerificationError) as err,
    ):
        client.post(INNER, json=STREAM)
    assert err.value.code == "snp.root_not_pinned"
    _nothing_sealed_reached(worker, before)


def test_a_replayed_sealed_request_is_refused_by_the_worker(
    via_relay: tuple[Relay, httpx.Client], worker: RunningWorker
) -> None:
    relay, client = via_relay
    relay.mode = "replay"
    assert client.post(INNER, json=CHAT).status_code == 200  # the relay keeps a copy of this one
    with pytest.raises(DecryptionError) as err:
        client.post(INNER, json={**CHAT, "max_tokens": 3})
    assert err.value.code == "ohttp.replay"


def test_a_tampered_request_ciphertext_is_refused(
    via_relay: tuple[Relay, httpx.Client], worker: RunningWorker
) -> None:
    relay, client = via_relay
    client.get("http://worker/v1/models")  # attest first
    attested = worker.app.counts["/attestation"]
    relay.mode = "tamper_request"
    with pytest.raises(DecryptionError) as err:
        client.post(INNER, json=CHAT)
    assert err.value.code == "ohttp.decrypt_failed"
    # the client asked once whether the key changed (it had not), and did not retry
    assert worker.app.counts["/attestation"] == attested + 1


def test_a_tampered_response_ciphertext_is_refused(via_relay: tuple[Relay, httpx.Client]) -> None:
    relay, client = via_relay
    relay.mode = "tamper_response"
    with pytest.raises(DecryptionError) as err:
        client.post(INNER, json=CHAT)
    assert err.value.code == "ohttp.decrypt_failed"


def _stream_into(client: httpx.Client, received: list[bytes]) -> None:
    with client.stream("POST", INNER, json=STREAM) as response:
        received.extend(response.iter_raw())


def test_a_tampered_chunk_is_refused(via_relay: tuple[Relay, httpx.Client]) -> None:
    """Refused where the chunk arrives: when the response starts or while it is read, depending on
    how the bytes were coalesced on the way; never is the tampered answer delivered whole."""
    relay, client = via_relay
    relay.mode = "tamper_chunk"
    received: list[bytes] = []
    with pytest.raises(DecryptionError) as err:
        _stream_into(client, received)
    assert err.value.code == "ohttp.chunk_invalid"
    assert b"[DONE]" not in b"".join(received)


def test_a_stream_without_its_final_chunk_is_truncated(via_relay: tuple[Relay, httpx.Client]) -> None:
    relay, client = via_relay
    relay.mode = "drop_final"
    with client.stream("POST", INNER, json=STREAM) as response:
        received, err = _read_until_refused(response)
    assert err.code == "ohttp.truncated"
    assert b"data: {" in received  # every authenticated event was delivered as it came
    assert b"[DONE]" not in received  # but never the end marker: the answer is not complete


def test_the_openai_client_sees_a_truncated_stream_as_an_error(
    relay: tuple[Relay, str], worker: RunningWorker
) -> None:
    """openai stops reading at [DONE]; the transport holds [DONE] back until the final chunk came."""
    openai = pytest.importorskip("openai")
    relay_app, url = relay
    relay_app.mode = "drop_final"
    client = openai.OpenAI(
        base_url="http://worker/v1",
        api_key="unused",
        max_retries=0,
        http_client=httpx.Client(transport=AttestedTransport(url, worker.policy)),
    )
    tokens = []
    stream = client.chat.completions.create(**STREAM)
    with pytest.raises(DecryptionError) as err:
        tokens.extend(stream)
    assert err.value.code == "ohttp.truncated"
    assert tokens  # the tokens that authenticated were shown as they came


def test_an_unknown_key_id_is_refused_after_one_check_for_new_keys(
    via_relay: tuple[Relay, httpx.Client], worker: RunningWorker
) -> None:
    relay, client = via_relay
    client.get("http://worker/v1/models")
    attested = worker.app.counts["/attestation"]
    relay.mode = "key_id"
    with pytest.raises(DecryptionError) as err:
        client.post(INNER, json=CHAT)
    assert err.value.code == "ohttp.unknown_key_id"
    assert worker.app.counts["/attestation"] == attested + 1
