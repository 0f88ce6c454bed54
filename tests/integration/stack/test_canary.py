"""The canary (issue 4): a unique secret sent as a prompt through the whole stack leaves no trace in
anything the gateway produced — its logs, its metrics, its evidence-log database files, and every
response header and body it sent — while the worker's answer is correct (the same answer the worker
gives the same prompt directly, and a receipt that verifies)."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from attestgw.client import AttestedTransport, attest
from tests.integration.stack.conftest import Stack

openai = pytest.importorskip("openai", reason="the canary test uses the official openai client")


class Recording(httpx.BaseTransport):
    """The SDK's inner transport, keeping every byte the gateway answered (headers and bodies)."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.seen: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        body = response.read()
        headers = b"\n".join(k + b": " + v for k, v in response.headers.raw)
        self.seen += [headers, body]
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    def close(self) -> None:
        self._inner.close()


def _answer(transport: httpx.BaseTransport, prompt: str, *, stream: bool) -> str:
    client = openai.OpenAI(
        base_url="http://worker/v1", api_key="unused", http_client=httpx.Client(transport=transport)
    )
    messages = [{"role": "user", "content": prompt}]
    if stream:
        chunks = client.chat.completions.create(
            model="tiny", messages=messages, max_tokens=12, temperature=0, stream=True
        )
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    done = client.chat.completions.create(model="tiny", messages=messages, max_tokens=12, temperature=0)
    return done.choices[0].message.content or ""


def _files(state: Path) -> list[Path]:
    return [p for p in state.iterdir() if p.is_file() and p.name.startswith("log.db")]


def test_a_secret_prompt_leaves_no_trace_in_the_gateway(stack: Stack) -> None:
    canary = f"CANARY-{secrets.token_hex(16)}"
    token = stack.provider.token("infer")
    recording = Recording()
    transport = AttestedTransport(
        stack.url, stack.worker.policy, model="tiny", token=token, transport=recording
    )
    through_gateway = [_answer(transport, f"Repeat after me: {canary}", stream=s) for s in (False, True)]
    assert transport.last_receipt is not None
    # correct: the worker, asked directly (no gateway), gives the same deterministic answers
    direct = AttestedTransport(stack.worker.url, stack.worker.policy)
    assert through_gateway == [_answer(direct, f"Repeat after me: {canary}", stream=s) for s in (False, True)]
    assert all(through_gateway)
    assert attest(stack.url, stack.worker.policy, model="tiny", token=token).result.affirming

    needles = [canary.encode(), canary.encode().hex().encode(), canary[8:].encode()]
    stack.wired.store.checkpoint()  # everything recorded so far is durable
    haystacks = {
        "gateway logs": stack.log.getvalue().encode(),
        "metrics": httpx.get(stack.url + "/metrics").content,
        **{f"database file {p.name}": p.read_bytes() for p in _files(stack.state)},
        **{f"gateway answer #{i}": seen for i, seen in enumerate(recording.seen)},
    }
    assert _files(stack.state), "the evidence log database exists"
    assert len(recording.seen) >= 6  # attestation, one-shot and streamed answers: headers and bodies
    assert stack.log.getvalue(), "the gateway did log"
    for where, data in haystacks.items():
        for needle in needles:
            assert needle not in data, f"the canary leaked into {where}"
    # and the token never reached the logs either
    assert token.encode() not in haystacks["gateway logs"]
