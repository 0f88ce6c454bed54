"""The simulated TDX attester: quotes the real parser reads, with the fields and bindings asked for."""

from __future__ import annotations

import hashlib

import pytest

from attestgw.attester.simulated_tdx import SimulatedTdxAttester
from attestgw.crypto.signing import generate_p256_key
from attestgw.evidence.tdx import (
    INTEL_QE_VENDOR_ID,
    BodyType,
    CertType,
    Quote,
    TeeType,
    parse_quote,
    serialize_quote,
)
from attestgw.evidence.tdx_collateral import TcbStatus, parse_bundle
from tests.unit.attester_tdx.simulated_intel_pki import ISSUED_AT, attester, authority

NONCE = bytes(range(64))


def _parse(raw: bytes) -> Quote:
    return parse_quote(raw)


@pytest.mark.parametrize(
    ("overrides", "version", "body_type", "size"),
    [
        ({}, 4, BodyType.TD10, 584),
        ({"body_type": BodyType.TD10}, 5, BodyType.TD10, 584),
        ({"version": 5}, 5, BodyType.TD10, 584),
        ({"body_type": BodyType.TD15}, 5, BodyType.TD15, 648),
    ],
)
def test_quote_shapes_parse_and_round_trip(
    overrides: dict[str, object], version: int, body_type: BodyType, size: int
) -> None:
    evidence = attester().quote(NONCE, **overrides)
    quote = _parse(evidence.quote)
    assert quote.version == version
    assert quote.body_type is body_type
    assert quote.is_tdx
    assert serialize_quote(quote) == evidence.quote
    assert quote.signed_length == 48 + (6 if version == 5 else 0) + size
    body = quote.td_body
    assert body is not None
    assert body.report_data == NONCE
    assert evidence.simulated
    assert evidence.root_sha256 == authority().root_sha256()


def test_qe_report_binds_the_attestation_key_and_chain_is_intel_ordered() -> None:
    att = attester()
    quote = _parse(att.quote(NONCE).quote)
    qe = quote.qe_report_cert
    assert qe is not None
    assert quote.attestation_key == att.attestation_key
    want = hashlib.sha256(quote.attestation_key + qe.qe_auth_data).digest() + bytes(32)
    assert qe.qe_report.report_data == want
    assert qe.certification.cert_type is CertType.PCK_CERT_CHAIN
    assert len(qe.certification.pem_certificates) == 3
    assert quote.pck_chain_pem is not None
    assert quote.pck_chain_pem.endswith(b"\x00")
    assert quote.header.qe_vendor_id == INTEL_QE_VENDOR_ID


def test_field_overrides_and_debug() -> None:
    mrtd = bytes([7]) * 48
    rtmrs = (bytes(48), bytes([1]) * 48, bytes([2]) * 48, bytes([3]) * 48)
    quote = _parse(attester().quote(NONCE, mr_td=mrtd, rtmrs=rtmrs, debug=True, qe_svn=9).quote)
    body = quote.td_body
    assert body is not None
    assert body.mr_td == mrtd
    assert body.rtmrs == rtmrs
    assert body.debug
    assert body.sept_ve_disable  # debug adds a bit, it does not replace the default attributes
    assert quote.header.qe_svn == 9
    plain = _parse(attester().quote(NONCE).quote).td_body
    assert plain is not None
    assert not plain.debug


def test_constructor_measurements() -> None:
    mrtd = hashlib.sha384(b"my guest").digest()
    att = SimulatedTdxAttester(authority(), mrtd=mrtd, issued_at=ISSUED_AT, enable_simulation=True)
    body = _parse(att.quote(NONCE).quote).td_body
    assert body is not None
    assert body.mr_td == mrtd
    with pytest.raises(ValueError, match="48 bytes"):
        SimulatedTdxAttester(authority(), mrtd=bytes(32), enable_simulation=True)


def test_sgx_quote_is_an_sgx_quote() -> None:
    quote = _parse(attester().quote(NONCE, sgx=True).quote)
    assert quote.header.tee_type is TeeType.SGX
    assert not quote.is_tdx
    assert quote.td_body is None


def test_quote_signature_knobs_change_only_the_signature() -> None:
    att = attester()
    good = _parse(att.quote(NONCE).quote)
    broken = _parse(att.quote(NONCE, break_quote_signature=True).quote)
    other = _parse(att.quote(NONCE, sign_with=generate_p256_key()).quote)
    assert broken.signed_bytes == good.signed_bytes
    assert broken.signature != good.signature
    assert other.attestation_key == good.attestation_key


def test_collateral_knobs() -> None:
    att = attester()
    lowered = parse_bundle(att.quote(NONCE, lower_tcb=True).collateral).tcb_info.tcb_info
    assert lowered.tcb_levels[0].pcesvn == att.pck.pcesvn + 1
    assert lowered.tcb_levels[1].tcb_status is TcbStatus.OUT_OF_DATE
    assert lowered.tcb_levels[1].advisory_ids
    hardened = parse_bundle(
        att.quote(
            NONCE, tcb_status=TcbStatus.SW_HARDENING_NEEDED, advisory_ids=("INTEL-SA-00615",)
        ).collateral
    ).tcb_info.tcb_info
    assert hardened.tcb_levels[0].tcb_status is TcbStatus.SW_HARDENING_NEEDED
    assert hardened.tcb_levels[0].advisory_ids == ("INTEL-SA-00615",)
    qe = parse_bundle(att.quote(NONCE, qe_tcb_status="OutOfDate").collateral).qe_identity.qe_identity
    assert qe.tcb_levels[0].tcb_status is TcbStatus.OUT_OF_DATE


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        attester().quote(bytes(32))
    with pytest.raises(TypeError, match="unknown quote overrides"):
        attester().quote(NONCE, measurement=bytes(48))
