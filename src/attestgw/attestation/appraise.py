"""Decide on a worker's attestation bundle: verify → appraise (binding included) → :class:`AppraisedBundle`.

The decision every relying party makes over the bytes of ``GET /attestation`` — the client SDK before
it seals a prompt, the gateway before it admits a worker to its pool. Pure apart from the optional
KDS fetcher (collateral the bundle lacks, fetched only when the caller passes one):

1. the bundle parses strictly (:func:`~attestgw.attestation.bundle.parse_bundle`) and echoes our
   nonce (constant-time; ``bundle.nonce_mismatch``);
2. the SEV-SNP report verifies with :func:`attestgw.verify.snp.verify_snp` against the collateral in
   the bundle (report, certificate table, signing certificate, chain, CRL), trusting the pinned AMD
   roots plus exactly the simulated roots the policy lists;
3. :func:`attestgw.appraisal.appraise_snp` applies the policy with ``expected_report_data =
   report_data(BindingInputs.from_material(nonce, ohttp_keys, receipt_spki, None))``: the binding
   check *is* the REPORT_DATA rule, so a bundle whose key config or receipt key was swapped fails as
   ``policy.report_data_mismatch`` together with every other failed rule;
4. anything but an affirming result raises :class:`AttestationRefused` with every failure;
5. the instance digest every receipt must name is recomputed from the verified measurement.

Not checked: GPU evidence (refused by the parser until a GPU verifier exists), and the freshness of
the bundle beyond the nonce (the nonce is the caller's and single use).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from attestgw.appraisal import AppraisalResult, Failure, SnpPolicy, appraise_snp
from attestgw.attestation.bundle import UnverifiedBundle, parse_bundle
from attestgw.clock import require_aware
from attestgw.collateral.kds import KdsFetcher
from attestgw.errors import AppraisalError, FormatError, VerificationError
from attestgw.evidence.binding import NONCE_SIZE, BindingInputs, report_data
from attestgw.evidence.snp import Product, parse_cert_table, parse_report
from attestgw.ohttp import KeyConfig
from attestgw.receipt import instance_digest
from attestgw.verify.snp import (
    AMD_TRUST,
    SnpCollateral,
    SnpVerifyOptions,
    TrustStore,
    VerifiedSnpClaims,
    verify_snp,
)

__all__ = ["AppraisedBundle", "AttestationRefused", "appraise_bundle", "select_key_config"]


class AttestationRefused(AppraisalError):
    """The policy did not affirm the worker. ``failures`` holds every failed rule (and warning).

    ``code`` is the first failure's code; ``result`` is the full appraisal result and ``claims`` the
    verified claims it judged (genuine evidence, refused by policy).
    """

    def __init__(self, result: AppraisalResult, claims: VerifiedSnpClaims | None = None) -> None:
        problems = (*result.failures, *result.warnings)
        code = problems[0].code if problems else "policy.no_affirmation"
        detail = "; ".join(f"[{p.code}] {p.rule}: got {p.got}, want {p.want}" for p in problems)
        super().__init__(code, f"appraisal is {result.status.value}: {detail or 'no claim affirmed'}")
        self.result = result
        self.claims = claims
        self.failures: tuple[Failure, ...] = problems

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.failures)


@dataclass(frozen=True, slots=True)
class AppraisedBundle:
    """A bundle whose evidence verified and whose appraisal affirmed, for the nonce the caller sent.

    ``bundle`` still carries the parsed fields; after this decision its ``ohttp_keys`` and
    ``receipt_spki`` are the attested ones (the binding covered their exact bytes).
    """

    bundle: UnverifiedBundle
    nonce: bytes
    claims: VerifiedSnpClaims
    result: AppraisalResult
    instance_digest: bytes
    at: datetime

    @property
    def key_configs(self) -> tuple[KeyConfig, ...]:
        return self.bundle.unverified_key_configs

    @property
    def measurement(self) -> bytes:
        return self.claims.report.measurement


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


def _trust(policy: SnpPolicy) -> TrustStore:
    """AMD's pinned roots, plus exactly the simulated roots the policy opts into."""
    trust = AMD_TRUST
    for root in policy.trust_simulated_roots:
        for product in Product:
            trust = trust.with_simulated(product, root.lower())
    return trust


def appraise_bundle(
    data: bytes,
    nonce: bytes,
    policy: SnpPolicy,
    *,
    at: datetime,
    fetcher: KdsFetcher | None = None,
) -> AppraisedBundle:
    """Steps 1-5 of the module docstring over the bundle bytes; an affirmed bundle or a refusal.

    Raises ``FormatError`` (bundle, report, key configs), ``VerificationError`` (nonce echo, report
    signature and chain), ``CollateralUnavailableError``, or :class:`AttestationRefused`.
    """
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"the nonce must be {NONCE_SIZE} bytes")
    at = require_aware(at)
    bundle = parse_bundle(data)
    # 1. the bundle answers our question, not an earlier one
    if not hmac.compare_digest(bundle.nonce, nonce):
        raise VerificationError(
            "bundle.nonce_mismatch", f"got {bundle.nonce.hex()}, want {nonce.hex()} (the nonce sent)"
        )
    # 2. genuine evidence (signature, chain to a trusted root, collateral)
    report = parse_report(bundle.report)
    collateral = SnpCollateral(
        signing_cert=bundle.signing_cert,
        chain=bundle.chain,
        crl=bundle.crl,
        cert_table=parse_cert_table(bundle.cert_table) if bundle.cert_table is not None else None,
    )
    claims = verify_snp(
        report,
        collateral,
        SnpVerifyOptions(at=at, trust=_trust(policy), require_crl=policy.require_crl, fetcher=fetcher),
    )
    # 3. policy, with the binding as the REPORT_DATA rule
    expected = report_data(BindingInputs.from_material(nonce, bundle.ohttp_keys, bundle.receipt_spki, None))
    result = appraise_snp(claims, policy, expected_report_data=expected)
    # 4. only an affirming result is returned
    if not result.affirming:
        raise AttestationRefused(result, claims)
    # 5. the instance every receipt must name
    digest = instance_digest(claims.report.measurement, bundle.ohttp_keys, bundle.receipt_spki)
    return AppraisedBundle(
        bundle=bundle, nonce=nonce, claims=claims, result=result, instance_digest=digest, at=at
    )
