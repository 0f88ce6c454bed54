"""The FWID in an NVIDIA device leaf certificate (TCG DICE extensions, formats.md §4.4).

Two encodings occur, both read with the bounded DER reader of :mod:`attestgw.crypto.x509`:

- ``2.23.133.5.4.1`` (Hopper GH100, NVSwitch LS_10 leaves): ``SEQUENCE { version INTEGER,
  SubjectPublicKeyInfo, FWID }``;
- ``2.23.133.5.4.1.1`` (Blackwell GB100, TCG DiceTcbInfo): ``SEQUENCE { … [6] fwids SEQUENCE OF
  FWID … }``, of which the first is used;

where ``FWID ::= SEQUENCE { hashAlg OBJECT IDENTIFIER, digest OCTET STRING }``. Only SHA-384
(``2.16.840.1.101.3.4.2.2``) with a 48-byte digest is accepted. :func:`leaf_fwid` returns None when
the leaf carries neither extension and raises ``VerificationError("nvidia.fwid_mismatch")`` when one
is present but malformed. Not checked here: that the FWID equals the evidence's (the verifier does).
"""

from __future__ import annotations

from cryptography import x509

from attestgw.crypto.x509 import der_tlv
from attestgw.errors import VerificationError

__all__ = ["leaf_fwid"]

_COMPOSITE = x509.ObjectIdentifier("2.23.133.5.4.1")
_TCB_INFO = x509.ObjectIdentifier("2.23.133.5.4.1.1")
_SHA384 = bytes.fromhex("608648016503040202")


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    pos = start
    while pos < end and len(out) < 32:
        tag, vs, ve = der_tlv(data, pos, end)
        out.append((tag, vs, ve))
        pos = ve
    return out


def _fwid(data: bytes, start: int, end: int) -> bytes:
    parts = _children(data, start, end)
    if len(parts) != 2 or parts[0][0] != 0x06 or parts[1][0] != 0x04:
        raise ValueError("FWID is not { OID, OCTET STRING }")
    if data[parts[0][1] : parts[0][2]] != _SHA384 or parts[1][2] - parts[1][1] != 48:
        raise ValueError("FWID is not a 48-byte SHA-384 digest")
    return data[parts[1][1] : parts[1][2]]


def _parse(oid: x509.ObjectIdentifier, value: bytes) -> bytes:
    tag, vs, ve = der_tlv(value, 0, len(value))
    if tag != 0x30 or ve != len(value):
        raise ValueError("extension value is not one SEQUENCE")
    parts = _children(value, vs, ve)
    if oid == _COMPOSITE:
        if len(parts) != 3 or [p[0] for p in parts] != [0x02, 0x30, 0x30]:
            raise ValueError("not { version, SubjectPublicKeyInfo, FWID }")
        return _fwid(value, parts[2][1], parts[2][2])
    fwids = [p for p in parts if p[0] == 0xA6]
    if len(fwids) != 1:
        raise ValueError("DiceTcbInfo has no [6] fwids")
    items = _children(value, fwids[0][1], fwids[0][2])
    if not items or items[0][0] != 0x30:
        raise ValueError("fwids is empty")
    return _fwid(value, items[0][1], items[0][2])


def leaf_fwid(cert: x509.Certificate) -> bytes | None:
    """The leaf's SHA-384 FWID, or None when it carries no DICE extension."""
    for oid in (_COMPOSITE, _TCB_INFO):
        try:
            ext = cert.extensions.get_extension_for_oid(oid)
        except x509.ExtensionNotFound:
            continue
        raw = ext.value.value if isinstance(ext.value, x509.UnrecognizedExtension) else b""
        try:
            return bytes(_parse(oid, raw))
        except ValueError as exc:
            raise VerificationError(
                "nvidia.fwid_mismatch", f"leaf DICE extension {oid.dotted_string}: {exc}"
            ) from None
    return None
