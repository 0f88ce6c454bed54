"""PcsFetcher, `trust fetch tdx` and `verify tdx --online` against a loopback server playing Intel PCS.

The server (tests/integration/fake_pcs.py) serves tinfoil's saved PCS responses from the corpus as
PCS does: bodies byte-exact, issuer chains URL-encoded in the response headers. It records every
request, so each test can say exactly what went over the wire.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest
from click.testing import CliRunner

from attestgw.cli import main
from attestgw.collateral.pcs import PcsFetcher
from attestgw.errors import CollateralUnavailableError, UsageError
from attestgw.evidence.tdx_collateral import parse_bundle
from tests.conftest import corpus_file
from tests.integration.fake_pcs import ROOT_PATH, FakePcs

FMSPC = "00a06d080000"
QUOTE = "tdx/trustee/tdx_quote_6.dat"  # FMSPC 00a06d080000, PCK Platform CA (MANIFEST)
AT = "2026-01-20T00:00:00Z"  # inside the tinfoil collateral window 2026-01-12..2026-02-11
INSIDE = datetime(2026, 1, 20, tzinfo=UTC)
AFTER = datetime(2026, 3, 1, tzinfo=UTC)  # past TCB info, QE identity and PCK CRL nextUpdate

TCB_PATH = f"/tdx/certification/v4/tcb?fmspc={FMSPC}"
QE_PATH = "/tdx/certification/v4/qe/identity"
CRL_PATH = "/sgx/certification/v4/pckcrl?ca=platform&encoding=der"


def _raw(name: str) -> bytes:
    return corpus_file(f"tdx/tinfoil/collateral/{name}").read_bytes()


def _header(name: str) -> str:
    return _raw(name).decode("ascii").strip()  # the saved header value, still URL-encoded


def _serve_tinfoil(pcs: FakePcs) -> None:
    pcs.serve(
        TCB_PATH,
        _raw(f"tcb_info_{FMSPC}.json"),
        **{"TCB-Info-Issuer-Chain": _header(f"tcb_info_{FMSPC}_chain.txt")},
    )
    pcs.serve(
        QE_PATH,
        _raw("qe_identity.json"),
        **{"SGX-Enclave-Identity-Issuer-Chain": _header("qe_identity_chain.txt")},
    )
    pcs.serve(
        CRL_PATH,
        _raw("pck_crl_platform.crl"),
        **{"SGX-PCK-CRL-Issuer-Chain": _header("pck_crl_platform_chain.txt")},
    )
    pcs.serve(ROOT_PATH, _raw("root_ca.crl"))


# -- fetching and assembling ------------------------------------------------------------------------------


@pytest.mark.corpus
def test_bundle_keeps_bodies_byte_exact_and_decodes_issuer_chains(pcs: FakePcs, tmp_path: Path) -> None:
    _serve_tinfoil(pcs)
    with pcs.fetcher(tmp_path, now=INSIDE) as fetcher:
        got = fetcher.collateral(FMSPC.upper(), "platform")
    assert sorted(pcs.seen) == sorted([TCB_PATH, QE_PATH, CRL_PATH, ROOT_PATH])
    assert got.fetched == ("tcb_info", "qe_identity", "pck_crl", "root_ca_crl")
    assert got.expired == ()
    bundle = got.bundle
    # Intel signs the exact bytes of the tcbInfo value: they must be a verbatim slice of the body.
    assert bundle.tcb_info.raw in _raw(f"tcb_info_{FMSPC}.json")
    assert bundle.qe_identity.raw in _raw("qe_identity.json")
    assert bundle.pck_crl == _raw("pck_crl_platform.crl")
    assert bundle.root_ca_crl == _raw("root_ca.crl")
    assert bundle.tcb_info_issuer_chain == unquote_to_bytes(_raw(f"tcb_info_{FMSPC}_chain.txt").strip())
    assert bundle.tcb_info_issuer_chain.startswith(b"-----BEGIN CERTIFICATE-----\n")
    assert bundle.pck_crl_issuer_chain == unquote_to_bytes(_raw("pck_crl_platform_chain.txt").strip())
    # The JSON written out is the same bundle for parse_bundle (what `verify tdx --collateral` reads).
    assert parse_bundle(got.bundle_json) == bundle


@pytest.mark.corpus
def test_cache_hits_need_no_network_even_offline(pcs: FakePcs, tmp_path: Path) -> None:
    _serve_tinfoil(pcs)
    with pcs.fetcher(tmp_path, now=INSIDE) as fetcher:
        first = fetcher.collateral(FMSPC)
        again = fetcher.collateral(FMSPC)
    assert len(pcs.seen) == 4
    assert again.fetched == ()
    offline = pcs.fetcher(tmp_path, online=False, now=INSIDE).collateral(FMSPC)
    assert offline.bundle == first.bundle
    assert len(pcs.seen) == 4
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]  # atomic writes leave nothing


def test_miss_while_offline_is_unavailable_and_sends_nothing(pcs: FakePcs, tmp_path: Path) -> None:
    with pytest.raises(CollateralUnavailableError) as err:
        pcs.fetcher(tmp_path, online=False, now=INSIDE).tcb_info(FMSPC)
    assert err.value.code == "collateral.unavailable"
    assert err.value.exit_code == 3
    assert pcs.seen == []


@pytest.mark.corpus
def test_expired_entries_are_refetched_online_and_reported_offline(pcs: FakePcs, tmp_path: Path) -> None:
    older_qe = corpus_file("tdx/trustee/enclaveIdentity.json").read_bytes()  # nextUpdate 2025-11-27
    _serve_tinfoil(pcs)
    pcs.serve(QE_PATH, older_qe, **{"SGX-Enclave-Identity-Issuer-Chain": _header("qe_identity_chain.txt")})
    assert pcs.fetcher(tmp_path, now=INSIDE).qe_identity().body == older_qe
    stale_qe = pcs.fetcher(tmp_path, online=False, now=INSIDE).qe_identity()  # offline: returned as is
    assert stale_qe.body == older_qe
    assert stale_qe.next_update < INSIDE
    _serve_tinfoil(pcs)  # PCS now has the newer identity
    with pcs.fetcher(tmp_path, now=INSIDE) as fetcher:
        fetcher.collateral(FMSPC)  # fills the rest of the cache; the QE identity is past nextUpdate
    assert pcs.seen.count(QE_PATH) == 2
    fresh = pcs.fetcher(tmp_path, online=False, now=INSIDE).qe_identity()
    assert fresh.body == _raw("qe_identity.json")
    assert fresh.from_cache
    stale = pcs.fetcher(tmp_path, online=False, now=AFTER).collateral(FMSPC)
    # The root CA CRL is issued for a year, so only the ~30-day collateral is past nextUpdate.
    assert set(stale.expired) == {"tcb_info", "qe_identity", "pck_crl"}
    assert pcs.seen.count(QE_PATH) == 2


@pytest.mark.parametrize(
    ("status", "headers", "words"),
    [
        (404, {}, ["HTTP 404"]),
        (429, {"Retry-After": "30"}, ["HTTP 429", "rate limited", "Retry-After 30"]),
        (500, {}, ["HTTP 500"]),
    ],
)
def test_http_errors_are_fetch_failed_and_not_cached(
    pcs: FakePcs, tmp_path: Path, status: int, headers: dict[str, str], words: list[str]
) -> None:
    pcs.serve(TCB_PATH, b"error", status, **headers)
    with pcs.fetcher(tmp_path, now=INSIDE) as fetcher, pytest.raises(CollateralUnavailableError) as err:
        fetcher.tcb_info(FMSPC)
    assert err.value.code == "collateral.fetch_failed"
    for word in words:
        assert word in err.value.message
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


@pytest.mark.corpus
def test_a_response_without_its_issuer_chain_is_refused(pcs: FakePcs, tmp_path: Path) -> None:
    pcs.serve(TCB_PATH, _raw(f"tcb_info_{FMSPC}.json"))
    with pcs.fetcher(tmp_path, now=INSIDE) as fetcher, pytest.raises(CollateralUnavailableError) as err:
        fetcher.tcb_info(FMSPC)
    assert err.value.code == "collateral.fetch_failed"
    assert "TCB-Info-Issuer-Chain" in err.value.message
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


@pytest.mark.corpus
def test_a_200_that_is_not_tcb_info_is_refused_and_not_cached(pcs: FakePcs, tmp_path: Path) -> None:
    chain = _header(f"tcb_info_{FMSPC}_chain.txt")
    pcs.serve(TCB_PATH, b"<html>maintenance</html>", **{"TCB-Info-Issuer-Chain": chain})
    with pcs.fetcher(tmp_path, now=INSIDE) as fetcher, pytest.raises(CollateralUnavailableError) as err:
        fetcher.tcb_info(FMSPC)
    assert err.value.code == "collateral.fetch_failed"
    assert "not a TCB info" in err.value.message
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_unreachable_server_is_fetch_failed(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fetcher = PcsFetcher(tmp_path, base_url=f"http://127.0.0.1:{port}", allow_network=True, trust_env=False)
    with pytest.raises(CollateralUnavailableError) as err:
        fetcher.qe_identity()
    assert err.value.code == "collateral.fetch_failed"
    assert "ConnectError" in err.value.message


@pytest.mark.parametrize(("fmspc", "ca"), [("00a06d08", "platform"), ("../../etc", "platform"), (FMSPC, "x")])
def test_bad_fmspc_or_ca_is_a_usage_error_before_any_request(
    pcs: FakePcs, tmp_path: Path, fmspc: str, ca: str
) -> None:
    with pytest.raises(UsageError):
        pcs.fetcher(tmp_path, now=INSIDE).collateral(fmspc, ca)
    assert pcs.seen == []


# -- CLI: trust fetch tdx -----------------------------------------------------------------------------------


def _trust_fetch(pcs: FakePcs, cache: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        [
            "trust", "fetch", "tdx", "--cache-dir", str(cache), "--base-url", pcs.base_url,
            "--root-crl-url", pcs.root_crl_url, *args,
        ],
    )  # fmt: skip
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


@pytest.mark.corpus
def test_trust_fetch_writes_a_bundle_that_verify_tdx_accepts(pcs: FakePcs, tmp_path: Path) -> None:
    _serve_tinfoil(pcs)
    out = tmp_path / "bundle.json"
    code, _ = _trust_fetch(pcs, tmp_path / "cache", "--fmspc", FMSPC, "--out", str(out))
    assert code == 0
    code, text = _verify("--quote", str(corpus_file(QUOTE)), "--collateral", str(out), "--at", AT)
    assert code == 0, text
    assert text["claims"]["fmspc"] == FMSPC


@pytest.mark.corpus
def test_trust_fetch_prints_the_bundle_to_stdout_without_out(pcs: FakePcs, tmp_path: Path) -> None:
    _serve_tinfoil(pcs)
    code, output = _trust_fetch(pcs, tmp_path, "--fmspc", FMSPC)
    assert code == 0
    assert parse_bundle(output.encode()).tcb_info.tcb_info.fmspc.hex() == FMSPC


def test_trust_fetch_exit_codes(pcs: FakePcs, tmp_path: Path) -> None:
    code, output = _trust_fetch(pcs, tmp_path, "--fmspc", "zz", "--json")
    assert code == 2
    assert json.loads(output)["error"]["code"] == "usage.invalid"
    pcs.serve(TCB_PATH, b"oops", 500)
    code, output = _trust_fetch(pcs, tmp_path, "--fmspc", FMSPC, "--json")
    assert code == 3
    assert json.loads(output)["error"]["code"] == "collateral.fetch_failed"


# -- CLI: verify tdx without --collateral -------------------------------------------------------------------


def _verify(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["verify", "tdx", *args, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def _verify_cached(pcs: FakePcs, cache: Path, *args: str) -> tuple[int, dict[str, Any]]:
    return _verify(
        "--quote", str(corpus_file(QUOTE)), "--cache-dir", str(cache),
        "--pcs-url", pcs.base_url, "--pcs-root-crl-url", pcs.root_crl_url, *args,
    )  # fmt: skip


@pytest.mark.corpus
def test_verify_tdx_online_fetches_then_verifies_offline_from_the_cache(pcs: FakePcs, tmp_path: Path) -> None:
    _serve_tinfoil(pcs)
    cache = tmp_path / "pcs"
    code, out = _verify_cached(pcs, cache, "--at", AT)  # offline, empty cache
    assert code == 3
    assert out["error"]["code"] == "collateral.unavailable"
    assert pcs.seen == []
    code, out = _verify_cached(pcs, cache, "--online", "--at", AT)
    assert code == 0, out
    assert out["status"] == "verified"
    assert out["claims"]["fmspc"] == FMSPC
    assert sorted(pcs.seen) == sorted([TCB_PATH, QE_PATH, CRL_PATH, ROOT_PATH])
    requests = len(pcs.seen)
    code, out = _verify_cached(pcs, cache, "--at", AT)  # offline again: the cache is enough
    assert code == 0, out
    assert len(pcs.seen) == requests
    code, out = _verify_cached(pcs, cache)  # offline at the wall clock: the cached copies are stale
    assert code == 3
    assert out["error"]["code"] == "tdx.collateral_expired"
    assert len(pcs.seen) == requests
