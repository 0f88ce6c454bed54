"""Signed-note framing and key strings: what parses, what round-trips, and what is refused (and why)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from attestgw.errors import FormatError
from attestgw.merkle import (
    KEY_TYPE_ECDSA,
    KEY_TYPE_ED25519,
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    Note,
    NoteSignature,
    compute_key_id,
    format_note,
    parse_note,
    parse_signer_key,
    parse_verifier_key,
)

SIG = base64.b64encode(b"\x01\x02\x03\x04" + b"s" * 64).decode()


def _note(text: str = "hello\n", lines: tuple[str, ...] = (f"— example.com/k {SIG}",)) -> bytes:
    return (text + "\n" + "".join(line + "\n" for line in lines)).encode()


def test_parse_and_format_round_trip() -> None:
    data = _note("origin\n\nwith an empty line\n", (f"— a.example/x {SIG}", f"— b.example/y {SIG}"))
    note = parse_note(data)
    assert note.text == "origin\n\nwith an empty line\n"  # text ends at the *last* blank line
    assert note.signatures[0] == NoteSignature("a.example/x", 0x01020304, b"s" * 64)
    assert [s.name for s in note.signatures] == ["a.example/x", "b.example/y"]
    assert note.message == note.text.encode()
    assert format_note(note) == data


def test_text_that_looks_like_a_signature_stays_text() -> None:
    data = _note(f"body\n\n— forged.example/k {SIG}\n", (f"— real.example/k {SIG}",))
    note = parse_note(data)
    assert note.text.endswith(f"— forged.example/k {SIG}\n")
    assert [s.name for s in note.signatures] == ["real.example/k"]


def test_accepts_at_least_sixteen_signatures_and_up_to_the_cap() -> None:
    for count in (16, MAX_SIGNATURES):
        note = parse_note(_note(lines=tuple(f"— k{i}.example {SIG}" for i in range(count))))
        assert len(note.signatures) == count


@pytest.mark.parametrize(
    ("case", "data", "code"),
    [
        ("not UTF-8", b"\xff\n\n" + _note()[7:], "log.note_malformed"),
        ("tab in text", _note("a\tb\n"), "log.note_malformed"),
        ("carriage return", _note("a\r\n"), "log.note_malformed"),
        ("no blank line", b"hello\n" + _note()[7:], "log.note_malformed"),
        ("no signatures", b"hello\n\n", "log.note_malformed"),
        ("missing final newline", _note()[:-1], "log.note_malformed"),
        ("hyphen instead of em dash", _note(lines=(f"- example.com/k {SIG}",)), "log.note_malformed"),
        ("no space after dash", _note(lines=(f"—example.com/k {SIG}",)), "log.note_malformed"),
        ("empty key name", _note(lines=(f"—  {SIG}",)), "log.note_malformed"),
        ("plus in key name", _note(lines=(f"— a+b {SIG}",)), "log.note_malformed"),
        ("no-break space in name", _note(lines=(f"— a\u00a0b {SIG}",)), "log.note_malformed"),
        ("no signature", _note(lines=("— example.com/k",)), "log.note_malformed"),
        ("two spaces", _note(lines=(f"— example.com/k  {SIG}",)), "log.note_malformed"),
        (
            "url-safe base64",
            _note(lines=("— k " + base64.urlsafe_b64encode(b"\xff" * 9).decode(),)),
            "log.note_malformed",
        ),
        ("unpadded base64", _note(lines=(f"— k {SIG.rstrip('=')}",)), "log.note_malformed"),
        ("non-canonical base64", _note(lines=("— k AAAAAAB=",)), "log.note_malformed"),
        (
            "only a key id",
            _note(lines=("— k " + base64.b64encode(b"\x00" * 4).decode(),)),
            "log.note_malformed",
        ),
        ("too large", _note("x" * MAX_NOTE_BYTES + "\n"), "log.note_too_large"),
        ("too many signatures", _note(lines=(f"— k {SIG}",) * (MAX_SIGNATURES + 1)), "log.note_too_large"),
    ],
)
def test_malformed_notes_are_refused(case: str, data: bytes, code: str) -> None:
    with pytest.raises(FormatError) as info:
        parse_note(data)
    assert info.value.code == code, case


def test_note_values_are_validated_on_construction() -> None:
    with pytest.raises(FormatError):
        Note("no newline", (NoteSignature("k", 1, b"s"),))
    with pytest.raises(FormatError):
        Note("text\n", ())
    with pytest.raises(FormatError):
        NoteSignature("k", 1 << 32, b"s")


def test_key_ids_follow_the_signed_note_recommendation() -> None:
    public = bytes(range(32))
    want = hashlib.sha256(b"example.com/k\n\x01" + public).digest()[:4]
    assert compute_key_id("example.com/k", KEY_TYPE_ED25519, public) == int.from_bytes(want, "big")
    spki = b"0Y0\x13 pretend SPKI"
    assert compute_key_id("any", KEY_TYPE_ECDSA, spki) == int.from_bytes(
        hashlib.sha256(spki).digest()[:4], "big"
    )


def _b64(key_type: int, key: bytes) -> str:
    return base64.b64encode(bytes([key_type]) + key).decode()


def _vkey(name: str = "example.com/k", public: bytes = bytes(range(32)), key_id: int | None = None) -> str:
    kid = compute_key_id(name, KEY_TYPE_ED25519, public) if key_id is None else key_id
    return f"{name}+{kid:08x}+{_b64(1, public)}"


def test_verifier_key_round_trip() -> None:
    key = parse_verifier_key(_vkey())
    assert (key.name, key.key_type, key.public_key) == ("example.com/k", KEY_TYPE_ED25519, bytes(range(32)))
    assert key.to_vkey() == _vkey()


@pytest.mark.parametrize(
    ("case", "vkey"),
    [
        ("wrong key id", _vkey(key_id=0x12345678)),
        ("two fields", "example.com/k+AAAA"),
        ("seven hex digits", f"example.com/k+1234567+{_b64(1, bytes(32))}"),
        ("short Ed25519 key", _vkey(public=bytes(31))),
        ("unknown type", f"k+00000000+{_b64(4, bytes(32))}"),
        ("empty name", _vkey(name="")),
        ("space in name", _vkey(name="a b")),
    ],
)
def test_bad_verifier_keys_are_refused(case: str, vkey: str) -> None:
    with pytest.raises(FormatError) as info:
        parse_verifier_key(vkey)
    assert info.value.code == "log.key_invalid", case


def test_signer_key_parses_and_never_shows_the_secret() -> None:
    seed = bytes(range(100, 132))
    text = f"PRIVATE+KEY+example.com/k+0a0b0c0d+{_b64(1, seed)}\n"
    key = parse_signer_key(text)
    assert (key.name, key.key_id, key.private_key) == ("example.com/k", 0x0A0B0C0D, seed)
    assert key.to_string() == text.strip()
    assert seed.hex() not in repr(key)
    assert base64.b64encode(seed).decode()[:20] not in repr(key)
    with pytest.raises(FormatError) as info:
        parse_signer_key(text.replace("PRIVATE+KEY", "PUBLIC+KEY"))
    assert info.value.code == "log.key_invalid"
    with pytest.raises(FormatError) as info:
        parse_signer_key(f"PRIVATE+KEY+k+0a0b0c0d+{_b64(1, seed[:16])}")
    assert seed[:16].hex() not in str(info.value)
