"""The 48-byte DCAP quote header (formats.md §3.1; Intel QVL ``QuoteStructures.h`` ``Header``).

==========  ====  =====================================================================
Offset      Size  Field (little-endian)
==========  ====  =====================================================================
0x00        2     version: 3 (SGX), 4 or 5 (SGX or TDX)
0x02        2     attestation_key_type: 2 = ECDSA-256-with-P-256 (the only one accepted)
0x04        4     tee_type: 0x00000000 = SGX, 0x00000081 = TDX (v3 calls it reserved; must be 0)
0x08        2     qe_svn   (Intel QVL order; go-tdx-guest swaps the names — formats.md §16)
0x0A        2     pce_svn
0x0C        16    qe_vendor_id (Intel's QE: 939a7233f79c4ca9940a0db3957f0607)
0x1C        20    user_data (QE-defined)
==========  ====  =====================================================================

The header is signed as part of the quote, but the SVNs in it are reported by the QE itself and
are not evidence of TCB: the TCB comes from the PCK certificate and the quote body (formats.md §3.9).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from attestgw.errors import FormatError

__all__ = [
    "HEADER_SIZE",
    "INTEL_QE_VENDOR_ID",
    "SUPPORTED_VERSIONS",
    "AttestationKeyType",
    "QuoteHeader",
    "TeeType",
    "parse_header",
    "serialize_header",
]

HEADER_SIZE = 48
SUPPORTED_VERSIONS = (3, 4, 5)
INTEL_QE_VENDOR_ID = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")


class TeeType(enum.IntEnum):
    """The TEE that produced the quote body."""

    SGX = 0x00000000
    TDX = 0x00000081


class AttestationKeyType(enum.IntEnum):
    """Quote attestation key types defined by Intel; only ECDSA P-256 is accepted by the parser."""

    ECDSA_P256 = 2
    ECDSA_P384 = 3


@dataclass(frozen=True, slots=True)
class QuoteHeader:
    """A parsed, **unverified** quote header."""

    version: int
    attestation_key_type: AttestationKeyType
    tee_type: TeeType
    qe_svn: int
    pce_svn: int
    qe_vendor_id: bytes
    user_data: bytes


def parse_header(blob: bytes) -> QuoteHeader:
    """Parse the first 48 bytes of ``blob`` (more may follow).

    Refuses (``FormatError`` only): fewer than 48 bytes (``tdx.truncated``), a version other than
    3/4/5 (``tdx.unknown_version``), a key type other than 2 (``tdx.unsupported_key_type``), a
    tee_type other than SGX/TDX or a non-SGX v3 quote (``tdx.unknown_tee_type``). Does not check the
    QE vendor id (a policy decision).
    """
    if len(blob) < HEADER_SIZE:
        raise FormatError("tdx.truncated", f"quote is {len(blob)} bytes, shorter than its 48-byte header")
    version, key_type, tee_type, qe_svn, pce_svn = struct.unpack_from("<HHIHH", blob, 0)
    if version not in SUPPORTED_VERSIONS:
        raise FormatError("tdx.unknown_version", f"quote version {version}, want one of {SUPPORTED_VERSIONS}")
    if key_type != AttestationKeyType.ECDSA_P256:
        raise FormatError(
            "tdx.unsupported_key_type", f"attestation key type {key_type}, want 2 (ECDSA-256-with-P-256)"
        )
    if tee_type not in (TeeType.SGX, TeeType.TDX) or (version == 3 and tee_type != TeeType.SGX):
        raise FormatError(
            "tdx.unknown_tee_type",
            f"tee_type {tee_type:#010x} in a v{version} quote, want 0x00 (SGX)"
            + (" or 0x81 (TDX)" if version != 3 else ""),
        )
    return QuoteHeader(
        version=int(version),
        attestation_key_type=AttestationKeyType(key_type),
        tee_type=TeeType(tee_type),
        qe_svn=int(qe_svn),
        pce_svn=int(pce_svn),
        qe_vendor_id=blob[0x0C:0x1C],
        user_data=blob[0x1C:0x30],
    )


def serialize_header(header: QuoteHeader) -> bytes:
    """Encode ``header`` into 48 bytes. Raises ``ValueError`` on wrong-sized byte fields."""
    if len(header.qe_vendor_id) != 16 or len(header.user_data) != 20:
        raise ValueError("qe_vendor_id needs 16 bytes and user_data 20")
    return (
        struct.pack(
            "<HHIHH",
            header.version,
            header.attestation_key_type,
            header.tee_type,
            header.qe_svn,
            header.pce_svn,
        )
        + header.qe_vendor_id
        + header.user_data
    )
