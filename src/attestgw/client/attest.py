"""Attest a worker: fresh nonce → bundle → verify → appraise (binding included) → attested session.

:func:`attest` (and :func:`attest_async`) do the I/O: one ``GET {url}/attestation?nonce=…`` with a
fresh 32-byte nonce from :func:`os.urandom`. :func:`verify_bundle` is the decision, pure apart from
the optional KDS fetcher:

1. the bundle parses strictly (:func:`~attestgw.client.bundle.parse_bundle`) and echoes our nonce
   (constant-time; ``bundle.nonce_mismatch``);
2. the SEV-SNP report verifies with :func:`attestgw.verify.snp.verify_snp` against the collateral
   in the bundle (report, certificate table, signing certificate, chain, CRL), trusting the pinned
   AMD roots plus exactly the simulated roots the policy lists; a KDS fetcher is used only for
   collateral the bundle lacks, and only when the caller allows it;
3. :func:`attestgw.appraisal.appraise_snp` applies the policy with ``expected_report_data =
   report_data(BindingInputs.from_material(nonce, ohttp_keys, receipt_spki, None))``: the binding
   check *is* the REPORT_DATA rule, so a bundle whose key config or receipt key was swapped fails
   as ``policy.report_data_mismatch`` together with every other failed rule;
4. anything but an affirming result raises :class:`AttestationRefused` with every failure;
5. the key config is chosen from the configs decoded from the same ``ohttp_keys`` bytes, and the
   instance digest every receipt must name is recomputed from the verified measurement.

Not checked: GPU evidence (refused by the parser until a GPU verifier exists), and the freshness
of the bundle beyond the nonce (the nonce is ours and single use; the session then lives for the
TTL). Transport failures surface as :class:`httpx.TransportError` (the CLI maps them to exit 3).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx

from attestgw.appraisal import AppraisalResult, Failure, SnpPolicy, appraise_snp, build_ear
from attestgw.client.bundle import UnverifiedBundle, parse_bundle
from attestgw.client.session import DEFAULT_TTL, AttestedSession
from attestgw.clock import require_aware, utcnow
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

__all__ = [
    "AttestOptions",
    "AttestationRefused",
    "attest",
    "attest_async",
    "attestation_url",
    "select_key_config",
    "verify_bundle",
]

#: The attestation bundle is small and produced on request; a slow worker is not a reason to wait long.
_DEFAULT_TIMEOUT = 30.0


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
class AttestOptions:
    """How to attest. ``online`` allows AMD KDS fetches (cached under ``cache_dir``); without it a
    ``cache_dir`` is read but never fetched into. ``kem_id`` picks the key config by KEM (e.g.
    ``KEM_XWING`` for the post-quantum option); ``None`` takes the worker's first usable config.
    """

    online: bool = False
    cache_dir: Path | None = None
    ttl: timedelta = DEFAULT_TTL
    kem_id: int | None = None

    def fetcher(self) -> KdsFetcher | None:
        if self.online:
            cache = self.cache_dir or Path.home() / ".cache" / "attestgw" / "kds"
            return KdsFetcher(cache_dir=cache, allow_network=True)
        if self.cache_dir is not None:
            return KdsFetcher(cache_dir=self.cache_dir, allow_network=False)
        return None


def attestation_url(url: str, nonce: bytes) -> str:
    """``{url}/attestation?nonce={hex}`` for a worker base URL (a trailing ``/`` is ignored)."""
    return f"{url.rstrip('/')}/attestation?nonce={nonce.hex()}"


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


def verify_bundle(
    data: bytes,
    nonce: bytes,
    policy: SnpPolicy,
    *,
    url: str,
    at: datetime,
    options: AttestOptions = AttestOptions(),
) -> AttestedSession:
    """Steps 1-5 of the module docstring over the bundle bytes; an affirming session or a refusal.

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
        SnpVerifyOptions(
            at=at, trust=_trust(policy), require_crl=policy.require_crl, fetcher=options.fetcher()
        ),
    )
    # 3. policy, with the binding as the REPORT_DATA rule
    expected = report_data(BindingInputs.from_material(nonce, bundle.ohttp_keys, bundle.receipt_spki, None))
    result = appraise_snp(claims, policy, expected_report_data=expected)
    # 4. only an affirming result opens a session
    if not result.affirming:
        raise AttestationRefused(result, claims)
    # 5. encrypt only to a config decoded from the attested bytes
    return _session(bundle, nonce, policy, result, claims, url, at, options)


