"""verify_snp behaviour on genuine AMD evidence: collateral sourcing, product, kinds, trust, time.

Negative cases on simulated evidence live in tests/unit/verify_negative; these use real reports.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from attestgw.crypto.x509 import pem_certificates
from attestgw.errors import CollateralUnavailableError, UsageError, VerificationError
from attestgw.evidence.snp import (
    ARK_GUID,
    ASK_GUID,
    VCEK_GUID,
    AttestationReport,
    Product,
    ReportSignature,
    SignerInfo,
    SigningKey,
    TcbParts,
    parse_cert_table,
    parse_report,
    serialize_cert_table,
    serialize_report,
)
from attestgw.verify.snp import AMD_TRUST, SnpCollateral, SnpVerifyOptions, verify_snp
from tests.conftest import corpus_file

pytestmark = pytest.mark.corpus

AT = datetime(2025, 10, 1, 8, 0, tzinfo=UTC)
MILAN_REPORT = "snp/oak/milan_oc_release_report.bin"
MILAN_VCEK = "snp/oak/milan_oc_release_vcek.der"
MILAN_CHAIN = "snp/amd-roots/ask_ark_milan.pem"
V2_REPORT = "snp/trustee/test-report.bin"  # v2: no CPUID, product comes from the VCEK productName
V2_VCEK = "snp/trustee/test-vcek.der"


def _read(rel: str) -> bytes:
    return corpus_file(rel).read_bytes()


def _report(rel: str = MILAN_REPORT) -> AttestationReport:
    return parse_report(_read(rel))


def _milan(**fields: object) -> SnpCollateral:
    base = SnpCollateral(signing_cert=_read(MILAN_VCEK), chain=_read(MILAN_CHAIN))
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def _code(report: AttestationReport, collateral: SnpCollateral, **options: object) -> str:
    with pytest.raises((VerificationError, CollateralUnavailableError, UsageError)) as err:
        verify_snp(report, collateral, SnpVerifyOptions(**{"at": AT, **options}))  # type: ignore[arg-type]
    return err.value.code


def _reparse(report: AttestationReport, **fields: object) -> AttestationReport:
    """The same report with fields replaced (the signature no longer matches, which is fine here)."""
    return parse_report(serialize_report(dataclasses.replace(report, **fields)))  # type: ignore[arg-type]


class RecordingFetcher:
    """An in-memory SnpCollateralFetcher over corpus files that records what it was asked for."""

    def __init__(self, signing_cert: bytes | None, chain: bytes | None, crl: bytes | None = None) -> None:
        self._cert, self._chain, self._crl = signing_cert, chain, crl
        self.calls: list[tuple[object, ...]] = []

    def signing_cert(self, product: Product, kind: SigningKey, chip_id: bytes, tcb: TcbParts) -> bytes:
        self.calls.append(("signing_cert", product, kind, chip_id, tcb))
        return self._give(self._cert)

    def chain(self, product: Product, kind: SigningKey) -> bytes:
        self.calls.append(("chain", product, kind))
        return self._give(self._chain)

    def crl(self, product: Product, kind: SigningKey) -> bytes:
        self.calls.append(("crl", product, kind))
        return self._give(self._crl)

    @staticmethod
    def _give(data: bytes | None) -> bytes:
        if data is None:
            raise CollateralUnavailableError("collateral.unavailable", "not in this test fetcher")
        return data


# -- collateral sources ---------------------------------------------------------------------------------


def test_certificate_table_supplies_vcek_ask_and_ark() -> None:
    ask, ark = pem_certificates(_read(MILAN_CHAIN))
    table = parse_cert_table(
        serialize_cert_table([(VCEK_GUID, _read(MILAN_VCEK)), (ASK_GUID, ask), (ARK_GUID, ark)])
    )
    claims = verify_snp(_report(), SnpCollateral(cert_table=table), SnpVerifyOptions(at=AT))
    assert claims.collateral_fetched == ()
    assert claims.signing_cert_sha256 == hashlib.sha256(_read(MILAN_VCEK)).hexdigest()


def test_fetcher_is_used_only_for_what_is_missing() -> None:
    fetcher = RecordingFetcher(_read(MILAN_VCEK), _read(MILAN_CHAIN), _read("snp/openpcc/amd_milan_crl.der"))
    report = _report()
    claims = verify_snp(
        report, SnpCollateral(chain=_read(MILAN_CHAIN)), SnpVerifyOptions(at=AT, fetcher=fetcher)
    )
    assert claims.collateral_fetched == ("signing_cert", "crl")
    assert claims.crl_checked
    assert fetcher.calls[0] == (
        "signing_cert",
        Product.MILAN,
        SigningKey.VCEK,
        report.chip_id,
        report.reported_tcb.parts(Product.MILAN),
    )
    assert [call[0] for call in fetcher.calls] == ["signing_cert", "crl"]


def test_unreachable_crl_is_recorded_as_unchecked_unless_required() -> None:
    fetcher = RecordingFetcher(None, None, crl=None)
    claims = verify_snp(_report(), _milan(), SnpVerifyOptions(at=AT, fetcher=fetcher))
    assert not claims.crl_checked
    assert claims.crl_next_update is None
    # With a requirement the fetcher's own reason surfaces (exit code 3: collateral, not a verdict).
    assert _code(_report(), _milan(), fetcher=fetcher, require_crl=True) == "collateral.unavailable"


def test_v2_report_needs_a_product_to_fetch_its_vcek() -> None:
    fetcher = RecordingFetcher(_read(V2_VCEK), _read(MILAN_CHAIN))
    report = _report(V2_REPORT)
    assert _code(report, SnpCollateral(), fetcher=fetcher) == "snp.unknown_product"
    claims = verify_snp(
        report, SnpCollateral(), SnpVerifyOptions(at=AT, fetcher=fetcher, product=Product.MILAN)
    )
    assert claims.product is Product.MILAN
    assert claims.collateral_fetched == ("signing_cert", "chain")


def test_offline_without_chain_is_collateral_unavailable_not_a_vendored_fallback() -> None:
    assert _code(_report(), SnpCollateral(signing_cert=_read(MILAN_VCEK))) == "collateral.unavailable"


# -- signature presence, product, key kind ------------------------------------------------------------


def test_signing_key_none_is_signature_missing() -> None:
    report = _reparse(_report(), signer_info=SignerInfo(7 << 2))
    assert _code(report, _milan()) == "snp.signature_missing"


def test_all_zero_signature_is_signature_missing() -> None:
    report = _reparse(_report(), signature=ReportSignature(bytes(72), bytes(72)))
    assert _code(report, _milan()) == "snp.signature_missing"


def test_v2_product_comes_from_the_vcek_and_options_do_not_override_it() -> None:
    collateral = SnpCollateral(signing_cert=_read(V2_VCEK), chain=_read(MILAN_CHAIN))
    claims = verify_snp(_report(V2_REPORT), collateral, SnpVerifyOptions(at=AT, product=Product.GENOA))
    assert claims.product is Product.MILAN
    assert claims.product_name == "Milan-B0"


def test_cpuid_and_vcek_product_name_must_agree() -> None:
    genoa_vcek = _milan(signing_cert=_read("snp/oak/genoa_oc_vcek.der"))
    assert _code(_report(), genoa_vcek) == "snp.wrong_product"


def test_chain_of_another_product_is_wrong_product() -> None:
    assert _code(_report(), _milan(chain=_read("snp/amd-roots/ask_ark_genoa.pem"))) == "snp.wrong_product"


def test_bundle_with_several_products_picks_the_reports() -> None:
    both = _read("snp/amd-roots/ask_ark_genoa.pem") + _read(MILAN_CHAIN)
    assert verify_snp(_report(), _milan(chain=both), SnpVerifyOptions(at=AT)).product is Product.MILAN


@pytest.mark.parametrize(
    ("report", "cert", "chain"),
    [
        # VLEK-signed report, VCEK certificate: refused by CN before any signature math.
        (
            "snp/trustee/test-vlek-report.bin",
            "snp/trustee/test-vcek.der",
            "snp/amd-roots/trustee_milan_ask_ark_asvk.pem",
        ),
        # VCEK-signed report, VLEK certificate.
        (V2_REPORT, "snp/trustee/test-vlek.der", "snp/amd-roots/trustee_milan_ask_ark_asvk.pem"),
        # VLEK report with only the VCEK chain (ASK, no ASVK): the other chain is never tried.
        ("snp/trustee/test-vlek-report.bin", "snp/trustee/test-vlek.der", MILAN_CHAIN),
        # VCEK report with only the VLEK chain.
        (V2_REPORT, V2_VCEK, "snp/amd-roots/ask_ark_milan_vlek.pem"),
    ],
)
def test_vcek_and_vlek_are_never_confused(report: str, cert: str, chain: str) -> None:
    collateral = SnpCollateral(signing_cert=_read(cert), chain=_read(chain))
    assert _code(_report(report), collateral) == "snp.key_kind_mismatch"


# -- trust ---------------------------------------------------------------------------------------------


def test_unpinned_ark_is_refused() -> None:
    assert _code(_report(), _milan(), trust=AMD_TRUST.without_real_roots()) == "snp.root_not_pinned"


def test_a_pin_for_another_product_does_not_count() -> None:
    milan_pin = next(a for a in AMD_TRUST.anchors if a.product is Product.MILAN).ark_sha256
    trust = AMD_TRUST.without_real_roots().with_simulated(Product.GENOA, milan_pin)
    assert _code(_report(), _milan(), trust=trust) == "snp.root_not_pinned"


def test_results_from_an_explicitly_trusted_simulated_root_say_so() -> None:
    milan_pin = next(a for a in AMD_TRUST.anchors if a.product is Product.MILAN).ark_sha256
    trust = AMD_TRUST.without_real_roots().with_simulated(Product.MILAN, milan_pin)
    assert verify_snp(_report(), _milan(), SnpVerifyOptions(at=AT, trust=trust)).simulated


# -- time ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "at",
    [
        datetime(2025, 1, 15, tzinfo=UTC),  # before the VCEK's notBefore (2025-01-15 …)
        datetime(2032, 1, 16, tzinfo=UTC),  # after its notAfter
        datetime(2046, 1, 1, tzinfo=UTC),  # after the Milan ARK's notAfter (2045-10-22)
    ],
)
def test_outside_validity_is_cert_expired(at: datetime) -> None:
    assert _code(_report(), _milan(), at=at) == "snp.cert_expired"


def test_verification_time_is_reported_in_utc() -> None:
    at = datetime(2025, 10, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    claims = verify_snp(_report(), _milan(), SnpVerifyOptions(at=at))
    assert claims.verified_at == datetime(2025, 10, 1, 10, 0, tzinfo=UTC)
    assert claims.verified_at.tzinfo is UTC


def test_naive_time_is_a_usage_error() -> None:
    assert _code(_report(), _milan(), at=datetime(2025, 10, 1)) == "usage.invalid"
