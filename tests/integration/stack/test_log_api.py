"""The gateway's evidence-log API over the real stack: who may read it, what it serves (and that it
verifies), how it refuses bad ranges, and the CLI's ``--url`` mode over it."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from attestgw.cli import main
from attestgw.client import LogApiClient
from attestgw.errors import AuthorizationError
from attestgw.log import load_verifiers, parse_record, verify_checkpoint
from attestgw.merkle import leaf_hash, verify_consistency, verify_inclusion
from tests.integration.stack.conftest import Stack


def _auditor(stack: Stack) -> str:
    return stack.provider.token("infer")  # client attestgw-test: group "ops", which ops.cedar lets read_log


def _key(stack: Stack) -> Path:
    assert stack.wired.log_public_key is not None
    return stack.wired.log_public_key


def test_an_auditor_reads_a_checkpoint_entries_and_proofs_that_verify(stack: Stack) -> None:
    api = LogApiClient(stack.url, token=_auditor(stack))
    try:
        note = api.checkpoint()
        checkpoint = verify_checkpoint(
            note, load_verifiers(_key(stack)), origin="attestgw.test/stack"
        ).checkpoint
        assert checkpoint.size >= 2
        rows = list(api.entries(0, checkpoint.size))
        assert [r.index for r in rows] == list(range(checkpoint.size))
        attestations = [r for r in rows if parse_record(r.data).type == "attestation.appraised"]
        assert attestations
        assert all(r.evidence is not None for r in attestations)
        assert all(r.evidence is None for r in rows if r not in attestations)
        for row in rows:
            assert row.leaf_hash == leaf_hash(row.data)
            proof = api.inclusion(row.index, checkpoint.size)
            verify_inclusion(leaf_hash(row.data), row.index, checkpoint.size, proof, checkpoint.root_hash)
        old = 1
        old_root = leaf_hash(rows[0].data)
        verify_consistency(
            old, checkpoint.size, api.consistency(old, checkpoint.size), old_root, checkpoint.root_hash
        )
    finally:
        api.close()


def test_tree_heads_are_for_every_caller_and_entries_for_auditors(stack: Stack) -> None:
    answer = httpx.get(
        f"{stack.url}/v1/log/checkpoint", headers={"authorization": f"Bearer {_auditor(stack)}"}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text.startswith("attestgw.test/stack\n")
    user = stack.provider.token("infer", client_id="attestgw-other")  # tenant globex, no groups
    for path in ("/v1/log/entries?start=0", "/v1/log/proof/inclusion?index=0"):
        refused = httpx.get(f"{stack.url}{path}", headers={"authorization": f"Bearer {user}"})
        assert refused.status_code == 403, path
        assert refused.json()["code"] == "access.denied"
    with pytest.raises(AuthorizationError):
        list(LogApiClient(stack.url, token=user).entries(0, 1))
    # the signed tree head and consistency proofs (hashes only) serve every authenticated caller,
    # so a client that keeps a checkpoint can check it against the next one without read_log
    for path in ("/v1/log/checkpoint", "/v1/log/proof/consistency?old=1"):
        served = httpx.get(f"{stack.url}{path}", headers={"authorization": f"Bearer {user}"})
        assert served.status_code == 200, path
    assert httpx.get(f"{stack.url}/v1/log/checkpoint").status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        "entries?start=100000",
        "entries?start=2&end=2",
        "proof/inclusion?index=100000",
        "proof/inclusion?index=0&size=100000",
        "proof/consistency?old=0",
        "proof/consistency?old=3&new=2",
    ],
)
def test_ranges_outside_the_log_are_400_with_their_code(stack: Stack, query: str) -> None:
    answer = httpx.get(f"{stack.url}/v1/log/{query}", headers={"authorization": f"Bearer {_auditor(stack)}"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "gateway.log_range_invalid"


def test_an_entries_page_is_bounded_and_says_where_it_stopped(stack: Stack) -> None:
    answer = httpx.get(
        f"{stack.url}/v1/log/entries",
        params={"start": 0},
        headers={"authorization": f"Bearer {_auditor(stack)}"},
    )
    page = answer.json()
    assert page["start"] == 0
    assert page["end"] == min(page["size"], 100)
    assert len(page["entries"]) == page["end"]
    assert base64.b64decode(page["entries"][0]["record"]) == stack.wired.store.entries(0, 1)[0].data


def test_the_log_cli_reads_through_the_gateway(stack: Stack, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--url", stack.url, "--token", _auditor(stack), "--log-key", str(_key(stack)), "--json"]
    checkpoint = runner.invoke(main, ["log", "checkpoint", *base])
    assert checkpoint.exit_code == 0, checkpoint.output
    out = json.loads(checkpoint.output)
    assert out["verified"] is True
    assert out["size"] >= 2
    kept = tmp_path / "kept.note"
    kept.write_text(out["note"])
    entries = json.loads(runner.invoke(main, ["log", "entries", *base, "--start", "0", "--end", "2"]).output)
    assert [e["index"] for e in entries["entries"]] == [0, 1]
    proof = runner.invoke(main, ["log", "prove", *base, "--index", "1"])
    assert proof.exit_code == 0, proof.output
    assert json.loads(proof.output)["verified_against_signed_checkpoint"] is True
    consistent = runner.invoke(main, ["log", "verify-consistency", *base, "--old-checkpoint", str(kept)])
    assert consistent.exit_code == 0, consistent.output
    user = stack.provider.token("infer", client_id="attestgw-other")
    refused = runner.invoke(main, ["log", "entries", "--url", stack.url, "--token", user, "--json"])
    assert refused.exit_code == 1
    assert json.loads(refused.output)["error"]["code"] == "access.denied"


def test_audit_verify_over_the_gateway_api_reverifies_every_entry(stack: Stack) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "audit",
            "verify",
            "--url",
            stack.url,
            "--token",
            _auditor(stack),
            "--log-key",
            str(_key(stack)),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["ok"] is True
    assert out["source"] == "gateway"
    assert out["attestations_reverified"] >= 1
    assert out["checkpoints"] == 1


def test_giving_both_a_database_and_a_gateway_is_a_usage_error(stack: Stack) -> None:
    db = str(stack.state / "log.db")
    both = CliRunner().invoke(main, ["log", "checkpoint", "--url", stack.url, "--db", db, "--json"])
    assert both.exit_code == 2
    assert json.loads(both.output)["error"]["code"] == "usage.invalid"


def test_the_html_report_reads_the_log_through_the_gateway(stack: Stack, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        main, ["audit", "report", "--url", stack.url, "--token", _auditor(stack), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "<svg" in html  # charts drawn inline
    # self-contained: nothing is loaded from elsewhere (worker URLs appear as text, never as sources)
    assert not re.search(r"""(src|href)=["']?https?://""", html)
    assert "<script src" not in html
    assert stack.worker.url in html  # the workers and their measurements are listed
