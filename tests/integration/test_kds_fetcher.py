"""KdsFetcher against a real HTTP server on loopback that plays AMD KDS (stdlib http.server).

The server answers from a path → (status, body) table and records every request, so each test can
say exactly what went over the wire: nothing on a cache hit, one GET on a miss, none when offline.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from attestgw.collateral.kds import KdsFetcher, vcek_request_path
from attestgw.errors import CollateralUnavailableError
from attestgw.evidence.snp import Product, SigningKey, TcbParts, parse_report
from attestgw.verify.snp import SnpCollateral, SnpVerifyOptions, verify_snp
from tests.conftest import corpus_file
from tests.integration.fake_http import FakeService, running

CHIP = bytes(range(64))
TCB = TcbParts(bootloader=3, tee=0, snp=8, microcode=115)
VCEK_PATH = f"/vcek/v1/Milan/{CHIP.hex()}?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115"


class FakeKds(FakeService):
    """AMD KDS on loopback: what it serves, and the requests it saw."""


@pytest.fixture
def kds() -> Iterator[FakeKds]:
    with running(FakeKds()) as state:
        yield state


def _fetcher(kds: FakeKds, cache: Path, online: bool = True) -> KdsFetcher:
    # trust_env=False: a proxy configured in the environment must not intercept loopback traffic.
    return KdsFetcher(cache, base_url=kds.base_url, allow_network=online, timeout=5.0, trust_env=False)


def _read(rel: str) -> bytes:
    return corpus_file(rel).read_bytes()


# -- request shapes ------------------------------------------------------------------------------------


def test_vcek_request_uses_reported_tcb_and_the_whole_chip_id_before_turin() -> None:
    path = vcek_request_path(Product.GENOA, CHIP, TCB)
    url = urlsplit(path)
    assert url.path == f"/vcek/v1/Genoa/{CHIP.hex()}"
    assert parse_qs(url.query) == {"blSPL": ["3"], "teeSPL": ["0"], "snpSPL": ["8"], "ucodeSPL": ["115"]}


@pytest.mark.corpus
def test_turin_request_uses_8_bytes_of_chip_id_and_adds_fmc() -> None:
    # The corpus records the URL the Turin VCEK was downloaded from (MANIFEST, oak turin_oc).
    report = parse_report(_read("snp/oak/turin_oc_report.bin"))
    url = urlsplit(vcek_request_path(Product.TURIN, report.chip_id, report.reported_tcb.parts(Product.TURIN)))
    assert url.path == "/vcek/v1/Turin/3b42092f69c656d3"
    assert parse_qs(url.query) == {
        "ucodeSPL": ["71"],
        "snpSPL": ["2"],
        "teeSPL": ["0"],
        "blSPL": ["1"],
        "fmcSPL": ["0"],
    }


def test_masked_chip_id_cannot_be_looked_up() -> None:
    with pytest.raises(CollateralUnavailableError, match="masked"):
        vcek_request_path(Product.MILAN, bytes(64), TCB)


# -- cache and network -------------------------------------------------------------------------------------


@pytest.mark.corpus
def test_miss_fetches_once_and_later_hits_need_no_network(kds: FakeKds, tmp_path: Path) -> None:
    vcek = _read("snp/trustee/test-vcek.der")
    kds.serve(VCEK_PATH, vcek)
    with _fetcher(kds, tmp_path) as fetcher:
        assert fetcher.signing_cert(Product.MILAN, SigningKey.VCEK, CHIP, TCB) == vcek
        assert fetcher.signing_cert(Product.MILAN, SigningKey.VCEK, CHIP, TCB) == vcek
    assert kds.seen == [VCEK_PATH]
    offline = _fetcher(kds, tmp_path, online=False)
    assert offline.signing_cert(Product.MILAN, SigningKey.VCEK, CHIP, TCB) == vcek
    assert kds.seen == [VCEK_PATH]
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]  # atomic writes leave nothing


@pytest.mark.corpus
def test_cache_is_keyed_by_the_request(kds: FakeKds, tmp_path: Path) -> None:
    kds.serve(VCEK_PATH, _read("snp/trustee/test-vcek.der"))
    other_tcb = TcbParts(bootloader=3, tee=0, snp=9, microcode=115)
    with _fetcher(kds, tmp_path) as fetcher:
        fetcher.signing_cert(Product.MILAN, SigningKey.VCEK, CHIP, TCB)
        with pytest.raises(CollateralUnavailableError) as err:  # a different TCB is a different VCEK
            fetcher.signing_cert(Product.MILAN, SigningKey.VCEK, CHIP, other_tcb)
    assert err.value.code == "collateral.fetch_failed"
    assert "404" in err.value.message


@pytest.mark.corpus
def test_miss_while_offline_is_unavailable_and_sends_nothing(kds: FakeKds, tmp_path: Path) -> None:
    kds.serve("/vcek/v1/Milan/cert_chain", _read("snp/amd-roots/ask_ark_milan.pem"))
    with pytest.raises(CollateralUnavailableError) as err:
        _fetcher(kds, tmp_path, online=False).chain(Product.MILAN, SigningKey.VCEK)
    assert err.value.code == "collateral.unavailable"
    assert err.value.exit_code == 3
    assert kds.seen == []


@pytest.mark.parametrize(
    ("status", "headers", "words"),
    [(404, {}, ["HTTP 404"]), (429, {"Retry-After": "30"}, ["HTTP 429", "rate limited", "Retry-After 30"])],
)
def test_http_errors_are_fetch_failed_and_not_cached(
    kds: FakeKds, tmp_path: Path, status: int, headers: dict[str, str], words: list[str]
) -> None:
    kds.serve("/vcek/v1/Genoa/crl", b"slow down", status, **headers)
    with _fetcher(kds, tmp_path) as fetcher, pytest.raises(CollateralUnavailableError) as err:
        fetcher.crl(Product.GENOA, SigningKey.VCEK)
    assert err.value.code == "collateral.fetch_failed"
    for word in words:
        assert word in err.value.message
    assert not list(tmp_path.rglob("*.der"))


def test_a_200_that_is_not_the_object_is_refused_and_not_cached(kds: FakeKds, tmp_path: Path) -> None:
    kds.serve("/vlek/v1/Milan/cert_chain", b"<html>maintenance</html>")
    with _fetcher(kds, tmp_path) as fetcher, pytest.raises(CollateralUnavailableError) as err:
        fetcher.chain(Product.MILAN, SigningKey.VLEK)
    assert err.value.code == "collateral.fetch_failed"
    assert "not a certificate chain" in err.value.message
    assert not list(tmp_path.rglob("*.pem"))


def test_unreachable_server_is_fetch_failed(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fetcher = KdsFetcher(tmp_path, base_url=f"http://127.0.0.1:{port}", allow_network=True, trust_env=False)
    with pytest.raises(CollateralUnavailableError) as err:
        fetcher.crl(Product.MILAN, SigningKey.VCEK)
    assert err.value.code == "collateral.fetch_failed"
    assert "ConnectError" in err.value.message


def test_vlek_certificates_are_not_public(kds: FakeKds, tmp_path: Path) -> None:
    with _fetcher(kds, tmp_path) as fetcher, pytest.raises(CollateralUnavailableError) as err:
        fetcher.signing_cert(Product.MILAN, SigningKey.VLEK, CHIP, TCB)
    assert err.value.code == "collateral.unavailable"
    assert "not public" in err.value.message
    assert kds.seen == []


@pytest.mark.corpus
def test_old_crl_is_refreshed_online_and_reused_offline(kds: FakeKds, tmp_path: Path) -> None:
    old, new = _read("snp/openpcc/amd_genoa_crl.der"), _read("snp/openpcc/amd_milan_crl.der")
    kds.serve("/vcek/v1/Milan/crl", old)
    assert _fetcher(kds, tmp_path).crl(Product.MILAN, SigningKey.VCEK) == old
    kds.serve("/vcek/v1/Milan/crl", new)
    stale_ok = KdsFetcher(
        tmp_path, base_url=kds.base_url, allow_network=False, crl_max_age=0, trust_env=False
    )
    assert stale_ok.crl(Product.MILAN, SigningKey.VCEK) == old  # offline: the verifier judges freshness
    refresh = KdsFetcher(tmp_path, base_url=kds.base_url, allow_network=True, crl_max_age=0, trust_env=False)
    assert refresh.crl(Product.MILAN, SigningKey.VCEK) == new
    assert kds.seen == ["/vcek/v1/Milan/crl", "/vcek/v1/Milan/crl"]


# -- end to end: verify_snp with only the report in hand -------------------------------------------------


@pytest.mark.corpus
def test_verify_snp_fetches_what_it_needs_then_works_offline(kds: FakeKds, tmp_path: Path) -> None:
    report = parse_report(_read("snp/oak/milan_oc_release_report.bin"))
    kds.serve(
        vcek_request_path(Product.MILAN, report.chip_id, report.reported_tcb.parts(Product.MILAN)),
        _read("snp/oak/milan_oc_release_vcek.der"),
    )
    kds.serve("/vcek/v1/Milan/cert_chain", _read("snp/amd-roots/ask_ark_milan.pem"))
    kds.serve("/vcek/v1/Milan/crl", _read("snp/openpcc/amd_milan_crl.der"))
    at = datetime(2025, 10, 1, tzinfo=UTC)
    with _fetcher(kds, tmp_path) as fetcher:
        claims = verify_snp(
            report, SnpCollateral(), SnpVerifyOptions(at=at, fetcher=fetcher, require_crl=True)
        )
    assert claims.collateral_fetched == ("signing_cert", "chain", "crl")
    assert claims.crl_checked
    assert len(kds.seen) == 3
    offline = _fetcher(kds, tmp_path, online=False)
    again = verify_snp(report, SnpCollateral(), SnpVerifyOptions(at=at, fetcher=offline, require_crl=True))
    assert again.signing_cert_sha256 == claims.signing_cert_sha256
    assert len(kds.seen) == 3
