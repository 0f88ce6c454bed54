"""EAR claims, signed JWTs and their verification: round trips, alg confusion, consistency, corpus."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from attestgw import __version__
from attestgw.appraisal import (
    EAR_PROFILE,
    AppraisalResult,
    Status,
    appraise_snp,
    build_ear,
    ear_to_json,
    sign_ear,
    verify_ear_jwt,
)
from attestgw.crypto.keys import (
    EcPrivateKey,
    generate_ec_key,
    generate_p256_key,
    jwk_thumbprint,
    public_key_to_pem,
)
from attestgw.errors import UsageError, VerificationError
from attestgw.evidence.snp import GuestPolicy
from tests.conftest import corpus_file
from tests.unit.appraisal.snp_fixtures import make_claims, strict_policy, synthetic_report

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
NONCE = bytes(range(32))


def affirming_result() -> AppraisalResult:
    base = synthetic_report()
    return appraise_snp(make_claims(base), strict_policy(base))


def refused_result() -> AppraisalResult:
    base = synthetic_report()
    claims = make_claims(base, {"policy": GuestPolicy(base.policy.raw | 1 << 19)})
    return appraise_snp(claims, strict_policy(base))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_claims_set_layout() -> None:
    result = affirming_result()
    ear = build_ear(result, issued_at=NOW, nonce=NONCE, expires_at=NOW + timedelta(minutes=5))
    assert ear["eat_profile"] == "tag:ietf.org,2026:rats/ear#03"
    assert ear["iat"] == int(NOW.timestamp())
    assert ear["exp"] == int(NOW.timestamp()) + 300
    assert ear["ear_verifier_id"] == {"developer": "attestgw", "build": __version__}
    assert ear["ear_status"] == "affirming"
    assert ear["eat_nonce"] == b64url(NONCE)
    snp = ear["submods"]["snp"]
    assert snp["ear_status"] == "affirming"
    assert snp["ear_trustworthiness_vector"] == result.vector.as_ear()
    assert snp["ear_appraisal_policy_ids"] == [
        f"attestgw:policy:vectors-strict:1:sha256:{result.policy_digest}"
    ]
    ext = snp["attestgw_appraisal"]
    assert ext["failures"] == []
    assert ext["simulated"] is False
    assert ext["evidence"]["measurement"] == ("a5" * 48)
    assert json.loads(ear_to_json(ear)) == ear


def test_refused_result_carries_its_failures_and_top_level_status() -> None:
    ear = build_ear(refused_result(), issued_at=NOW)
    assert ear["ear_status"] == "contraindicated"
    assert "eat_nonce" not in ear
    failures = ear["submods"]["snp"]["attestgw_appraisal"]["failures"]
    assert [f["code"] for f in failures] == ["policy.debug_allowed"]


def test_an_ear_needs_one_result_per_submod() -> None:
    with pytest.raises(UsageError):
        build_ear([], issued_at=NOW)
    with pytest.raises(UsageError):
        build_ear([affirming_result(), affirming_result()], issued_at=NOW)


@pytest.mark.parametrize("nonce", [b"", bytes(7), bytes(65)])
def test_nonce_length_is_checked(nonce: bytes) -> None:
    with pytest.raises(UsageError):
        build_ear(affirming_result(), issued_at=NOW, nonce=nonce)


@pytest.mark.parametrize(
    ("key_fn", "alg"), [(generate_p256_key, "ES256"), (lambda: generate_ec_key("P-384"), "ES384")]
)
def test_sign_verify_round_trip(key_fn: Any, alg: str) -> None:
    key: EcPrivateKey = key_fn()
    token = sign_ear(build_ear(affirming_result(), issued_at=NOW, nonce=NONCE), key)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": alg, "typ": "JWT", "kid": jwk_thumbprint(key)}
    verified = verify_ear_jwt(
        token, key.public_key(), expected_nonce=NONCE, at=NOW, max_age=timedelta(minutes=1)
    )
    assert verified.status is Status.AFFIRMING
    assert verified.affirming
    assert verified.submods == {"snp": Status.AFFIRMING}
    assert verified.nonce == NONCE
    assert verified.kid == jwk_thumbprint(key)
    assert verified.claims["eat_profile"] == EAR_PROFILE


def test_a_contraindicated_ear_verifies_but_is_not_affirming() -> None:
    key = generate_p256_key()
    verified = verify_ear_jwt(sign_ear(build_ear(refused_result(), issued_at=NOW), key), key.public_key())
    assert verified.status is Status.CONTRAINDICATED
    assert not verified.affirming


def compact(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    """Hand-built compact JWS, for headers pyjwt itself refuses to produce."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64url(sign(signing_input.encode()))}"


