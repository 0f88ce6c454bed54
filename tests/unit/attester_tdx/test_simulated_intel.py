"""The simulated Intel PKI: opt-in gate, Intel-shaped certificates, SGX extension, signed collateral."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from attestgw.attester._simulation_gate import ALLOW_SIMULATED_ENV
from attestgw.attester.simulated_intel import SimulatedIntelAuthority, tamper_der_signature
from attestgw.attester.simulated_tdx import SimulatedTdxAttester
from attestgw.crypto.x509 import der_bytes, verify_der_signed_by
from attestgw.errors import ConfigError, VerificationError
from attestgw.evidence.tdx_collateral import SgxType, TcbStatus, parse_bundle
from attestgw.verify.tdx import INTEL_TRUST, pck_sgx_extension, verify_collateral
from tests.unit.attester_tdx.simulated_intel_pki import (
    COLLATERAL_AT,
    ISSUED_AT,
    VERIFY_AT,
    attester,
    authority,
)


def _cert(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def _cn(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_refused_without_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_SIMULATED_ENV, raising=False)
    with pytest.raises(ConfigError) as err:
        SimulatedIntelAuthority()
    assert err.value.code == "config.simulation_disabled"
    with pytest.raises(ConfigError):
        SimulatedTdxAttester(authority(), enable_simulation=False)
    monkeypatch.setenv(ALLOW_SIMULATED_ENV, "true")  # only exactly "1" enables it
    with pytest.raises(ConfigError):
        SimulatedIntelAuthority()


def test_environment_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_SIMULATED_ENV, "1")
    assert "not generated" in repr(SimulatedIntelAuthority())


def test_certificates_have_intel_names_and_sha256_signatures() -> None:
    auth = authority()
    root = _cert(auth.root_certificate())
    ca = _cert(auth.pck_ca_certificate())
    signer = _cert(auth.tcb_signing_certificate())
    pck = _cert(attester().pck.certificate)
    assert (
        root.subject.rfc4514_string() == "C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX Root CA"
    )
    assert [_cn(c) for c in (ca, signer, pck)] == [
        "Intel SGX PCK Platform CA",
        "Intel SGX TCB Signing",
        "Intel SGX PCK Certificate",
    ]
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 1
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    for cert, issuer in ((root, root), (ca, root), (signer, root), (pck, ca)):
        assert cert.signature_hash_algorithm is not None
        assert cert.signature_hash_algorithm.name == "sha256"
        assert verify_der_signed_by(der_bytes(cert), issuer)
    assert auth.root_sha256() not in {a.root_sha256 for a in INTEL_TRUST.anchors}
    assert authority("other").root_sha256() != auth.root_sha256()


def test_pck_sgx_extension_reads_back() -> None:
    pck = attester().pck
    ext = pck_sgx_extension(pck.certificate)
    assert ext.fmspc == bytes.fromhex("b0c06f000000")
    assert ext.pce_id == b"\x00\x00"
    assert ext.sgx_tcb_components == (2, 2, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0)
    assert ext.pcesvn == 11
    assert ext.cpusvn == bytes(ext.sgx_tcb_components)
    assert ext.sgx_type is SgxType.STANDARD
    # A large PCESVN and component (sign bit set) still encode as minimal DER.
    big = authority().issue_pck(
        fmspc=bytes(6), sgx_tcb_components=(255,) * 16, pcesvn=0x8000, not_before=ISSUED_AT, sgx_type=1
    )
    ext2 = pck_sgx_extension(big.certificate)
    assert (ext2.pcesvn, ext2.sgx_tcb_components[0], ext2.sgx_type) == (0x8000, 255, SgxType.SCALABLE)


def test_collateral_bundle_verifies_and_is_marked_simulated() -> None:
    evidence = attester().quote(bytes(64))
    bundle = parse_bundle(evidence.collateral)
    verified = verify_collateral(bundle, VERIFY_AT, INTEL_TRUST.with_simulated(evidence.root_sha256))
    assert verified.simulated
    assert verified.tcb_info.id == "TDX"
    assert verified.tcb_info.version == 3
    assert verified.qe_identity.id == "TD_QE"
    assert verified.tcb_info.issue_date == COLLATERAL_AT
    assert verified.tcb_info.next_update == COLLATERAL_AT + timedelta(days=30)
    assert verified.tcb_info.tcb_levels[0].tcb_status is TcbStatus.UP_TO_DATE
    assert verified.pck_crl_revoked == frozenset()
    # The bundle has exactly dcap-qvl's members, CRLs as hex DER, documents as compact JSON text.
    doc = json.loads(evidence.collateral)
    assert set(doc) == {
        "pck_crl_issuer_chain",
        "root_ca_crl",
        "pck_crl",
        "tcb_info_issuer_chain",
        "tcb_info",
        "tcb_info_signature",
        "qe_identity_issuer_chain",
        "qe_identity",
        "qe_identity_signature",
    }
    assert doc["root_ca_crl"].startswith("30")
    assert ", " not in doc["tcb_info"]
    assert ": " not in doc["tcb_info"]


def test_collateral_refused_without_simulated_opt_in() -> None:
    bundle = parse_bundle(attester().quote(bytes(64)).collateral)
    with pytest.raises(VerificationError) as err:
        verify_collateral(bundle, VERIFY_AT)
    assert err.value.code == "tdx.root_not_pinned"


def test_revoked_serials_are_listed_and_unknown_tamper_is_refused() -> None:
    evidence = attester().quote(bytes(64), revoke_pck=True)
    verified = verify_collateral(
        parse_bundle(evidence.collateral), VERIFY_AT, INTEL_TRUST.with_simulated(evidence.root_sha256)
    )
    assert verified.pck_crl_revoked == {attester().pck.serial}
    with pytest.raises(ValueError, match="unknown bundle tamper"):
        authority().collateral_bundle(
            tcb_info=b"{}",
            qe_identity=b"{}",
            crl_this_update=COLLATERAL_AT,
            crl_next_update=VERIFY_AT,
            tamper={"everything"},
        )


def test_tampered_der_still_parses_but_no_longer_verifies() -> None:
    auth = authority()
    root = _cert(auth.root_certificate())
    broken = tamper_der_signature(auth.pck_ca_certificate())
    assert _cn(_cert(broken)) == "Intel SGX PCK Platform CA"
    assert not verify_der_signed_by(broken, root)
