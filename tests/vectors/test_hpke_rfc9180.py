"""RFC 9180 test vectors (cfrg/draft-irtf-cfrg-hpke, final) for every suite attestgw implements.

Implemented: base mode, DHKEM(X25519, HKDF-SHA256) with HKDF-SHA256 or HKDF-SHA512 and AES-128-GCM,
AES-256-GCM or ChaCha20-Poly1305 — six vectors, each reproduced in both directions (sender with the
vector's ephemeral key, recipient with the vector's private key). The other vectors (P-256, P-521,
X448 KEMs, the export-only AEAD, PSK/Auth modes) must be refused, not computed wrongly.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from attestgw.crypto.hpke import (
    KEM_X25519_HKDF_SHA256,
    Suite,
    setup_base_recipient,
    setup_base_sender,
)
from attestgw.errors import FormatError
from tests.conftest import corpus_file

pytestmark = pytest.mark.corpus

H = bytes.fromhex


def _vectors() -> list[dict[str, Any]]:
    with gzip.open(corpus_file("hpke/rfc9180-test-vectors.json.gz")) as fh:
        data: list[dict[str, Any]] = json.load(fh)
    return data


def _implemented(v: dict[str, Any]) -> bool:
    return (
        v["mode"] == 0
        and v["kem_id"] == KEM_X25519_HKDF_SHA256
        and v["kdf_id"] in (1, 3)
        and v["aead_id"] in (1, 2, 3)
    )


def _suite_ids() -> list[tuple[int, int]]:
    # Parametrize on ids only, so collection does not need the corpus (the test skips without it).
    return [(kdf, aead) for kdf in (1, 3) for aead in (1, 2, 3)]


@pytest.fixture(scope="module")
def vectors() -> list[dict[str, Any]]:
    return _vectors()


def _find(vectors: list[dict[str, Any]], kdf_id: int, aead_id: int) -> dict[str, Any]:
    (vector,) = [v for v in vectors if _implemented(v) and v["kdf_id"] == kdf_id and v["aead_id"] == aead_id]
    return vector


@pytest.mark.parametrize(("kdf_id", "aead_id"), _suite_ids())
def test_key_derivation_and_encapsulation(vectors: list[dict[str, Any]], kdf_id: int, aead_id: int) -> None:
    v = _find(vectors, kdf_id, aead_id)
    suite = Suite.from_ids(v["kem_id"], kdf_id, aead_id)
    recipient = suite.kem.derive_key_pair(H(v["ikmR"]))
    ephemeral = suite.kem.derive_key_pair(H(v["ikmE"]))
    assert recipient.public_key.raw.hex() == v["pkRm"]
    assert ephemeral.public_key.raw.hex() == v["pkEm"]
    shared, enc = suite.kem.encap(recipient.public_key, _test_randomness=H(v["skEm"]))
    assert enc.hex() == v["enc"]
    assert shared.hex() == v["shared_secret"]
    assert (
        suite.kem.decap(H(v["enc"]), suite.kem.private_key_from_bytes(H(v["skRm"]))).hex()
        == v["shared_secret"]
    )


@pytest.mark.parametrize(("kdf_id", "aead_id"), _suite_ids())
def test_sender_reproduces_every_ciphertext_and_export(
    vectors: list[dict[str, Any]], kdf_id: int, aead_id: int
) -> None:
    v = _find(vectors, kdf_id, aead_id)
    suite = Suite.from_ids(v["kem_id"], kdf_id, aead_id)
    public = suite.kem.public_key_from_bytes(H(v["pkRm"]))
    enc, sender = setup_base_sender(suite, public, H(v["info"]), _test_randomness=H(v["skEm"]))
    assert enc.hex() == v["enc"]
    for i, e in enumerate(v["encryptions"]):
        assert sender.seq == i
        assert sender.seal(H(e["pt"]), H(e["aad"])).hex() == e["ct"], f"encryption {i}"
    for e in v["exports"]:
        assert sender.export(H(e["exporter_context"]), e["L"]).hex() == e["exported_value"]


@pytest.mark.parametrize(("kdf_id", "aead_id"), _suite_ids())
def test_recipient_opens_every_ciphertext_and_exports(
    vectors: list[dict[str, Any]], kdf_id: int, aead_id: int
) -> None:
    v = _find(vectors, kdf_id, aead_id)
    suite = Suite.from_ids(v["kem_id"], kdf_id, aead_id)
    private = suite.kem.private_key_from_bytes(H(v["skRm"]))
    recipient = setup_base_recipient(suite, H(v["enc"]), private, H(v["info"]))
    for i, e in enumerate(v["encryptions"]):
        assert recipient.open(H(e["ct"]), H(e["aad"])).hex() == e["pt"], f"encryption {i}"
    for e in v["exports"]:
        assert recipient.export(H(e["exporter_context"]), e["L"]).hex() == e["exported_value"]


def test_every_base_mode_x25519_hkdf_vector_is_covered(vectors: list[dict[str, Any]]) -> None:
    covered = {(v["kdf_id"], v["aead_id"]) for v in vectors if _implemented(v)}
    assert covered == set(_suite_ids())


def test_vectors_of_unimplemented_suites_are_refused(vectors: list[dict[str, Any]]) -> None:
    refused = 0
    for v in vectors:
        if v["mode"] != 0 or _implemented(v):
            continue
        with pytest.raises(FormatError) as err:
            Suite.from_ids(v["kem_id"], v["kdf_id"], v["aead_id"])
        assert err.value.code == "hpke.suite_unsupported"
        refused += 1
    # 32 base-mode vectors in the file, 6 implemented
    assert refused == 26