def test_hs256_with_the_public_key_as_secret_is_refused() -> None:
    key = generate_p256_key()
    claims = build_ear(affirming_result(), issued_at=NOW)
    secret = public_key_to_pem(key)  # the classic alg confusion: the verifier's public key as HMAC key
    forged = compact(
        {"alg": "HS256", "typ": "JWT"}, claims, lambda m: hmac.new(secret, m, hashlib.sha256).digest()
    )
    with pytest.raises(VerificationError) as info:
        verify_ear_jwt(forged, key.public_key())
    assert info.value.code == "ear.alg_not_allowed"


def test_alg_none_is_refused() -> None:
    key = generate_p256_key()
    claims = build_ear(affirming_result(), issued_at=NOW)
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    unsigned = f"{header}.{b64url(json.dumps(claims).encode())}."
    with pytest.raises(VerificationError) as info:
        verify_ear_jwt(unsigned, key.public_key())
    assert info.value.code == "ear.alg_not_allowed"


def test_the_other_curves_alg_is_refused() -> None:
    p384 = generate_ec_key("P-384")
    p256 = generate_p256_key()
    token = sign_ear(build_ear(affirming_result(), issued_at=NOW), p384)
    with pytest.raises(VerificationError) as info:
        verify_ear_jwt(token, p256.public_key())
    assert info.value.code == "ear.alg_not_allowed"


def test_wrong_key_and_tampered_payload_fail_the_signature() -> None:
    key, other = generate_p256_key(), generate_p256_key()
    token = sign_ear(build_ear(refused_result(), issued_at=NOW), key)
    with pytest.raises(VerificationError) as info:
        verify_ear_jwt(token, other.public_key())
    assert info.value.code == "ear.signature_invalid"
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["ear_status"] = claims["submods"]["snp"]["ear_status"] = "affirming"
    tampered = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(VerificationError) as info:
        verify_ear_jwt(tampered, key.public_key())
    assert info.value.code == "ear.signature_invalid"


def signed(claims: dict[str, Any], key: EcPrivateKey) -> str:
    """Sign arbitrary claims with the right alg: checks after the signature must catch the problem."""
    return sign_ear(claims, key)


def test_status_better_than_the_vector_is_refused_even_when_signed() -> None:
    key = generate_p256_key()
    claims = build_ear(refused_result(), issued_at=NOW)
    claims["ear_status"] = claims["submods"]["snp"]["ear_status"] = "affirming"
    with pytest.raises(VerificationError) as info:
        verify_ear_jwt(signed(claims, key), key.public_key())
    assert info.value.code == "ear.status_inconsistent"


def test_top_level_status_better_than_a_submod_is_refused() -> None:
    key = generate_p256_key()
    claims = build_ear(refused_result(), issued_at=NOW)
    claims["ear_status"] = "warning"
    with pytest.raises(VerificationError) as info:
        verify_ear_jwt(signed(claims, key), key.public_key())
    assert info.value.code == "ear.status_inconsistent"


def test_worse_top_level_status_is_consistent() -> None:
    key = generate_p256_key()
    claims = build_ear(affirming_result(), issued_at=NOW)
    claims["ear_status"] = "contraindicated"  # never better than the worst submod; worse is allowed
    assert verify_ear_jwt(signed(claims, key), key.public_key()).status is Status.CONTRAINDICATED


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda c: c.update(eat_profile="tag:github.com,2023:veraison/ear"), "ear.profile_mismatch"),
        (lambda c: c.pop("eat_profile"), "ear.profile_mismatch"),
        (lambda c: c.pop("iat"), "ear.malformed"),
        (lambda c: c.update(iat=1.5), "ear.malformed"),
        (lambda c: c.pop("ear_verifier_id"), "ear.malformed"),
        (lambda c: c.update(submods={}), "ear.malformed"),
        (lambda c: c.pop("ear_status"), "ear.malformed"),
        (lambda c: c["submods"]["snp"].update(ear_status="great"), "ear.malformed"),
        (lambda c: c["submods"]["snp"].update(ear_appraisal_policy_ids=[]), "ear.malformed"),
        (lambda c: c["submods"]["snp"]["ear_trustworthiness_vector"].update(hardware=300), "ear.malformed"),
        (lambda c: c["submods"]["snp"]["ear_trustworthiness_vector"].update(speed=2), "ear.malformed"),
        (lambda c: c.update(submods={"tdx": c["submods"]["snp"]}), "ear.submod_missing"),
        (lambda c: c.update(eat_nonce="not base64url!"), "ear.malformed"),
        (lambda c: c.update(eat_nonce=12345678), "ear.malformed"),
    ],
)
def test_signed_but_invalid_claims_are_refused(mutate: Any, code: str) -> None:
    key = generate_p256_key()
    claims = build_ear(affirming_result(), issued_at=NOW)
    mutate(claims)
    with pytest.raises(VerificationError) as info:
        verify_ear_jwt(signed(claims, key), key.public_key())
    assert info.value.code == code


