"""Every case in ``../shared/corpus/tlog``: transparency-dev Merkle vectors, C2SP notes, a Rekor entry.

- ``merkle-{inclusion,consistency,subtreeinclusion,subtreeconsistency}.json``: each case must verify
  when ``wantErr`` is false and be refused with one of our errors when it is true;
- the happy-path proofs must also be what :class:`MerkleTree` *generates* over the RFC 6962 reference
  leaves the vectors were built from;
- ``c2sp-signed-note-examples.json``: the signed-note example verifies with the verifier key quoted in
  formats.md §11, and every example note parses and re-serializes byte for byte;
- ``oak/rekor_logentry.json``: a real Rekor inclusion proof at tree size 10289604 and its ECDSA-signed
  checkpoint.

Skipped, with the reason, when the corpus is absent.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from attestgw.errors import AttestgwError, VerificationError
from attestgw.log import NoteVerifier, verify_checkpoint, verify_note
from attestgw.merkle import (
    MerkleTree,
    format_note,
    leaf_hash,
    parse_checkpoint,
    parse_note,
    verify_consistency,
    verify_inclusion,
    verify_subtree_consistency,
    verify_subtree_inclusion,
)
from tests.conftest import CORPUS, corpus_file

pytestmark = pytest.mark.corpus

#: The verifier key printed in formats.md §11 for the C2SP signed-note example.
FORMATS_MD_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"

#: The RFC 6962 reference leaves behind the transparency-dev vectors (8 leaves, sizes 1-8).
REFERENCE_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]


def _cases(name: str) -> list[Any]:
    """(id, case) params from a vector file, or one skipped param saying why there are none."""
    path = CORPUS / "tlog" / name
    if not path.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"corpus file tlog/{name} not found"))]
    cases = json.loads(Path(path).read_text())["cases"]
    return [pytest.param(case, id=key) for key, case in cases.items()]


def _b(value: str) -> bytes:
    return base64.b64decode(value)


def _proof(case: dict[str, Any]) -> list[bytes]:
    return [_b(p) for p in case["proof"] or []]


def _expect(case: dict[str, Any], check: Any) -> None:
    if case["wantErr"]:
        with pytest.raises(AttestgwError):
            check()
    else:
        check()


@pytest.mark.parametrize("case", _cases("merkle-inclusion.json"))
def test_inclusion_vectors(case: dict[str, Any]) -> None:
    _expect(
        case,
        lambda: verify_inclusion(
            _b(case["leafHash"]), case["leafIdx"], case["treeSize"], _proof(case), _b(case["root"])
        ),
    )


@pytest.mark.parametrize("case", _cases("merkle-consistency.json"))
def test_consistency_vectors(case: dict[str, Any]) -> None:
    _expect(
        case,
        lambda: verify_consistency(
            case["size1"], case["size2"], _proof(case), _b(case["root1"]), _b(case["root2"])
        ),
    )


@pytest.mark.parametrize("case", _cases("merkle-subtreeinclusion.json"))
def test_subtree_inclusion_vectors(case: dict[str, Any]) -> None:
    _expect(
        case,
        lambda: verify_subtree_inclusion(
            _b(case["leafHash"]),
            case["leafIdx"],
            _proof(case),
            start=case["start"],
            end=case["end"],
            subtree_hash=_b(case["root"]),
        ),
    )


@pytest.mark.parametrize("case", _cases("merkle-subtreeconsistency.json"))
def test_subtree_consistency_vectors(case: dict[str, Any]) -> None:
    _expect(
        case,
        lambda: verify_subtree_consistency(
            case["start"],
            case["end"],
            case["size"],
            _proof(case),
            subtree_hash=_b(case["root1"]),
            root=_b(case["root2"]),
        ),
    )


def test_generated_proofs_equal_the_happy_path_vectors() -> None:
    tree = MerkleTree(leaf_hash(x) for x in REFERENCE_LEAVES)
    inclusion = json.loads(corpus_file("tlog/merkle-inclusion.json").read_text())["cases"]
    consistency = json.loads(corpus_file("tlog/merkle-consistency.json").read_text())["cases"]
    checked = 0
    for key, case in inclusion.items():
        if key.endswith("/happy-path.json") and case["leafHash"] == base64.b64encode(
            leaf_hash(REFERENCE_LEAVES[case["leafIdx"]])
        ).decode("ascii"):
            assert list(tree.inclusion_proof(case["leafIdx"], case["treeSize"])) == _proof(case), key
            assert tree.root(case["treeSize"]) == _b(case["root"]), key
            checked += 1
    for key, case in consistency.items():
        if key.endswith("/happy-path.json"):
            assert list(tree.consistency_proof(case["size1"], case["size2"])) == _proof(case), key
            checked += 1
    assert checked >= 8  # the numbered happy paths, not just the degenerate ones


def _note_examples() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(corpus_file("tlog/c2sp-signed-note-examples.json").read_text())
    return data


def test_c2sp_signed_note_example_verifies_with_the_formats_md_key() -> None:
    example = _note_examples()["signed_note_verifiable_example"]
    assert example["verifier_key"] == FORMATS_MD_VKEY
    verifier = NoteVerifier.from_vkey(FORMATS_MD_VKEY)
    note = example["note"].encode()
    assert verify_note(note, [verifier]).text == "This is an example message.\n"
    # Any byte change in the text makes it invalid.
    with pytest.raises(VerificationError) as info:
        verify_note(note.replace(b"example", b"exampla", 1), [verifier])
    assert info.value.code == "log.signature_invalid"


@pytest.mark.parametrize(
    "name",
    [
        "signed_note_verifiable_example",
        "signed_note_intro_example",
        "checkpoint_example",
        "cosigned_checkpoint_example",
    ],
)
def test_c2sp_example_notes_parse_and_round_trip(name: str) -> None:
    raw = _note_examples()[name]["note"].encode()
    note = parse_note(raw)
    assert format_note(note) == raw
    # Nobody we trust signed these (no keys published): verification must say so, not crash.
    with pytest.raises(VerificationError) as info:
        verify_note(raw, [NoteVerifier.ed25519("nobody.example", bytes(32))])
    assert info.value.code == "log.unknown_key"


def test_c2sp_checkpoint_examples() -> None:
    examples = _note_examples()
    plain = parse_note(examples["checkpoint_example"]["note"].encode())
    cosigned = parse_note(examples["cosigned_checkpoint_example"]["note"].encode())
    checkpoint = parse_checkpoint(plain.text)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.root_hash == _b("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert cosigned.text == plain.text
    assert [s.name for s in cosigned.signatures] == ["example.com/behind-the-sofa", "witness.example.com/w1"]
    # A cosignature's signature bytes are an 8-byte timestamp then the Ed25519 signature.
    assert int.from_bytes(cosigned.signatures[1].signature[:8], "big") == 1679315147


def test_rekor_entry_inclusion_and_signed_checkpoint() -> None:
    (entry,) = json.loads(corpus_file("tlog/oak/rekor_logentry.json").read_text()).values()
    proof = entry["verification"]["inclusionProof"]
    root = bytes.fromhex(proof["rootHash"])
    # The leaf hash is computed here from the entry body, never taken from the response.
    leaf = leaf_hash(base64.b64decode(entry["body"]))
    verify_inclusion(
        leaf, proof["logIndex"], proof["treeSize"], [bytes.fromhex(h) for h in proof["hashes"]], root
    )

    rekor = NoteVerifier.ecdsa_p256_pem(
        "rekor.sigstore.dev", corpus_file("tlog/oak/rekor_public_key.pem").read_bytes()
    )
    assert f"{rekor.key_id:08x}" == entry["logID"][:8]  # key id = SHA-256(SPKI)[:4] = log id prefix
    origin = "rekor.sigstore.dev - 1193050959916656506"
    verified = verify_checkpoint(proof["checkpoint"].encode(), [rekor], origin=origin)
    assert verified.checkpoint.size == proof["treeSize"]
    assert verified.checkpoint.root_hash == root
    with pytest.raises(VerificationError) as info:
        verify_checkpoint(
            proof["checkpoint"].replace("10289604", "10289605").encode(), [rekor], origin=origin
        )
    assert info.value.code == "log.signature_invalid"
    # ECDSA key ids do not cover the name: the same key under another name has the same id, but the
    # (name, key id) pair does not match the signature line, so it is ignored rather than trusted.
    pem = corpus_file("tlog/oak/rekor_public_key.pem").read_bytes()
    renamed = NoteVerifier.ecdsa_p256_pem("not-rekor.example", pem)
    assert renamed.key_id == rekor.key_id
    with pytest.raises(VerificationError) as info:
        verify_checkpoint(proof["checkpoint"].encode(), [renamed], origin=origin)
    assert info.value.code == "log.unknown_key"
