"""Verify one NVIDIA RIM: its enveloped XML signature, its signer chain, and read only signed content.

Steps (formats.md §4.6; numbered as in the code):

1. Profile — exactly what NVIDIA's RIMs use, nothing else: ``Reference URI=""`` (the whole
   document), transforms exactly [enveloped-signature, C14N 1.1], CanonicalizationMethod C14N 1.1,
   DigestMethod SHA-384, SignatureMethod ECDSA-SHA384 → else ``nvidia.rim_signature_unsupported``.
   (:func:`attestgw.evidence.nvidia.parse_rim` already refused a second ``Signature``, content inside
   the signature, DOCTYPEs and entities, and ``xml:`` attributes.)
2. Digest: SHA-384 over the canonical document without its signature equals DigestValue
   (constant-time) → else ``nvidia.rim_digest_mismatch``.
3. Signer chain from ``KeyInfo`` (leaf first): names, signatures and CA flags
   (``nvidia.rim_chain_invalid``), root pinned (``nvidia.rim_root_not_pinned``), every certificate
   valid at ``at`` (``nvidia.rim_expired``: RIM signers are short-lived; an expired one is refused,
   never silently skipped).
4. SignatureValue (raw ``r‖s``, RFC 4051) verifies over the canonical ``SignedInfo`` with the signer
   key → else ``nvidia.rim_signature_invalid``.
5. The reference values are parsed from the canonical document bytes of step 2 — the exact bytes the
   digest covered — and nothing else is read from the file.

Caching: the parsed structure, canonical bytes, digest and signature verdict are pure functions of
the exact RIM bytes and are cached; steps 3's pin and validity run on every call.

Not checked here: whether the RIM is for this device and version (:mod:`.verifier` records that),
revocation (:mod:`.ocsp`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from attestgw.crypto.ecdsa import verify_p384_sha384
from attestgw.errors import VerificationError
from attestgw.evidence.nvidia import RimContent, UnverifiedRim, canonical_octets, content_from_canonical
from attestgw.verify.cache import BoundedLru, digest_key
from attestgw.verify.nvidia.chain import CheckedChain, check_chain, check_validity
from attestgw.verify.nvidia.trust import NvidiaTrustStore, RootKind

__all__ = ["CheckedRim", "verify_rim_signature"]

_C14N11 = "http://www.w3.org/2006/12/xml-c14n11"
_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
_ECDSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
_SIGNED: BoundedLru[bytes, tuple[RimContent, CheckedChain]] = BoundedLru(256)


@dataclass(frozen=True, slots=True)
class CheckedRim:
    """A RIM whose signature and chain verified at ``verified_at``; ``content`` is signed content only."""

    content: RimContent
    chain: CheckedChain
    signer_sha256: str
    root_sha256: str
    valid_until: datetime
    simulated: bool
    document_sha384: str


def _profile(rim: UnverifiedRim) -> None:
    sig = rim.signature
    problems = []
    if sig.reference_uri != "":
        problems.append(f'Reference URI {sig.reference_uri!r}, want "" (the whole document)')
    if sig.transforms != (_ENVELOPED, _C14N11):
        problems.append(f"transforms {list(sig.transforms)}, want [enveloped-signature, C14N 1.1]")
    if sig.canonicalization != _C14N11:
        problems.append(f"CanonicalizationMethod {sig.canonicalization!r}, want C14N 1.1")
    if sig.digest_method != _SHA384:
        problems.append(f"DigestMethod {sig.digest_method!r}, want SHA-384")
    if sig.signature_method != _ECDSA_SHA384:
        problems.append(f"SignatureMethod {sig.signature_method!r}, want ECDSA-SHA384")
    if len(sig.signature_value) != 96:
        problems.append(f"SignatureValue is {len(sig.signature_value)} bytes, want 96 (r‖s)")
    if problems:
        raise VerificationError("nvidia.rim_signature_unsupported", "; ".join(problems))


def _signed_content(rim: UnverifiedRim) -> tuple[RimContent, CheckedChain]:
    key = digest_key(rim.raw)
    cached = _SIGNED.get(key)
    if cached is not None:
        return cached
    # Step 1: the one signature profile accepted.
    _profile(rim)
    # Step 2: the digest covers the whole document except the signature.
    document, signed_info = canonical_octets(rim)
    if not hmac.compare_digest(hashlib.sha384(document).digest(), rim.signature.digest_value):
        raise VerificationError(
            "nvidia.rim_digest_mismatch",
            f"RIM {rim.unverified_content.version!r}: SHA-384 of the signed document differs "
            "from DigestValue",
        )
    # Step 3 (structure; pin and dates below, every call).
    chain = check_chain(rim.signature.certificates, code="nvidia.rim_chain_invalid")
    # Step 4: the signature over SignedInfo, by the chain's leaf.
    value = rim.signature.signature_value
    r, s = int.from_bytes(value[:48], "big"), int.from_bytes(value[48:], "big")
    if not verify_p384_sha384(chain.leaf_key, r, s, signed_info):
        raise VerificationError(
            "nvidia.rim_signature_invalid",
            f"RIM {rim.unverified_content.version!r}: signature does not verify with signer "
            f"{chain.leaf_sha256}",
        )
    # Step 5: reference values from the signed bytes only.
    result = (content_from_canonical(document), chain)
    _SIGNED.put(key, result)
    return result


def verify_rim_signature(rim: UnverifiedRim, *, at: datetime, trust: NvidiaTrustStore) -> CheckedRim:
    """Steps 1-5 of the module docstring; raises ``VerificationError`` with the step's code."""
    content, chain = _signed_content(rim)
    anchor = trust.find(RootKind.RIM, chain.root_sha256)
    if anchor is None:
        raise VerificationError(
            "nvidia.rim_root_not_pinned",
            f"RIM chain root SHA-256 {chain.root_sha256} is not a pinned NVIDIA RIM root",
        )
    valid_until = check_validity(chain, at, "nvidia.rim_expired")
    return CheckedRim(
        content=content,
        chain=chain,
        signer_sha256=chain.leaf_sha256,
        root_sha256=chain.root_sha256,
        valid_until=valid_until,
        simulated=anchor.simulated,
        document_sha384=hashlib.sha384(rim.raw).hexdigest(),
    )
