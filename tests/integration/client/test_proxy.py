"""``attestgw proxy``: any OpenAI client, unchanged, on a plaintext loopback endpoint — sealed beyond it.

The proxy runs under uvicorn on loopback in front of the recording relay (standing in for the
gateway: it sees what the proxy sends upstream) and the real worker (simulated SEV-SNP, tiny model).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from click.testing import CliRunner

from attestgw.appraisal import parse_policy
from attestgw.cli import main
from attestgw.client import attest
from attestgw.client.proxy import ProxySettings, check_loopback, create_proxy_app
from attestgw.errors import UsageError
from attestgw.receipt import decode_receipt, verify_receipt
from tests.integration.client.loopback import LoopbackServer, RunningWorker
from tests.integration.client.relay import Relay

openai = pytest.importorskip("openai", reason="the proxy tests use the official openai client")

MESSAGES = [{"role": "user", "content": "Say something."}]


@pytest.fixture
def proxy(relay: tuple[Relay, str], worker: RunningWorker) -> Iterator[str]:
    _, relay_url = relay
    app = create_proxy_app(ProxySettings(gateway=relay_url, policy=worker.policy, models=("tiny",)))
    with LoopbackServer(app) as server:
        yield server.url


def test_an_unchanged_openai_client_streams_through_the_proxy(
    proxy: str, relay: tuple[Relay, str], worker: RunningWorker
) -> None:
    sealed = worker.app.sealed()
    client = openai.OpenAI(base_url=proxy + "/v1", api_key="caller-token-1")
    stream = client.chat.completions.create(
        model="tiny", messages=MESSAGES, max_tokens=5, temperature=0, stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text
    assert worker.app.sealed() == sealed + 1  # it went sealed to the worker
    # the caller's api_key went upstream as the bearer token, on the attestation and the sealed request
    assert set(relay[0].authorizations) == {"Bearer caller-token-1"}


def test_one_shot_answers_carry_the_verified_receipt(proxy: str, worker: RunningWorker) -> None:
    response = httpx.post(
        proxy + "/v1/chat/completions",
        json={"model": "tiny", "messages": MESSAGES, "max_tokens": 3},
        headers={"authorization": "Bearer t"},
        timeout=60,
    )
    assert response.status_code == 200
    assert response.json()["object"] == "chat.completion"
    receipt = decode_receipt(response.headers["attestgw-receipt"])
    verify_receipt(receipt, attest(worker.url, worker.policy).receipt_spki)
    embedded = openai.OpenAI(base_url=proxy + "/v1", api_key="t").embeddings.create(model="tiny", input="hi")
    assert len(embedded.data[0].embedding) > 0
    assert [m.id for m in openai.OpenAI(base_url=proxy + "/v1", api_key="t").models.list()] == ["tiny"]


def test_a_fixed_token_replaces_the_callers(relay: tuple[Relay, str], worker: RunningWorker) -> None:
    settings = ProxySettings(gateway=relay[1], policy=worker.policy, token="fixed-token")
    with LoopbackServer(create_proxy_app(settings)) as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="caller-token")
        client.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=2)
    assert set(relay[0].authorizations) == {"Bearer fixed-token"}


def test_nothing_is_forwarded_when_attestation_fails(relay: tuple[Relay, str], worker: RunningWorker) -> None:
    text = worker.policy_path.read_text()
    measured = worker.policy.measurements[0].hex()
    wrong = parse_policy(text.replace(measured, "00" * 48).encode(), source="another measurement")
    sealed = worker.app.sealed()
    with LoopbackServer(create_proxy_app(ProxySettings(gateway=relay[1], policy=wrong))) as server:
        response = httpx.post(
            server.url + "/v1/chat/completions", json={"model": "tiny", "messages": MESSAGES}, timeout=60
        )
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["type"] == "attestation_refused"
    assert error["code"] == "policy.measurement_mismatch"
    assert worker.app.sealed() == sealed  # nothing sealed reached the worker


def test_a_request_without_a_model_is_refused_locally(proxy: str) -> None:
    response = httpx.post(proxy + "/v1/chat/completions", json={"messages": MESSAGES})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "usage.invalid"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.4", "example.com", "::"])
def test_the_proxy_listens_on_loopback_only(host: str) -> None:
    with pytest.raises(UsageError):
        check_loopback(host)
    check_loopback("127.0.0.1")
    check_loopback("::1")
    check_loopback("localhost")


def test_the_command_refuses_a_non_loopback_listen_address(worker: RunningWorker) -> None:
    result = CliRunner().invoke(
        main, ["proxy", "--gateway", worker.url, "--listen", "0.0.0.0:0", "--policy", str(worker.policy_path)]
    )
    assert result.exit_code == 2
    assert "usage.invalid" in result.output
    assert "loopback" in result.output


def test_many_callers_keep_working_as_transports_are_evicted(
    relay: tuple[Relay, str], worker: RunningWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("attestgw.client.proxy._MAX_TRANSPORTS", 2)
    settings = ProxySettings(gateway=relay[1], policy=worker.policy, timeout=5)
    with LoopbackServer(create_proxy_app(settings)) as server:
        for n in range(5):  # five tokens, room for two transports: the oldest are retired
            client = openai.OpenAI(base_url=server.url + "/v1", api_key=f"caller-{n}")
            assert client.embeddings.create(model="tiny", input="hi").data
    assert relay[0].authorizations[-1] == "Bearer caller-4"
