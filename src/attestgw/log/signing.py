"""Sign and verify C2SP signed notes and tlog checkpoints with the log's keys (layer L4).

The log signs checkpoints with Ed25519 (signed-note type 0x01). Verifiers also accept ECDSA P-256
(type 0x02) keys so that Rekor checkpoints can be checked the same way.

Verification rules (c2sp.org/signed-note §Signatures), numbered as in :func:`verify_note`:

1. the note must parse (size and signature-count caps, strict framing) — ``FormatError``;
2. a signature whose (key name, key id) pair is not a known key is ignored, even if the name or the
   id alone matches one (witness cosignatures and rotated keys live there);
3. a signature from a known key that does not verify rejects the whole note
   (``log.signature_invalid``) — the spec says SHOULD, attestgw always does;
4. at least one known key must have signed (``log.unknown_key``).

:func:`verify_checkpoint` then parses the verified text as a checkpoint and requires the expected
origin (``log.origin_mismatch``). Not checked here: consistency with checkpoints seen earlier (use
:func:`attestgw.merkle.verify_consistency`), witness quorums, or cosignature timestamps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from attestgw.crypto import note_keys
from attestgw.errors import FormatError, VerificationError
from attestgw.merkle.checkpoint import Checkpoint, parse_checkpoint
from attestgw.merkle.note import (
    KEY_TYPE_ECDSA,
    KEY_TYPE_ED25519,
    Note,
    NoteSignature,
    SignerKey,
    VerifierKey,
    compute_key_id,
    format_note,
    parse_note,
    parse_signer_key,
    parse_verifier_key,
)

__all__ = [
    "NoteSigner",
    "NoteVerifier",
    "VerifiedCheckpoint",
    "VerifiedNote",
    "sign_checkpoint",
    "sign_note",
    "verify_checkpoint",
    "verify_note",
]

# Only this module can make Verified* values: they carry this object, and refuse any other.
_VERIFIED = object()


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A trusted public key for notes: key name, key id, type and public key bytes.

    Construction checks the name, the type (Ed25519 or ECDSA P-256), the key length or encoding, and
    that the key id is the recommended one for that key (``log.key_invalid``), whichever constructor
    is used.
    """

    name: str
    key_id: int
    key_type: int
    public_key: bytes

    def __post_init__(self) -> None:
        parse_verifier_key(self.vkey)  # one set of checks for every way of making a verifier
        if self.key_type == KEY_TYPE_ECDSA:
            note_keys.ecdsa_p256_check_public_key(self.public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """From ``<name>+<hex8 key id>+<base64(type ‖ key)>``; the key id must match the key."""
        key = parse_verifier_key(vkey.strip())
        return cls(key.name, key.key_id, key.key_type, key.public_key)

    @classmethod
    def ed25519(cls, name: str, public_key: bytes) -> NoteVerifier:
        """An Ed25519 verifier with the recommended key id."""
        return cls(name, compute_key_id(name, KEY_TYPE_ED25519, public_key), KEY_TYPE_ED25519, public_key)

    @classmethod
    def ecdsa_p256_pem(cls, name: str, pem: bytes) -> NoteVerifier:
        """An ECDSA P-256 verifier from a PEM public key; key id = SHA-256(SPKI DER)[:4] (Rekor's)."""
        spki = note_keys.ecdsa_p256_spki_from_pem(pem)
        return cls(name, compute_key_id(name, KEY_TYPE_ECDSA, spki), KEY_TYPE_ECDSA, spki)

    def __repr__(self) -> str:
        return f"NoteVerifier({self.vkey!r})"

    @property
    def vkey(self) -> str:
        """The verifier key string to publish and pin."""
        return VerifierKey(self.name, self.key_id, self.key_type, self.public_key).to_vkey()

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True iff ``signature`` (without the key id) is this key's signature over ``message``."""
        if self.key_type == KEY_TYPE_ED25519:
            return note_keys.ed25519_verify(self.public_key, message, signature)
        return note_keys.ecdsa_p256_verify(self.public_key, message, signature)


@dataclass(frozen=True, slots=True, eq=False)
class NoteSigner:
    """An Ed25519 note signing key. ``repr`` shows the name and key id only, never the seed.

    ``eq=False``: comparing signers would compare secrets, and nothing needs it.
    """

    name: str
    key_id: int
    public_key: bytes
    seed: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"NoteSigner(name={self.name!r}, key_id={self.key_id:08x})"

    def __post_init__(self) -> None:
        # The four fields must describe one key: a mismatch would sign under the wrong key id.
        if note_keys.ed25519_public_key(self.seed) != self.public_key:
            raise FormatError("log.key_invalid", "public key does not belong to the seed")
        _ = self.verifier  # checks the name, and the key id against name and key

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> NoteSigner:
        """From a 32-byte Ed25519 seed; the key id is derived (signed-note §Ed25519 signatures)."""
        public_key = note_keys.ed25519_public_key(seed)
        return cls(name, compute_key_id(name, KEY_TYPE_ED25519, public_key), public_key, seed)

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        """A fresh key from the OS CSPRNG."""
        return cls.from_seed(name, note_keys.ed25519_generate_seed())

    @classmethod
    def from_signer_key(cls, text: str) -> NoteSigner:
        """From ``PRIVATE+KEY+<name>+<hex8>+<base64(0x01 ‖ seed)>``; the key id must match the key."""
        key = parse_signer_key(text)
        return cls(key.name, key.key_id, note_keys.ed25519_public_key(key.private_key), key.private_key)

    @property
    def signer_key(self) -> str:
        """The ``PRIVATE+KEY+…`` string (a secret: store it with file mode 0600 or in a token)."""
        return SignerKey(self.name, self.key_id, KEY_TYPE_ED25519, self.seed).to_string()

    @property
    def verifier(self) -> NoteVerifier:
        """The matching public verifier."""
        return NoteVerifier(self.name, self.key_id, KEY_TYPE_ED25519, self.public_key)

    def sign(self, text: str) -> NoteSignature:
        """The signature line value for note ``text`` (which must end with a newline)."""
        return NoteSignature(self.name, self.key_id, note_keys.ed25519_sign(self.seed, text.encode("utf-8")))


@dataclass(frozen=True, slots=True)
class VerifiedNote:
    """A note text that at least one trusted key signed; ``signers`` lists the keys that did."""

    text: str
    signers: tuple[NoteVerifier, ...]
    _token: object = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._token is not _VERIFIED:
            raise TypeError("VerifiedNote can only be made by attestgw.log.signing.verify_note")


@dataclass(frozen=True, slots=True)
class VerifiedCheckpoint:
    """A checkpoint of the expected log, signed by at least one trusted key."""

    checkpoint: Checkpoint
    signers: tuple[NoteVerifier, ...]
    _token: object = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._token is not _VERIFIED:
            raise TypeError("VerifiedCheckpoint can only be made by attestgw.log.signing.verify_checkpoint")


def sign_note(text: str, signers: Sequence[NoteSigner]) -> bytes:
    """A signed note over ``text`` with one signature line per signer, in the order given."""
    return format_note(Note(text, tuple(s.sign(text) for s in signers)))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> bytes:
    """The signed checkpoint note. The key name should equal the origin (tlog-checkpoint)."""
    return sign_note(checkpoint.to_text(), [signer])


def verify_note(data: bytes, verifiers: Iterable[NoteVerifier]) -> VerifiedNote:
    """Verify a signed note against the trusted ``verifiers`` (rules 1-4 in the module docstring)."""
    # 1. Parse (size and signature-count caps apply before any signature work).
    note: Note = parse_note(data)
    known: dict[tuple[str, int], list[NoteVerifier]] = {}
    for v in verifiers:
        known.setdefault((v.name, v.key_id), []).append(v)
    message = note.message
    signers: list[NoteVerifier] = []
    for sig in note.signatures:
        # 2. Unknown (name, key id) pairs are ignored.
        candidates = known.get((sig.name, sig.key_id))
        if not candidates:
            continue
        # 3. A known key's signature must verify, or the whole note is rejected.
        good = next((v for v in candidates if v.verify(message, sig.signature)), None)
        if good is None:
            raise VerificationError(
                "log.signature_invalid", f"signature by {sig.name}+{sig.key_id:08x} does not verify"
            )
        if good not in signers:
            signers.append(good)
    # 4. At least one trusted key must vouch for the text.
    if not signers:
        names = ", ".join(f"{s.name}+{s.key_id:08x}" for s in note.signatures[:8])
        raise VerificationError("log.unknown_key", f"no signature from a trusted key (signed by: {names})")
    return VerifiedNote(note.text, tuple(signers), _VERIFIED)


def verify_checkpoint(data: bytes, verifiers: Iterable[NoteVerifier], *, origin: str) -> VerifiedCheckpoint:
    """Verify a signed checkpoint of the log named ``origin``.

    The note's signatures are checked before its text is parsed as a checkpoint: an unsigned text is
    never interpreted.
    """
    verified = verify_note(data, verifiers)
    checkpoint = parse_checkpoint(verified.text)
    if checkpoint.origin != origin:
        raise VerificationError(
            "log.origin_mismatch", f"checkpoint origin is {checkpoint.origin[:120]!r}, want {origin!r}"
        )
    return VerifiedCheckpoint(checkpoint, verified.signers, _VERIFIED)
