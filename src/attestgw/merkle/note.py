"""C2SP signed notes (c2sp.org/signed-note): parse and serialize, and the key strings that name keys.

A signed note is UTF-8 text ending in a newline, one blank line, then one or more signature lines
``— <key name> <base64(key id[4] ‖ signature)>``. The text is everything up to and including the
newline before the *last* blank line. This module only handles the format (layer L1, no crypto
library): :mod:`attestgw.log.signing` verifies and makes signatures.

What :func:`parse_note` checks: size ≤ :data:`MAX_NOTE_BYTES`; strict UTF-8; no ASCII control
character other than ``\\n``; text ends in ``\\n``; 1 to :data:`MAX_SIGNATURES` signature lines; key
names non-empty without Unicode spaces or ``+``; signatures canonical standard base64 of more than
4 bytes. What it does **not** check: any signature, or what the text says. A parsed note is
untrusted until :func:`attestgw.log.signing.verify_note` accepts it.

Key strings, in the format of golang.org/x/mod/sumdb/note that C2SP follows:

- verifier key (vkey): ``<name>+<hex8 key id>+<base64(type ‖ public key)>``;
- signer key: ``PRIVATE+KEY+<name>+<hex8 key id>+<base64(type ‖ private key)>`` (a secret: its
  dataclass never shows the key in ``repr``).

Key ids are the first 4 bytes, big-endian, of ``SHA-256(name ‖ 0x0A ‖ type ‖ public key)`` for
Ed25519 (type 0x01) and of ``SHA-256(SPKI DER)`` for ECDSA (type 0x02), per the signed-note spec.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field

from attestgw.errors import FormatError

__all__ = [
    "KEY_TYPE_ECDSA",
    "KEY_TYPE_ED25519",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "Note",
    "NoteSignature",
    "SignerKey",
    "VerifierKey",
    "compute_key_id",
    "format_note",
    "parse_note",
    "parse_signer_key",
    "parse_verifier_key",
]

#: Signature type bytes from the signed-note spec that attestgw handles.
KEY_TYPE_ED25519 = 0x01
KEY_TYPE_ECDSA = 0x02  # verification only (Rekor and transparency-dev witnesses)
_KNOWN_TYPES = (KEY_TYPE_ED25519, KEY_TYPE_ECDSA)

#: The spec requires accepting at least 16 signatures and advises a cap. 16 post-quantum signatures
#: are ~110 kB of base64; 256 KiB leaves room without letting one note exhaust memory.
MAX_NOTE_BYTES = 256 * 1024
MAX_SIGNATURES = 64

_SIG_PREFIX = "— "  # em dash U+2014, space
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: key name, 32-bit key id, and the signature bytes after the key id."""

    name: str
    key_id: int
    signature: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name, "log.note_malformed")
        if not 0 <= self.key_id <= 0xFFFFFFFF:
            raise FormatError("log.note_malformed", f"key id {self.key_id} is not a uint32")
        if not self.signature:
            raise FormatError("log.note_malformed", f"signature by {self.name!r} is empty")

    def to_line(self) -> str:
        """``— <name> <base64(key id ‖ signature)>\\n``."""
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_SIG_PREFIX}{self.name} {base64.b64encode(blob).decode('ascii')}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A parsed (unverified) signed note: ``text`` includes its final newline."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def __post_init__(self) -> None:
        _check_text(self.text)
        if not 1 <= len(self.signatures) <= MAX_SIGNATURES:
            raise FormatError(
                "log.note_malformed" if not self.signatures else "log.note_too_large",
                f"a note needs 1 to {MAX_SIGNATURES} signatures, got {len(self.signatures)}",
            )

    @property
    def message(self) -> bytes:
        """The signed message: the UTF-8 text including its final newline."""
        return self.text.encode("utf-8")


def _check_key_name(name: str, code: str) -> None:
    if not name or "+" in name or any(ch.isspace() for ch in name) or _CONTROL.search(name):
        raise FormatError(code, f"key name {name[:80]!r} is empty or has a space, '+' or control character")


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise FormatError("log.note_malformed", "note text does not end with a newline")
    if _CONTROL.search(text):
        raise FormatError("log.note_malformed", "note text contains an ASCII control character")


def _b64decode_canonical(value: str, code: str, what: str) -> bytes:
    # Standard alphabet with padding, and only the one canonical spelling: otherwise the same
    # signature could be written several ways and notes would not be byte-comparable.
    try:
        if not _B64.fullmatch(value):
            raise binascii.Error("not standard base64")
        raw = base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise FormatError(code, f"{what} is not valid base64: {exc}") from None
    if base64.b64encode(raw).decode("ascii") != value:
        raise FormatError(code, f"{what} is not canonical base64")
    return raw


