"""The [quotas] settings table: defaults, overrides, and every invalid value refused by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from attestgw.access import Limits, QuotaSettings, load_quota_settings, parse_quota_settings
from attestgw.errors import ConfigError


def test_absent_table_gives_defaults() -> None:
    assert parse_quota_settings(None) == QuotaSettings()


def test_file_with_overrides(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        """
[quotas]
max_tracked_keys = 500
[quotas.principal]
rate = 0.5
burst = 2
[quotas.tenant]
streams = 8
[quotas.roles.batch]
rate = 20
[quotas.tenants."acme corp"]
streams = 64
""",
        encoding="utf-8",
    )
    got = load_quota_settings(path)
    assert got.max_tracked_keys == 500
    assert got.principal == Limits(rate=0.5, burst=2, streams=4)
    assert got.tenant == Limits(rate=50.0, burst=100, streams=8)
    assert got.roles["batch"] == Limits(rate=20.0, burst=2, streams=4)  # inherits the principal limits
    assert got.tenants["acme corp"] == Limits(rate=50.0, burst=100, streams=64)


def test_file_without_quotas_table(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text("[gateway]\nlisten = '127.0.0.1:8080'\n", encoding="utf-8")
    assert load_quota_settings(path) == QuotaSettings()


@pytest.mark.parametrize(
    ("table", "key"),
    [
        pytest.param({"principal": {"rate": 0}}, "principal.rate", id="zero rate"),
        pytest.param({"principal": {"rate": -1.0}}, "principal.rate", id="negative rate"),
        pytest.param({"principal": {"rate": float("nan")}}, "principal.rate", id="nan rate"),
        pytest.param({"principal": {"rate": float("inf")}}, "principal.rate", id="infinite rate"),
        pytest.param({"principal": {"rate": "5"}}, "principal.rate", id="string rate"),
        pytest.param({"principal": {"rate": True}}, "principal.rate", id="bool rate"),
        pytest.param({"principal": {"burst": 0}}, "principal.burst", id="zero burst"),
        pytest.param({"principal": {"burst": 1.5}}, "principal.burst", id="fractional burst"),
        pytest.param({"tenant": {"streams": 10**9}}, "tenant.streams", id="huge streams"),
        pytest.param({"tenant": {"stream": 3}}, "tenant", id="misspelt key"),
        pytest.param({"principal": 5}, "principal", id="not a table"),
        pytest.param({"roles": {"batch": {"rate": -1}}}, "roles.batch.rate", id="bad role override"),
        pytest.param({"tenants": {"": {"rate": 1}}}, "tenants", id="empty tenant name"),
        pytest.param({"max_tracked_keys": 0}, "max_tracked_keys", id="no keys"),
        pytest.param({"limit": 1}, "limit", id="unknown top-level key"),
        pytest.param([1, 2], "(table)", id="not a table at all"),
    ],
)
def test_invalid_settings_are_refused_naming_the_key(table: object, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_quota_settings(table)
    assert info.value.code == "config.gateway_invalid"
    assert f"quotas.{key}" in str(info.value)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"[quotas\n", "not valid TOML"), (b"\xff\xfe", "not UTF-8")],
)
def test_unreadable_files_are_refused(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "gateway.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=fragment):
        load_quota_settings(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_quota_settings(tmp_path / "missing.toml")
