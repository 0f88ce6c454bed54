"""Attest a worker: fresh nonce → bundle → :func:`~attestgw.attestation.appraise_bundle` → session.

:func:`attest` (and :func:`attest_async`) do the I/O: one ``GET {url}/attestation?nonce=…`` with a
fresh 32-byte nonce from :func:`os.urandom`. :func:`verify_bundle` turns the bytes into an
:class:`AttestedSession`: the decision itself (strict parse, nonce echo, SEV-SNP or Intel TDX
verification, appraisal with the binding as the REPORT_DATA rule, every failed rule on refusal) is
:func:`attestgw.attestation.appraise_bundle`, shared with the gateway's worker admission; this module
adds the session (the key config chosen from the attested bytes, the EAR, the TTL).

With ``log_key`` (a pinned log key, or a :class:`~attestgw.client.logcheck.LogMonitor` that also keeps
the last checkpoint seen), the answer must also prove, after the appraisal affirmed, that its own
record is in the gateway's evidence log and that the log's checkpoint is consistent with the one seen
before (:mod:`attestgw.client.logcheck`; the consistency proof is fetched from
``/v1/log/proof/consistency`` with the same token, so the caller needs ``read_log``). The session's
``log`` holds what was verified; without a key it is ``None`` and nothing about the log is checked.

Transport failures surface as :class:`httpx.TransportError` (the CLI maps them to exit 3).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

import httpx

from attestgw.appraisal import SnpPolicy, build_ear
from attestgw.attestation import (
    AppraisedBundle,
    AttestationRefused,
    BundlePolicy,
    appraise_bundle,
    select_key_config,
)
from attestgw.client._problems import refusal
from attestgw.client.logapi import consistency_url, log_refusal, parse_proof_answer
from attestgw.client.logcheck import LogMonitor, PendingLogCheck, parse_log_headers
from attestgw.client.session import DEFAULT_TTL, AttestedSession
from attestgw.clock import utcnow
from attestgw.collateral.kds import KdsFetcher
from attestgw.collateral.nvidia import DEFAULT_NVIDIA_CACHE, NvidiaCollateralFetcher
from attestgw.collateral.pcs import DEFAULT_PCS_CACHE, PcsFetcher
from attestgw.errors import FormatError, VerificationError
from attestgw.evidence.binding import NONCE_SIZE

__all__ = [
    "AttestOptions",
    "AttestationRefused",
    "attest",
    "attest_async",
    "attestation_url",
    "auth_headers",
    "log_monitor",
    "select_key_config",
    "verify_bundle",
]

#: The attestation bundle is small and produced on request; a slow worker is not a reason to wait long.
_DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class AttestOptions:
    """How to attest. ``online`` allows fetching the collateral a bundle lacks from AMD KDS, Intel
    PCS and NVIDIA (cached under ``cache_dir``, else each service's default cache); without it a
    ``cache_dir`` is read but never fetched into, and without either nothing is looked for (a TDX
    bundle without collateral is then ``collateral.unavailable``). The three caches may share one
    ``cache_dir``: their paths do not collide. ``kem_id`` picks the key config by KEM (e.g.
    ``KEM_XWING`` for the post-quantum option); ``None`` takes the worker's first usable config.
    """

    online: bool = False
    cache_dir: Path | None = None
    ttl: timedelta = DEFAULT_TTL
    kem_id: int | None = None
    #: the model to route to (a gateway needs it; a worker checks it); ``None``: the worker's only one
    model: str | None = None

    def fetcher(self) -> KdsFetcher | None:
        if self.online:
            cache = self.cache_dir or Path.home() / ".cache" / "attestgw" / "kds"
            return KdsFetcher(cache_dir=cache, allow_network=True)
        if self.cache_dir is not None:
            return KdsFetcher(cache_dir=self.cache_dir, allow_network=False)
        return None

    def gpu_fetcher(self) -> NvidiaCollateralFetcher | None:
        """RIMs and OCSP responses a composite bundle lacks: NVIDIA's services when ``online``,
        else the cache (``cache_dir``, shared with KDS: the paths do not collide)."""
        if self.online:
            return NvidiaCollateralFetcher(self.cache_dir or DEFAULT_NVIDIA_CACHE, allow_network=True)
        if self.cache_dir is not None:
            return NvidiaCollateralFetcher(self.cache_dir, allow_network=False)
        return None

    def pcs_fetcher(self, at: datetime | None = None) -> PcsFetcher | None:
        """Intel TDX collateral a bundle lacks: Intel PCS when ``online`` (cached under ``cache_dir``
        or :data:`~attestgw.collateral.pcs.DEFAULT_PCS_CACHE`), else the cache (``cache_dir``).

        ``at`` (the verification time; default the wall clock) is also the cache's freshness clock,
        so the collateral is judged current at the same instant verification judges it.
        """
        now = (lambda: at) if at is not None else utcnow
        if self.online:
            cache = (self.cache_dir or DEFAULT_PCS_CACHE).expanduser()
            return PcsFetcher(cache, allow_network=True, now=now)
        if self.cache_dir is not None:
            return PcsFetcher(self.cache_dir.expanduser(), allow_network=False, now=now)
        return None


def attestation_url(url: str, nonce: bytes, model: str | None = None) -> str:
    """``{url}/v1/attestation?nonce={hex}[&model=…]`` for a gateway or worker base URL.

    Gateways and workers serve the same route shapes (docs/worker-protocol.md §0); a gateway needs
    ``model`` to pick a worker, a worker refuses a model it does not serve.
    """
    query = f"nonce={nonce.hex()}" + ("" if model is None else f"&model={quote(model, safe='')}")
    return f"{url.rstrip('/')}/v1/attestation?{query}"


def auth_headers(token: str | None) -> dict[str, str]:
    """``Authorization: Bearer …`` for a gateway (the OIDC access token), nothing without a token."""
    return {} if not token else {"authorization": f"Bearer {token}"}


def _routed_model(appraised: AppraisedBundle, requested: str | None) -> str:
    models = appraised.bundle.models
    if requested is not None:
        if not any(m.id == requested for m in models):
            served = ", ".join(repr(m.id) for m in models) or "none"
            raise FormatError("worker.model_mismatch", f"asked for {requested!r}; the worker serves {served}")
        return requested
    if len(models) != 1:
        raise FormatError(
            "bundle.unsupported", f"the worker serves {len(models)} models; name the one to use"
        )
    return models[0].id


def verify_bundle(
    data: bytes,
    nonce: bytes,
    policy: SnpPolicy | BundlePolicy,
    *,
    url: str,
    at: datetime,
    options: AttestOptions = AttestOptions(),
) -> AttestedSession:
    """Decide on the bundle bytes (:func:`~attestgw.attestation.appraise_bundle`) and open a session.

    Raises ``FormatError`` (bundle, report, key configs), ``VerificationError`` (nonce echo, report
    signature and chain), ``CollateralUnavailableError``, or :class:`AttestationRefused`.
    """
    kds_fetcher, gpu_fetcher, pcs_fetcher = options.fetcher(), options.gpu_fetcher(), options.pcs_fetcher(at)
    try:
        appraised = appraise_bundle(
            data,
            nonce,
            policy,
            at=at,
            fetcher=kds_fetcher,
            gpu_fetcher=gpu_fetcher,
            pcs_fetcher=pcs_fetcher,
        )
    finally:
        # each fetcher opens an HTTP client on its first download only; close whatever was opened
        for fetcher in (kds_fetcher, gpu_fetcher, pcs_fetcher):
            if fetcher is not None:
                fetcher.close()
    return _session(appraised, policy, url.rstrip("/"), options)


def _session(
    appraised: AppraisedBundle, policy: SnpPolicy | BundlePolicy, url: str, options: AttestOptions
) -> AttestedSession:
    at = appraised.at
    bundle = appraised.bundle
    expires = at + options.ttl
    ear: Mapping[str, Any] = MappingProxyType(
        build_ear(appraised.results, issued_at=at, nonce=appraised.nonce, expires_at=expires)
    )
    # encrypt only to a config decoded from the attested bytes
    return AttestedSession(
        url=url,
        model_id=_routed_model(appraised, options.model),
        requested_model=options.model,
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
        cpu_claims=appraised.cpu_claims,
        simulated=appraised.simulated,
        attested_at=at,
        expires_at=expires,
        gpu_results=appraised.gpu_results,
    )


def log_monitor(log_key: str | Path | LogMonitor | None) -> LogMonitor | None:
    """The monitor for a ``log_key`` argument: as given, made from a key string or file, or ``None``."""
    if log_key is None or isinstance(log_key, LogMonitor):
        return log_key
    return LogMonitor.from_key(log_key)


def _log_check(
    monitor: LogMonitor | None, response: httpx.Response, body: bytes, nonce: bytes
) -> PendingLogCheck | None:
    return None if monitor is None else monitor.begin(parse_log_headers(response.headers), body, nonce)


def _consistency(response: httpx.Response, pair: tuple[int, int]) -> tuple[bytes, ...]:
    if response.status_code != 200:
        error = log_refusal(response)
        if error.code == "gateway.log_range_invalid":  # the log cannot prove a checkpoint it signed
            raise VerificationError(
                "log.split_view", f"the log cannot prove consistency between sizes {pair[0]} and {pair[1]}"
            )
        raise error
    return parse_proof_answer(response.content, {"old": pair[0], "new": pair[1]})


def _bundle_body(response: httpx.Response) -> bytes:
    if response.status_code != 200:
        # refused before any evidence (a malformed nonce, no token, no worker): nothing to verify
        raise refusal(
            response.status_code,
            response.headers.get("content-type", ""),
            response.content,
            retry_after=response.headers.get("retry-after"),
        )
    return response.content


def attest(
    url: str,
    policy: SnpPolicy | BundlePolicy,
    *,
    http_client: httpx.Client | None = None,
    at: datetime | None = None,
    online: bool = False,
    cache_dir: Path | None = None,
    ttl: timedelta = DEFAULT_TTL,
    kem_id: int | None = None,
    model: str | None = None,
    token: str | None = None,
    log_key: str | Path | LogMonitor | None = None,
) -> AttestedSession:
    """Attest the worker at ``url`` (a worker's or a gateway's base URL) now (or at ``at``).

    ``model`` routes through a gateway (and is checked against what the worker announces); ``token``
    is the gateway's bearer token (an OIDC access token), sent only in the ``Authorization`` header.
    ``http_client`` is used as given (and not closed); without one a short-lived client is made.
    ``log_key``: check the evidence log too (module docstring); pass one :class:`LogMonitor` to
    every call to keep the last checkpoint between them.
    """
    if http_client is None:
        with httpx.Client(timeout=_DEFAULT_TIMEOUT) as client:
            return attest(
                url, policy, http_client=client, at=at, online=online, cache_dir=cache_dir, ttl=ttl,
                kem_id=kem_id, model=model, token=token, log_key=log_key,
            )  # fmt: skip
    options = AttestOptions(online=online, cache_dir=cache_dir, ttl=ttl, kem_id=kem_id, model=model)
    monitor = log_monitor(log_key)
    nonce = os.urandom(NONCE_SIZE)
    headers = auth_headers(token)
    response = http_client.get(attestation_url(url, nonce, model), headers=headers)
    body = _bundle_body(response)
    session = verify_bundle(body, nonce, policy, url=url, at=at or utcnow(), options=options)
    pending = _log_check(monitor, response, body, nonce)
    if pending is None:
        return session
    proof: tuple[bytes, ...] = ()
    if pending.pair is not None:
        answer = http_client.get(consistency_url(url, *pending.pair), headers=headers)
        proof = _consistency(answer, pending.pair)
    return replace(session, log=pending.finish(proof))


async def attest_async(
    url: str,
    policy: SnpPolicy | BundlePolicy,
    *,
    http_client: httpx.AsyncClient | None = None,
    at: datetime | None = None,
    online: bool = False,
    cache_dir: Path | None = None,
    ttl: timedelta = DEFAULT_TTL,
    kem_id: int | None = None,
    model: str | None = None,
    token: str | None = None,
    log_key: str | Path | LogMonitor | None = None,
) -> AttestedSession:
    """:func:`attest` for asyncio. Verification (a few ms of signature checks) runs inline."""
    if http_client is None:
        async with httpx.AsyncClient(timeout=_DEFAULT_TIMEOUT) as client:
            return await attest_async(
                url, policy, http_client=client, at=at, online=online, cache_dir=cache_dir, ttl=ttl,
                kem_id=kem_id, model=model, token=token, log_key=log_key,
            )  # fmt: skip
    options = AttestOptions(online=online, cache_dir=cache_dir, ttl=ttl, kem_id=kem_id, model=model)
    monitor = log_monitor(log_key)
    nonce = os.urandom(NONCE_SIZE)
    headers = auth_headers(token)
    response = await http_client.get(attestation_url(url, nonce, model), headers=headers)
    body = _bundle_body(response)
    session = verify_bundle(body, nonce, policy, url=url, at=at or utcnow(), options=options)
    pending = _log_check(monitor, response, body, nonce)
    if pending is None:
        return session
    proof: tuple[bytes, ...] = ()
    if pending.pair is not None:
        answer = await http_client.get(consistency_url(url, *pending.pair), headers=headers)
        proof = _consistency(answer, pending.pair)
    return replace(session, log=pending.finish(proof))
