"""Quote parser refusals on synthetic quotes built with serialize_quote (no corpus needed)."""

from __future__ import annotations

import dataclasses
import struct

import pytest

from attestgw.errors import FormatError
from attestgw.evidence.tdx import (
    INTEL_QE_VENDOR_ID,
    AttestationKeyType,
    BodyType,
    CertificationData,
    CertType,
    EnclaveReport,
    QeReportCertData,
    Quote,
    QuoteHeader,
    QuoteSignatureData,
    TdQuoteBody,
    TeeType,
    parse_quote,
    serialize_quote,
)

PEM = b"-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n"
QE = EnclaveReport(
    bytes(16), 0, bytes(16), bytes(16), bytes(32), bytes(32), bytes(64), 1, 2, 0, bytes(16), bytes(64)
)
TD = TdQuoteBody(
    bytes(16),
    bytes(48),
    bytes(48),
    0,
    1,
    0,
    b"\x11" * 48,
    bytes(48),
    bytes(48),
    bytes(48),
    (bytes(48),) * 4,
    b"\x22" * 64,
)


def make(version: int = 4, body_type: BodyType = BodyType.TD10, padding: bytes = b"") -> bytes:
    tee = TeeType.SGX if body_type is BodyType.SGX else TeeType.TDX
    header = QuoteHeader(version, AttestationKeyType.ECDSA_P256, tee, 0, 0, INTEL_QE_VENDOR_ID, bytes(20))
    body: TdQuoteBody | EnclaveReport = QE
    if body_type is BodyType.TD10:
        body = TD
    elif body_type is BodyType.TD15:
        body = dataclasses.replace(TD, tee_tcb_svn2=bytes(16), mr_service_td=bytes(48))
    inner = CertificationData(CertType.PCK_CERT_CHAIN, PEM * 3 + b"\x00")
    cert = CertificationData(CertType.QE_REPORT, QeReportCertData(QE, b"\x01" * 64, b"\x02" * 32, inner))
    sig = QuoteSignatureData(b"\x03" * 64, b"\x04" * 64, cert)
    return serialize_quote(Quote(header, body_type, body, sig, padding, b""))


@pytest.mark.parametrize(
    ("version", "body_type"),
    [
        (3, BodyType.SGX),
        (4, BodyType.SGX),
        (4, BodyType.TD10),
        (5, BodyType.SGX),
        (5, BodyType.TD10),
        (5, BodyType.TD15),
    ],
)
def test_synthetic_quotes_round_trip(version: int, body_type: BodyType) -> None:
    raw = make(version, body_type, padding=bytes(30))
    quote = parse_quote(raw)
    assert serialize_quote(quote) == raw
    assert quote.body_type is body_type
    assert quote.is_tdx is (body_type is not BodyType.SGX)
    assert quote.pck_chain_pem == PEM * 3 + b"\x00"
    assert len(quote.signed_bytes) == 48 + (6 if version == 5 else 0) + {1: 384, 2: 584, 3: 648}[body_type]
    assert parse_quote(raw.hex().encode()) == quote


def _patch(raw: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(raw)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


V4 = make()
V5 = make(5, BodyType.TD15)
SIG4 = 48 + 584  # offset of signature_data_len in a v4 TD quote
CASES = [
    ("short", V4[:40], "tdx.truncated"),
    ("short-body", V4[:300], "tdx.truncated"),
    ("short-sig", V4[:-10], "tdx.truncated"),
    ("version-2", _patch(V4, 0, "<H", 2), "tdx.unknown_version"),
    ("key-p384", _patch(V4, 2, "<H", 3), "tdx.unsupported_key_type"),
    ("tee-0x80", _patch(V4, 4, "<I", 0x80), "tdx.unknown_tee_type"),
    ("v3-tdx", _patch(make(3, BodyType.SGX), 4, "<I", 0x81), "tdx.unknown_tee_type"),
    ("v5-type-4", _patch(V5, 48, "<H", 4), "tdx.body_type_invalid"),
    ("v5-size", _patch(V5, 50, "<I", 584), "tdx.body_type_invalid"),
    ("v5-type-vs-tee", _patch(V5, 4, "<I", 0), "tdx.body_type_invalid"),
    ("trailing", V4 + b"\x00\x01", "tdx.oversized"),
    ("huge", V4 + bytes(1 << 20), "tdx.oversized"),
    (
        "sig-len-short",
        _patch(V4, SIG4, "<I", struct.unpack_from("<I", V4, SIG4)[0] - 1),
        "tdx.cert_data_invalid",
    ),
    ("cert-type-9", _patch(V4, SIG4 + 4 + 128, "<H", 9), "tdx.cert_data_invalid"),
    ("cert-size", _patch(V4, SIG4 + 4 + 130, "<I", 100), "tdx.cert_data_invalid"),
    ("qe-reserved", _patch(V4, SIG4 + 4 + 134 + 0x60, "<B", 1), "tdx.reserved_nonzero"),
    ("pem-garbage", V4.replace(b"-----\n-----BEGIN", b"-----\nX-----BEGIN", 1), "tdx.cert_data_invalid"),
]


@pytest.mark.parametrize(("raw", "code"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_quotes_are_refused_with_their_code(raw: bytes, code: str) -> None:
    with pytest.raises(FormatError) as err:
        parse_quote(raw)
    assert err.value.code == code


def test_nested_type6_is_refused() -> None:
    raw = bytearray(V4)
    inner_type_at = SIG4 + 4 + 134 + 384 + 64 + 2 + 32
    assert struct.unpack_from("<H", raw, inner_type_at)[0] == 5
    struct.pack_into("<H", raw, inner_type_at, 6)
    with pytest.raises(FormatError) as err:
        parse_quote(bytes(raw))
    assert err.value.code == "tdx.cert_data_invalid"


def test_nonzero_trailing_bytes_are_reported_when_allowed() -> None:
    quote = parse_quote(V4 + b"tail", allow_trailing=True)
    assert quote.padding == b"tail"
    assert serialize_quote(quote) == V4 + b"tail"
    assert quote.signed_bytes == V4[:SIG4]


def test_opaque_certification_type_is_kept() -> None:
    header_and_body = V4[:SIG4]
    sig = b"\x03" * 64 + b"\x04" * 64 + struct.pack("<HI", CertType.PPID_CLEARTEXT, 3) + b"abc"
    quote = parse_quote(header_and_body + struct.pack("<I", len(sig)) + sig)
    assert quote.signature_data.certification == CertificationData(CertType.PPID_CLEARTEXT, b"abc")
    assert quote.qe_report_cert is None
    assert quote.pck_chain_pem is None
    assert serialize_quote(quote) == quote.raw