def test_nonce_must_match_when_expected() -> None:
    key = generate_p256_key()
    token = sign_ear(build_ear(affirming_result(), issued_at=NOW, nonce=NONCE), key)
    with pytest.raises(VerificationError) as info:
        verify_ear_jwt(token, key.public_key(), expected_nonce=bytes(32))
    assert info.value.code == "ear.nonce_mismatch"
    no_nonce = sign_ear(build_ear(affirming_result(), issued_at=NOW), key)
    with pytest.raises(VerificationError) as info:
        verify_ear_jwt(no_nonce, key.public_key(), expected_nonce=NONCE)
    assert info.value.code == "ear.nonce_mismatch"


@pytest.mark.parametrize(
    ("at", "max_age"),
    [
        (NOW - timedelta(minutes=5), None),  # issued in the future
        (NOW + timedelta(minutes=11), None),  # past exp
        (NOW + timedelta(minutes=3), timedelta(minutes=2)),  # older than max_age
    ],
)
def test_time_checks_when_a_time_is_given(at: datetime, max_age: timedelta | None) -> None:
    key = generate_p256_key()
    claims = build_ear(affirming_result(), issued_at=NOW, expires_at=NOW + timedelta(minutes=10))
    token = sign_ear(claims, key)
    with pytest.raises(VerificationError) as info:
        verify_ear_jwt(token, key.public_key(), at=at, max_age=max_age)
    assert info.value.code == "ear.stale"
    assert verify_ear_jwt(token, key.public_key(), at=NOW + timedelta(minutes=1)).affirming


def test_crit_header_is_refused() -> None:
    key = generate_p256_key()
    claims = build_ear(affirming_result(), issued_at=NOW)
    es256 = jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA256)
    header = {"alg": "ES256", "typ": "JWT", "crit": ["attestgw-x"], "attestgw-x": 1}
    token = compact(header, claims, lambda m: es256.sign(m, key))
    with pytest.raises(VerificationError) as info:
        verify_ear_jwt(token, key.public_key())
    assert info.value.code == "ear.malformed"
    # the same construction without crit verifies, so the refusal above is about crit alone
    plain = compact({"alg": "ES256", "typ": "JWT"}, claims, lambda m: es256.sign(m, key))
    assert verify_ear_jwt(plain, key.public_key()).affirming


# --- veraison/ear test vectors from the corpus (older profile, ES256 with a published JWK) ---


def veraison_vectors() -> tuple[dict[str, Any], Any]:
    doc = json.loads(corpus_file("jwt/ear/ear-test-vectors.json").read_text(encoding="utf-8"))
    key = jwt.PyJWK.from_dict({**doc["verification_key_jwk"], "alg": "ES256"}).key
    return doc, key


def test_veraison_valid_token_has_a_good_signature_but_another_profile() -> None:
    doc, key = veraison_vectors()
    token = doc["cases"][0]["token"]
    jwt.decode(token, key, algorithms=["ES256"])  # the signature is genuinely valid …
    with pytest.raises(VerificationError) as info:
        verify_ear_jwt(token, key)
    assert info.value.code == "ear.profile_mismatch"  # … but attestgw pins its own profile


@pytest.mark.parametrize(
    ("index", "code"),
    [
        (1, "ear.alg_not_allowed"),  # HS256
        (2, "ear.alg_not_allowed"),  # alg none
        (3, "ear.malformed"),  # bad formatting
        (4, "ear.profile_mismatch"),  # empty claims set, valid signature
        (5, "ear.malformed"),  # trailing rubbish
    ],
)
def test_veraison_invalid_tokens_are_refused(index: int, code: str) -> None:
    doc, key = veraison_vectors()
    case = doc["cases"][index]
    assert case["expected"] == "INVALID"
    with pytest.raises(VerificationError) as info:
        verify_ear_jwt(case["token"], key)
    assert info.value.code == code
