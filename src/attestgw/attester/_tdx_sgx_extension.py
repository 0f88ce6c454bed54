"""DER encoding of the Intel SGX extension (OID 1.2.840.113741.1.13.1) for simulated PCK certificates.

The layout is Intel's PCK certificate profile (formats.md §3.5): a SEQUENCE of ``SEQUENCE { OID,
value }`` pairs — .1 PPID (OCTET STRING 16), .2 TCB (SEQUENCE of .2.1-.2.16 component SVNs as
INTEGER, .2.17 PCESVN INTEGER, .2.18 CPUSVN OCTET STRING 16), .3 PCE-ID (OCTET STRING 2), .4 FMSPC
(OCTET STRING 6), .5 SGX type (ENUMERATED), and for multi-package platforms .6 platform instance id
(OCTET STRING 16) and .7 configuration (SEQUENCE of BOOLEAN flags .7.1-.7.3).

Only the DER subset the extension uses is written: definite minimal lengths, minimal non-negative
INTEGERs. The output is what :func:`attestgw.evidence.tdx_collateral.parse_sgx_extension` reads.
Sizes are checked (``ValueError``); nothing else is — a simulated platform may claim any TCB.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["encode_sgx_extension"]

_BASE = bytes.fromhex("2a864886f84d010d01")  # 1.2.840.113741.1.13.1
_SEQUENCE, _INTEGER, _OCTETS, _OID, _ENUMERATED, _BOOLEAN = 0x30, 0x02, 0x04, 0x06, 0x0A, 0x01


def _tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + value


def _int(tag: int, value: int) -> bytes:
    if value < 0:
        raise ValueError(f"SGX extension integers are non-negative, got {value}")
    # One spare bit keeps the two's-complement sign clear (0x80 → 00 80); 0 encodes as 00.
    return _tlv(tag, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _entry(arcs: bytes, value: bytes) -> bytes:
    return _tlv(_SEQUENCE, _tlv(_OID, arcs) + value)


def _octets(value: bytes, size: int, what: str) -> bytes:
    if len(value) != size:
        raise ValueError(f"{what} needs {size} bytes, got {len(value)}")
    return _tlv(_OCTETS, value)


def encode_sgx_extension(
    *,
    ppid: bytes,
    sgx_tcb_components: Sequence[int],
    pcesvn: int,
    cpusvn: bytes,
    pce_id: bytes,
    fmspc: bytes,
    sgx_type: int,
    platform_instance_id: bytes | None = None,
    configuration: tuple[bool | None, bool | None, bool | None] | None = None,
) -> bytes:
    """The extension value (the bytes inside extnValue). ``configuration`` is (dynamicPlatform,
    cachedKeys, smtEnabled); a ``None`` flag is left out, as Intel does for absent flags."""
    if len(sgx_tcb_components) != 16 or any(not 0 <= c <= 255 for c in sgx_tcb_components):
        raise ValueError("want 16 SGX TCB component SVNs in 0..255")
    if not 0 <= pcesvn <= 0xFFFF:
        raise ValueError(f"PCESVN {pcesvn} outside 0..65535")
    tcb = b"".join(
        _entry(_BASE + bytes([2, i]), _int(_INTEGER, svn)) for i, svn in enumerate(sgx_tcb_components, 1)
    )
    tcb += _entry(_BASE + bytes([2, 17]), _int(_INTEGER, pcesvn))
    tcb += _entry(_BASE + bytes([2, 18]), _octets(cpusvn, 16, "CPUSVN"))
    body = _entry(_BASE + b"\x01", _octets(ppid, 16, "PPID"))
    body += _entry(_BASE + b"\x02", _tlv(_SEQUENCE, tcb))
    body += _entry(_BASE + b"\x03", _octets(pce_id, 2, "PCE-ID"))
    body += _entry(_BASE + b"\x04", _octets(fmspc, 6, "FMSPC"))
    body += _entry(_BASE + b"\x05", _int(_ENUMERATED, sgx_type))
    if platform_instance_id is not None:
        body += _entry(_BASE + b"\x06", _octets(platform_instance_id, 16, "platform instance id"))
    if configuration is not None:
        flags = b"".join(
            _entry(_BASE + bytes([7, i]), _tlv(_BOOLEAN, b"\xff" if flag else b"\x00"))
            for i, flag in enumerate(configuration, 1)
            if flag is not None
        )
        body += _entry(_BASE + b"\x07", _tlv(_SEQUENCE, flags))
    return _tlv(_SEQUENCE, body)
