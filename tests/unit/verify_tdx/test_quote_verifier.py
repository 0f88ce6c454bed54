"""verify_tdx step by step: each check refuses with its own code (real dcap-qvl quote, one byte changed)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from attestgw.errors import CollateralUnavailableError, UsageError, VerificationError
from attestgw.evidence.tdx import Quote, parse_quote
from attestgw.evidence.tdx_collateral import CollateralBundle, TcbStatus, parse_bundle
from attestgw.verify.tdx import IntelTrustStore, TdxVerifyOptions, clear_caches, verify_tdx
from attestgw.verify.tdx._attestation_key import attestation_public_key
from tests.conftest import corpus_file

AT = datetime(2025, 7, 10, tzinfo=UTC)
# Signature data of a v4 quote starts after header (48), body (584) and its u32 length.
SIG = 48 + 584 + 4
QE_REPORT = SIG + 64 + 64 + 2 + 4
QE_AUTH = QE_REPORT + 384 + 64 + 2


@pytest.fixture
def raw() -> bytes:
    return corpus_file("tdx/dcap-qvl/tdx_quote.bin").read_bytes()


@pytest.fixture
def bundle() -> CollateralBundle:
    return parse_bundle(corpus_file("tdx/dcap-qvl/tdx_quote_collateral.json").read_bytes())


def _flip(raw: bytes, offset: int) -> Quote:
    data = bytearray(raw)
    data[offset] ^= 0x01
    return parse_quote(bytes(data))


def _code(quote: Quote, bundle: CollateralBundle, **options: object) -> str:
    with pytest.raises(VerificationError) as err:
        verify_tdx(quote, bundle, TdxVerifyOptions(**{"at": AT, **options}))  # type: ignore[arg-type]
    return err.value.code


def test_genuine_quote_verifies(raw: bytes, bundle: CollateralBundle) -> None:
    claims = verify_tdx(parse_quote(raw), bundle, TdxVerifyOptions(at=AT))
    assert claims.tcb_status is TcbStatus.UP_TO_DATE
    assert claims.qe_status is TcbStatus.UP_TO_DATE
    assert claims.body.mr_td.hex().startswith("91eb2b44")
    assert claims.tcb_evaluation_data_number == 17


@pytest.mark.parametrize(
    ("offset", "code"),
    [
        (0x30 + 0x088, "tdx.quote_signature_invalid"),  # MRTD
        (0x30 + 0x208, "tdx.quote_signature_invalid"),  # REPORTDATA
        (0x1C, "tdx.quote_signature_invalid"),  # header user data
        (SIG, "tdx.quote_signature_invalid"),  # quote signature r
        (QE_REPORT + 0x140, "tdx.qe_report_signature_invalid"),  # QE REPORTDATA
        (QE_REPORT + 384, "tdx.qe_report_signature_invalid"),  # QE report signature
        (QE_AUTH, "tdx.qe_report_data_mismatch"),  # QE auth data: report binding breaks
    ],
)
def test_one_byte_changed_is_refused_with_its_code(
    raw: bytes, bundle: CollateralBundle, offset: int, code: str
) -> None:
    assert _code(_flip(raw, offset), bundle) == code


def test_attestation_key_changed_breaks_the_binding_or_the_point(
    raw: bytes, bundle: CollateralBundle
) -> None:
    # A flipped coordinate is almost never on the curve; either way the quote must not verify.
    assert _code(_flip(raw, SIG + 64 + 63), bundle) in {
        "tdx.attestation_key_invalid",
        "tdx.qe_report_data_mismatch",
    }


def test_sgx_quote_is_not_a_td_quote(bundle: CollateralBundle) -> None:
    sgx = parse_quote(corpus_file("tdx/dcap-qvl/sgx_quote.bin").read_bytes())
    assert _code(sgx, bundle) == "tdx.not_a_td_quote"


def test_unpinned_root_is_refused(raw: bytes, bundle: CollateralBundle) -> None:
    assert _code(parse_quote(raw), bundle, trust=IntelTrustStore(())) == "tdx.root_not_pinned"


def test_pck_outside_its_validity_is_cert_expired(raw: bytes, bundle: CollateralBundle) -> None:
    assert _code(parse_quote(raw), bundle, at=datetime(2040, 1, 1, tzinfo=UTC)) == "tdx.cert_expired"


def test_cached_collateral_still_expires(raw: bytes, bundle: CollateralBundle) -> None:
    clear_caches()
    quote = parse_quote(raw)
    verify_tdx(quote, bundle, TdxVerifyOptions(at=AT))  # fills the caches
    later = verify_tdx(quote, bundle, TdxVerifyOptions(at=datetime(2025, 7, 15, tzinfo=UTC)))
    assert later.verified_at == datetime(2025, 7, 15, tzinfo=UTC)
    with pytest.raises(CollateralUnavailableError) as err:
        verify_tdx(quote, bundle, TdxVerifyOptions(at=datetime(2025, 7, 20, tzinfo=UTC)))
    assert err.value.code == "tdx.collateral_expired"
    with pytest.raises(CollateralUnavailableError):
        verify_tdx(quote, bundle, TdxVerifyOptions(at=datetime(2025, 6, 1, tzinfo=UTC)))


def test_tampered_collateral_is_not_served_from_the_cache(raw: bytes, bundle: CollateralBundle) -> None:
    quote = parse_quote(raw)
    verify_tdx(quote, bundle, TdxVerifyOptions(at=AT))
    sig = bytearray(bundle.tcb_info.signature)
    sig[5] ^= 0x01
    tampered = dataclasses.replace(
        bundle, tcb_info=dataclasses.replace(bundle.tcb_info, signature=bytes(sig))
    )
    assert _code(quote, tampered) == "tdx.collateral_signature_invalid"


def test_naive_time_is_a_usage_error(raw: bytes, bundle: CollateralBundle) -> None:
    with pytest.raises(UsageError):
        verify_tdx(parse_quote(raw), bundle, TdxVerifyOptions(at=datetime(2025, 7, 10)))


def test_attestation_key_must_be_a_p256_point() -> None:
    with pytest.raises(VerificationError) as err:
        attestation_public_key(b"\x01" * 64)
    assert err.value.code == "tdx.attestation_key_invalid"
    with pytest.raises(VerificationError):
        attestation_public_key(b"\x01" * 63)
