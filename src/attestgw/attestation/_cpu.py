"""The CPU half of a bundle: verify and appraise SEV-SNP or Intel TDX evidence with the binding as the
REPORT_DATA rule. Called by :func:`attestgw.attestation.appraise_bundle`, which chooses by ``bundle.tee``.

SEV-SNP (:func:`verify_snp_evidence`): the report verifies with
:func:`~attestgw.verify.snp.verify_snp` against the collateral in the bundle, trusting AMD's pinned
roots plus exactly the simulated roots ``[snp] trust_simulated_roots`` lists; appraisal is
:func:`~attestgw.appraisal.appraise_snp`.

Intel TDX (:func:`verify_tdx_evidence`, :func:`appraise_tdx_evidence`):

1. the quote parses (:func:`~attestgw.evidence.tdx.parse_quote`, ``tdx.*`` format codes);
2. the collateral: the bundle's own when it carries some (it must parse: ``tdx.collateral_malformed``),
   else what the caller's :class:`~attestgw.collateral.pcs.PcsFetcher` finds for the FMSPC and PCK CA
   kind the quote's PCK chain names (in its cache, or from Intel PCS when it allows the network; a
   miss is ``collateral.unavailable`` and a failed fetch ``collateral.fetch_failed``, exit 3); without
   a fetcher a bundle with no collateral is ``collateral.unavailable``;
3. :func:`~attestgw.verify.tdx.verify_tdx` at ``at``, trusting the pinned Intel SGX Root CA plus
   exactly the simulated roots ``[tdx] trust_simulated_roots`` lists (another root:
   ``tdx.root_not_pinned``);
4. :func:`~attestgw.appraisal.appraise_tdx` with REPORTDATA = the binding and the bundle's event log
   (replayed against the RTMRs when present; required when the policy names reference events).

A bundle whose TEE has no section in the policy is refused without verifying anything
(:func:`missing_section`, ``policy.tee_policy_missing``). Not checked here: the nonce echo and the
GPU evidence (the caller's steps).
"""

from __future__ import annotations

from datetime import datetime

from attestgw.appraisal import (
    AppraisalResult,
    Failure,
    SnpPolicy,
    Status,
    TdxPolicy,
    TrustVector,
    appraise_tdx,
)
from attestgw.attestation.bundle import UnverifiedBundle
from attestgw.attestation.policy import BundlePolicy
from attestgw.collateral.kds import KdsFetcher
from attestgw.collateral.pcs import PcsFetcher
from attestgw.errors import CollateralUnavailableError
from attestgw.evidence.snp import Product, parse_cert_table, parse_report
from attestgw.evidence.tdx import Quote, parse_quote
from attestgw.evidence.tdx_collateral import CollateralBundle
from attestgw.evidence.tdx_collateral import parse_bundle as parse_collateral
from attestgw.verify.snp import (
    AMD_TRUST,
    SnpCollateral,
    SnpVerifyOptions,
    TrustStore,
    VerifiedSnpClaims,
    verify_snp,
)
from attestgw.verify.tdx import INTEL_TRUST, IntelTrustStore, TdxVerifyOptions, VerifiedTdxClaims, verify_tdx

__all__ = [
    "CpuClaims",
    "appraise_tdx_evidence",
    "measurement_of",
    "missing_section",
    "verify_snp_evidence",
    "verify_tdx_evidence",
]

#: Verified claims of the CPU TEE a bundle names.
CpuClaims = VerifiedSnpClaims | VerifiedTdxClaims

_SECTION = {"snp": "[snp]", "tdx": "[tdx]"}


def measurement_of(claims: CpuClaims) -> bytes:
    """What the instance digest names: SEV-SNP MEASUREMENT (48 bytes) or TDX MRTD (48 bytes)."""
    if isinstance(claims, VerifiedTdxClaims):
        return claims.body.mr_td
    return claims.report.measurement


def missing_section(tee: str, policy: BundlePolicy) -> AppraisalResult:
    """The contraindicated result for a bundle whose TEE has no section in ``policy``."""
    section = _SECTION.get(tee, f"[{tee}]")
    return AppraisalResult(
        attester=tee,
        status=Status.CONTRAINDICATED,
        vector=TrustVector(),
        failures=(
            Failure(
                tee,
                "policy.tee_policy_missing",
                f"{tee.upper()} evidence, and a policy without a {section} section",
                f"a {section} section in the policy (docs/policy.md)",
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


def _amd_trust(policy: SnpPolicy) -> TrustStore:
    """AMD's pinned roots, plus exactly the simulated roots the policy opts into."""
    trust = AMD_TRUST
    for root in policy.trust_simulated_roots:
        for product in Product:
            trust = trust.with_simulated(product, root.lower())
    return trust


def _intel_trust(policy: TdxPolicy) -> IntelTrustStore:
    """Intel's pinned root, plus exactly the simulated roots the policy opts into."""
    trust = INTEL_TRUST
    for root in policy.trust_simulated_roots:
        trust = trust.with_simulated(root.lower())
    return trust


def verify_snp_evidence(
    bundle: UnverifiedBundle, policy: SnpPolicy, *, at: datetime, fetcher: KdsFetcher | None
) -> VerifiedSnpClaims:
    """The SEV-SNP report with the bundle's collateral (signature, chain to a trusted root, CRL)."""
    collateral = SnpCollateral(
        signing_cert=bundle.signing_cert,
        chain=bundle.chain,
        crl=bundle.crl,
        cert_table=parse_cert_table(bundle.cert_table) if bundle.cert_table is not None else None,
    )
    options = SnpVerifyOptions(
        at=at, trust=_amd_trust(policy), require_crl=policy.require_crl, fetcher=fetcher
    )
    return verify_snp(parse_report(bundle.report), collateral, options)


def _tdx_collateral(bundle: UnverifiedBundle, quote: Quote, fetcher: PcsFetcher | None) -> CollateralBundle:
    """Step 2 of the module docstring: the bundle's collateral, else the fetcher's."""
    if bundle.collateral is not None:
        return parse_collateral(bundle.collateral)
    if fetcher is None:
        raise CollateralUnavailableError(
            "collateral.unavailable",
            "the TDX bundle carries no Intel collateral (evidence.collateral is null) and no Intel PCS "
            "fetcher was given: allow fetching (online=True, `--online`) or pass a cache directory "
            "filled by `attestgw trust fetch tdx` (cache_dir, `--cache-dir`)",
        )
    # Whatever comes back is as untrusted as the bundle's own collateral would be: verify_tdx checks
    # its signatures, chains and dates against the pinned root, and the PCK chain the FMSPC was read from.
    return fetcher.collateral_for_quote(quote).bundle


def verify_tdx_evidence(
    bundle: UnverifiedBundle, policy: TdxPolicy, *, at: datetime, fetcher: PcsFetcher | None = None
) -> VerifiedTdxClaims:
    """Steps 1-3 of the module docstring; ``fetcher`` is used only when the bundle has no collateral."""
    quote = parse_quote(bundle.report)
    collateral = _tdx_collateral(bundle, quote, fetcher)
    return verify_tdx(quote, collateral, TdxVerifyOptions(at=at, trust=_intel_trust(policy)))


def appraise_tdx_evidence(
    claims: VerifiedTdxClaims, bundle: UnverifiedBundle, policy: TdxPolicy, expected_report_data: bytes
) -> AppraisalResult:
    """Step 4 of the module docstring."""
    return appraise_tdx(claims, policy, expected_report_data=expected_report_data, event_log=bundle.event_log)
