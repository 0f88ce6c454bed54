"""DER values of AMD's VCEK/VLEK X.509 extensions (AMD #57230; formats.md §2.5).

Each function returns ``(dotted OID, DER of the extension value)`` pairs, ready for
:func:`attestgw.crypto.signing.build_certificate`. Only the three ASN.1 types AMD uses are encoded
(INTEGER ≥ 0, IA5String, OCTET STRING), so a full ASN.1 library is not needed.
"""

from __future__ import annotations

from attestgw.evidence.snp import TcbParts

__all__ = ["AMD_OID", "der_ia5_string", "der_integer", "der_octet_string", "signing_key_extensions"]

AMD_OID = "1.3.6.1.4.1.3704.1"


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + body


def der_integer(value: int) -> bytes:
    """DER INTEGER of a non-negative value (minimal two's complement, leading 0x00 when needed)."""
    if value < 0:
        raise ValueError("only non-negative INTEGERs are used in AMD extensions")
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def der_ia5_string(text: str) -> bytes:
    """DER IA5String; IA5 is 7-bit ASCII, anything else is refused."""
    if not text.isascii():
        raise ValueError(f"IA5String must be ASCII, got {text!r}")
    return _der(0x16, text.encode("ascii"))


def der_octet_string(data: bytes) -> bytes:
    return _der(0x04, data)


def signing_key_extensions(
    *,
    product_name: str,
    tcb: TcbParts,
    with_fmc: bool,
    hw_id: bytes | None = None,
    csp_id: str | None = None,
    struct_version: int = 1,
) -> list[tuple[str, bytes]]:
    """The extensions of a VCEK (``hw_id``) or a VLEK (``csp_id``), in the order AMD's KDS emits them.

    Milan/Genoa: structVersion, productName, blSPL, teeSPL, spl_4..spl_7 (0), snpSPL, ucodeSPL.
    Turin: structVersion, productName, fmcSPL, blSPL, teeSPL, snpSPL, spl_5..spl_7 (0), ucodeSPL —
    real Turin VCEKs carry no spl_4. Then hwID (as a DER OCTET STRING, the newer KDS encoding; the
    caller passes 64 bytes, or 8 on Turin) or cspId. Exactly one of ``hw_id`` and ``csp_id`` must be
    given: AMD never puts both in one certificate.
    """
    if (hw_id is None) == (csp_id is None):
        raise ValueError("a VCEK has hw_id, a VLEK has csp_id: give exactly one")
    if with_fmc != (tcb.fmc is not None):
        raise ValueError(f"fmcSPL is {'required' if with_fmc else 'not allowed'} for this product")
    spl = f"{AMD_OID}.3"
    out = [
        (f"{AMD_OID}.1", der_integer(struct_version)),
        (f"{AMD_OID}.2", der_ia5_string(product_name)),
    ]
    if tcb.fmc is not None:
        # Turin KDS certificates: fmcSPL first, snpSPL before the reserved SPLs, and no spl_4.
        out += [
            (f"{spl}.9", der_integer(tcb.fmc)),
            (f"{spl}.1", der_integer(tcb.bootloader)),
            (f"{spl}.2", der_integer(tcb.tee)),
            (f"{spl}.3", der_integer(tcb.snp)),
            *((f"{spl}.{n}", der_integer(0)) for n in (5, 6, 7)),
        ]
    else:
        out += [
            (f"{spl}.1", der_integer(tcb.bootloader)),
            (f"{spl}.2", der_integer(tcb.tee)),
            *((f"{spl}.{n}", der_integer(0)) for n in (4, 5, 6, 7)),
            (f"{spl}.3", der_integer(tcb.snp)),
        ]
    out.append((f"{spl}.8", der_integer(tcb.microcode)))
    if hw_id is not None:
        out.append((f"{AMD_OID}.4", der_octet_string(hw_id)))
    if csp_id is not None:
        out.append((f"{AMD_OID}.5", der_ia5_string(csp_id)))
    return out
