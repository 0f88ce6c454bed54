"""Signing and verifying notes and checkpoints: the C2SP verification rules, as a client sees them."""

from __future__ import annotations

import json

import pytest

from attestgw.crypto import note_keys
from attestgw.errors import FormatError, VerificationError
from attestgw.log import (
    NoteSigner,
    NoteVerifier,
    VerifiedCheckpoint,
    VerifiedNote,
    sign_checkpoint,
    sign_note,
    verify_checkpoint,
    verify_note,
)
from attestgw.merkle import Checkpoint, MerkleTree, Note, NoteSignature, format_note, leaf_hash, parse_note
from tests.conftest import corpus_file

ORIGIN = "attestgw.example/log"
LOG = NoteSigner.from_seed(ORIGIN, bytes(range(32)))
WITNESS = NoteSigner.from_seed("witness.example/w1", bytes(range(1, 33)))


def _checkpoint(size: int = 3) -> Checkpoint:
    tree = MerkleTree(leaf_hash(b"%d" % i) for i in range(size))
    return Checkpoint(ORIGIN, size, tree.root())


def test_signed_checkpoint_verifies_and_says_who_signed() -> None:
    signed = sign_checkpoint(_checkpoint(), LOG)
    verified = verify_checkpoint(signed, [LOG.verifier], origin=ORIGIN)
    assert verified.checkpoint == _checkpoint()
    assert verified.signers == (LOG.verifier,)
    assert signed.decode().startswith(_checkpoint().to_text() + "\n— attestgw.example/log ")


def test_a_changed_text_is_rejected() -> None:
    signed = sign_checkpoint(_checkpoint(3), LOG)
    tampered = signed.replace(b"\n3\n", b"\n4\n", 1)
    with pytest.raises(VerificationError) as info:
        verify_checkpoint(tampered, [LOG.verifier], origin=ORIGIN)
    assert info.value.code == "log.signature_invalid"


def test_unknown_signatures_are_ignored_but_one_known_is_required() -> None:
    text = _checkpoint().to_text()
    both = sign_note(text, [WITNESS, LOG])
    assert verify_note(both, [LOG.verifier]).signers == (LOG.verifier,)
    with pytest.raises(VerificationError) as info:
        verify_note(sign_note(text, [WITNESS]), [LOG.verifier])
    assert info.value.code == "log.unknown_key"
    assert verify_note(both, [LOG.verifier, WITNESS.verifier]).signers == (WITNESS.verifier, LOG.verifier)


def test_a_bad_signature_from_a_known_key_rejects_the_note_even_if_another_is_good() -> None:
    text = _checkpoint().to_text()
    good = parse_note(sign_note(text, [LOG, WITNESS]))
    bad_witness = NoteSignature(WITNESS.name, WITNESS.key_id, bytes(64))
    note = format_note(Note(text, (good.signatures[0], bad_witness)))
    assert verify_note(note, [LOG.verifier]).text == text  # the witness is not trusted: ignored
    with pytest.raises(VerificationError) as info:
        verify_note(note, [LOG.verifier, WITNESS.verifier])
    assert info.value.code == "log.signature_invalid"


def test_name_or_key_id_alone_does_not_make_a_key_known() -> None:
    impostor = NoteSigner.from_seed(ORIGIN, bytes(32))  # same name, other key, so other key id
    with pytest.raises(VerificationError) as info:
        verify_note(sign_note("hi\n", [impostor]), [LOG.verifier])
    assert info.value.code == "log.unknown_key"
    # The same public key under another name is another key (the name is part of the key id).
    renamed = NoteVerifier.ed25519(WITNESS.name, LOG.public_key)
    with pytest.raises(VerificationError) as info:
        verify_note(sign_note("hi\n", [LOG]), [renamed])
    assert info.value.code == "log.unknown_key"


def test_verifiers_with_a_made_up_key_id_cannot_be_built() -> None:
    with pytest.raises(FormatError) as info:
        NoteVerifier(LOG.name, LOG.key_id ^ 1, LOG.verifier.key_type, LOG.public_key)
    assert info.value.code == "log.key_invalid"
    with pytest.raises(FormatError):
        NoteVerifier(LOG.name, LOG.key_id, 0x04, LOG.public_key)
    with pytest.raises(FormatError):  # key names may not contain spaces
        NoteSigner.from_seed("attestgw log", bytes(32))
    with pytest.raises(FormatError):  # a seed and a public key that do not belong together
        NoteSigner(LOG.name, LOG.key_id, WITNESS.public_key, LOG.seed)


def test_checkpoint_of_another_log_is_refused() -> None:
    other = NoteSigner.from_seed("other.example/log", bytes(range(32)))
    signed = sign_checkpoint(Checkpoint("other.example/log", 1, bytes(32)), other)
    with pytest.raises(VerificationError) as info:
        verify_checkpoint(signed, [other.verifier], origin=ORIGIN)
    assert info.value.code == "log.origin_mismatch"


def test_signed_text_that_is_not_a_checkpoint_is_a_format_error() -> None:
    with pytest.raises(FormatError) as info:
        verify_checkpoint(sign_note("just a note\n", [LOG]), [LOG.verifier], origin=ORIGIN)
    assert info.value.code == "log.checkpoint_malformed"


def test_verified_results_cannot_be_forged() -> None:
    with pytest.raises(TypeError):
        VerifiedNote("text\n", (LOG.verifier,), object())
    with pytest.raises(TypeError):
        VerifiedCheckpoint(_checkpoint(), (LOG.verifier,), object())


def test_signer_key_string_round_trip_and_repr_hides_the_seed() -> None:
    again = NoteSigner.from_signer_key(LOG.signer_key)
    assert again.verifier == LOG.verifier
    assert bytes(range(32)).hex() not in repr(LOG)
    assert "PRIVATE" not in repr(LOG)
    assert NoteVerifier.from_vkey(LOG.verifier.vkey) == LOG.verifier
    # A key string whose key id was edited is refused rather than signing under the wrong id.
    head, key_id, data = LOG.signer_key.rsplit("+", 2)
    with pytest.raises(FormatError) as info:
        NoteSigner.from_signer_key(f"{head}+{int(key_id, 16) ^ 1:08x}+{data}")
    assert info.value.code == "log.key_invalid"


def test_generated_keys_differ_and_sign_verifiably() -> None:
    a, b = NoteSigner.generate(ORIGIN), NoteSigner.generate(ORIGIN)
    assert a.public_key != b.public_key
    verify_note(sign_note("x\n", [a]), [a.verifier])


def test_ecdsa_verifiers_refuse_keys_that_are_not_p256() -> None:
    pem = (
        b"-----BEGIN PUBLIC KEY-----\n"
        b"MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
        b"-----END PUBLIC KEY-----\n"
    )
    with pytest.raises(FormatError) as info:  # an Ed25519 PEM is not a P-256 key
        NoteVerifier.ecdsa_p256_pem("rekor.example", pem)
    assert info.value.code == "log.key_invalid"


@pytest.mark.corpus
def test_ed25519_matches_wycheproof() -> None:
    data = json.loads(corpus_file("wycheproof/ed25519_test.json").read_text())
    disagreements = []
    for group in data["testGroups"]:
        public = bytes.fromhex(group["publicKey"]["pk"])
        for t in group["tests"]:
            ok = note_keys.ed25519_verify(public, bytes.fromhex(t["msg"]), bytes.fromhex(t["sig"]))
            if ok != (t["result"] == "valid"):
                disagreements.append(t["tcId"])
    assert disagreements == []
