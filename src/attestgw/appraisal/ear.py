"""EAR attestation results (draft-ietf-rats-ear) as signed JWTs, and their verification.

Profile: ``tag:ietf.org,2026:rats/ear#03`` — the 2026-03 editor's copy of draft-ietf-rats-ear
(formats.md §14), pinned here and checked exactly on verification. Claims set::

    {"eat_profile": EAR_PROFILE, "iat": int, ["exp": int,] ["eat_nonce": base64url,]
     "ear_verifier_id": {"developer": "attestgw", "build": <version>},
     "ear_status": <worst submod status>,
     "submods": {"snp": {"ear_status": ..., "ear_trustworthiness_vector": {...},
                         "ear_appraisal_policy_ids": ["attestgw:policy:<id>:<version>:sha256:<hex>"],
                         "attestgw_appraisal": {failures, warnings, opt_ins, not_evaluated,
                                                simulated, policy, evidence}}}}

Signing uses pyjwt (this module; ``attestgw.crypto.keys`` only loads keys): ES256 for a P-256 key,
ES384 for a P-384 key; the header is ``{"alg", "typ": "JWT", "kid"}`` with ``kid`` defaulting to the
key's RFC 7638 thumbprint.

Verification (RFC 8725): the only acceptable ``alg`` is the one bound to the pinned key's curve, so
``none``, HS* (the public key used as an HMAC secret) and the other curve's algorithm are refused
before any signature check; ``crit`` and ``b64`` are refused; ``jku``/``x5u``/``jwk``/``x5c`` are
ignored (the key is the caller's pinned key). Only then are the signed claims parsed. Not checked:
that the verifier identity is one the caller trusts (pin the key for that), and anything about time unless
``at`` is passed (appraisal code never reads the clock).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from attestgw import __version__
from attestgw.appraisal.result import AppraisalResult, Status, TrustVector
from attestgw.clock import require_aware
from attestgw.crypto.keys import EcPrivateKey, EcPublicKey, ec_key_curve_name, jwk_thumbprint
from attestgw.errors import UsageError, VerificationError

__all__ = [
    "EAR_MEDIA_TYPE",
    "EAR_PROFILE",
    "EXTENSION",
    "VerifiedEar",
    "build_ear",
    "ear_to_json",
    "sign_ear",
    "verify_ear_jwt",
]

EAR_PROFILE = "tag:ietf.org,2026:rats/ear#03"
EAR_MEDIA_TYPE = f'application/eat-jwt; eat_profile="{EAR_PROFILE}"'
#: The attestgw-specific extension inside each submod.
EXTENSION = "attestgw_appraisal"
DEVELOPER = "attestgw"
_ALG_FOR_CURVE = {"P-256": "ES256", "P-384": "ES384"}
_SKEW = timedelta(seconds=60)
_STATUSES = {s.value: s for s in Status}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _check_nonce(nonce: bytes) -> None:
    if not 8 <= len(nonce) <= 64:
        raise UsageError("usage.invalid", f"eat_nonce is {len(nonce)} bytes, want 8..64")


def build_ear(
    results: AppraisalResult | Sequence[AppraisalResult],
    *,
    issued_at: datetime,
    nonce: bytes | None = None,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """The EAR claims set for one or more appraisal results, one submod per ``result.attester``.

    The top-level ``ear_status`` is the worst submod status. ``nonce`` (8-64 bytes) becomes
    ``eat_nonce`` in base64url.
    """
    items = [results] if isinstance(results, AppraisalResult) else list(results)
    if not items:
        raise UsageError("usage.invalid", "an EAR needs at least one appraisal result")
    submods: dict[str, Any] = {}
    for result in items:
        if result.attester in submods:
            raise UsageError("usage.invalid", f"two results for submod {result.attester!r}")
        view = result.as_dict()
        submods[result.attester] = {
            "ear_status": result.status.value,
            "ear_trustworthiness_vector": result.vector.as_ear(),
            "ear_appraisal_policy_ids": [result.policy_ref],
            EXTENSION: {
                key: view[key]
                for key in (
                    "failures",
                    "warnings",
                    "opt_ins",
                    "not_evaluated",
                    "simulated",
                    "policy",
                    "evidence",
                )
            },
        }
    claims: dict[str, Any] = {
        "eat_profile": EAR_PROFILE,
        "iat": int(require_aware(issued_at).timestamp()),
        "ear_verifier_id": {"developer": DEVELOPER, "build": __version__},
        "ear_status": Status.worst(r.status for r in items).value,
        "submods": submods,
    }
    if expires_at is not None:
        claims["exp"] = int(require_aware(expires_at).timestamp())
    if nonce is not None:
        _check_nonce(nonce)
        claims["eat_nonce"] = _b64url(nonce)
    return claims


def sign_ear(claims: Mapping[str, Any], key: EcPrivateKey, *, kid: str | None = None) -> str:
    """A compact JWS over ``claims``: ES256 for a P-256 key, ES384 for P-384."""
    alg = _ALG_FOR_CURVE[ec_key_curve_name(key)]
    headers = {"typ": "JWT", "kid": kid if kid is not None else jwk_thumbprint(key)}
    return jwt.encode(dict(claims), key, algorithm=alg, headers=headers)


def ear_to_json(claims: Mapping[str, Any]) -> str:
    """Stable, human-readable JSON of an EAR claims set (sorted keys) for the CLI."""
    return json.dumps(claims, indent=2, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class VerifiedEar:
    """A verified EAR. ``status`` is the top-level tier; it is *not* required to be affirming."""

    status: Status
    submods: Mapping[str, Status]
    iat: int
    nonce: bytes | None
    kid: str | None
    claims: Mapping[str, Any]

    @property
    def affirming(self) -> bool:
        return self.status is Status.AFFIRMING


def _malformed(message: str) -> VerificationError:
    return VerificationError("ear.malformed", message)


def _unverified_header(token: str) -> dict[str, Any]:
    if not isinstance(token, str) or token.count(".") != 2 or not token.isascii():
        raise _malformed("not a compact JWS (want three base64url parts)")
    try:
        unverified_header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:  # DecodeError, and pyjwt's own crit checks
        raise _malformed(f"unusable JWS header: {exc}") from None
    return unverified_header


def verify_ear_jwt(
    token: str,
    public_key: EcPublicKey,
    *,
    expected_nonce: bytes | None = None,
    at: datetime | None = None,
    max_age: timedelta | None = None,
    required_submods: Sequence[str] = ("snp",),
) -> VerifiedEar:
    """Verify an EAR JWT signed by the holder of ``public_key``; raise ``VerificationError``.

    1. header: ``alg`` must be the one bound to the key's curve, ``typ`` JWT, no ``crit``/``b64``;
    2. signature (pyjwt, restricted to that one alg);
    3. claims: ``eat_profile`` exactly :data:`EAR_PROFILE`; mandatory claims and their types;
    4. status consistency: no submod better than its worst vector claim, top level not better
       than the worst submod; every ``required_submods`` present;
    5. ``eat_nonce`` equals ``expected_nonce`` when one is given;
    6. when ``at`` is given: ``iat`` not in the future, ``exp`` not passed (60 s skew), and
       ``at - iat <= max_age`` when ``max_age`` is given.
    """
    alg = _ALG_FOR_CURVE[ec_key_curve_name(public_key)]
    header = _unverified_header(token)
    if header.get("alg") != alg:
        raise VerificationError(
            "ear.alg_not_allowed", f"JWS alg {header.get('alg')!r}, want {alg!r} for this key"
        )
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.upper() != "JWT":  # media type names compare case-insensitively
        raise _malformed(f"JWS typ {typ!r}, want 'JWT'")
    if "crit" in header or "b64" in header:
        # RFC 7515 §4.1.11: unknown critical extensions must be refused; b64=false (RFC 7797) would
        # change which bytes are signed, and attestgw never produces it
        raise _malformed("JWS header has crit/b64 extensions; none are understood")
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=[alg],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False},
        )
    except jwt.InvalidSignatureError:
        raise VerificationError("ear.signature_invalid", "EAR signature does not verify") from None
    except jwt.InvalidTokenError as exc:
        raise _malformed(f"EAR JWT rejected: {exc}") from None
    if claims.get("eat_profile") != EAR_PROFILE:
        raise VerificationError(
            "ear.profile_mismatch", f"eat_profile {claims.get('eat_profile')!r}, want {EAR_PROFILE!r}"
        )
    iat = _int_claim(claims, "iat", required=True)
    assert iat is not None  # required=True raises instead of returning None
    exp = _int_claim(claims, "exp", required=False)
    verifier = claims.get("ear_verifier_id")
    if not (
        isinstance(verifier, dict) and all(isinstance(verifier.get(k), str) for k in ("developer", "build"))
    ):
        raise _malformed("ear_verifier_id must be {developer: str, build: str}")
    status, submods = _statuses(claims, required_submods)
    nonce = _nonce(claims, expected_nonce)
    if at is not None:
        now = int(require_aware(at).timestamp())
        skew = int(_SKEW.total_seconds())
        if iat > now + skew:
            raise VerificationError("ear.stale", f"iat {iat} is in the future (now {now})")
        if exp is not None and exp <= now - skew:
            raise VerificationError("ear.stale", f"exp {exp} has passed (now {now})")
        if max_age is not None and now - iat > max_age.total_seconds():
            raise VerificationError(
                "ear.stale", f"issued {now - iat} s ago, max age {max_age.total_seconds():.0f} s"
            )
    kid = header.get("kid")
    return VerifiedEar(
        status=status,
        submods=submods,
        iat=iat,
        nonce=nonce,
        kid=kid if isinstance(kid, str) else None,
        claims=claims,
    )


def _int_claim(claims: Mapping[str, Any], name: str, *, required: bool) -> int | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise _malformed(f"mandatory claim {name} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _malformed(f"{name} is {value!r}, want integer seconds")
    return value


def _status(value: object, where: str) -> Status:
    if not isinstance(value, str) or value not in _STATUSES:
        raise _malformed(f"{where} ear_status is {value!r}, want one of {sorted(_STATUSES)}")
    return _STATUSES[value]


def _statuses(claims: Mapping[str, Any], required: Sequence[str]) -> tuple[Status, dict[str, Status]]:
    raw = claims.get("submods")
    if not isinstance(raw, dict) or not raw:
        raise _malformed("submods must be a non-empty map")
    submods: dict[str, Status] = {}
    for name, submod in raw.items():
        if not isinstance(submod, dict):
            raise _malformed(f"submod {name!r} is not a map")
        status = _status(submod.get("ear_status"), f"submod {name!r}")
        policies = submod.get("ear_appraisal_policy_ids")
        if not (isinstance(policies, list) and policies and all(isinstance(p, str) for p in policies)):
            raise _malformed(f"submod {name!r} ear_appraisal_policy_ids must be a non-empty list of strings")
        try:
            vector = TrustVector.from_ear(submod.get("ear_trustworthiness_vector", {}))
        except (ValueError, TypeError, AttributeError) as exc:
            raise _malformed(f"submod {name!r} trustworthiness vector: {exc}") from None
        if status.rank < vector.status.rank:
            raise VerificationError(
                "ear.status_inconsistent",
                f"submod {name!r} status {status.value} is better than its worst claim "
                f"({vector.status.value})",
            )
        submods[name] = status
    missing = [name for name in required if name not in submods]
    if missing:
        raise VerificationError("ear.submod_missing", f"required submods {missing} are absent")
    top = _status(claims.get("ear_status"), "top-level")
    worst = Status.worst(submods.values())
    if top.rank < worst.rank:
        raise VerificationError(
            "ear.status_inconsistent",
            f"top-level status {top.value} is better than the worst submod ({worst.value})",
        )
    return top, submods


def _nonce(claims: Mapping[str, Any], expected: bytes | None) -> bytes | None:
    raw = claims.get("eat_nonce")
    nonce: bytes | None = None
    if raw is not None:
        if not isinstance(raw, str):
            raise _malformed("eat_nonce must be a base64url string")
        try:
            # validate=True: a non-alphabet character is an error, not silently skipped
            nonce = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise _malformed("eat_nonce is not base64url") from None
    if expected is not None and (nonce is None or not hmac.compare_digest(nonce, expected)):
        raise VerificationError(
            "ear.nonce_mismatch", "eat_nonce is absent or differs from the expected nonce"
        )
    return nonce
