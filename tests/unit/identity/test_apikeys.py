"""Static API keys: minted once, stored hashed, verified in constant time; and the composite authenticator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from attestgw.errors import AuthenticationError, ConfigError
from attestgw.identity import (
    ApiKeyAuthenticator,
    ApiKeyRecord,
    CompositeAuthenticator,
    OidcAuthenticator,
    Principal,
    dump_api_keys,
    load_api_keys,
    mint_api_key,
)
from attestgw.identity import apikeys as apikeys_module
from tests.unit.identity.issuer import FakeIssuer, config

N = 1 << 14  # the minimum work factor keeps the tests quick

ALICE = mint_api_key("svc-batch", tenant="acme", roles=["batch"], scopes=["infer"], n=N)
BOB = mint_api_key(tenant="globex", n=N)


def authenticate(auth: Any, header: str | None) -> Principal:
    result: Principal = asyncio.run(auth.authenticate(header))
    return result


def refused(auth: Any, header: str | None) -> str:
    with pytest.raises(AuthenticationError) as exc_info:
        authenticate(auth, header)
    return exc_info.value.code


def test_minted_key_authenticates_as_its_record() -> None:
    auth = ApiKeyAuthenticator([ALICE.record, BOB.record])
    principal = authenticate(auth, "Bearer " + ALICE.token)
    assert principal.subject == "svc-batch"
    assert principal.issuer == "apikey"
    assert principal.tenant == "acme"
    assert principal.roles == ("batch",)
    assert principal.scopes == frozenset({"infer"})
    assert principal.token_id == ALICE.record.key_id
    bob = authenticate(auth, "Bearer " + BOB.token)
    assert bob.subject == f"apikey:{BOB.record.key_id}"


def test_token_format() -> None:
    prefix, key_id, secret = ALICE.token.split("_", 2)
    assert prefix == "agw"
    assert key_id == ALICE.record.key_id
    assert len(secret) == 43
    assert ALICE.token not in repr(ALICE)


def test_the_secret_is_not_stored() -> None:
    stored = dump_api_keys([ALICE.record])
    secret = ALICE.token.split("_", 2)[2]
    assert secret not in stored
    assert ALICE.token not in stored
    entry = json.loads(stored)["keys"][0]
    assert entry["kdf"] == "scrypt"
    assert entry["n"] >= 1 << 14
    assert len(bytes.fromhex(entry["salt"])) == 16


def _swap_last_char(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def test_refusals_all_share_one_code_and_message() -> None:
    revoked = mint_api_key("svc-old", n=N)
    revoked_record = ApiKeyRecord(**{**_fields(revoked.record), "revoked": True})
    auth = ApiKeyAuthenticator([ALICE.record, revoked_record])
    messages = set()
    for token in (
        _swap_last_char(ALICE.token),  # wrong secret
        revoked.token,  # revoked
        BOB.token,  # unknown id
    ):
        with pytest.raises(AuthenticationError) as exc_info:
            authenticate(auth, "Bearer " + token)
        assert exc_info.value.code == "auth.api_key_invalid"
        assert token not in str(exc_info.value)
        messages.add(exc_info.value.message)
    assert len(messages) == 1
    for malformed in ("agw_", "agw_short_x", "agw_UPPERCASEID_" + "a" * 43, ALICE.token + "x"):
        assert refused(auth, "Bearer " + malformed) == "auth.api_key_invalid"
    assert refused(auth, None) == "auth.token_missing"


def _fields(record: ApiKeyRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def test_replace_revokes_immediately_even_after_a_remembered_success() -> None:
    auth = ApiKeyAuthenticator([ALICE.record])
    authenticate(auth, "Bearer " + ALICE.token)
    auth.replace([ApiKeyRecord(**{**_fields(ALICE.record), "revoked": True})])
    assert refused(auth, "Bearer " + ALICE.token) == "auth.api_key_invalid"


def test_successful_checks_are_remembered_so_the_kdf_runs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = apikeys_module._scrypt

    def counting(*args: Any) -> bytes:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(apikeys_module, "_scrypt", counting)
    auth = ApiKeyAuthenticator([ALICE.record])
    for _ in range(5):
        authenticate(auth, "Bearer " + ALICE.token)
    assert len(calls) == 1
    for _ in range(2):  # failures are never remembered
        refused(auth, "Bearer " + _swap_last_char(ALICE.token))
    assert len(calls) == 3


def test_file_round_trip_json_and_toml(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(dump_api_keys([ALICE.record, BOB.record]))
    assert load_api_keys(path) == (ALICE.record, BOB.record)
    entry = ALICE.record.to_mapping()
    toml = "[[keys]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in entry.items())
    (tmp_path / "keys.toml").write_text(toml)
    auth = ApiKeyAuthenticator.from_file(tmp_path / "keys.toml")
    assert authenticate(auth, "Bearer " + ALICE.token).subject == "svc-batch"


def _entry(**change: Any) -> dict[str, Any]:
    entry = ALICE.record.to_mapping()
    for name, value in change.items():
        if value is None:
            entry.pop(name, None)
        else:
            entry[name] = value
    return entry


@pytest.mark.parametrize(
    ("case", "document"),
    [
        ("not JSON", "{"),
        ("no keys list", {"keys": {}}),
        ("wrong version", {"version": 2, "keys": []}),
        ("unknown field", {"keys": [_entry(secret="x")]}),
        ("weak scrypt n", {"keys": [_entry(n=1024)]}),
        ("n not a power of two", {"keys": [_entry(n=20000)]}),
        ("r too small", {"keys": [_entry(r=1)]}),
        ("other kdf", {"keys": [_entry(kdf="md5")]}),
        ("salt not hex", {"keys": [_entry(salt="zz")]}),
        ("short hash", {"keys": [_entry(hash="00")]}),
        ("no subject", {"keys": [_entry(subject=None)]}),
        ("bad id", {"keys": [_entry(id="Not_OK")]}),
        ("roles not a list", {"keys": [_entry(roles="admin")]}),
        ("revoked not a boolean", {"keys": [_entry(revoked="yes")]}),
        ("duplicate id", {"keys": [_entry(), _entry()]}),
        ("entry not an object", {"keys": [5]}),
    ],
)
def test_invalid_key_files(tmp_path: Path, case: str, document: Any) -> None:
    path = tmp_path / "keys.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(ConfigError) as exc_info:
        load_api_keys(path)
    assert exc_info.value.code == "config.api_keys_invalid"


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc_info:
        load_api_keys(tmp_path / "absent.json")
    assert exc_info.value.code == "config.api_keys_invalid"


def test_composite_routes_by_token_shape() -> None:
    fake = FakeIssuer(algs=("ES256",))

    async def main() -> tuple[Principal, Principal, str, str]:
        async with httpx.AsyncClient(transport=fake.transport) as client:
            oidc = OidcAuthenticator([config()], client)
            both = CompositeAuthenticator(oidc, ApiKeyAuthenticator([ALICE.record]))
            oidc_only = CompositeAuthenticator(oidc)
            via_oidc = await both.authenticate("Bearer " + fake.token("ES256"))
            via_key = await both.authenticate("Bearer " + ALICE.token)
            codes = []
            for auth in (oidc_only, both):
                try:
                    await auth.authenticate("Bearer " + (ALICE.token if auth is oidc_only else "x.y.z"))
                except AuthenticationError as exc:
                    codes.append(exc.code)
            return via_oidc, via_key, codes[0], codes[1]

    via_oidc, via_key, key_without_api_keys, junk = asyncio.run(main())
    assert via_oidc.issuer == "https://issuer.test"
    assert via_key.issuer == "apikey"
    assert key_without_api_keys == "auth.token_malformed"  # API keys off: OIDC refuses an agw_ token
    assert junk == "auth.token_malformed"