def parse_note(data: bytes) -> Note:
    """Parse a signed note (c2sp.org/signed-note §Format). Raises ``FormatError`` only.

    Codes: ``log.note_too_large`` (over :data:`MAX_NOTE_BYTES` or :data:`MAX_SIGNATURES`),
    ``log.note_malformed`` (anything else).
    """
    if len(data) > MAX_NOTE_BYTES:
        raise FormatError("log.note_too_large", f"note is {len(data)} bytes, cap is {MAX_NOTE_BYTES}")
    try:
        whole = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise FormatError("log.note_malformed", f"note is not UTF-8: {exc.reason}") from None
    if _CONTROL.search(whole):
        raise FormatError("log.note_malformed", "note contains an ASCII control character")
    # The text ends at the newline before the last blank line.
    split = whole.rfind("\n\n")
    if split < 0:
        raise FormatError("log.note_malformed", "note has no blank line before its signatures")
    text, block = whole[: split + 1], whole[split + 2 :]
    if not block.endswith("\n"):
        raise FormatError("log.note_malformed", "signature block does not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise FormatError("log.note_too_large", f"note has {len(lines)} signatures, cap is {MAX_SIGNATURES}")
    signatures = []
    for number, line in enumerate(lines, 1):
        if not line.startswith(_SIG_PREFIX):
            raise FormatError("log.note_malformed", f"signature line {number} does not start with '— '")
        name, sep, encoded = line[len(_SIG_PREFIX) :].partition(" ")
        if not sep:
            raise FormatError("log.note_malformed", f"signature line {number} has no signature")
        _check_key_name(name, "log.note_malformed")
        blob = _b64decode_canonical(encoded, "log.note_malformed", f"signature line {number}")
        if len(blob) < 5:
            raise FormatError("log.note_malformed", f"signature line {number} is shorter than 5 bytes")
        signatures.append(NoteSignature(name, int.from_bytes(blob[:4], "big"), blob[4:]))
    return Note(text, tuple(signatures))


def format_note(note: Note) -> bytes:
    """Serialize: text, blank line, signature lines. ``parse_note(format_note(n)) == n``."""
    return (note.text + "\n" + "".join(s.to_line() for s in note.signatures)).encode("utf-8")


# -- key strings -----------------------------------------------------------------------------------


def compute_key_id(name: str, key_type: int, public_key: bytes) -> int:
    """The recommended key id (signed-note §Signatures) as a uint32.

    Ed25519: ``SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]``; ECDSA: ``SHA-256(SPKI DER)[:4]``.
    """
    if key_type == KEY_TYPE_ECDSA:
        digest = hashlib.sha256(public_key).digest()
    else:
        digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([key_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A parsed verifier key: who signs (name, key id) and with what (type, public key bytes).

    For Ed25519 ``public_key`` is the 32-byte RFC 8032 key; for ECDSA the SPKI DER. Parsing checks the
    key id against the key; it does not check that the bytes are a valid curve point.
    """

    name: str
    key_id: int
    key_type: int
    public_key: bytes

    def to_vkey(self) -> str:
        """``<name>+<hex8>+<base64(type ‖ key)>``."""
        blob = base64.b64encode(bytes([self.key_type]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id:08x}+{blob}"


def _split_key_fields(name: str, key_id_hex: str, encoded: str, what: str) -> tuple[int, int, bytes]:
    _check_key_name(name, "log.key_invalid")
    if not _HEX8.fullmatch(key_id_hex):
        raise FormatError("log.key_invalid", f"{what} key id {key_id_hex[:20]!r} is not 8 hex digits")
    blob = _b64decode_canonical(encoded, "log.key_invalid", f"{what} key data")
    if len(blob) < 2 or blob[0] not in _KNOWN_TYPES:
        kind = f"0x{blob[0]:02x}" if blob else "missing"
        raise FormatError("log.key_invalid", f"{what} key type {kind} is not Ed25519 (0x01) or ECDSA (0x02)")
    return int(key_id_hex, 16), blob[0], blob[1:]


def parse_verifier_key(vkey: str) -> VerifierKey:
    """Parse ``<name>+<hex8 key id>+<base64(type ‖ public key)>``; the key id must match the key."""
    # The key data is base64 and may itself contain '+': split off the first two fields only.
    fields = vkey.split("+", 2)
    if len(fields) != 3:
        raise FormatError("log.key_invalid", "a verifier key has three '+'-separated fields")
    key_id, key_type, public_key = _split_key_fields(fields[0], fields[1], fields[2], "verifier")
    if key_type == KEY_TYPE_ED25519 and len(public_key) != 32:
        raise FormatError("log.key_invalid", f"Ed25519 public key is {len(public_key)} bytes, want 32")
    if compute_key_id(fields[0], key_type, public_key) != key_id:
        raise FormatError("log.key_invalid", f"key id {key_id:08x} does not match the key")
    return VerifierKey(fields[0], key_id, key_type, public_key)


@dataclass(frozen=True, slots=True)
class SignerKey:
    """A parsed signer key. ``private_key`` is secret: ``repr`` shows only the name and key id.

    The key id is the one written in the string; :mod:`attestgw.log.signing` checks it against the
    public key it derives.
    """

    name: str
    key_id: int
    key_type: int
    private_key: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"SignerKey(name={self.name!r}, key_id={self.key_id:08x})"

    def to_string(self) -> str:
        """``PRIVATE+KEY+<name>+<hex8>+<base64(type ‖ private key)>`` (keep it secret)."""
        blob = base64.b64encode(bytes([self.key_type]) + self.private_key).decode("ascii")
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{blob}"


def parse_signer_key(text: str) -> SignerKey:
    """Parse ``PRIVATE+KEY+<name>+<hex8 key id>+<base64(0x01 ‖ 32-byte Ed25519 seed)>``.

    Only Ed25519 signer keys are supported (the log signs with Ed25519). Error messages never
    include key material.
    """
    fields = text.strip().split("+", 4)
    if len(fields) != 5 or fields[:2] != ["PRIVATE", "KEY"]:
        raise FormatError("log.key_invalid", "a signer key is 'PRIVATE+KEY+<name>+<key id>+<key data>'")
    key_id, key_type, private_key = _split_key_fields(fields[2], fields[3], fields[4], "signer")
    if key_type != KEY_TYPE_ED25519 or len(private_key) != 32:
        raise FormatError("log.key_invalid", "a signer key must hold a 32-byte Ed25519 seed (type 0x01)")
    return SignerKey(fields[2], key_id, key_type, private_key)
