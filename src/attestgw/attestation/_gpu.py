"""The GPU half of a composite bundle: verify every device against the binding's GPU nonce, appraise each.

Steps (called by :func:`attestgw.attestation.appraise_bundle` after the CPU evidence verified):

1. no ``[nvidia]`` section in the policy → one contraindicated result per device
   (``policy.gpu_policy_missing``), nothing verified: GPUs are never accepted by default;
2. collateral: the bundle's RIMs and OCSP responses, completed by the caller's fetcher when given;
3. :func:`~attestgw.verify.nvidia.verify_gpus` with ``expected_nonce = gpu_nonce(n, K, R)``, so
   evidence made for another nonce, key configuration or receipt key — another worker's — is refused
   (``nvidia.nonce_mismatch``), trusting NVIDIA's pins plus exactly the simulated roots the policy lists;
4. :func:`~attestgw.appraisal.nvidia.appraise_gpus` with the nonce issued at ``at``.

The linkage in the other direction — the CPU's REPORT_DATA commits to G over these exact evidence
bytes — is the CPU appraisal's REPORT_DATA rule (SEV-SNP or TDX). Not checked here: the CPU evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from attestgw.appraisal import AppraisalResult, Failure, Status, TrustVector
from attestgw.appraisal.nvidia import appraise_gpus
from attestgw.attestation.bundle import UnverifiedBundle
from attestgw.attestation.policy import BundlePolicy
from attestgw.collateral.nvidia import NvidiaCollateralFetcher
from attestgw.evidence.binding import BindingInputs, gpu_nonce
from attestgw.verify.nvidia import (
    NVIDIA_TRUST,
    GpuCollateral,
    GpuVerifyOptions,
    NvidiaTrustStore,
    RootKind,
    VerifiedGpuClaims,
    verify_gpus,
)

__all__ = ["appraise_bundle_gpus", "gpu_trust"]


def gpu_trust(roots: Sequence[str]) -> NvidiaTrustStore:
    """NVIDIA's pins plus the simulated roots listed (each trusted as a device and a RIM root)."""
    trust = NVIDIA_TRUST
    for root in roots:
        trust = trust.with_simulated(RootKind.DEVICE, root).with_simulated(RootKind.RIM, root)
    return trust


def _missing(index: int, policy: BundlePolicy) -> AppraisalResult:
    return AppraisalResult(
        attester=f"nvidia-gpu{index}",
        status=Status.CONTRAINDICATED,
        vector=TrustVector(),
        failures=(
            Failure(
                "nvidia",
                "policy.gpu_policy_missing",
                "GPU evidence, and a policy without an [nvidia] section",
                "an [nvidia] section in the policy (docs/nvidia-verification.md §7)",
            ),
        ),
        warnings=(),
        opt_ins=(),
        not_evaluated=(),
        policy_id=policy.id,
        policy_version=policy.version,
        policy_digest=policy.digest,
        simulated=False,
    )


def appraise_bundle_gpus(
    bundle: UnverifiedBundle,
    nonce: bytes,
    policy: BundlePolicy,
    *,
    at: datetime,
    fetcher: NvidiaCollateralFetcher | None = None,
) -> tuple[tuple[VerifiedGpuClaims, ...], tuple[AppraisalResult, ...]]:
    """Steps 1-4 of the module docstring; ``((), ())`` for a bundle without GPU evidence."""
    if bundle.gpu_evidence is None:
        return (), ()
    gpu_policy = policy.gpu
    if gpu_policy is None:
        return (), tuple(_missing(i, policy) for i in range(len(bundle.unverified_gpus)))
    collateral = GpuCollateral(rims=bundle.gpu_rims, ocsp_responses=bundle.gpu_ocsp)
    if fetcher is not None:
        collateral = fetcher.collateral_for(bundle.unverified_gpus, collateral)
    expected = gpu_nonce(BindingInputs.from_material(nonce, bundle.ohttp_keys, bundle.receipt_spki))
    options = GpuVerifyOptions(
        at=at,
        expected_nonce=expected,
        trust=gpu_trust(gpu_policy.trust_simulated_roots),
        ocsp=gpu_policy.ocsp,
    )
    claims = verify_gpus(bundle.unverified_gpus, collateral, options)
    return claims, appraise_gpus(claims, gpu_policy, nonce_issued_at=at)
