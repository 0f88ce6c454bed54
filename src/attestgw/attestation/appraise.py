"""Decide on a worker's attestation bundle: verify → appraise (binding included) → :class:`AppraisedBundle`.

The decision every relying party makes over the bytes of ``GET /attestation`` — the client SDK before
it seals a prompt, the gateway before it admits a worker to its pool. Pure apart from the optional
collateral fetchers, used only when the caller passes them and only for what the bundle lacks: AMD
KDS (SEV-SNP), Intel PCS (TDX) and NVIDIA (RIMs, OCSP):

1. the bundle parses strictly (:func:`~attestgw.attestation.bundle.parse_bundle`) and echoes our
   nonce (constant-time; ``bundle.nonce_mismatch``); the policy has a section for the bundle's TEE
   (``[snp]`` for ``tee: "snp"``, ``[tdx]`` for ``tee: "tdx"``), else the bundle is refused with
   ``policy.tee_policy_missing`` and nothing is verified;
2. the CPU evidence verifies (:mod:`._cpu`): the SEV-SNP report with
   :func:`attestgw.verify.snp.verify_snp` against the collateral in the bundle (report, certificate
   table, signing certificate, chain, CRL), or the TDX quote with :func:`attestgw.verify.tdx.verify_tdx`
   against the Intel collateral bundle it carries (none: the ``pcs_fetcher``'s, for the quote's FMSPC
   and PCK CA; no fetcher: ``collateral.unavailable``); trusting the pinned AMD / Intel roots plus
   exactly the simulated roots the policy's section lists;
3. with GPU evidence, every device verifies against ``gpu_nonce(n, K, R)`` and is appraised with
   the policy's ``[nvidia]`` section (:mod:`._gpu`; no section → ``policy.gpu_policy_missing``);
4. :func:`attestgw.appraisal.appraise_snp` / :func:`attestgw.appraisal.appraise_tdx` applies the
   policy with the expected REPORT_DATA / REPORTDATA = ``report_data(BindingInputs.from_material(nonce,
   ohttp_keys, receipt_spki, gpu_evidence))``: the binding check *is* that rule, so a bundle whose key
   config, receipt key or GPU evidence was swapped fails as ``policy.report_data_mismatch`` together
   with every other failed rule (a TDX bundle's event log, when present, is replayed to its RTMRs);
5. anything but affirming results (CPU and every GPU) raises :class:`AttestationRefused` with every
   failure;
6. the instance digest every receipt must name is recomputed from the verified measurement (SEV-SNP
   MEASUREMENT, TDX MRTD).

Not checked: the freshness of the bundle beyond the nonce (the nonce is the caller's and single
use; GPU evidence age is measured from ``at``, taken as the nonce's issue time).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from attestgw.appraisal import AppraisalResult, Failure, SnpPolicy, Status, appraise_snp
from attestgw.attestation._cpu import (
    CpuClaims,
    appraise_tdx_evidence,
    measurement_of,
    missing_section,
    verify_snp_evidence,
    verify_tdx_evidence,
)
from attestgw.attestation._gpu import appraise_bundle_gpus
from attestgw.attestation.bundle import UnverifiedBundle, parse_bundle
from attestgw.attestation.policy import BundlePolicy, as_bundle_policy
from attestgw.clock import require_aware
from attestgw.collateral.kds import KdsFetcher
from attestgw.collateral.nvidia import NvidiaCollateralFetcher
from attestgw.collateral.pcs import PcsFetcher
from attestgw.errors import AppraisalError, FormatError, VerificationError
from attestgw.evidence.binding import NONCE_SIZE, BindingInputs, report_data
from attestgw.ohttp import KeyConfig
from attestgw.receipt import instance_digest
from attestgw.verify.nvidia import VerifiedGpuClaims
from attestgw.verify.snp import VerifiedSnpClaims
from attestgw.verify.tdx import VerifiedTdxClaims

__all__ = ["AppraisedBundle", "AttestationRefused", "appraise_bundle", "select_key_config"]


class AttestationRefused(AppraisalError):
    """The policy did not affirm the worker. ``failures`` holds every failed rule (and warning).

    ``code`` is the first failure's code; ``result`` is the CPU appraisal result, ``gpu_results`` one
    result per GPU (a GPU's failures carry its name in the rule: ``nvidia-gpu0: require_cc_mode``),
    ``status`` the worst of all, and ``cpu_claims`` the verified CPU claims judged (genuine evidence,
    refused by policy; ``None`` when nothing was verified). ``claims`` holds them for SEV-SNP and
    ``tdx_claims`` for Intel TDX (the other is ``None``).
    """

    def __init__(
        self,
        result: AppraisalResult,
        claims: CpuClaims | None = None,
        gpu_results: tuple[AppraisalResult, ...] = (),
    ) -> None:
        gpu_problems = tuple(
            Failure(f"{r.attester}: {f.rule}", f.code, f.got, f.want)
            for r in gpu_results
            for f in (*r.failures, *r.warnings)
        )
        problems = (*result.failures, *result.warnings, *gpu_problems)
        status = Status.worst(r.status for r in (result, *gpu_results))
        code = problems[0].code if problems else "policy.no_affirmation"
        detail = "; ".join(f"[{p.code}] {p.rule}: got {p.got}, want {p.want}" for p in problems)
        super().__init__(code, f"appraisal is {status.value}: {detail or 'no claim affirmed'}")
        self.result = result
        self.gpu_results = gpu_results
        self.status = status
        self.cpu_claims = claims
        self.claims = claims if isinstance(claims, VerifiedSnpClaims) else None
        self.tdx_claims = claims if isinstance(claims, VerifiedTdxClaims) else None
        self.failures: tuple[Failure, ...] = problems

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.failures)


@dataclass(frozen=True, slots=True)
class AppraisedBundle:
    """A bundle whose evidence verified and whose appraisal affirmed, for the nonce the caller sent.

    ``bundle`` still carries the parsed fields; after this decision its ``ohttp_keys`` and
    ``receipt_spki`` are the attested ones (the binding covered their exact bytes). ``cpu_claims``
    are the verified SEV-SNP or TDX claims (``tee`` says which).
    """

    bundle: UnverifiedBundle
    nonce: bytes
    cpu_claims: CpuClaims
    result: AppraisalResult
    instance_digest: bytes
    at: datetime
    #: one entry per GPU, in device order (empty without GPU evidence)
    gpu_claims: tuple[VerifiedGpuClaims, ...] = ()
    gpu_results: tuple[AppraisalResult, ...] = ()

    @property
    def tee(self) -> str:
        """``"snp"`` or ``"tdx"``: the kind of the verified CPU evidence."""
        return "tdx" if isinstance(self.cpu_claims, VerifiedTdxClaims) else "snp"

    @property
    def claims(self) -> VerifiedSnpClaims:
        """The verified SEV-SNP claims, for callers written for SEV-SNP only.

        A TDX bundle has none: ``FormatError("bundle.unsupported")`` — read :attr:`cpu_claims` or
        :attr:`tdx_claims` instead.
        """
        if not isinstance(self.cpu_claims, VerifiedSnpClaims):
            raise FormatError("bundle.unsupported", "a TDX bundle has no SEV-SNP claims: read cpu_claims")
        return self.cpu_claims

    @property
    def tdx_claims(self) -> VerifiedTdxClaims | None:
        return self.cpu_claims if isinstance(self.cpu_claims, VerifiedTdxClaims) else None

    @property
    def results(self) -> tuple[AppraisalResult, ...]:
        """The CPU result, then one per GPU: one EAR submodule each."""
        return (self.result, *self.gpu_results)

    @property
    def simulated(self) -> bool:
        return self.cpu_claims.simulated or any(c.simulated for c in self.gpu_claims)

    @property
    def key_configs(self) -> tuple[KeyConfig, ...]:
        return self.bundle.unverified_key_configs

    @property
    def measurement(self) -> bytes:
        """SEV-SNP MEASUREMENT or TDX MRTD: what the instance digest names."""
        return measurement_of(self.cpu_claims)


def select_key_config(configs: tuple[KeyConfig, ...], kem_id: int | None = None) -> KeyConfig:
    """The first config (the worker's order is its preference) with the KEM asked for and an
    implemented (KDF, AEAD) pair. ``hpke.suite_unsupported`` when none qualifies.
    """
    for config in configs:
        if kem_id is not None and config.kem_id != kem_id:
            continue
        try:
            config.preferred_suite()
        except FormatError:
            continue
        return config
    wanted = "" if kem_id is None else f" with KEM 0x{kem_id:04x}"
    raise FormatError("hpke.suite_unsupported", f"the attested key configs offer no usable suite{wanted}")


def appraise_bundle(
    data: bytes,
    nonce: bytes,
    policy: SnpPolicy | BundlePolicy,
    *,
    at: datetime,
    fetcher: KdsFetcher | None = None,
    gpu_fetcher: NvidiaCollateralFetcher | None = None,
    pcs_fetcher: PcsFetcher | None = None,
) -> AppraisedBundle:
    """Steps 1-6 of the module docstring over the bundle bytes; an affirmed bundle or a refusal.

    ``fetcher`` (AMD KDS), ``pcs_fetcher`` (Intel PCS) and ``gpu_fetcher`` (NVIDIA) supply only the
    collateral a bundle lacks; ``None`` means none is looked for.

    Raises ``FormatError`` (bundle, report or quote, collateral, key configs), ``VerificationError``
    (nonce echo, signatures and chains), ``CollateralUnavailableError``, or :class:`AttestationRefused`.
    """
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"the nonce must be {NONCE_SIZE} bytes")
    at = require_aware(at)
    composite = as_bundle_policy(policy)
    bundle = parse_bundle(data)
    # 1. the bundle answers our question, not an earlier one; the policy judges its kind of TEE
    if not hmac.compare_digest(bundle.nonce, nonce):
        raise VerificationError(
            "bundle.nonce_mismatch", f"got {bundle.nonce.hex()}, want {nonce.hex()} (the nonce sent)"
        )
    snp, tdx = composite.snp, composite.tdx
    if (bundle.tee == "snp" and snp is None) or (bundle.tee == "tdx" and tdx is None):
        raise AttestationRefused(missing_section(bundle.tee, composite))
    # 2. genuine evidence (signature, chain to a trusted root, collateral)
    claims: CpuClaims
    if tdx is not None and bundle.tee == "tdx":
        claims = verify_tdx_evidence(bundle, tdx, at=at, fetcher=pcs_fetcher)
    else:
        assert snp is not None  # step 1
        claims = verify_snp_evidence(bundle, snp, at=at, fetcher=fetcher)
    # 3. every GPU: verified against the binding's GPU nonce, appraised with the [nvidia] section
    gpu_claims, gpu_results = appraise_bundle_gpus(bundle, nonce, composite, at=at, fetcher=gpu_fetcher)
    # 4. policy, with the binding (over the exact GPU evidence bytes) as the REPORT_DATA rule
    inputs = BindingInputs.from_material(
        nonce, bundle.ohttp_keys, bundle.receipt_spki, list(bundle.gpu_evidence or ()) or None
    )
    expected = report_data(inputs)
    if isinstance(claims, VerifiedTdxClaims):
        assert tdx is not None
        result = appraise_tdx_evidence(claims, bundle, tdx, expected)
    else:
        assert snp is not None
        result = appraise_snp(claims, snp, expected_report_data=expected)
    # 5. only affirming results are returned
    if not result.affirming or not all(r.affirming for r in gpu_results):
        raise AttestationRefused(result, claims, gpu_results)
    # 6. the instance every receipt must name
    digest = instance_digest(measurement_of(claims), bundle.ohttp_keys, bundle.receipt_spki)
    return AppraisedBundle(
        bundle=bundle,
        nonce=nonce,
        cpu_claims=claims,
        result=result,
        instance_digest=digest,
        at=at,
        gpu_claims=gpu_claims,
        gpu_results=gpu_results,
    )
