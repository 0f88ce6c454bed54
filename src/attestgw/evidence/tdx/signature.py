"""Quote signature data and certification data (formats.md §3.3; Intel QVL ``QuoteStructures.h``).

v4 / v5 signature data (after ``u32 signature_data_len``)::

    quote signature      64   ECDSA P-256 raw r‖s (big-endian) by the attestation key
    attestation key      64   P-256 raw x‖y (big-endian, no 0x04 prefix)
    certification data        u16 type ‖ u32 size ‖ size bytes
      type 6 (QE report certification data):
        QE report        384  SGX enclave report body of the quoting enclave
        QE report sig    64   ECDSA P-256 raw r‖s by the PCK key
        QE auth data          u16 size ‖ size bytes
        certification data    u16 type ‖ u32 size ‖ size bytes (type 5: PCK chain PEM)

v3 (SGX) signature data carries the same four QE fields **inline** after the attestation key, with no
type/size header of their own. The parser presents them as certification data of type 6 so that
callers handle one shape; :func:`serialize_signature_data` writes them back inline for v3.

Certification types (Intel DCAP ``sgx_ql_lib_common.h``): 1 PPID cleartext, 2 PPID RSA-2048-OAEP,
3 PPID RSA-3072-OAEP, 4 PCK certificate, 5 PCK certificate chain, 6 QE report certification data,
7 platform manifest. Types other than 5 and 6 are kept as opaque bytes with their type; type 6 may
not nest inside type 6; type 5 must be one or more PEM ``CERTIFICATE`` blocks (optionally followed by
NUL terminators, which real quotes carry). Every size must match exactly: a region that is not
consumed completely is refused.

Nothing here is verified: the signatures, the QE report binding and the PCK chain are checked in
``attestgw.verify``; the PEM blocks are not decoded.
"""

from __future__ import annotations

import enum
import itertools
import re
from dataclasses import dataclass

from attestgw.errors import FormatError
from attestgw.evidence.tdx._reader import Reader
from attestgw.evidence.tdx.qe_report import (
    ENCLAVE_REPORT_SIZE,
    EnclaveReport,
    parse_enclave_report,
    serialize_enclave_report,
)

__all__ = [
    "CertType",
    "CertificationData",
    "QeReportCertData",
    "QuoteSignatureData",
    "parse_signature_data",
    "serialize_signature_data",
]

_ERR = "tdx.cert_data_invalid"
_SIG = 64
_KEY = 64
_MAX_PEM_BLOCKS = 8
_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----")
_PEM_SEP = re.compile(rb"\A[ \t\r\n]*\Z")


class CertType(enum.IntEnum):
    """Certification data types (Intel DCAP)."""

    PPID_CLEARTEXT = 1
    PPID_RSA2048_OAEP = 2
    PPID_RSA3072_OAEP = 3
    PCK_CERT = 4
    PCK_CERT_CHAIN = 5
    QE_REPORT = 6
    PLATFORM_MANIFEST = 7


@dataclass(frozen=True, slots=True)
class CertificationData:
    """``type`` ‖ payload. The payload is parsed for type 6 and opaque bytes for every other type."""

    cert_type: CertType
    data: bytes | QeReportCertData

    @property
    def pem_certificates(self) -> tuple[bytes, ...]:
        """The PEM blocks of a type-5 PCK chain (leaf first, as Intel orders it); ``()`` otherwise."""
        if self.cert_type is not CertType.PCK_CERT_CHAIN or not isinstance(self.data, bytes):
            return ()
        return tuple(match.group(0) for match in _PEM_BLOCK.finditer(self.data))


@dataclass(frozen=True, slots=True)
class QeReportCertData:
    """QE report certification data (type 6): the QE report, its PCK signature, QE auth data and the
    inner certification data (normally type 5, the PCK chain)."""

    qe_report: EnclaveReport
    qe_report_signature: bytes
    qe_auth_data: bytes
    certification: CertificationData


@dataclass(frozen=True, slots=True)
class QuoteSignatureData:
    """A parsed, **unverified** quote signature data block."""

    signature: bytes
    attestation_key: bytes
    certification: CertificationData

    @property
    def qe_report_cert(self) -> QeReportCertData | None:
        """The QE report certification data, or ``None`` when the quote carries another type."""
        data = self.certification.data
        return data if isinstance(data, QeReportCertData) else None

    @property
    def pck_chain_pem(self) -> bytes | None:
        """The raw type-5 PCK chain bytes (PEM, possibly NUL-terminated), or ``None``."""
        qe = self.qe_report_cert
        if qe is None or qe.certification.cert_type is not CertType.PCK_CERT_CHAIN:
            return None
        data = qe.certification.data
        return data if isinstance(data, bytes) else None


