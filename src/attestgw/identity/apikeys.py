"""Static API keys for machine clients, hashed at rest (an option; OIDC is the default path).

Token format: ``agw_<id>_<secret>`` — ``id`` is 8–32 characters of ``[a-z0-9]`` (public, names the
record), ``secret`` is 32 random bytes as unpadded base64url (43 characters, may contain ``_``).
:func:`mint_api_key` returns the token exactly once, with the record to store.

At rest (a JSON or TOML file, :func:`load_api_keys`): per key ``id``, ``kdf = "scrypt"`` with its
``n``, ``r``, ``p`` (RFC 7914; ``n`` a power of two ≥ 2^14, ``r`` ≥ 8), a 16-byte random ``salt`` and
the 32-byte derived ``hash`` (both hex), ``subject``, ``tenant``, ``roles``, ``scopes`` and ``revoked``.
The secret itself is never stored. A bad file is ``config.api_keys_invalid``.

:class:`ApiKeyAuthenticator` checks, in order: Bearer credential present; token well-formed; ``id``
known and not revoked; scrypt(secret) equals the stored hash (``hmac.compare_digest``). Every failure
after the Bearer parse is ``auth.api_key_invalid`` with one message, so the answer does not tell an
unknown id from a revoked key or a wrong secret. The key derivation runs in a worker thread (at most
:data:`MAX_CONCURRENT_KDF` at once) so the event loop never blocks; successful checks are remembered
for :data:`VERIFIED_TTL_S` under an HMAC of the token with a per-process random key (never the token
itself), and every hit re-checks that the record still exists and is not revoked.

Not checked: expiry (API keys do not expire; revoke them), and anything about the caller beyond
possession of the secret. An id is not secret: a caller who knows one can make the gateway run the
KDF, which the concurrency bound and the gateway's rate limits contain.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import tomllib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attestgw.errors import AuthenticationError, ConfigError
from attestgw.identity.principal import Principal
from attestgw.identity.token import bearer_token

__all__ = [
    "API_KEY_PREFIX",
    "MAX_CONCURRENT_KDF",
    "VERIFIED_TTL_S",
    "ApiKeyAuthenticator",
    "ApiKeyRecord",
    "MintedApiKey",
    "dump_api_keys",
    "load_api_keys",
    "mint_api_key",
]

API_KEY_PREFIX = "agw_"
MAX_CONCURRENT_KDF = 2
VERIFIED_TTL_S = 300.0
APIKEY_ISSUER = "apikey"
_TOKEN = re.compile(r"agw_([a-z0-9]{8,32})_([A-Za-z0-9_-]{43})")
_ID = re.compile(r"[a-z0-9]{8,32}")
_MIN_N, _MAX_N = 1 << 14, 1 << 20
_DEFAULT_N = 1 << 15
_SALT_BYTES, _HASH_BYTES, _SECRET_BYTES = 16, 32, 32
_MAX_VERIFIED = 10_000
_RECORD_FIELDS = frozenset(
    {"id", "kdf", "n", "r", "p", "salt", "hash", "subject", "tenant", "roles", "scopes", "revoked"}
)


def _invalid_file(message: str) -> ConfigError:
    return ConfigError("config.api_keys_invalid", message)


def _refused() -> AuthenticationError:
    return AuthenticationError("auth.api_key_invalid", "the API key is unknown, revoked or wrong")


def _scrypt(secret: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, maxmem=256 * r * n * p, dklen=_HASH_BYTES)


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """One stored API key: who it stands for, and the scrypt hash of its secret (never the secret)."""

    key_id: str
    salt: bytes
    hash: bytes
    subject: str
    tenant: str | None = None
    roles: tuple[str, ...] = ()
    scopes: frozenset[str] = field(default_factory=frozenset)
    revoked: bool = False
    n: int = _DEFAULT_N
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.key_id, str) or not _ID.fullmatch(self.key_id):
            raise _invalid_file("an API key id must be 8-32 characters of [a-z0-9]")
        where = f"API key {self.key_id}"
        if not isinstance(self.n, int) or self.n & (self.n - 1) or not _MIN_N <= self.n <= _MAX_N:
            raise _invalid_file(f"{where}: scrypt n must be a power of two in 2^14..2^20")
        if (
            not isinstance(self.r, int)
            or not 8 <= self.r <= 32
            or not isinstance(self.p, int)
            or not 1 <= self.p <= 16
        ):
            raise _invalid_file(f"{where}: scrypt r must be 8..32 and p 1..16")
        if len(self.salt) != _SALT_BYTES or len(self.hash) != _HASH_BYTES:
            raise _invalid_file(f"{where}: salt must be {_SALT_BYTES} bytes and hash {_HASH_BYTES} bytes")
        if not isinstance(self.subject, str) or not self.subject:
            raise _invalid_file(f"{where}: subject must be a non-empty string")
        if self.tenant is not None and (not isinstance(self.tenant, str) or not self.tenant):
            raise _invalid_file(f"{where}: tenant must be a non-empty string when given")
        for name, values in (("roles", self.roles), ("scopes", self.scopes)):
            if not all(isinstance(v, str) and v for v in values):
                raise _invalid_file(f"{where}: {name} must be non-empty strings")
        if not isinstance(self.revoked, bool):
            raise _invalid_file(f"{where}: revoked must be true or false")

    def __repr__(self) -> str:
        return f"ApiKeyRecord(key_id={self.key_id!r}, revoked={self.revoked})"

    def matches(self, secret: bytes) -> bool:
        """Whether ``secret`` derives to the stored hash (constant-time comparison). Slow by design."""
        return hmac.compare_digest(_scrypt(secret, self.salt, self.n, self.r, self.p), self.hash)

    def principal(self) -> Principal:
        return Principal(
            subject=self.subject,
            issuer=APIKEY_ISSUER,
            tenant=self.tenant,
            roles=self.roles,
            scopes=self.scopes,
            token_id=self.key_id,
        )

    def to_mapping(self) -> dict[str, Any]:
        """The record as stored (JSON / TOML shape)."""
        data: dict[str, Any] = {
            "id": self.key_id,
            "kdf": "scrypt",
            "n": self.n,
            "r": self.r,
            "p": self.p,
            "salt": self.salt.hex(),
            "hash": self.hash.hex(),
            "subject": self.subject,
            "roles": list(self.roles),
            "scopes": sorted(self.scopes),
            "revoked": self.revoked,
        }
        if self.tenant is not None:
            data["tenant"] = self.tenant
        return data

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ApiKeyRecord:
        if not isinstance(data, Mapping):
            raise _invalid_file("each API key must be a table / object")
        unknown = sorted(str(k) for k in set(data) - _RECORD_FIELDS)
        if unknown:
            raise _invalid_file(f"unknown API key field(s) {', '.join(unknown)}")
        if data.get("kdf") != "scrypt":
            raise _invalid_file("kdf must be 'scrypt'")
        try:
            salt, digest = bytes.fromhex(data["salt"]), bytes.fromhex(data["hash"])
        except (KeyError, TypeError, ValueError) as exc:
            raise _invalid_file("salt and hash must be hex strings") from exc
        roles, scopes = data.get("roles", []), data.get("scopes", [])
        if not isinstance(roles, list) or not isinstance(scopes, list):
            raise _invalid_file("roles and scopes must be lists")
        return cls(
            key_id=data.get("id"),  # type: ignore[arg-type]  # validated in __post_init__
            salt=salt,
            hash=digest,
            subject=data.get("subject"),  # type: ignore[arg-type]
            tenant=data.get("tenant"),
            roles=tuple(roles),
            scopes=frozenset(scopes),
            revoked=data.get("revoked", False),
            n=data.get("n", 0),
            r=data.get("r", 0),
            p=data.get("p", 0),
        )


@dataclass(frozen=True, slots=True)
class MintedApiKey:
    """A new key: ``token`` (give it to the client, once) and ``record`` (store it)."""

    token: str = field(repr=False)
    record: ApiKeyRecord


def mint_api_key(
    subject: str | None = None,
    *,
    tenant: str | None = None,
    roles: Iterable[str] = (),
    scopes: Iterable[str] = (),
    key_id: str | None = None,
    n: int = _DEFAULT_N,
) -> MintedApiKey:
    """A fresh random key; ``subject`` defaults to ``apikey:<id>``. The secret exists only in ``token``."""
    key_id = key_id if key_id is not None else secrets.token_hex(8)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(_SECRET_BYTES)).rstrip(b"=").decode("ascii")
    salt = secrets.token_bytes(_SALT_BYTES)
    record = ApiKeyRecord(
        key_id=key_id,
        salt=salt,
        hash=_scrypt(secret.encode("ascii"), salt, n, 8, 1) if _MIN_N <= n <= _MAX_N else b"",
        subject=subject if subject is not None else f"apikey:{key_id}",
        tenant=tenant,
        roles=tuple(roles),
        scopes=frozenset(scopes),
        n=n,
    )
    return MintedApiKey(token=f"{API_KEY_PREFIX}{key_id}_{secret}", record=record)


def dump_api_keys(records: Iterable[ApiKeyRecord]) -> str:
    """The JSON file :func:`load_api_keys` reads (no secrets in it: hashes and salts only)."""
    return json.dumps({"version": 1, "keys": [r.to_mapping() for r in records]}, indent=2) + "\n"


def load_api_keys(path: Path) -> tuple[ApiKeyRecord, ...]:
    """Read and validate an API key file (``.toml``: ``[[keys]]`` tables; otherwise JSON)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise _invalid_file(f"cannot read the API key file {path} ({exc.strerror})") from exc
    try:
        document = tomllib.loads(raw.decode("utf-8")) if Path(path).suffix == ".toml" else json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _invalid_file(f"the API key file {path} does not parse ({type(exc).__name__})") from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise _invalid_file("the API key file must hold a keys list")
    if document.get("version", 1) != 1:
        raise _invalid_file("the API key file version must be 1")
    records = tuple(ApiKeyRecord.from_mapping(entry) for entry in document["keys"])
    ids = [record.key_id for record in records]
    if len(set(ids)) != len(ids):
        raise _invalid_file("an API key id appears twice")
    return records


