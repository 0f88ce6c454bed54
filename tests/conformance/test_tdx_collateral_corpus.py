"""Intel collateral from the shared corpus: signatures, validity windows and TCB status.

Expected statuses come from MANIFEST.md (dcap-qvl: tdx_quote UpToDate; sgx_quote
ConfigurationAndSWHardeningNeeded with INTEL-SA-00289/00615; tdx_quote_outdated not UpToDate —
its PCK SGX component 8 is below every level, which QVL reports as TCB_NOT_SUPPORTED).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from attestgw.errors import CollateralUnavailableError, VerificationError
from attestgw.evidence.tdx_collateral import (
    TcbStatus,
    parse_bundle,
    parse_qe_identity_response,
    parse_tcb_info,
    parse_tcb_info_response,
)
from attestgw.verify.tdx import (
    INTEL_SGX_ROOT_SHA256,
    combine_with_qe,
    evaluate_qe_identity,
    evaluate_tcb,
    pck_sgx_extension,
    verify_collateral,
    verify_crl,
    verify_signed_json,
)

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "tdx"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not found at {CORPUS}")

GO = "go-tdx-guest/collateral/"
TINFOIL_CHAIN = "tinfoil/collateral/tcb_info_90c06f000000_chain.txt"
GO_CHAIN = GO + "tcb_signing_issuer_chain.pem"  # its TCB Signing cert expired 2025-05-21
TCB_FILES = [
    (GO + "tcbInfo_50806f000000.json", GO_CHAIN),
    (GO + "tcbInfo_90c06f000000.json", TINFOIL_CHAIN),
    ("tinfoil/collateral/tcb_info_00a06d080000.json", TINFOIL_CHAIN),
    ("tinfoil/collateral/tcb_info_90c06f000000.json", TINFOIL_CHAIN),
    ("trustee/tcbInfo.json", TINFOIL_CHAIN),
    ("automata/2025-06/tcbinfo.json", TINFOIL_CHAIN),
    ("automata/2025-06/tcbinfov3_00806f050000.json", TINFOIL_CHAIN),
    ("automata/2025-06/tcbinfov3_90C06F000000.json", TINFOIL_CHAIN),
    ("automata/2025-08/sgx_tcbinfov3_00606a000000.json", TINFOIL_CHAIN),
    ("automata/2025-10/tcb_info.json", TINFOIL_CHAIN),
    ("automata/solana/tcb_info_v3_sgx.json", TINFOIL_CHAIN),
    ("automata/solana/tcb_info_v3_with_tdx_module.json", TINFOIL_CHAIN),
]
QE_FILES = [
    (GO + "qeIdentity_TD_QE.json", GO_CHAIN),
    ("tinfoil/collateral/qe_identity.json", TINFOIL_CHAIN),
    ("trustee/enclaveIdentity.json", TINFOIL_CHAIN),
    ("automata/2025-06/identity.json", TINFOIL_CHAIN),
    ("automata/2025-06/qe_td.json", TINFOIL_CHAIN),
    ("automata/2025-08/sgx_qeidentity_v4.json", TINFOIL_CHAIN),
    ("automata/2025-10/identity.json", TINFOIL_CHAIN),
    ("automata/solana/qe_identity.json", TINFOIL_CHAIN),
]
CRL_FILES = [  # (CRL, issuer chain, is root CRL)
    (GO + "IntelSGXRootCA_crl.der", GO + "pck_crl_issuer_chain.pem", True),
    (GO + "pckcrl_platform.der", GO + "pck_crl_issuer_chain.pem", False),
    ("tinfoil/collateral/root_ca.crl", "tinfoil/collateral/pck_crl_platform_chain.txt", True),
    ("tinfoil/collateral/pck_crl_platform.crl", "tinfoil/collateral/pck_crl_platform_chain.txt", False),
    ("tinfoil/collateral/pck_crl_processor.crl", "tinfoil/collateral/pck_crl_processor_chain.txt", False),
    ("automata/2025-10/pck_crl.der", "tinfoil/collateral/pck_crl_platform_chain.txt", False),
    ("automata/2025-06/pck_platform_crl.der", "tinfoil/collateral/pck_crl_platform_chain.txt", False),
    ("automata/2025-08/platform_crl.der", "tinfoil/collateral/pck_crl_platform_chain.txt", False),
]
BUNDLES = {  # bundle → (quote, a time inside every window)
    "tdx_quote_collateral.json": ("tdx_quote.bin", datetime(2025, 7, 10, tzinfo=UTC)),
    "tdx_quote_outdated_collateral.json": ("tdx_quote_outdated.bin", datetime(2026, 3, 1, tzinfo=UTC)),
    "sgx_quote_collateral.json": ("sgx_quote.bin", datetime(2025, 7, 1, tzinfo=UTC)),
}


def _read(rel: str) -> bytes:
    return (CORPUS / rel).read_bytes()


def _chain(rel: str) -> bytes:
    from urllib.parse import unquote_to_bytes  # noqa: PLC0415 - PCS headers are URL-encoded

    return unquote_to_bytes(_read(rel))


def _middle(start: datetime, end: datetime) -> datetime:
    return start + (end - start) / 2


@pytest.mark.parametrize(("rel", "chain"), TCB_FILES)
def test_tcb_info_verifies_inside_window_and_expires_outside(rel: str, chain: str) -> None:
    signed = parse_tcb_info_response(_read(rel))
    info = signed.tcb_info
    at = _middle(info.issue_date, info.next_update)
    if chain == GO_CHAIN:
        at = datetime(2023, 7, 1, tzinfo=UTC)
    verify_signed_json(signed.raw, signed.signature, _chain(chain), at)
    tampered = bytearray(signed.raw)
    tampered[tampered.index(b"issueDate") + 1] ^= 0x01
    with pytest.raises(VerificationError) as err:
        verify_signed_json(bytes(tampered), signed.signature, _chain(chain), at)
    assert err.value.code == "tdx.collateral_signature_invalid"


@pytest.mark.parametrize(("rel", "chain"), QE_FILES)
def test_qe_identity_signature_and_tamper(rel: str, chain: str) -> None:
    signed = parse_qe_identity_response(_read(rel))
    at = datetime(2023, 7, 1, tzinfo=UTC) if chain == GO_CHAIN else signed.qe_identity.issue_date
    verify_signed_json(signed.raw, signed.signature, _chain(chain), at)
    tampered = signed.raw.replace(b'"isvprodid":2', b'"isvprodid":3').replace(
        b'"isvprodid":1', b'"isvprodid":3'
    )
    assert tampered != signed.raw
    with pytest.raises(VerificationError) as err:
        verify_signed_json(tampered, signed.signature, _chain(chain), at)
    assert err.value.code == "tdx.collateral_signature_invalid"


def test_signing_chain_outside_validity_is_expired() -> None:
    signed = parse_tcb_info_response(_read(GO + "tcbInfo_50806f000000.json"))
    with pytest.raises(CollateralUnavailableError) as err:
        verify_signed_json(signed.raw, signed.signature, _chain(GO_CHAIN), datetime(2053, 1, 1, tzinfo=UTC))
    assert err.value.code == "tdx.collateral_expired"


@pytest.mark.parametrize(("rel", "chain", "root"), CRL_FILES)
def test_crl_verifies_inside_window_and_expires_outside(rel: str, chain: str, root: bool) -> None:
    from cryptography import x509  # noqa: PLC0415 - independent reading of the CRL dates

    crl = x509.load_der_x509_crl(_read(rel))
    assert crl.next_update_utc is not None
    inside = _middle(crl.last_update_utc, crl.next_update_utc)
    verify_crl(_read(rel), _chain(chain), inside, root=root)
    with pytest.raises(CollateralUnavailableError) as err:
        verify_crl(_read(rel), _chain(chain), crl.next_update_utc, root=root)
    assert err.value.code == "tdx.collateral_expired"


def _pck_leaf(quote: bytes) -> bytes:
    match = re.search(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", quote, re.S)
    assert match is not None
    return match.group(0)


def _tee_tcb_svn(quote: bytes) -> bytes | None:
    version = int.from_bytes(quote[0:2], "little")
    if quote[4] != 0x81:
        return None
    return quote[0x30:0x40] if version == 4 else quote[0x36:0x46]


def _evaluate(bundle_name: str):  # type: ignore[no-untyped-def]
    quote_name, at = BUNDLES[bundle_name]
    verified = verify_collateral(parse_bundle(_read("dcap-qvl/" + bundle_name)), at)
    quote = _read("dcap-qvl/" + quote_name)
    return verified, pck_sgx_extension(_pck_leaf(quote)), _tee_tcb_svn(quote)


def test_bundles_verify_and_pin_the_intel_root() -> None:
    for name in BUNDLES:
        verified, _, _ = _evaluate(name)
        assert verified.root_sha256 == INTEL_SGX_ROOT_SHA256
        assert not verified.simulated


def test_dcap_qvl_tdx_quote_is_up_to_date() -> None:
    verified, ext, tee = _evaluate("tdx_quote_collateral.json")
    result = evaluate_tcb(verified.tcb_info, ext, tee)
    assert result.status is TcbStatus.UP_TO_DATE
    assert result.advisory_ids == ()
    assert result.module_level is not None  # TEE_TCB_SVN[1] = 1: module identity TDX_01 used


def test_dcap_qvl_sgx_quote_status_and_advisories() -> None:
    verified, ext, tee = _evaluate("sgx_quote_collateral.json")
    assert tee is None
    result = evaluate_tcb(verified.tcb_info, ext, None)
    assert result.status is TcbStatus.CONFIGURATION_AND_SW_HARDENING_NEEDED
    assert set(result.advisory_ids) == {"INTEL-SA-00289", "INTEL-SA-00615"}


def test_dcap_qvl_outdated_quote_is_not_up_to_date() -> None:
    verified, ext, tee = _evaluate("tdx_quote_outdated_collateral.json")
    with pytest.raises(VerificationError) as err:
        evaluate_tcb(verified.tcb_info, ext, tee)
    assert err.value.code == "tdx.tcb_level_unsupported"


def test_bundle_outside_window_is_expired_and_tampered_bundle_refused() -> None:
    bundle = parse_bundle(_read("dcap-qvl/tdx_quote_collateral.json"))
    with pytest.raises(CollateralUnavailableError) as err:
        verify_collateral(bundle, datetime(2025, 7, 19, 10, 17, tzinfo=UTC))
    assert err.value.code == "tdx.collateral_expired"
    raw = bundle.tcb_info.raw.replace(b'"UpToDate"', b'"OutOfDate"', 1)
    tampered = dataclasses.replace(bundle, tcb_info=parse_tcb_info(raw, bundle.tcb_info.signature.hex()))
    with pytest.raises(VerificationError) as err2:
        verify_collateral(tampered, datetime(2025, 7, 10, tzinfo=UTC))
    assert err2.value.code == "tdx.collateral_signature_invalid"
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_collateral(bundle, datetime(2025, 7, 10) + timedelta(0))


def test_qe_identity_of_dcap_qvl_bundle_matches_intel_qe() -> None:
    verified, ext, tee = _evaluate("tdx_quote_collateral.json")
    qe = verified.qe_identity
    result = evaluate_qe_identity(
        qe,
        mrsigner=qe.mrsigner,
        isvprodid=qe.isvprodid,
        isvsvn=qe.tcb_levels[0].isvsvn,
        miscselect=int.from_bytes(qe.miscselect, "big"),
        attributes=qe.attributes,
    )
    assert result.status is TcbStatus.UP_TO_DATE
    combined = combine_with_qe(evaluate_tcb(verified.tcb_info, ext, tee), result)
    assert combined.status is TcbStatus.UP_TO_DATE