def _check_pem_chain(data: bytes) -> None:
    text = data.rstrip(b"\x00")
    blocks = list(_PEM_BLOCK.finditer(text))
    if not blocks or len(blocks) > _MAX_PEM_BLOCKS:
        raise FormatError(_ERR, f"PCK chain has {len(blocks)} PEM certificates, want 1..{_MAX_PEM_BLOCKS}")
    gaps = [text[: blocks[0].start()], text[blocks[-1].end() :]]
    gaps += [text[a.end() : b.start()] for a, b in itertools.pairwise(blocks)]
    if not all(_PEM_SEP.match(gap) for gap in gaps):
        raise FormatError(_ERR, "PCK chain has bytes outside its PEM CERTIFICATE blocks")


def _parse_qe_report_cert(reader: Reader) -> QeReportCertData:
    qe_report = parse_enclave_report(reader.take(ENCLAVE_REPORT_SIZE, "QE report"))
    qe_report_signature = reader.take(_SIG, "QE report signature")
    qe_auth_data = reader.take(reader.u16("QE auth data size"), "QE auth data")
    certification = _parse_certification(reader, nested=True)
    return QeReportCertData(qe_report, qe_report_signature, qe_auth_data, certification)


def _parse_certification(reader: Reader, *, nested: bool) -> CertificationData:
    raw_type = reader.u16("certification data type")
    size = reader.u32("certification data size")
    if raw_type not in CertType.__members__.values():
        raise FormatError(_ERR, f"certification data type {raw_type}, want 1..7")
    cert_type = CertType(raw_type)
    payload = reader.take(size, f"certification data (type {raw_type})")
    if cert_type is CertType.QE_REPORT:
        if nested:
            raise FormatError(_ERR, "QE report certification data (type 6) nested inside type 6")
        inner = Reader(payload, _ERR)
        parsed = _parse_qe_report_cert(inner)
        _expect_end(inner, "type-6 certification data")
        return CertificationData(cert_type, parsed)
    if cert_type is CertType.PCK_CERT_CHAIN:
        _check_pem_chain(payload)
    return CertificationData(cert_type, payload)


def _expect_end(reader: Reader, what: str) -> None:
    if reader.remaining:
        raise FormatError(_ERR, f"{what} has {reader.remaining} unparsed bytes after its last field")


def parse_signature_data(blob: bytes, version: int) -> QuoteSignatureData:
    """Parse exactly ``blob`` (the ``signature_data_len`` bytes) for a quote of ``version``.

    Raises ``FormatError`` only: ``tdx.cert_data_invalid`` for any size, type or PEM inconsistency
    (the caller has already checked that ``blob`` lies inside the quote),
    ``tdx.reserved_nonzero`` for a QE report with reserved bytes set.
    """
    reader = Reader(blob, _ERR)
    signature = reader.take(_SIG, "quote signature")
    attestation_key = reader.take(_KEY, "attestation key")
    if version == 3:
        certification = CertificationData(CertType.QE_REPORT, _parse_qe_report_cert(reader))
    else:
        certification = _parse_certification(reader, nested=False)
    _expect_end(reader, "signature data")
    return QuoteSignatureData(signature, attestation_key, certification)


def _serialize_certification(cert: CertificationData, *, with_header: bool = True) -> bytes:
    if isinstance(cert.data, QeReportCertData):
        qe = cert.data
        if len(qe.qe_report_signature) != _SIG:
            raise ValueError("QE report signature needs 64 bytes")
        payload = (
            serialize_enclave_report(qe.qe_report)
            + qe.qe_report_signature
            + len(qe.qe_auth_data).to_bytes(2, "little")
            + qe.qe_auth_data
            + _serialize_certification(qe.certification)
        )
    else:
        payload = cert.data
    if not with_header:
        return payload
    return int(cert.cert_type).to_bytes(2, "little") + len(payload).to_bytes(4, "little") + payload


def serialize_signature_data(sig: QuoteSignatureData, version: int) -> bytes:
    """Encode signature data (without the leading ``signature_data_len``) for ``version``.

    For v3 the certification data must be type 6 and is written inline. Raises ``ValueError`` on a
    wrong-sized field or a v3 quote without QE report certification data.
    """
    if len(sig.signature) != _SIG or len(sig.attestation_key) != _KEY:
        raise ValueError("quote signature and attestation key need 64 bytes each")
    if version == 3 and not isinstance(sig.certification.data, QeReportCertData):
        raise ValueError("a v3 quote carries QE report certification data inline")
    return (
        sig.signature
        + sig.attestation_key
        + _serialize_certification(sig.certification, with_header=version != 3)
    )
