"""The `attestgw verify tdx` contract: exit codes, JSON shape, collateral forms, policy appraisal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from attestgw.cli import main
from tests.conftest import corpus_file

QUOTE = "tdx/dcap-qvl/tdx_quote.bin"
BUNDLE = "tdx/dcap-qvl/tdx_quote_collateral.json"
SGX_QUOTE = "tdx/dcap-qvl/sgx_quote.bin"
SGX_BUNDLE = "tdx/dcap-qvl/sgx_quote_collateral.json"
AT = "2025-07-10T00:00:00Z"
MRTD = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7"


def run(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["verify", "tdx", *args, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def test_real_quote_verifies_without_policy() -> None:
    code, out = run("--quote", str(corpus_file(QUOTE)), "--collateral", str(corpus_file(BUNDLE)), "--at", AT)
    assert code == 0
    assert out["status"] == "verified"
    assert out["tee"] == "tdx"
    assert out["appraisal"] is None
    claims = out["claims"]
    assert claims["mrtd"] == MRTD
    assert claims["tcb_status"] == "UpToDate"
    assert claims["advisory_ids"] == []
    assert claims["fmspc"] == "b0c06f000000"
    assert len(claims["rtmrs"]) == 4
    assert all(len(r) == 96 for r in claims["rtmrs"])
    assert claims["td_attributes"]["debug"] is False
    assert out["failures"] == []


def test_after_the_collateral_window_exits_3() -> None:
    code, out = run(
        "--quote", str(corpus_file(QUOTE)), "--collateral", str(corpus_file(BUNDLE)), "--at", "2025-08-01"
    )
    assert code == 3
    assert out["error"]["code"] == "tdx.collateral_expired"
    assert out["status"] == "none"


def test_sgx_quote_is_refused_with_its_own_code() -> None:
    code, out = run(
        "--quote", str(corpus_file(SGX_QUOTE)), "--collateral", str(corpus_file(SGX_BUNDLE)), "--at", AT
    )
    assert code == 1
    assert out["error"]["code"] == "tdx.not_a_td_quote"
    assert out["status"] == "contraindicated"


def test_missing_collateral_exits_3_offline_and_online(tmp_path: Path) -> None:
    # An empty cache, and (online) a loopback PCS URL nobody listens on: no real network in tests.
    # The full fetch path is covered by tests/integration/test_pcs_fetcher.py.
    cache = (
        "--cache-dir",
        str(tmp_path),
        "--pcs-url",
        "http://127.0.0.1:9",
        "--pcs-root-crl-url",
        "http://127.0.0.1:9/crl",
    )
    for extra, want in (((), "collateral.unavailable"), (("--online",), "collateral.fetch_failed")):
        code, out = run("--quote", str(corpus_file(QUOTE)), "--at", AT, *cache, *extra)
        assert code == 3
        assert out["error"]["code"] == want


def test_directory_of_raw_pcs_responses(tmp_path: Path) -> None:
    quote = corpus_file("tdx/trustee/tdx_quote_6.dat")
    src = corpus_file("tdx/tinfoil/collateral/tcb_info_00a06d080000.json").parent
    for name in ("tcb_info_00a06d080000.json", "qe_identity.json", "root_ca.crl", "pck_crl_platform.crl"):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    (tmp_path / "tcb_info_00a06d080000_chain.txt").write_bytes(
        (src / "tcb_info_90c06f000000_chain.txt").read_bytes()
    )
    (tmp_path / "qe_identity_chain.txt").write_bytes((src / "tcb_info_90c06f000000_chain.txt").read_bytes())
    (tmp_path / "pck_crl_platform_chain.txt").write_bytes((src / "pck_crl_platform_chain.txt").read_bytes())
    code, out = run("--quote", str(quote), "--collateral", str(tmp_path), "--at", "2026-01-25T00:00:00Z")
    assert code == 0, out
    assert out["claims"]["fmspc"] == "00a06d080000"
    assert out["claims"]["tcb_status"] == "OutOfDate"


def test_tampered_quote_is_contraindicated(tmp_path: Path) -> None:
    raw = bytearray(corpus_file(QUOTE).read_bytes())
    raw[0xB8] ^= 0x01  # MRTD
    bad = tmp_path / "quote.bin"
    bad.write_bytes(bytes(raw))
    code, out = run("--quote", str(bad), "--collateral", str(corpus_file(BUNDLE)), "--at", AT)
    assert code == 1
    assert out["error"]["code"] == "tdx.quote_signature_invalid"
    assert out["status"] == "contraindicated"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    quote, bundle = str(corpus_file(QUOTE)), str(corpus_file(BUNDLE))
    assert run("--quote", quote, "--collateral", bundle, "--at", "yesterday")[0] == 2
    assert run("--quote", quote, "--collateral", bundle, "--report-data", "zz")[0] == 2
    assert run("--quote", str(tmp_path / "absent"), "--collateral", bundle)[0] == 2


def _policy(tmp_path: Path, mrtd: str) -> str:
    path = tmp_path / "policy.toml"
    path.write_text(
        f'[policy]\nid = "test-tdx"\nversion = "1"\n\n'
        f'[tdx]\nmrtds = ["{mrtd}"]\nrequire_sept_ve_disable = false\n',
        encoding="utf-8",
    )
    return str(path)


@pytest.mark.parametrize(("mrtd", "want_code", "want_status"), [(MRTD, 0, "affirming"), ("00" * 48, 1, None)])
def test_policy_appraisal(tmp_path: Path, mrtd: str, want_code: int, want_status: str | None) -> None:
    code, out = run(
        "--quote",
        str(corpus_file(QUOTE)),
        "--collateral",
        str(corpus_file(BUNDLE)),
        "--at",
        AT,
        "--policy",
        _policy(tmp_path, mrtd),
    )
    assert code == want_code, out
    assert out["appraisal"] is not None
    if want_status is not None:
        assert out["status"] == want_status
    else:
        assert out["status"] != "affirming"
        assert any("mrtd" in f["rule"].lower() or "mrtd" in f["code"] for f in out["failures"])
