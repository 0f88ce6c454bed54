"""A TDX bundle without Intel collateral, as a configfs-tsm worker serves it: verified with collateral
from a ``PcsFetcher`` (a pre-filled cache, or a loopback server playing Intel PCS), refused without one.

The bundles come from the worker's AttestationService over the simulated TDX backend; their collateral
is taken out of the bundle and put where the fetcher looks for it (tests/integration/fake_pcs.py).
Nothing leaves 127.0.0.1: every online fetcher points at the loopback server.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from attestgw.attestation import appraise_bundle, parse_bundle
from attestgw.client import AttestOptions, attest, verify_bundle
from attestgw.clock import utcnow
from attestgw.collateral.pcs import DEFAULT_PCS_CACHE, DEFAULT_PCS_URL
from attestgw.errors import CollateralUnavailableError, VerificationError
from attestgw.evidence.tdx_collateral import CollateralBundle
from attestgw.evidence.tdx_collateral import parse_bundle as parse_collateral
from tests.integration.fake_pcs import (
    FakePcs,
    fill_cache,
    pcs_answers,
    serve_bundle,
)
from tests.unit.composite.tdx_worker import TdxWorker, encode, make_tdx_worker

URL = "http://tdx-worker.test"


@pytest.fixture(scope="module")
def tdx() -> TdxWorker:
    return make_tdx_worker()  # key generation is the slow part: once per module


@pytest.fixture
def nonce() -> bytes:
    return os.urandom(32)


def _fmspc(tdx: TdxWorker) -> str:
    return tdx.backend.attester.pck.fmspc.hex()


def _stripped(tdx: TdxWorker, nonce: bytes) -> tuple[bytes, CollateralBundle]:
    """A bundle for ``nonce`` with ``evidence.collateral`` null, and the collateral it had."""
    bundle = tdx.bundle(nonce)
    collateral = parse_bundle(encode(bundle)).collateral
    assert collateral is not None
    bundle["evidence"]["collateral"] = None
    return encode(bundle), parse_collateral(collateral)


def _cached_files(cache: Path) -> set[Path]:
    return {p.relative_to(cache) for p in cache.rglob("*") if p.is_file()}


# -- no fetcher ---------------------------------------------------------------------------------------


def test_without_a_fetcher_the_bundle_is_unavailable_and_says_how_to_allow_it(
    tdx: TdxWorker, nonce: bytes
) -> None:
    data, _ = _stripped(tdx, nonce)
    with pytest.raises(CollateralUnavailableError) as err:
        appraise_bundle(data, nonce, tdx.policy(), at=utcnow())
    assert err.value.code == "collateral.unavailable"
    assert err.value.exit_code == 3
    assert "online" in err.value.message
    assert "cache" in err.value.message
    # the SDK's default options (offline, no cache directory) give no fetcher either
    assert AttestOptions().pcs_fetcher() is None
    with pytest.raises(CollateralUnavailableError) as err:
        verify_bundle(data, nonce, tdx.policy(), url=URL, at=utcnow(), options=AttestOptions())
    assert err.value.code == "collateral.unavailable"


# -- a cache, no network ----------------------------------------------------------------------------------


def test_a_cache_only_fetcher_with_the_collateral_cached_affirms(
    tdx: TdxWorker, nonce: bytes, pcs: FakePcs, tmp_path: Path
) -> None:
    data, collateral = _stripped(tdx, nonce)
    fill_cache(tmp_path, collateral, _fmspc(tdx))
    with pcs.fetcher(tmp_path, online=False) as fetcher:
        appraised = appraise_bundle(data, nonce, tdx.policy(), at=utcnow(), pcs_fetcher=fetcher)
    assert appraised.tee == "tdx"
    assert appraised.result.affirming
    assert appraised.simulated
    claims = appraised.tdx_claims
    assert claims is not None
    assert claims.fmspc == _fmspc(tdx)
    assert claims.body.mr_td == tdx.backend.attester.td_measurements["mr_td"]
    assert pcs.seen == []  # offline: not one request


def test_the_sdk_reads_the_pcs_cache_under_cache_dir(tdx: TdxWorker, nonce: bytes, tmp_path: Path) -> None:
    data, collateral = _stripped(tdx, nonce)
    fill_cache(tmp_path, collateral, _fmspc(tdx))
    session = verify_bundle(
        data, nonce, tdx.policy(), url=URL, at=utcnow(), options=AttestOptions(cache_dir=tmp_path)
    )
    assert session.result.affirming
    assert session.simulated


def test_attest_with_cache_dir_affirms_a_worker_that_sends_no_collateral(
    tdx: TdxWorker, tmp_path: Path
) -> None:
    stripped: list[bytes] = []

    def worker(request: httpx.Request) -> httpx.Response:
        data, collateral = _stripped(tdx, bytes.fromhex(request.url.params["nonce"]))
        if not stripped:
            fill_cache(tmp_path, collateral, _fmspc(tdx))
        stripped.append(data)
        return httpx.Response(200, content=data, headers={"content-type": "application/json"})

    with httpx.Client(transport=httpx.MockTransport(worker)) as client:
        session = attest(URL, tdx.policy(), http_client=client, cache_dir=tmp_path)
        assert session.result.affirming
        assert session.cpu_claims.simulated
        with pytest.raises(CollateralUnavailableError) as err:  # the same worker, no cache directory
            attest(URL, tdx.policy(), http_client=client)
    assert err.value.code == "collateral.unavailable"
    assert len(stripped) == 2


def test_a_cache_only_fetcher_with_an_empty_cache_is_unavailable_and_sends_nothing(
    tdx: TdxWorker, nonce: bytes, pcs: FakePcs, tmp_path: Path
) -> None:
    data, collateral = _stripped(tdx, nonce)
    serve_bundle(pcs, collateral, _fmspc(tdx))  # PCS has it, but the network is off
    with pcs.fetcher(tmp_path, online=False) as fetcher, pytest.raises(CollateralUnavailableError) as err:
        appraise_bundle(data, nonce, tdx.policy(), at=utcnow(), pcs_fetcher=fetcher)
    assert err.value.code == "collateral.unavailable"
    assert pcs.seen == []


def test_a_bundle_with_its_own_collateral_never_uses_the_fetcher(
    tdx: TdxWorker, nonce: bytes, pcs: FakePcs, tmp_path: Path
) -> None:
    _, collateral = _stripped(tdx, nonce)
    serve_bundle(pcs, collateral, _fmspc(tdx))
    with pcs.fetcher(tmp_path, online=True) as fetcher:
        appraised = appraise_bundle(
            encode(tdx.bundle(nonce)), nonce, tdx.policy(), at=utcnow(), pcs_fetcher=fetcher
        )
    assert appraised.result.affirming
    assert pcs.seen == []
    assert _cached_files(tmp_path) == set()


# -- online: a loopback server playing Intel PCS ----------------------------------------------------------


def test_an_online_fetcher_fetches_the_collateral_fills_the_cache_then_needs_no_network(
    tdx: TdxWorker, nonce: bytes, pcs: FakePcs, tmp_path: Path
) -> None:
    data, collateral = _stripped(tdx, nonce)
    serve_bundle(pcs, collateral, _fmspc(tdx))
    answers = pcs_answers(collateral, _fmspc(tdx))
    with pcs.fetcher(tmp_path, online=True) as fetcher:
        appraised = appraise_bundle(data, nonce, tdx.policy(), at=utcnow(), pcs_fetcher=fetcher)
    assert appraised.result.affirming
    assert appraised.tdx_claims is not None
    assert appraised.tdx_claims.fmspc == _fmspc(tdx)
    # one request per PCS answer, for the FMSPC and PCK CA kind the quote's PCK chain names
    assert sorted(pcs.seen) == sorted(a.path for a in answers)
    assert _cached_files(tmp_path) == {a.cache_entry for a in answers}
    # a later bundle from the same platform verifies from the cache alone
    again = os.urandom(32)
    data, _ = _stripped(tdx, again)
    with pcs.fetcher(tmp_path, online=False) as offline:
        assert appraise_bundle(data, again, tdx.policy(), at=utcnow(), pcs_fetcher=offline).result.affirming
    assert len(pcs.seen) == len(answers)


def test_a_pcs_error_is_fetch_failed_and_nothing_is_cached(
    tdx: TdxWorker, nonce: bytes, pcs: FakePcs, tmp_path: Path
) -> None:
    data, _ = _stripped(tdx, nonce)  # PCS serves nothing: every path is a 404
    with pcs.fetcher(tmp_path, online=True) as fetcher, pytest.raises(CollateralUnavailableError) as err:
        appraise_bundle(data, nonce, tdx.policy(), at=utcnow(), pcs_fetcher=fetcher)
    assert err.value.code == "collateral.fetch_failed"
    assert "HTTP 404" in err.value.message
    assert _cached_files(tmp_path) == set()


def test_fetched_collateral_signed_by_another_authority_fails_verification(
    tdx: TdxWorker, nonce: bytes, pcs: FakePcs, tmp_path: Path
) -> None:
    """Fetched collateral is as untrusted as the bundle's: a PCS (or cache) answering with another
    root's collateral for the same FMSPC is refused by verification, not taken on faith."""
    other = make_tdx_worker()
    assert _fmspc(other) == _fmspc(tdx)
    data, _ = _stripped(tdx, nonce)
    _, foreign = _stripped(other, nonce)
    serve_bundle(pcs, foreign, _fmspc(tdx))
    with pcs.fetcher(tmp_path, online=True) as fetcher, pytest.raises(VerificationError) as err:
        appraise_bundle(data, nonce, tdx.policy(), at=utcnow(), pcs_fetcher=fetcher)
    assert err.value.code == "tdx.root_not_pinned"
    assert len(pcs.seen) == 4


# -- AttestOptions ----------------------------------------------------------------------------------------


def test_attest_options_make_the_pcs_fetcher_as_they_make_the_kds_one(tmp_path: Path) -> None:
    online = AttestOptions(online=True, cache_dir=tmp_path).pcs_fetcher()
    assert online is not None
    assert (online.allow_network, online.cache_dir, online.base_url) == (True, tmp_path, DEFAULT_PCS_URL)
    default_cache = AttestOptions(online=True).pcs_fetcher()
    assert default_cache is not None
    assert (default_cache.allow_network, default_cache.cache_dir) == (True, DEFAULT_PCS_CACHE.expanduser())
    cache_only = AttestOptions(cache_dir=tmp_path).pcs_fetcher()
    assert cache_only is not None
    assert (cache_only.allow_network, cache_only.cache_dir) == (False, tmp_path)
    assert AttestOptions().pcs_fetcher() is None
