"""Receipt keys of both algorithms: the signature, the attested SPKI deciding the algorithm, and the
keys and signatures that must be refused."""

from __future__ import annotations

import base64
import dataclasses
import hashlib

import pytest

from attestgw.crypto.keys import generate_ec_key, public_key_to_pem
from attestgw.crypto.receipt_keys import (
    ED25519,
    ES256,
    RECEIPT_ALGORITHMS,
    ReceiptKey,
    receipt_algorithm,
    receipt_verifier,
)
from attestgw.errors import FormatError, UsageError, VerificationError
from attestgw.receipt import ReceiptSigner, decode_receipt, encode_receipt, verify_receipt

H = hashlib.sha256(b"x").hexdigest()
# Order of the P-256 base point.
N = int("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16)


def _sign(signer: ReceiptSigner) -> object:
    return signer.sign(
        request_sha256=H, response_sha256=H, model="tiny", model_digest=H, evidence_digest=H, key_id=1, at=1
    )


@pytest.mark.parametrize("algorithm", RECEIPT_ALGORITHMS)
def test_each_algorithm_signs_receipts_that_verify_under_its_spki(algorithm: str) -> None:
    signer = ReceiptSigner.generate(algorithm)
    assert signer.algorithm == algorithm
    assert receipt_algorithm(signer.spki_der) == algorithm
    receipt = decode_receipt(encode_receipt(_sign(signer)))  # type: ignore[arg-type]
    assert len(base64.urlsafe_b64decode(receipt.sig + "==")) == 64
    verify_receipt(receipt, signer.spki_der)
    assert algorithm in repr(signer)


@pytest.mark.parametrize("algorithm", RECEIPT_ALGORITHMS)
def test_a_changed_field_or_another_key_of_either_kind_is_refused(algorithm: str) -> None:
    signer = ReceiptSigner.generate(algorithm)
    receipt = _sign(signer)
    changed = dataclasses.replace(receipt, model="other")  # type: ignore[type-var]
    for candidate, key in (
        (changed, signer.spki_der),
        (receipt, ReceiptSigner.generate(algorithm).spki_der),
        (receipt, ReceiptSigner.generate(ES256 if algorithm == ED25519 else ED25519).spki_der),
    ):
        with pytest.raises(VerificationError) as err:
            verify_receipt(candidate, key)  # type: ignore[arg-type]
        assert err.value.code == "receipt.signature_invalid"


def test_es256_signatures_are_randomized_and_both_verify() -> None:
    key = ReceiptKey(ES256)
    first, second = key.sign(b"m"), key.sign(b"m")
    assert first != second
    verify = receipt_verifier(key.spki_der)
    assert verify(b"m", first)
    assert verify(b"m", second)
    assert not verify(b"n", first)


def test_es256_out_of_range_and_wrong_length_signatures_are_false_not_errors() -> None:
    key = ReceiptKey(ES256)
    verify = receipt_verifier(key.spki_der)
    good = key.sign(b"m")
    r, s = good[:32], good[32:]
    zero = bytes(32)
    n = N.to_bytes(32, "big")
    for bad in (zero + s, r + zero, n + s, r + n, good[:63], good + b"\x00", b""):
        assert verify(b"m", bad) is False
    # (r, n - s) is the same signature in another form: ECDSA is malleable, as the module says
    flipped = r + (N - int.from_bytes(s, "big")).to_bytes(32, "big")
    assert verify(b"m", flipped) is True


def _der(pem: bytes) -> bytes:
    return base64.b64decode(b"".join(line for line in pem.splitlines() if not line.startswith(b"-----")))


def _compressed(p256_spki: bytes) -> bytes:
    """The same key as a SubjectPublicKeyInfo with a compressed point (RFC 5480 allows it)."""
    x, y = p256_spki[-64:-32], p256_spki[-32:]
    point = bytes([2 + (y[-1] & 1)]) + x
    # id-ecPublicKey, prime256v1, BIT STRING of the 33-byte compressed point
    body = bytes.fromhex("301306072a8648ce3d020106082a8648ce3d030107") + b"\x03\x22\x00" + point
    return b"\x30" + bytes([len(body)]) + body


def test_keys_that_are_not_receipt_keys_are_refused() -> None:
    p256 = ReceiptKey(ES256).spki_der
    off_curve = p256[:-1] + bytes([p256[-1] ^ 1])
    p384 = _der(public_key_to_pem(generate_ec_key("P-384")))
    compressed = _compressed(p256)
    ed = ReceiptKey(ED25519).spki_der
    for spki in (b"", b"\x30", off_curve, p384, compressed, ed + b"\x00", ed[:-1], p256 + b"\x00"):
        with pytest.raises(FormatError) as err:
            receipt_algorithm(spki)
        assert err.value.code == "receipt.malformed"
        with pytest.raises(FormatError):
            receipt_verifier(spki)


def test_an_unknown_algorithm_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as err:
        ReceiptKey("RS256")
    assert err.value.code == "usage.invalid"
    assert "private" not in repr(ReceiptKey(ES256)).lower()
