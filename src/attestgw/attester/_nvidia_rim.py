"""Signed SWID RIM documents for the simulated NVIDIA GPU (same shape and signature profile as NVIDIA's).

:func:`build_signed_rim` writes the SWID tag (Meta ``colloquialVersion``, one ``Resource`` per
index with ``Hash0..`` alternatives) and an enveloped XML signature exactly as NVIDIA's RIMs carry it
(``Reference URI=""``, enveloped-signature + C14N 1.1, SHA-384, ECDSA-SHA384 ``r‖s``, ``X509Data``
leaf first). The canonical bytes come from the verifier's own parser
(:func:`attestgw.evidence.nvidia.canonical_octets`), so signer and verifier agree by construction.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import quoteattr

from attestgw.crypto.signing import P384PrivateKey, sign_p384_sha384
from attestgw.evidence.nvidia import canonical_octets, parse_rim

__all__ = ["build_signed_rim"]

_HEAD = (
    '<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" '
    'xmlns:ns0="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" '
    'xmlns:ns2="http://www.w3.org/2001/04/xmlenc#sha384" corpus="false" name={name} patch="false" '
    'supplemental="false" tagId={tag} version="1.0" tagVersion="0">\n'
    '    <ns0:Entity name="NVIDIA Corporation" role="softwareCreator tagCreator"/>\n'
    '    <ns0:Meta colloquialVersion={version} edition="GPU" product={name} revision="r1"/>\n'
    "    <ns0:Payload>\n"
)
_SIG = (
    '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
    '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2006/12/xml-c14n11"/>'
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"/>'
    '<ds:Reference URI=""><ds:Transforms>'
    '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
    '<ds:Transform Algorithm="http://www.w3.org/2006/12/xml-c14n11"/></ds:Transforms>'
    '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#sha384"/>'
    "<ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>"
    "<ds:SignatureValue>{value}</ds:SignatureValue><ds:KeyInfo><ds:X509Data>{certs}"
    "</ds:X509Data></ds:KeyInfo></ds:Signature>"
)


def _resource(index: int, values: Sequence[bytes] | None) -> str:
    alternatives = values or (bytes(48),)
    hashes = " ".join(f'ns2:Hash{i}="{v.hex()}"' for i, v in enumerate(alternatives))
    active = "True" if values else "False"
    return (
        f'        <ns0:Resource type="Measurement" index="{index}" active="{active}" '
        f'alternatives="{len(alternatives)}" {hashes} name="Measurement_{index}" size="48"/>\n'
    )


def build_signed_rim(
    *,
    name: str,
    version: str,
    golden: Mapping[int, Sequence[bytes]],
    count: int,
    signer_key: P384PrivateKey,
    chain_ders: Sequence[bytes],
) -> bytes:
    """A signed RIM whose active entries are ``golden`` (index → alternatives) among ``count`` indices."""
    body = _HEAD.format(
        name=quoteattr(name),
        tag=quoteattr(hashlib.sha384(version.encode()).hexdigest()),
        version=quoteattr(version),
    )
    body += "".join(_resource(i, golden.get(i)) for i in range(count)) + "    </ns0:Payload>\n"
    certs = "".join(
        f"<ds:X509Certificate>{base64.b64encode(d).decode()}</ds:X509Certificate>" for d in chain_ders
    )
    placeholder = base64.b64encode(bytes(96)).decode()

    def assemble(digest: str, value: str) -> bytes:
        return (body + _SIG.format(digest=digest, value=value, certs=certs) + "</SoftwareIdentity>").encode()

    document, _ = canonical_octets(parse_rim(assemble(base64.b64encode(bytes(48)).decode(), placeholder)))
    digest = base64.b64encode(hashlib.sha384(document).digest()).decode()
    _, signed_info = canonical_octets(parse_rim(assemble(digest, placeholder)))
    r, s = sign_p384_sha384(signer_key, signed_info)
    return assemble(digest, base64.b64encode(r.to_bytes(48, "big") + s.to_bytes(48, "big")).decode())
