"""The confidential request path end to end: OIDC token → gateway (authn, Cedar, quotas, relay, log) →
attested worker; the official openai client through the SDK, and every refusal with its code."""

from __future__ import annotations

import httpx
import pytest

from attestgw.client import AttestedTransport, attest
from attestgw.errors import AuthenticationError, AuthorizationError
from attestgw.log import parse_record
from tests.integration.stack.conftest import Stack

openai = pytest.importorskip("openai", reason="the stack tests use the official openai client")

MESSAGES = [{"role": "user", "content": "Say something."}]


def test_attest_and_stream_through_the_gateway_with_a_real_token(stack: Stack) -> None:
    token = stack.provider.token("infer")
    session = attest(stack.url, stack.worker.policy, model="tiny", token=token)
    assert session.result.affirming
    assert session.model_id == "tiny"
    transport = AttestedTransport(stack.url, stack.worker.policy, model="tiny", token=token)
    client = openai.OpenAI(
        base_url="http://worker/v1", api_key="unused", http_client=httpx.Client(transport=transport)
    )
    stream = client.chat.completions.create(
        model="tiny", messages=MESSAGES, max_tokens=5, temperature=0, stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert transport.last_receipt is not None
    assert transport.last_receipt.evidence_digest == session.instance_digest.hex()


def test_no_token_and_a_forged_token_are_refused_before_anything_reaches_the_worker(stack: Stack) -> None:
    sealed = stack.worker.app.sealed()
    with pytest.raises(AuthenticationError) as missing:
        attest(stack.url, stack.worker.policy, model="tiny")
    assert missing.value.code == "auth.token_missing"
    token = stack.provider.token("infer")
    head, body, _ = token.split(".")
    with pytest.raises(AuthenticationError) as forged:
        attest(stack.url, stack.worker.policy, model="tiny", token=f"{head}.{body}.AAAA")
    assert forged.value.code == "auth.signature_invalid"
    assert stack.worker.app.sealed() == sealed


def test_an_authenticated_caller_the_policies_do_not_permit_is_denied_and_recorded(stack: Stack) -> None:
    token = stack.provider.token("infer", client_id="attestgw-other")  # tenant globex, no groups
    with pytest.raises(AuthorizationError) as denied:
        attest(stack.url, stack.worker.policy, model="tiny", token=token)
    assert denied.value.code == "access.denied"
    store = stack.wired.store
    records = [parse_record(row.data) for row in store.entries(0, store.size)]
    denials = [r for r in records if r.type == "authorization.denied"]
    assert denials
    assert denials[-1].fields["code"] == "access.denied"


def test_a_token_without_the_required_scope_is_refused(stack: Stack) -> None:
    token = stack.provider.token("read_log")  # a real token, without the "infer" scope the gateway requires
    with pytest.raises(AuthenticationError) as err:
        attest(stack.url, stack.worker.policy, model="tiny", token=token)
    assert err.value.code == "auth.scope_missing"
