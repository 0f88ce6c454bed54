"""Receipts: sign, encode, decode, verify; every tampering and malformed input refused."""

from __future__ import annotations

import base64
import dataclasses
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attestgw.errors import FormatError, VerificationError
from attestgw.receipt import (
    ReceiptSigner,
    RunningDigest,
    _canonical,
    _signed_bytes,
    decode_receipt,
    encode_receipt,
    instance_digest,
    verify_receipt,
)

H = hashlib.sha256(b"x").hexdigest()


def _receipt(signer: ReceiptSigner) -> object:
    return signer.sign(
        request_sha256=H,
        response_sha256=H,
        model="tiny",
        model_digest=H,
        evidence_digest=H,
        key_id=1,
        at=1700000000,
    )


def test_round_trip_and_verify() -> None:
    signer = ReceiptSigner.generate()
    receipt = _receipt(signer)
    again = decode_receipt(encode_receipt(receipt))  # type: ignore[arg-type]
    assert again == receipt
    verify_receipt(again, signer.spki_der)
    assert "seed" not in repr(signer)


@pytest.mark.parametrize(
    "field", ["request_sha256", "response_sha256", "model", "evidence_digest", "key_id", "time"]
)
def test_any_changed_field_breaks_the_signature(field: str) -> None:
    signer = ReceiptSigner.generate()
    receipt = _receipt(signer)
    value = getattr(receipt, field)
    changed = dataclasses.replace(
        receipt,  # type: ignore[type-var]
        **{field: value + 1 if isinstance(value, int) else ("0" * 64 if len(value) == 64 else value + "x")},
    )
    with pytest.raises(VerificationError) as err:
        verify_receipt(changed, signer.spki_der)
    assert err.value.code == "receipt.signature_invalid"


def test_another_key_does_not_verify() -> None:
    receipt = _receipt(ReceiptSigner.generate())
    with pytest.raises(VerificationError):
        verify_receipt(receipt, ReceiptSigner.generate().spki_der)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "!!", "e30", "bnVsbA", "x" * 5000])
def test_malformed_receipts(text: str) -> None:
    with pytest.raises(FormatError) as err:
        decode_receipt(text)
    assert err.value.code == "receipt.malformed"


def test_instance_digest_separates_inputs() -> None:
    a = instance_digest(b"m" * 48, b"keys", b"spki")
    assert a != instance_digest(b"m" * 48, b"keys2", b"spki")
    assert a != instance_digest(b"m" * 47, b"mkeys", b"spki")
    assert len(a) == 32


def test_running_digest_equals_whole_digest() -> None:
    d = RunningDigest()
    for part in (b"ab", b"", b"cd"):
        d.update(part)
    assert d.hexdigest() == hashlib.sha256(b"abcd").hexdigest()


_hex = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@given(
    digests=st.tuples(_hex, _hex, _hex, _hex, _hex),
    model=st.text(min_size=1, max_size=256),
    key_id=st.integers(0, 255),
    at=st.integers(0, 2**53),
)
def test_fast_canonical_forms_equal_sorted_json(
    digests: tuple[str, str, str, str, str], model: str, key_id: int, at: int
) -> None:
    # The signer and verifier write the canonical JSON by hand (hot path); it must be json.dumps's.
    signer = _SIGNER
    request, response, model_digest, policy, evidence = digests
    receipt = signer.sign(
        request_sha256=request,
        response_sha256=response,
        model=model,
        model_digest=model_digest,
        redaction_policy_digest=policy,
        evidence_digest=evidence,
        key_id=key_id,
        at=at,
    )
    assert _signed_bytes(receipt) == _canonical(receipt.signed_fields())
    whole = _canonical({**receipt.signed_fields(), "sig": receipt.sig})
    assert base64.urlsafe_b64decode(encode_receipt(receipt) + "==") == whole
    assert decode_receipt(encode_receipt(receipt)) == receipt
    verify_receipt(receipt, signer.spki_der)


_SIGNER = ReceiptSigner.generate()


@pytest.mark.parametrize(
    ("field", "value"),
    [("key_id", True), ("time", 1.0), ("request_sha256", H.upper()), ("model", 7), ("sig", "!" * 86)],
)
def test_hand_built_receipts_with_odd_fields_never_verify(field: str, value: object) -> None:
    receipt = _receipt(_SIGNER)
    odd = dataclasses.replace(receipt, **{field: value})  # type: ignore[type-var]
    with pytest.raises(VerificationError) as err:
        verify_receipt(odd, _SIGNER.spki_der)
    assert err.value.code == "receipt.signature_invalid"
