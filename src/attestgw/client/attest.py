"""Attest a worker: fresh nonce → bundle → :func:`~attestgw.attestation.appraise_bundle` → session.

:func:`attest` (and :func:`attest_async`) do the I/O: one ``GET {url}/attestation?nonce=…`` with a
fresh 32-byte nonce from :func:`os.urandom`. :func:`verify_bundle` turns the bytes into an
:class:`AttestedSession`: the decision itself (strict parse, nonce echo, SEV-SNP verification,
appraisal with the binding as the REPORT_DATA rule, every failed rule on refusal) is
:func:`attestgw.attestation.appraise_bundle`, shared with the gateway's worker admission; this module
adds the session (the key config chosen from the attested bytes, the EAR, the TTL).

Transport failures surface as :class:`httpx.TransportError` (the CLI maps them to exit 3).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx

from attestgw.appraisal import SnpPolicy, build_ear
from attestgw.attestation import (
    AppraisedBundle,
    AttestationRefused,
    appraise_bundle,
    select_key_config,
)
from attestgw.client.session import DEFAULT_TTL, AttestedSession
from attestgw.clock import utcnow
from attestgw.collateral.kds import KdsFetcher
from attestgw.errors import FormatError
from attestgw.evidence.binding import NONCE_SIZE

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


def verify_bundle(
    data: bytes,
    nonce: bytes,
    policy: SnpPolicy,
    *,
    url: str,
    at: datetime,
    options: AttestOptions = AttestOptions(),
) -> AttestedSession:
    """Decide on the bundle bytes (:func:`~attestgw.attestation.appraise_bundle`) and open a session.

    Raises ``FormatError`` (bundle, report, key configs), ``VerificationError`` (nonce echo, report
    signature and chain), ``CollateralUnavailableError``, or :class:`AttestationRefused`.
    """
    appraised = appraise_bundle(data, nonce, policy, at=at, fetcher=options.fetcher())
    return _session(appraised, policy, url, options)


def _session(
    appraised: AppraisedBundle, policy: SnpPolicy, url: str, options: AttestOptions
) -> AttestedSession:
    at = appraised.at
    bundle = appraised.bundle
    expires = at + options.ttl
    ear: Mapping[str, Any] = MappingProxyType(
        build_ear(appraised.result, issued_at=at, nonce=appraised.nonce, expires_at=expires)
    )
    # encrypt only to a config decoded from the attested bytes
    return AttestedSession(
        url=url,
        policy_digest=policy.digest,
        nonce=appraised.nonce,
        key_config=select_key_config(bundle.unverified_key_configs, options.kem_id),
        key_configs=bundle.unverified_key_configs,
        ohttp_keys=bundle.ohttp_keys,
        receipt_spki=bundle.receipt_spki,
        instance_digest=appraised.instance_digest,
        measurement=appraised.measurement,
        models=bundle.models,
        result=appraised.result,
        ear=ear,
        claims=appraised.claims,
        simulated=appraised.claims.simulated,
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
