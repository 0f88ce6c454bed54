"""NVIDIA GPU / NVSwitch verification: evidence + collateral → :class:`VerifiedGpuClaims` (formats.md §4.7).

``verify_gpu`` returns claims only if every step passed, else raises the first failure with a stable
code (numbered as in the code; the parser did step 2, structure):

3. Device chain — from the evidence envelope, else ``collateral.certificate_chain`` (neither →
   ``collateral.unavailable``): names, signatures, CA flags, ≤ 5 certificates
   (``nvidia.chain_invalid``), root pinned (``nvidia.root_not_pinned``), all valid at ``at``
   (``nvidia.cert_expired``). The architecture comes from the verified leaf CN; an envelope that
   names another → ``nvidia.arch_mismatch``.
4. OCSP for the device chain (:mod:`.ocsp`; fail closed unless ``options.ocsp`` opts out).
5. ECDSA P-384 over request ‖ response-without-signature by the leaf key → ``nvidia.signature_invalid``
   (every call, never cached).
6. The request nonce equals ``options.expected_nonce`` (constant time), and equals the envelope's
   stated nonce when it states one → ``nvidia.nonce_mismatch``.
7. The leaf FWID equals opaque TLV 20 when the evidence carries it (``nvidia.fwid_mismatch``); the
   envelope's driver / VBIOS versions equal the signed ones (``nvidia.version_mismatch``).
8. RIMs: for the signed driver and VBIOS versions, the candidate whose ``colloquialVersion``
   equals it (case-insensitively); failing that, the only candidate of that kind, which is then
   recorded as *not* matching the version. Each selected RIM is verified (:mod:`.rim`) and its chain
   checked by OCSP.
9. Measurements compared (:mod:`.measurements`); claims emitted.

Not checked here: anything a policy decides — CC / developer-tools mode, architectures, minimum
versions, whether mismatching indices are tolerated, the evidence's age. Those are appraisal's.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime

from attestgw.clock import require_aware
from attestgw.crypto.ecdsa import verify_p384_sha384
from attestgw.crypto.x509 import pem_certificates
from attestgw.errors import CollateralUnavailableError, UsageError, VerificationError
from attestgw.evidence.nvidia import GpuEvidence, UnverifiedRim, parse_rim
from attestgw.verify._seal import SEAL
from attestgw.verify.cache import BoundedLru, digest_key
from attestgw.verify.nvidia.chain import CheckedChain, check_chain, check_validity, common_name
from attestgw.verify.nvidia.claims import (
    GpuArch,
    GpuCollateral,
    GpuVerifyOptions,
    RimRole,
    VerifiedGpuClaims,
    VerifiedRim,
)
from attestgw.verify.nvidia.fwid import leaf_fwid
from attestgw.verify.nvidia.measurements import MeasurementComparison, compare_measurements
from attestgw.verify.nvidia.ocsp import check_revocation, parse_responses
from attestgw.verify.nvidia.rim import verify_rim_signature
from attestgw.verify.nvidia.trust import RootKind

__all__ = ["arch_of", "verify_gpu", "verify_gpus"]

_RIMS: BoundedLru[bytes, UnverifiedRim] = BoundedLru(256)
_ARCH_PREFIXES = (("GH100", GpuArch.HOPPER), ("GB100", GpuArch.BLACKWELL), ("LS_10", GpuArch.LS10))
_ENVELOPE_ARCH = {"HOPPER": GpuArch.HOPPER, "BLACKWELL": GpuArch.BLACKWELL, "LS10": GpuArch.LS10}


def arch_of(leaf_cn: str) -> GpuArch:
    """The architecture a (verified) leaf CN names, or ``nvidia.chain_invalid``."""
    for prefix, arch in _ARCH_PREFIXES:
        if leaf_cn.startswith(prefix + " "):
            return arch
    raise VerificationError("nvidia.chain_invalid", f"leaf CN {leaf_cn!r} names no known GPU or NVSwitch")


def _device_chain(
    evidence: GpuEvidence, collateral: GpuCollateral, options: GpuVerifyOptions
) -> tuple[CheckedChain, bool]:
    pem = (
        evidence.certificate_chain if evidence.certificate_chain is not None else collateral.certificate_chain
    )
    if pem is None:
        raise CollateralUnavailableError(
            "collateral.unavailable", "the evidence carries no device certificate chain and none was given"
        )
    chain = check_chain(pem_certificates(pem, code="nvidia.chain_invalid"), code="nvidia.chain_invalid")
    anchor = options.trust.find(RootKind.DEVICE, chain.root_sha256)
    if anchor is None:
        raise VerificationError(
            "nvidia.root_not_pinned",
            f"device chain root SHA-256 {chain.root_sha256} is not a pinned NVIDIA root",
        )
    return chain, anchor.simulated


def _parsed_rim(raw: bytes) -> UnverifiedRim:
    key = digest_key(bytes(raw))
    rim = _RIMS.get(key)
    if rim is None:
        rim = parse_rim(raw)
        _RIMS.put(key, rim)
    return rim


def _rim_kind(version: str) -> RimRole:
    parts = version.split(".")
    if len(parts) == 5 and all(len(p) == 2 for p in parts):
        return RimRole.VBIOS
    return RimRole.DRIVER


def _select(candidates: Sequence[UnverifiedRim], role: RimRole, version: str | None) -> UnverifiedRim | None:
    if version is not None:
        for rim in candidates:
            if rim.unverified_content.version.upper() == version.upper():
                return rim
    of_kind = [r for r in candidates if _rim_kind(r.unverified_content.version) is role]
    return of_kind[0] if len(of_kind) == 1 else None


def _verify_rims(
    evidence: GpuEvidence, collateral: GpuCollateral, options: GpuVerifyOptions, at: datetime, arch: GpuArch
) -> tuple[tuple[VerifiedRim, ...], MeasurementComparison | None]:
    if not collateral.rims:
        return (), None
    opaque = evidence.report.response.opaque
    candidates = [_parsed_rim(raw) for raw in collateral.rims]
    responses = parse_responses(collateral.ocsp_responses)
    wanted = [(RimRole.VBIOS, opaque.vbios_version)]
    if arch is not GpuArch.LS10:
        wanted.insert(0, (RimRole.DRIVER, opaque.driver_version))
    verified: list[VerifiedRim] = []
    contents = []
    for role, version in wanted:
        rim = _select(candidates, role, version)
        if rim is None:
            continue
        checked = verify_rim_signature(rim, at=at, trust=options.trust)
        outcome = check_revocation(checked.chain, responses, at=at, settings=options.ocsp, include_leaf=True)
        verified.append(
            VerifiedRim(
                role=role,
                version=checked.content.version,
                expected_version=version,
                tag_id=checked.content.tag_id,
                signer_sha256=checked.signer_sha256,
                root_sha256=checked.root_sha256,
                valid_until=checked.valid_until,
                simulated=checked.simulated,
                ocsp=outcome,
            )
        )
        contents.append((role.value, checked.content))
    if not contents:
        return (), None
    nvdec = opaque.nvdec0_enabled
    return tuple(verified), compare_measurements(
        evidence.report.response.blocks, contents, nvdec0_enabled=nvdec
    )


def verify_gpu(
    evidence: GpuEvidence, collateral: GpuCollateral, options: GpuVerifyOptions, *, device_index: int = 0
) -> VerifiedGpuClaims:
    """Verify one device (see the module docstring). Never returns partial claims."""
    try:
        at = require_aware(options.at)
    except ValueError as exc:
        raise UsageError("usage.invalid", f"GpuVerifyOptions.at: {exc}") from None
    if options.expected_nonce is not None and len(options.expected_nonce) != 32:
        raise UsageError("usage.invalid", f"expected nonce is {len(options.expected_nonce)} bytes, want 32")
    report = evidence.report
    opaque = report.response.opaque

    # Step 3: the device chain, pinned and valid now; the architecture it names.
    chain, simulated = _device_chain(evidence, collateral, options)
    chain_valid_until = check_validity(chain, at, "nvidia.cert_expired")
    arch = arch_of(common_name(chain.leaf))
    stated = evidence.unverified_arch
    if stated is not None and _ENVELOPE_ARCH.get(stated.upper()) is not arch:
        raise VerificationError(
            "nvidia.arch_mismatch", f"envelope says {stated!r}, the certificate {arch.value}"
        )

    # Step 4: revocation of the device chain.
    device_ocsp = check_revocation(
        chain, parse_responses(collateral.ocsp_responses), at=at, settings=options.ocsp, include_leaf=False
    )

    # Step 5: the SPDM signature (every call).
    sig = report.response.signature
    r, s = int.from_bytes(sig[:48], "big"), int.from_bytes(sig[48:], "big")
    if not verify_p384_sha384(chain.leaf_key, r, s, report.signed_bytes):
        raise VerificationError(
            "nvidia.signature_invalid", f"SPDM signature does not verify with leaf {chain.leaf_sha256}"
        )

    # Step 6: the nonce the verifier chose (the request's, not the responder's).
    nonce = report.request.nonce
    for label, want in (("expected", options.expected_nonce), ("envelope", evidence.unverified_nonce)):
        if want is not None and not hmac.compare_digest(nonce, want):
            raise VerificationError(
                "nvidia.nonce_mismatch", f"request nonce {nonce.hex()}, {label} {want.hex()}"
            )

    # Step 7: FWID, and the envelope's versions against the signed ones.
    cert_fwid, opaque_fwid = leaf_fwid(chain.leaf), opaque.fwid
    if opaque_fwid is not None and (cert_fwid is None or not hmac.compare_digest(cert_fwid, opaque_fwid)):
        got = cert_fwid.hex() if cert_fwid is not None else "none"
        raise VerificationError("nvidia.fwid_mismatch", f"leaf FWID {got}, evidence FWID {opaque_fwid.hex()}")
    for label, claimed, signed in (
        ("driver", evidence.unverified_driver_version, opaque.driver_version),
        ("VBIOS", evidence.unverified_vbios_version, opaque.vbios_version),
    ):
        if claimed is not None and (signed is None or claimed.upper() != signed.upper()):
            raise VerificationError(
                "nvidia.version_mismatch", f"envelope {label} {claimed!r}, signed {signed!r}"
            )

    # Steps 8-9: RIMs and the comparison.
    rims, comparison = _verify_rims(evidence, collateral, options, at, arch)
    valid_until = min([chain_valid_until, *(r.valid_until for r in rims)])
    return VerifiedGpuClaims(
        device_index=device_index,
        report=report,
        arch=arch,
        hwmodel=common_name(chain.certs[1]),
        leaf_sha256=chain.leaf_sha256,
        root_sha256=chain.root_sha256,
        fwid=cert_fwid,
        fwid_checked=opaque_fwid is not None,
        nonce=nonce,
        nonce_checked=options.expected_nonce is not None,
        driver_version=opaque.driver_version,
        vbios_version=opaque.vbios_version,
        rims=rims,
        comparison=comparison,
        device_ocsp=device_ocsp,
        ocsp_opt_ins=options.ocsp.opt_ins,
        unverified_cc_mode=evidence.unverified_cc_mode,
        simulated=simulated or any(r.simulated for r in rims),
        verified_at=at,
        valid_until=valid_until,
        seal=SEAL,
    )


def verify_gpus(
    evidence: Sequence[GpuEvidence], collateral: GpuCollateral, options: GpuVerifyOptions
) -> tuple[VerifiedGpuClaims, ...]:
    """Verify every device in order; the first failure is raised, its message naming the device."""
    out = []
    for index, item in enumerate(evidence):
        try:
            out.append(verify_gpu(item, collateral, options, device_index=index))
        except (VerificationError, CollateralUnavailableError) as err:
            raise type(err)(err.code, f"device {index}: {err.message}") from None
    return tuple(out)
