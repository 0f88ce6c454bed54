"""The Intel collateral bundle: the JSON shape Intel's QVL and Phala's dcap-qvl pass around, or
the same pieces as raw Intel PCS responses (formats.md §3.6).

Bundle JSON members (all strings): ``pck_crl_issuer_chain``, ``tcb_info_issuer_chain``,
``qe_identity_issuer_chain`` (PEM; URL-encoded PEM as in PCS response headers is accepted too),
``root_ca_crl`` and ``pck_crl`` (hex DER or PEM), ``tcb_info`` and ``qe_identity`` (the signed
JSON text itself), ``tcb_info_signature`` and ``qe_identity_signature`` (hex ``r‖s``). Unknown
members are ignored (dcap-qvl may add some); a missing one is refused.

:func:`bundle_from_pcs_files` builds the same bundle from PCS responses already read into memory,
named as Intel's endpoints and tinfoil's ``fetch.sh`` save them — see its docstring.

Pure: no file or network access. Not checked: any signature, chain or date (``attestgw.verify.tdx``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from attestgw.errors import FormatError
from attestgw.evidence.tdx_collateral import _json_raw
from attestgw.evidence.tdx_collateral.qe_identity import (
    SignedQeIdentity,
    parse_qe_identity,
    parse_qe_identity_response,
)
from attestgw.evidence.tdx_collateral.tcb_info import SignedTcbInfo, parse_tcb_info, parse_tcb_info_response

__all__ = ["CollateralBundle", "bundle_from_pcs_files", "parse_bundle"]

_CODE = "tdx.collateral_malformed"
_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+)-----END X509 CRL-----")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")


@dataclass(frozen=True, slots=True)
class CollateralBundle:
    """Unverified collateral. Chains are PEM bytes (leaf first), CRLs DER bytes."""

    pck_crl_issuer_chain: bytes
    root_ca_crl: bytes
    pck_crl: bytes
    tcb_info_issuer_chain: bytes
    tcb_info: SignedTcbInfo
    qe_identity_issuer_chain: bytes
    qe_identity: SignedQeIdentity


def _chain(data: bytes, what: str) -> bytes:
    if b"%" in data:  # PCS issuer-chain headers are URL-encoded PEM
        data = unquote_to_bytes(data)
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise FormatError(_CODE, f"{what}: no PEM certificate")
    return data


def _crl(data: bytes, what: str) -> bytes:
    """DER from raw DER, hex DER text, or one PEM ``X509 CRL`` block."""
    if data[:1] == b"\x30":
        return data
    text = data.strip()
    match = _PEM_CRL.search(text)
    try:
        if match:
            return base64.b64decode(b"".join(match.group(1).split()), validate=True)
        if _HEX.fullmatch(text.decode("ascii")):
            return bytes.fromhex(text.decode("ascii"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        pass
    raise FormatError(_CODE, f"{what}: want DER, hex DER or PEM X509 CRL")


def parse_bundle(data: bytes) -> CollateralBundle:
    """Parse a collateral bundle JSON document. Raises ``FormatError("tdx.collateral_malformed")``."""
    try:
        obj = _json_raw.load_object(data)
    except (ValueError, RecursionError) as exc:
        raise FormatError(_CODE, f"collateral bundle: {exc}") from None
    names = (
        "pck_crl_issuer_chain",
        "root_ca_crl",
        "pck_crl",
        "tcb_info_issuer_chain",
        "tcb_info",
        "tcb_info_signature",
        "qe_identity_issuer_chain",
        "qe_identity",
        "qe_identity_signature",
    )
    missing = [n for n in names if not isinstance(obj.get(n), str)]
    if missing:
        raise FormatError(_CODE, f"collateral bundle lacks string members {missing}")
    text: dict[str, str] = {n: obj[n] for n in names}
    return CollateralBundle(
        pck_crl_issuer_chain=_chain(text["pck_crl_issuer_chain"].encode(), "pck_crl_issuer_chain"),
        root_ca_crl=_crl(text["root_ca_crl"].encode(), "root_ca_crl"),
        pck_crl=_crl(text["pck_crl"].encode(), "pck_crl"),
        tcb_info_issuer_chain=_chain(text["tcb_info_issuer_chain"].encode(), "tcb_info_issuer_chain"),
        # The decoded JSON string is the signed text: JSON escapes are undone, nothing re-serialized.
        tcb_info=parse_tcb_info(text["tcb_info"].encode("utf-8"), text["tcb_info_signature"]),
        qe_identity_issuer_chain=_chain(
            text["qe_identity_issuer_chain"].encode(), "qe_identity_issuer_chain"
        ),
        qe_identity=parse_qe_identity(text["qe_identity"].encode("utf-8"), text["qe_identity_signature"]),
    )


def _pick(files: Mapping[str, bytes], *names: str) -> bytes:
    for name in names:
        if name in files:
            return files[name]
    raise FormatError(_CODE, f"PCS responses lack {' or '.join(names)}")


def bundle_from_pcs_files(
    files: Mapping[str, bytes], *, fmspc: str, ca: str = "platform"
) -> CollateralBundle:
    """Build a bundle from raw PCS responses keyed by file name.

    Names (``{fmspc}`` lowercase hex, ``{ca}`` ``platform`` or ``processor``):
    ``tcb_info_{fmspc}.json`` or ``tcb_info.json`` (the ``/tcb`` body) with ``…_chain.txt`` (its
    ``TCB-Info-Issuer-Chain`` header); ``qe_identity.json`` and ``qe_identity_chain.txt``;
    ``pck_crl_{ca}.crl`` or ``pck_crl.der`` with ``pck_crl_{ca}_chain.txt`` or ``pck_crl_chain.txt``;
    ``root_ca.crl`` or ``IntelSGXRootCA.der``. Chains may be PEM or URL-encoded PEM.
    """
    fmspc = fmspc.lower()
    if ca not in {"platform", "processor"}:
        raise FormatError(_CODE, f"PCK CA {ca!r}; want platform or processor")
    tcb_names = (f"tcb_info_{fmspc}.json", "tcb_info.json")
    tcb_body = _pick(files, *tcb_names)
    tcb_chain = _pick(files, *(n.removesuffix(".json") + "_chain.txt" for n in tcb_names))
    return CollateralBundle(
        pck_crl_issuer_chain=_chain(
            _pick(files, f"pck_crl_{ca}_chain.txt", "pck_crl_chain.txt"), "pck crl chain"
        ),
        root_ca_crl=_crl(_pick(files, "root_ca.crl", "IntelSGXRootCA.der"), "root CA CRL"),
        pck_crl=_crl(_pick(files, f"pck_crl_{ca}.crl", "pck_crl.der"), "PCK CRL"),
        tcb_info_issuer_chain=_chain(tcb_chain, "TCB info issuer chain"),
        tcb_info=parse_tcb_info_response(tcb_body),
        qe_identity_issuer_chain=_chain(_pick(files, "qe_identity_chain.txt"), "QE identity issuer chain"),
        qe_identity=parse_qe_identity_response(_pick(files, "qe_identity.json")),
    )
