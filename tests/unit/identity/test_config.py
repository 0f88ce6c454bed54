"""IssuerConfig: strict defaults, built from the settings TOML shape, every mistake config.issuer_invalid."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from attestgw.errors import ConfigError
from attestgw.identity import DEFAULT_ALGORITHMS, IssuerConfig, JwksCacheSettings

SETTINGS = """
[[identity.issuers]]
issuer = "https://login.example.com/realms/acme"
audience = ["http://gateway.test", "attestgw"]
algorithms = ["RS256", "ES256"]
required_scopes = ["infer"]
roles_claim = "realm_access.roles"
groups_claim = ""
leeway_s = 30
required_claims = ["acr"]
jwks_cache = { default_ttl_s = 600, refresh_min_interval_s = 10 }
"""


def test_from_settings_toml() -> None:
    table = tomllib.loads(SETTINGS)["identity"]["issuers"][0]
    config = IssuerConfig.from_mapping(table)
    assert config.issuer == "https://login.example.com/realms/acme"
    assert config.audiences == ("http://gateway.test", "attestgw")
    assert config.algorithms == ("RS256", "ES256")
    assert config.required_scopes == frozenset({"infer"})
    assert config.roles_claim == "realm_access.roles"
    assert config.groups_claim is None  # "" switches a claim off
    assert config.tenant_claim == "tenant"
    assert config.leeway_s == 30
    assert config.required_claims == ("acr",)
    assert config.jwks_cache.default_ttl_s == 600
    assert config.jwks_cache.refresh_min_interval_s == 10


def test_strict_defaults() -> None:
    config = IssuerConfig.from_mapping({"issuer": "https://idp.test", "audience": "gw"})
    assert config.algorithms == DEFAULT_ALGORITHMS == ("RS256", "PS256", "ES256", "EdDSA")
    assert config.require_at_jwt_typ is True
    assert config.leeway_s == 60
    assert config.audiences == ("gw",)
    assert config.jwks_uri is None


def test_http_is_accepted_only_on_loopback() -> None:
    for issuer in ("http://127.0.0.1:8080", "http://[::1]:9000/realm", "http://localhost:1"):
        assert IssuerConfig.from_mapping({"issuer": issuer, "audience": "gw"}).issuer == issuer


BASE: dict[str, Any] = {"issuer": "https://idp.test", "audience": "gw"}
INVALID: list[tuple[str, dict[str, Any]]] = [
    ("alg none", {"algorithms": ["RS256", "none"]}),
    ("HS256", {"algorithms": ["HS256"]}),
    ("hs384 lowercase", {"algorithms": ["hs384"]}),
    ("unknown alg", {"algorithms": ["RS1"]}),
    ("empty algorithms", {"algorithms": []}),
    ("algorithms a string", {"algorithms": "RS256"}),
    ("http on a public host", {"issuer": "http://idp.example.com"}),
    ("no scheme", {"issuer": "idp.test"}),
    ("query in issuer", {"issuer": "https://idp.test/?x=1"}),
    ("credentials in issuer", {"issuer": "https://u:p@idp.test"}),
    ("bad port", {"issuer": "https://idp.test:99999"}),
    ("issuer not a string", {"issuer": 7}),
    ("http jwks_uri on a public host", {"jwks_uri": "http://idp.test/jwks"}),
    ("no audience", {"audience": []}),
    ("audience with an empty string", {"audience": [""]}),
    ("audience and audiences", {"audiences": ["x"]}),
    ("leeway too large", {"leeway_s": 3600}),
    ("leeway negative", {"leeway_s": -1}),
    ("leeway a float", {"leeway_s": 1.5}),
    ("leeway a boolean", {"leeway_s": True}),
    ("claim path with a leading dot", {"roles_claim": ".roles"}),
    ("claim path not a string", {"tenant_claim": 3}),
    ("scope with a space", {"required_scopes": ["a b"]}),
    ("typ knob not a boolean", {"require_at_jwt_typ": "no"}),
    ("unknown field (typo)", {"audiance": "gw"}),
    ("unknown cache field", {"jwks_cache": {"ttl": 5}}),
    ("cache ttl out of bounds", {"jwks_cache": {"default_ttl_s": 10}}),
    ("cache max below min", {"jwks_cache": {"min_ttl_s": 100, "max_ttl_s": 50}}),
    ("cache bytes a string", {"jwks_cache": {"max_bytes": "1MB"}}),
    ("cache not a table", {"jwks_cache": 5}),
]


@pytest.mark.parametrize(("case", "change"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_issuer_configuration(case: str, change: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as exc_info:
        IssuerConfig.from_mapping({**BASE, **change})
    assert exc_info.value.code == "config.issuer_invalid"


def test_missing_issuer_or_audience() -> None:
    for data in ({"audience": "gw"}, {"issuer": "https://idp.test"}, "not a table"):
        with pytest.raises(ConfigError) as exc_info:
            IssuerConfig.from_mapping(data)  # type: ignore[arg-type]
        assert exc_info.value.code == "config.issuer_invalid"


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ConfigError):
        IssuerConfig("https://idp.test", ("gw",), algorithms=("HS256",))
    with pytest.raises(ConfigError):
        JwksCacheSettings(stale_max_age_s=-1)