def _session(
    bundle: UnverifiedBundle,
    nonce: bytes,
    policy: SnpPolicy,
    result: AppraisalResult,
    claims: VerifiedSnpClaims,
    url: str,
    at: datetime,
    options: AttestOptions,
) -> AttestedSession:
    expires = at + options.ttl
    measurement = claims.report.measurement
    ear: Mapping[str, Any] = MappingProxyType(
        build_ear(result, issued_at=at, nonce=nonce, expires_at=expires)
    )
    return AttestedSession(
        url=url,
        policy_digest=policy.digest,
        nonce=nonce,
        key_config=select_key_config(bundle.unverified_key_configs, options.kem_id),
        key_configs=bundle.unverified_key_configs,
        ohttp_keys=bundle.ohttp_keys,
        receipt_spki=bundle.receipt_spki,
        instance_digest=instance_digest(measurement, bundle.ohttp_keys, bundle.receipt_spki),
        measurement=measurement,
        models=bundle.models,
        result=result,
        ear=ear,
        claims=claims,
        simulated=claims.simulated,
        attested_at=at,
        expires_at=expires,
    )


def _bundle_body(response: httpx.Response) -> bytes:
    if response.status_code != 200:
        # the worker refused the question itself (e.g. a malformed nonce): nothing to verify
        raise FormatError(
            "worker.refused", f"GET /attestation answered {response.status_code}: {response.text[:200]!r}"
        )
    return response.content


def attest(
    url: str,
    policy: SnpPolicy,
    *,
    http_client: httpx.Client | None = None,
    at: datetime | None = None,
    online: bool = False,
    cache_dir: Path | None = None,
    ttl: timedelta = DEFAULT_TTL,
    kem_id: int | None = None,
) -> AttestedSession:
    """Attest the worker at ``url`` (its base URL) now (or at ``at``) and return an affirming session.

    ``http_client`` is used as given (and not closed); without one a short-lived client is made.
    """
    options = AttestOptions(online=online, cache_dir=cache_dir, ttl=ttl, kem_id=kem_id)
    nonce = os.urandom(NONCE_SIZE)
    target = attestation_url(url, nonce)
    if http_client is None:
        with httpx.Client(timeout=_DEFAULT_TIMEOUT) as client:
            body = _bundle_body(client.get(target))
    else:
        body = _bundle_body(http_client.get(target))
    return verify_bundle(body, nonce, policy, url=url, at=at or utcnow(), options=options)


async def attest_async(
    url: str,
    policy: SnpPolicy,
    *,
    http_client: httpx.AsyncClient | None = None,
    at: datetime | None = None,
    online: bool = False,
    cache_dir: Path | None = None,
    ttl: timedelta = DEFAULT_TTL,
    kem_id: int | None = None,
) -> AttestedSession:
    """:func:`attest` for asyncio. Verification (a few ms of signature checks) runs inline."""
    options = AttestOptions(online=online, cache_dir=cache_dir, ttl=ttl, kem_id=kem_id)
    nonce = os.urandom(NONCE_SIZE)
    target = attestation_url(url, nonce)
    if http_client is None:
        async with httpx.AsyncClient(timeout=_DEFAULT_TIMEOUT) as client:
            body = _bundle_body(await client.get(target))
    else:
        body = _bundle_body(await http_client.get(target))
    return verify_bundle(body, nonce, policy, url=url, at=at or utcnow(), options=options)
