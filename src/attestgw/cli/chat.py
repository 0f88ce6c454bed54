"""``attestgw chat``: one prompt to an attested worker, streamed back, then the receipt.

Thin over :class:`attestgw.client.AttestedTransport`: attest (refusing exactly as ``attestgw
attest`` does, before the prompt is sealed or sent), stream a chat completion through the sealed
channel, print the tokens as they arrive, then the verified receipt. See ``docs/client.md``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import httpx

from attestgw.cli.attest import (
    URL_HELP,
    cache_dir_option,
    finish,
    load_policy_option,
    online_option,
    policy_note,
    refusal_out,
    token_option,
    unreachable,
)
from attestgw.client import AttestedTransport
from attestgw.errors import AttestgwError, FormatError
from attestgw.receipt import Receipt

__all__ = ["chat_command"]

#: The inner API's base URL. Its authority is never resolved: requests go sealed to --url.
_INNER_BASE = "http://worker/v1"

_HELP = """Send PROMPT to the worker at --url through the sealed channel and stream the answer.

\b
The worker is attested first (as `attestgw attest` does); the prompt is sealed to the attested
OHTTP key only if the policy affirms. The answer streams as chunked OHTTP; a stream that stops
before its final chunk is reported as truncated, never as a complete answer. Afterwards the
receipt — signed by the attested receipt key over the request, the response, the model and the
worker instance — is verified and summarised.

\b
Without --policy the default policy is used, which refuses simulated evidence.
Exit codes: 0 answered and receipt verified; 1 refused (attestation, channel, receipt, or the
worker's API refused the request); 2 usage error or invalid policy; 3 worker or collateral unavailable.
"""


def _receipt_summary(receipt: Receipt) -> dict[str, Any]:
    return {
        "verified": True,
        "model": receipt.model,
        "model_digest": receipt.model_digest,
        "request_sha256": receipt.request_sha256,
        "response_sha256": receipt.response_sha256,
        "evidence_digest": receipt.evidence_digest,
        "redaction_policy_digest": receipt.redaction_policy_digest,
        "key_id": receipt.key_id,
        "time": datetime.fromtimestamp(receipt.time, UTC).isoformat(),
    }


def _render_receipt(summary: dict[str, Any]) -> str:
    lines = [click.style("receipt verified", fg="green", bold=True) + "  signed by the attested receipt key"]
    for key in (
        "model",
        "model_digest",
        "request_sha256",
        "response_sha256",
        "evidence_digest",
        "key_id",
        "time",
    ):
        lines.append(f"  {key:<16} {summary[key]}")
    return "\n".join(lines)


def _delta(line: str) -> str | None:
    """The text of one SSE ``data:`` line of a chat-completion stream (``None`` for anything else)."""
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if data == "[DONE]":
        return None
    try:
        event = json.loads(data)
        content = event["choices"][0]["delta"].get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise FormatError("worker.refused", "the stream carries an event that is not a chat chunk") from None
    return content if isinstance(content, str) else None


def _inner_refusal(status: int, body: bytes) -> FormatError:
    try:
        error = json.loads(body)["error"]
        shown = f"{error.get('code')}: {error.get('message')}"
    except (ValueError, KeyError, TypeError, AttributeError):
        shown = body[:200].decode("utf-8", "replace")
    return FormatError(
        "worker.refused", f"the worker's API answered {status} (sealed, receipt verified): {shown}"
    )


@click.command(name="chat", help=_HELP)
@click.argument("prompt")
@click.option("--url", required=True, help=URL_HELP)
@click.option("--model", help="Model id (a gateway needs it; default: the worker's only model).")
@token_option
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), help="Appraisal policy (TOML).")
@click.option("--max-tokens", type=click.IntRange(1, 1 << 16), default=64, show_default=True)
@online_option
@cache_dir_option
@click.option("--timeout", type=float, default=120.0, show_default=True, help="HTTP timeout, seconds.")
@click.option(
    "--log-key",
    type=click.Path(path_type=Path),
    help="The gateway log's public key: also require the attestation's proof of inclusion in its log.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object at the end instead of streaming."
)
def chat_command(
    prompt: str,
    url: str,
    model: str | None,
    token: str | None,
    policy_path: Path | None,
    max_tokens: int,
    online: bool,
    cache_dir: Path | None,
    timeout: float,
    log_key: Path | None,
    as_json: bool,
) -> None:
    out: dict[str, Any] = {"status": "none", "tee": "snp", "simulated": False, "appraisal": None, "url": url}
    answer: list[str] = []
    try:
        policy, source, is_default = load_policy_option(policy_path)
        out["policy"] = source
        note = policy_note(is_default)
        if note:
            out["note"] = note
        transport = AttestedTransport(
            url,
            policy,
            online=online,
            cache_dir=cache_dir,
            attest_timeout=timeout,
            model=model,
            token=token,
            log_key=log_key,
        )
        with httpx.Client(transport=transport, timeout=timeout) as client:
            try:
                session = transport.session()  # refuses here, before the prompt is sealed
                out.update(status=session.result.status.value, simulated=session.simulated, tee=session.tee)
                out["appraisal"] = session.result.policy_ref
                model = session.model_id
                body = {
                    "model": model,
                    "messages": [{"role": "user", "content": prompt}],
                    "max_tokens": max_tokens,
                    "stream": True,
                }
                with client.stream("POST", f"{_INNER_BASE}/chat/completions", json=body) as response:
                    if response.status_code != 200:
                        raise _inner_refusal(response.status_code, response.read())
                    for line in response.iter_lines():
                        text = _delta(line)
                        if text:
                            answer.append(text)
                            if not as_json:
                                click.echo(text, nl=False)
            except httpx.HTTPError as exc:
                raise unreachable(url, exc) from None
    except AttestgwError as err:
        if answer and not as_json:
            click.echo()
        out["answer"] = "".join(answer)
        refusal_out(out, err)
        finish(out, as_json, err.exit_code)
    receipt = transport.last_receipt
    assert receipt is not None  # the stream completed, so its receipt was verified
    summary = _receipt_summary(receipt)
    log = transport.session().log
    out["log"] = log.summary() if log is not None else {"checked": False}
    if as_json:
        out.update(answer="".join(answer), model=model, receipt=summary, failures=[])
        finish(out, True, 0)
    click.echo()
    if out.get("note"):
        click.echo(click.style("note: ", fg="yellow") + str(out["note"]))
    if out.get("simulated"):
        click.echo(
            click.style("SIMULATED", fg="magenta", bold=True)
            + "  the worker's evidence chains to a simulated root"
        )
    click.echo(_render_receipt(summary))
    if log is not None:
        click.echo(
            f"  {'evidence log':<15} entry {log.index} of checkpoint size {log.size}, inclusion verified"
        )
    raise SystemExit(0)
