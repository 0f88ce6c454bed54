"""The attestation binding (docs/binding.md): REPORT_DATA and the GPU nonce."""

from __future__ import annotations

import hashlib

import pytest

from attestgw.errors import FormatError
from attestgw.evidence.binding import (
    BindingInputs,
    gpu_evidence_digest,
    gpu_nonce,
    report_data,
    report_data_matches,
)

NONCE = bytes(range(32))
K = hashlib.sha256(b"key configs").digest()
R = hashlib.sha256(b"receipt key").digest()
G = hashlib.sha256(b"gpu").digest()


def _field(x: bytes) -> bytes:
    return len(x).to_bytes(4, "big") + x


def test_formula_as_documented() -> None:
    """Recomputed from docs/binding.md by hand, so a change of formula cannot go unnoticed."""
    inputs = BindingInputs(NONCE, K, R, G)
    expected_rd = hashlib.sha512(
        _field(b"attestgw/report-data/v1") + _field(NONCE) + _field(K) + _field(R) + _field(G)
    ).digest()
    expected_gpu = hashlib.sha256(
        _field(b"attestgw/gpu-nonce/v1") + _field(NONCE) + _field(K) + _field(R)
    ).digest()
    assert report_data(inputs) == expected_rd
    assert gpu_nonce(inputs) == expected_gpu
    no_gpu = hashlib.sha512(
        _field(b"attestgw/report-data/v1") + _field(NONCE) + _field(K) + _field(R) + _field(b"")
    ).digest()
    assert report_data(BindingInputs(NONCE, K, R)) == no_gpu


def test_known_answer() -> None:
    """Pinned output: attester and verifier builds must agree byte for byte across versions."""
    inputs = BindingInputs(NONCE, K, R, G)
    assert report_data(inputs).hex() == (
        "4296d5b516e47cafa40faaf53a8d0d7a1d83a35f45fb2953c042ef7c0d1a025f"
        "cce0054a692b6ccffa04add75dfed3e67fdfdbd50bec67c2f363aef2a02147b1"
    )
    assert gpu_nonce(inputs).hex() == "0e0ba387880a17fa537a132e389cf5e78e50141fe8aaf802e3a592b267ac6647"


def test_sizes_and_every_input_matters() -> None:
    base = BindingInputs(NONCE, K, R, G)
    assert len(report_data(base)) == 64
    assert len(gpu_nonce(base)) == 32
    flipped = bytes([NONCE[0] ^ 1]) + NONCE[1:]
    variants = [
        BindingInputs(flipped, K, R, G),
        BindingInputs(NONCE, R, K, G),  # swapped digests must not collide
        BindingInputs(NONCE, K, G, G),
        BindingInputs(NONCE, K, R, K),
        BindingInputs(NONCE, K, R, None),
    ]
    outputs = {report_data(v) for v in variants} | {report_data(base)}
    assert len(outputs) == len(variants) + 1
    # the GPU nonce does not depend on G (the GPU evidence is made with it), but on everything else
    assert gpu_nonce(BindingInputs(NONCE, K, R, None)) == gpu_nonce(base)
    assert gpu_nonce(BindingInputs(NONCE, R, K, G)) != gpu_nonce(base)
    assert gpu_nonce(base) != report_data(base)[:32]


def test_wrong_lengths_are_refused_never_padded() -> None:
    for args in ((NONCE[:31], K, R), (NONCE + b"\x00", K, R), (NONCE, K[:16], R), (NONCE, K, R + b"\x00")):
        with pytest.raises(FormatError) as err:
            BindingInputs(*args)
        assert err.value.code == "binding.invalid_input"
    with pytest.raises(FormatError):
        BindingInputs(NONCE, K, R, G[:31])


def test_from_material_digests_the_raw_inputs() -> None:
    configs, spki = b"\x00\x29" + b"\x01" * 41, b"0*0\x05\x06\x03+ep\x03!\x00" + b"\x02" * 32
    inputs = BindingInputs.from_material(NONCE, configs, spki, [b"gpu0 evidence", b"gpu1 evidence"])
    assert inputs.key_config_digest == hashlib.sha256(configs).digest()
    assert inputs.receipt_key_digest == hashlib.sha256(spki).digest()
    assert inputs.gpu_evidence_digest == gpu_evidence_digest([b"gpu0 evidence", b"gpu1 evidence"])
    assert BindingInputs.from_material(NONCE, configs, spki).gpu_evidence_digest is None
    with pytest.raises(FormatError):
        BindingInputs.from_material(NONCE, configs, spki, [])
    with pytest.raises(FormatError):
        BindingInputs.from_material(NONCE, b"", spki)


def test_gpu_evidence_digest_is_order_and_boundary_sensitive() -> None:
    assert gpu_evidence_digest([b"ab", b"c"]) != gpu_evidence_digest([b"a", b"bc"])
    assert gpu_evidence_digest([b"a", b"b"]) != gpu_evidence_digest([b"b", b"a"])
    assert gpu_evidence_digest([b"abc"]) != gpu_evidence_digest([b"abc", b"abc"])
    with pytest.raises(FormatError):
        gpu_evidence_digest([b"ok", b""])


def test_report_data_matches() -> None:
    inputs = BindingInputs(NONCE, K, R, G)
    rd = report_data(inputs)
    assert report_data_matches(rd, inputs)
    assert not report_data_matches(rd[:-1] + bytes([rd[-1] ^ 1]), inputs)
    assert not report_data_matches(rd, BindingInputs(NONCE, K, R))
    assert not report_data_matches(rd[:32], inputs)
