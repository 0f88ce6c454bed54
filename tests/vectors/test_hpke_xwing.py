"""draft-ietf-hpke-pq vectors for X-Wing (0x647A), plus the ML-KEM-768 vectors X-Wing relies on.

Where the PQ vectors apply: X-Wing with HKDF-SHA256 (the vector with the SHAKE256 KDF 0x0011 uses a
KDF attestgw does not implement and must be refused). Checked on the recipient side in full
(DeriveKeyPair → public key, Decap → shared secret, every open, every export) and on the sender side
for the X25519 half (``ct_X`` from the second half of ``ikmE``): ``cryptography`` cannot
derandomize ML-KEM encapsulation, so the sender's ML-KEM half is covered by round trips instead.

ML-KEM-768 building blocks: NIST ACVP keyGen (seed ``d ‖ z`` → encapsulation key) and Wycheproof
decapsulation from a seed (valid, implicit-rejection and wrong-length cases).
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from attestgw.crypto.hpke import (
    KEM_XWING,
    DhkemX25519,
    Suite,
    kem_by_id,
    setup_base_recipient,
    setup_base_sender,
)
from attestgw.crypto.hpke.xwing import mlkem768_decapsulate, mlkem768_public_from_seed
from attestgw.errors import AttestgwError, FormatError
from tests.conftest import corpus_file

pytestmark = pytest.mark.corpus

H = bytes.fromhex


@pytest.fixture(scope="module")
def xwing_vectors() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(corpus_file("hpke/hpke-pq-test-vectors.json").read_text())
    return [v for v in data if v["kem_id"] == KEM_XWING]


def test_xwing_vector_recipient_side(xwing_vectors: list[dict[str, Any]]) -> None:
    (v,) = [v for v in xwing_vectors if v["kdf_id"] == 1]
    suite = Suite.from_ids(v["kem_id"], v["kdf_id"], v["aead_id"])
    derived = suite.kem.derive_key_pair(H(v["ikmR"]))
    assert derived.public_key.raw.hex() == v["pkRm"]
    private = suite.kem.private_key_from_bytes(H(v["skRm"]))
    assert private.public_key == derived.public_key
    assert suite.kem.decap(H(v["enc"]), private).hex() == v["shared_secret"]
    recipient = setup_base_recipient(suite, H(v["enc"]), private, H(v["info"]))
    for i, e in enumerate(v["encryptions"]):
        assert recipient.open(H(e["ct"]), H(e["aad"])).hex() == e["pt"], f"encryption {i}"
    for e in v["exports"]:
        assert recipient.export(H(e["exporter_context"]), e["L"]).hex() == e["exported_value"]


def test_xwing_vector_sender_x25519_half(xwing_vectors: list[dict[str, Any]]) -> None:
    (v,) = [v for v in xwing_vectors if v["kdf_id"] == 1]
    # X-Wing encapsulation randomness is m (32 bytes, ML-KEM) ‖ ek_X (32 bytes); ct_X = ek_X·G.
    ct_x = DhkemX25519().private_key_from_bytes(H(v["ikmE"])[32:]).public_key.raw
    assert H(v["enc"])[-32:] == ct_x


def test_xwing_sender_round_trip_opens_with_vector_key(xwing_vectors: list[dict[str, Any]]) -> None:
    (v,) = [v for v in xwing_vectors if v["kdf_id"] == 1]
    suite = Suite.from_ids(v["kem_id"], v["kdf_id"], v["aead_id"])
    private = suite.kem.private_key_from_bytes(H(v["skRm"]))
    public = suite.kem.public_key_from_bytes(H(v["pkRm"]))
    enc, sender = setup_base_sender(suite, public, H(v["info"]))
    recipient = setup_base_recipient(suite, enc, private, H(v["info"]))
    pt = H(v["encryptions"][0]["pt"])
    assert recipient.open(sender.seal(pt, b"aad"), b"aad") == pt
    assert sender.export(b"x", 48) == recipient.export(b"x", 48)


def test_xwing_vector_with_shake_kdf_is_refused(xwing_vectors: list[dict[str, Any]]) -> None:
    (v,) = [v for v in xwing_vectors if v["kdf_id"] != 1]
    with pytest.raises(FormatError) as err:
        Suite.from_ids(v["kem_id"], v["kdf_id"], v["aead_id"])
    assert err.value.code == "hpke.suite_unsupported"


def test_xwing_refuses_injected_randomness() -> None:
    kem = kem_by_id(KEM_XWING)
    key = kem.generate_key_pair()
    with pytest.raises(AttestgwError):
        kem.encap(key.public_key, _test_randomness=bytes(64))


def _acvp(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    base = f"hpke/mlkem-acvp/{name}"
    with (
        gzip.open(corpus_file(f"{base}/prompt.json.gz")) as p,
        gzip.open(corpus_file(f"{base}/expectedResults.json.gz")) as e,
    ):
        return json.load(p), json.load(e)


def test_mlkem768_keygen_from_seed_matches_acvp() -> None:
    prompt, expected = _acvp("ML-KEM-keyGen-FIPS203")
    results = {t["tcId"]: t for g in expected["testGroups"] for t in g["tests"]}
    checked = 0
    for group in prompt["testGroups"]:
        if group["parameterSet"] != "ML-KEM-768":
            continue
        for t in group["tests"]:
            ek = mlkem768_public_from_seed(H(t["d"]) + H(t["z"]))
            assert ek.hex().upper() == results[t["tcId"]]["ek"].upper(), t["tcId"]
            checked += 1
    assert checked == 25


def test_mlkem768_decapsulation_matches_wycheproof() -> None:
    data = json.loads(corpus_file("wycheproof/mlkem_768_test.json").read_text())
    valid = invalid = 0
    for group in data["testGroups"]:
        for t in group["tests"]:
            if t["result"] == "valid":
                assert mlkem768_decapsulate(H(t["seed"]), H(t["c"])).hex() == t["K"], t["tcId"]
                valid += 1
            else:
                with pytest.raises(AttestgwError):
                    mlkem768_decapsulate(H(t["seed"]), H(t["c"]))
                invalid += 1
    assert (valid, invalid) == (153, 40)