class ApiKeyAuthenticator:
    """Authenticate ``Authorization: Bearer agw_…`` against stored records (see the module docstring).

    ``records`` is the key set; :meth:`replace` swaps it (after revoking, say) and forgets every
    remembered verification. ``monotonic`` drives the verified-token memory (injectable for tests).
    """

    def __init__(
        self, records: Iterable[ApiKeyRecord], *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._monotonic = monotonic
        self._memory_key = secrets.token_bytes(32)
        self._verified: OrderedDict[bytes, tuple[str, float]] = OrderedDict()
        self._kdf_slots: asyncio.Semaphore | None = None
        self._records: dict[str, ApiKeyRecord] = {}
        self.replace(records)

    @classmethod
    def from_file(cls, path: Path) -> ApiKeyAuthenticator:
        return cls(load_api_keys(path))

    def __repr__(self) -> str:
        return f"ApiKeyAuthenticator(keys={len(self._records)})"

    def replace(self, records: Iterable[ApiKeyRecord]) -> None:
        """Use this key set from now on; forget remembered verifications."""
        by_id: dict[str, ApiKeyRecord] = {}
        for record in records:
            if record.key_id in by_id:
                raise _invalid_file("an API key id appears twice")
            by_id[record.key_id] = record
        self._records = by_id
        self._verified.clear()

    async def authenticate(self, authorization: str | None) -> Principal:
        return await self.verify_token(bearer_token(authorization))

    async def verify_token(self, token: str) -> Principal:
        """The principal of a bare ``agw_…`` token; ``auth.api_key_invalid`` otherwise."""
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise AuthenticationError("auth.api_key_invalid", "the API key is malformed")
        key_id, secret = match.group(1), match.group(2).encode("ascii")
        record = self._records.get(key_id)
        if record is None or record.revoked:
            raise _refused()
        fingerprint = hmac.new(self._memory_key, token.encode("ascii"), hashlib.sha256).digest()
        remembered = self._verified.get(fingerprint)
        now = self._monotonic()
        if remembered is not None and remembered[0] == key_id and now < remembered[1]:
            return record.principal()
        if self._kdf_slots is None:
            self._kdf_slots = asyncio.Semaphore(MAX_CONCURRENT_KDF)
        async with self._kdf_slots:
            ok = await asyncio.to_thread(record.matches, secret)
        if not ok or self._records.get(key_id) is not record:  # replaced while hashing
            raise _refused()
        self._verified[fingerprint] = (key_id, self._monotonic() + VERIFIED_TTL_S)
        while len(self._verified) > _MAX_VERIFIED:
            self._verified.popitem(last=False)
        return record.principal()
