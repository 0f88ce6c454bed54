"""Read the SGX extension out of a PCK certificate (formats.md §3.5).

:func:`pck_sgx_extension` finds extension 1.2.840.113741.1.13.1 and hands its value to the pure
parser in :mod:`attestgw.evidence.tdx_collateral`. Not checked: the certificate's chain,
validity or revocation — callers must verify those before trusting the values.
"""

from __future__ import annotations

from cryptography import x509

from attestgw.crypto.x509 import load_certificate
from attestgw.errors import FormatError
from attestgw.evidence.tdx_collateral import SGX_EXTENSION_OID, SgxExtension, parse_sgx_extension

__all__ = ["pck_sgx_extension"]

_OID = x509.ObjectIdentifier(SGX_EXTENSION_OID)


def pck_sgx_extension(cert: x509.Certificate | bytes) -> SgxExtension:
    """The SGX extension of a PCK certificate (parsed, DER or PEM). ``tdx.pck_extension_malformed``."""
    if isinstance(cert, bytes | bytearray):
        cert = load_certificate(bytes(cert), code="tdx.pck_extension_malformed")
    try:
        ext = cert.extensions.get_extension_for_oid(_OID)
    except x509.ExtensionNotFound:
        raise FormatError("tdx.pck_extension_malformed", "certificate has no SGX extension") from None
    except ValueError as exc:
        raise FormatError("tdx.pck_extension_malformed", f"unreadable extensions ({exc})") from None
    value = ext.value
    if not isinstance(value, x509.UnrecognizedExtension):
        raise FormatError("tdx.pck_extension_malformed", "SGX extension was decoded as a known type")
    return parse_sgx_extension(value.value)
