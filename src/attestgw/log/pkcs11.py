"""The log key on a PKCS#11 token (an HSM in production, SoftHSM in tests): Ed25519 with CKM_EDDSA.

The key is named by an RFC 7512-style URI::

    pkcs11:token=<token label>;object=<key label>?module-path=<library .so>&pin-source=env:<VARIABLE>

Values are percent-decoded; ``type=private`` may be given and nothing else. The user PIN is read from
the environment variable named by ``pin-source`` when the token is opened, used to log in, and not kept;
it never appears in a message or ``repr`` (``pin-source=env:`` is this project's extension: RFC 7512
§2.4 leaves the PIN source scheme open, and a file would put the PIN on disk).

:meth:`Pkcs11Signer.generate` makes the key pair *on the token*: the private key is ``CKA_TOKEN``,
``CKA_PRIVATE``, ``CKA_SENSITIVE`` and not ``CKA_EXTRACTABLE``, so it never leaves it; only the public key
is read, and published as the signed-note verifier key (:attr:`Pkcs11Signer.verifier`,
``<origin>+<key id>+<base64(0x01 ‖ key)>``, what ``audit verify --log-key`` takes).

:meth:`Pkcs11Signer.open` checks, in order:

1. the URI is well-formed (``log.key_invalid``); the PIN variable is set; the module loads; exactly one
   token has the label; the PIN logs in; exactly one private and one public key carry the label
   (each failure ``log.signer_unavailable``, naming what failed but never the PIN);
2. the key is Ed25519 (``CKA_EC_PARAMS`` = id-Ed25519 or ``edwards25519``), the private key is
   sensitive and not extractable, and a test signature verifies under the public key read from the
   token (``log.key_invalid``).

Every signature is verified under that public key before it is returned, so a faulty token cannot
publish a checkpoint nobody can verify. Not checked: the token's own access control; that other
applications cannot use the key (give the log its own token and PIN); and, within one process, the
PIN of a second signer opened while another session is logged in (PKCS#11 login state is per
application, so the token does not check it again).
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import PinIncorrect, PKCS11Error, UserAlreadyLoggedIn

from attestgw.errors import FormatError, ServiceUnavailableError
from attestgw.log.signing import NoteVerifier
from attestgw.merkle.note import NoteSignature

__all__ = ["Pkcs11KeyRef", "Pkcs11Signer"]

_ED25519_PARAMS = (
    bytes.fromhex("06032b6570"),  # OBJECT IDENTIFIER id-Ed25519 (RFC 8410)
    b"\x13\x0cedwards25519",  # PrintableString form (PKCS#11 3.0 §2.3.5)
)
_SELF_TEST = b"attestgw log key self-test\n"


def _invalid(message: str) -> FormatError:
    return FormatError("log.key_invalid", message)


def _unavailable(message: str) -> ServiceUnavailableError:
    return ServiceUnavailableError("log.signer_unavailable", message)


@dataclass(frozen=True, slots=True)
class Pkcs11KeyRef:
    """Where the log key is: library, token label, key label, and the variable holding the PIN."""

    module: str
    token: str
    key: str
    pin_env: str

    @classmethod
    def parse(cls, uri: str) -> Pkcs11KeyRef:
        """From the ``pkcs11:`` URI of the module docstring; ``log.key_invalid`` when malformed."""
        if not uri.startswith("pkcs11:"):
            raise _invalid("a PKCS#11 key reference starts with 'pkcs11:'")
        path, _, query = uri[len("pkcs11:") :].partition("?")
        attrs: dict[str, str] = {}
        for part in [p for p in path.split(";") if p] + [q for q in query.split("&") if q]:
            name, eq, value = part.partition("=")
            if not eq or name in attrs:
                raise _invalid(f"PKCS#11 URI attribute {name[:32]!r} is malformed or repeated")
            attrs[name] = unquote(value, errors="strict")
        allowed = {"token", "object", "type", "module-path", "pin-source"}
        unknown = sorted(set(attrs) - allowed)
        if unknown:
            raise _invalid(f"PKCS#11 URI attribute {unknown[0][:32]!r} is not supported")
        if attrs.get("type", "private") != "private":
            raise _invalid("the PKCS#11 URI must name the private key (type=private)")
        missing = [name for name in ("token", "object", "module-path", "pin-source") if not attrs.get(name)]
        if missing:
            raise _invalid(f"the PKCS#11 URI lacks {missing[0]}")
        source = attrs["pin-source"]
        if not source.startswith("env:") or not source[4:]:
            raise _invalid("pin-source must be env:<VARIABLE> (the PIN is never written in the URI)")
        return cls(attrs["module-path"], attrs["token"], attrs["object"], source[4:])

    @property
    def uri(self) -> str:
        def q(value: str) -> str:
            return quote(value, safe="")

        return (
            f"pkcs11:token={q(self.token)};object={q(self.key)};type=private"
            f"?module-path={quote(self.module, safe='/')}&pin-source=env:{q(self.pin_env)}"
        )


def _login(ref: Pkcs11KeyRef, *, rw: bool) -> Any:
    """An open, logged-in session on the token (step 1 of the module docstring)."""
    pin = os.environ.get(ref.pin_env)
    if not pin:
        raise _unavailable(f"the PIN variable {ref.pin_env} is not set")
    try:
        lib = pkcs11.lib(ref.module)
    except (PKCS11Error, OSError, RuntimeError) as exc:
        raise _unavailable(f"cannot load the PKCS#11 module {ref.module}: {type(exc).__name__}") from None
    try:
        token = lib.get_token(token_label=ref.token)
    except PKCS11Error as exc:
        raise _unavailable(f"no single token labelled {ref.token!r}: {type(exc).__name__}") from None
    try:
        return token.open(rw=rw, user_pin=pin)
    except UserAlreadyLoggedIn:
        # PKCS#11 login state is per application: another session of this process logged in
        # (with the PIN) and this one shares that login; the token does not re-check a PIN then.
        try:
            return token.open(rw=rw)
        except PKCS11Error as exc:
            raise _unavailable(f"cannot open token {ref.token!r}: {type(exc).__name__}") from None
    except PinIncorrect:
        raise _unavailable(f"token {ref.token!r} refused the PIN from {ref.pin_env}") from None
    except PKCS11Error as exc:
        raise _unavailable(f"cannot log in to token {ref.token!r}: {type(exc).__name__}") from None


def _public_key(ref: Pkcs11KeyRef, public: Any, private: Any) -> bytes:
    """The raw 32-byte Ed25519 public key, after the checks of step 2."""
    try:
        params = bytes(private[Attribute.EC_PARAMS])
        point = bytes(public[Attribute.EC_POINT])
        sensitive, extractable = private[Attribute.SENSITIVE], private[Attribute.EXTRACTABLE]
    except PKCS11Error as exc:
        raise _unavailable(f"cannot read the attributes of {ref.key!r}: {type(exc).__name__}") from None
    if params not in _ED25519_PARAMS:
        raise _invalid(f"the key {ref.key!r} is not an Ed25519 key (EC_PARAMS {params.hex()[:40]})")
    if not sensitive or extractable:
        raise _invalid(f"the private key {ref.key!r} can leave the token (want sensitive, not extractable)")
    if len(point) == 34 and point[:2] == b"\x04\x20":  # DER OCTET STRING, as PKCS#11 2.40 has it
        point = point[2:]
    if len(point) != 32:
        raise _invalid(f"the public key {ref.key!r} is {len(point)} bytes, want 32 (Ed25519)")
    return point


class Pkcs11Signer:
    """A :class:`~attestgw.log.keys.CheckpointSigner` whose Ed25519 key stays on a PKCS#11 token.

    ``repr`` shows the key name, key id and token label. Thread-safe (one session, under a lock).
    Call :meth:`close` (or use ``with``) to end the session.
    """

    def __init__(self, ref: Pkcs11KeyRef, name: str, session: Any, private: Any, public_key: bytes) -> None:
        self._ref = ref
        self._session = session
        self._private = private
        self._lock = threading.Lock()
        self._verifier = NoteVerifier.ed25519(name, public_key)  # checks the key name
        if not self._verifier.verify(_SELF_TEST, self._sign(_SELF_TEST)):
            raise _invalid(f"the public and private keys labelled {ref.key!r} do not belong together")

    @classmethod
    def open(cls, ref: Pkcs11KeyRef | str, name: str) -> Pkcs11Signer:
        """The key ``ref`` on its token, signing as key name ``name`` (the log's origin)."""
        ref = Pkcs11KeyRef.parse(ref) if isinstance(ref, str) else ref
        session = _login(ref, rw=False)
        try:
            try:
                private = session.get_key(ObjectClass.PRIVATE_KEY, KeyType.EC_EDWARDS, label=ref.key)
                public = session.get_key(ObjectClass.PUBLIC_KEY, KeyType.EC_EDWARDS, label=ref.key)
            except PKCS11Error as exc:
                raise _unavailable(
                    f"no single Ed25519 key pair labelled {ref.key!r} on token {ref.token!r}: "
                    f"{type(exc).__name__}"
                ) from None
            return cls(ref, name, session, private, _public_key(ref, public, private))
        except BaseException:
            session.close()
            raise

    @classmethod
    def generate(cls, ref: Pkcs11KeyRef | str, name: str) -> Pkcs11Signer:
        """Make a new Ed25519 key pair on the token (module docstring); refuses an existing label."""
        ref = Pkcs11KeyRef.parse(ref) if isinstance(ref, str) else ref
        session = _login(ref, rw=True)
        try:
            if list(session.get_objects({Attribute.LABEL: ref.key})):
                raise _invalid(f"token {ref.token!r} already holds an object labelled {ref.key!r}")
            params = session.create_domain_parameters(
                KeyType.EC_EDWARDS, {Attribute.EC_PARAMS: _ED25519_PARAMS[0]}, local=True
            )
            params.generate_keypair(
                store=True,
                label=ref.key,
                mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
                public_template={Attribute.VERIFY: True, Attribute.PRIVATE: False},
                private_template={
                    Attribute.SIGN: True,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                },
            )
        except PKCS11Error as exc:
            raise _unavailable(f"cannot make a key on token {ref.token!r}: {type(exc).__name__}") from None
        finally:
            session.close()
        return cls.open(ref, name)

    def __repr__(self) -> str:
        key_id = f"{self._verifier.key_id:08x}"
        return f"Pkcs11Signer(name={self.name!r}, key_id={key_id}, token={self._ref.token!r})"

    @property
    def name(self) -> str:
        return self._verifier.name

    @property
    def verifier(self) -> NoteVerifier:
        """The public verifier key (read from the token) to publish and pin."""
        return self._verifier

    def _sign(self, message: bytes) -> bytes:
        with self._lock:
            try:
                return bytes(self._private.sign(message, mechanism=Mechanism.EDDSA))
            except PKCS11Error as exc:
                raise _unavailable(f"token {self._ref.token!r} did not sign: {type(exc).__name__}") from None

    def sign(self, text: str) -> NoteSignature:
        """The signature line value for note ``text``, verified before it is returned."""
        message = text.encode("utf-8")
        signature = self._sign(message)
        if not self._verifier.verify(message, signature):
            raise _unavailable(f"token {self._ref.token!r} returned a signature that does not verify")
        return NoteSignature(self.name, self._verifier.key_id, signature)

    def close(self) -> None:
        with self._lock, contextlib.suppress(PKCS11Error):  # already closed, or the token is gone
            self._session.close()

    def __enter__(self) -> Pkcs11Signer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
