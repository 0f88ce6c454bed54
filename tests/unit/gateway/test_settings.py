"""Gateway settings: file + ATTESTGW_* overrides, validated at start with config.gateway_invalid."""

from __future__ import annotations

from pathlib import Path

import pytest

from attestgw.errors import ConfigError
from attestgw.gateway import load_settings, parse_settings

BASE = b"""
listen = "127.0.0.1:8443"

[pool]
policy = "worker-policy.toml"
reattest_interval_s = 120

[relay]
read_timeout_s = 30

[[workers]]
url = "http://10.0.0.5:8080/"
models = ["tiny"]

[[workers]]
url = "https://w2.internal"
id = "w2"

[identity]
audience = "attestgw"
[[identity.issuers]]
issuer = "https://idp.test"
"""


def test_a_complete_file_parses_with_defaults_and_opaque_tables() -> None:
    s = parse_settings(BASE, environ={})
    assert s.listen_address == ("127.0.0.1", 8443)
    assert [w.worker_id for w in s.workers] == ["http://10.0.0.5:8080", "w2"]
    assert s.workers[0].models == ("tiny",)
    assert s.workers[1].models == ()
    assert s.pool.reattest_interval_s == 120
    assert s.pool.health_interval_s == 10
    assert s.relay.read_timeout_s == 30
    assert s.relay.max_request_bytes == 4 * 1024 * 1024
    assert s.identity["issuers"][0]["issuer"] == "https://idp.test"  # passed through untouched
    assert s.access == {}
    assert s.quotas == {}
    assert s.log == {}


def test_environment_overrides_top_level_and_section_keys_as_toml_values() -> None:
    env = {
        "ATTESTGW_LISTEN": "0.0.0.0:9000",
        "ATTESTGW_RELAY__READ_TIMEOUT_S": "5",
        "attestgw_pool__health_interval_s": "0.5",
        "ATTESTGW_WORKERS": '[{url = "http://127.0.0.1:1"}]',
        "ATTESTGW_LOG__PATH": "/var/lib/attestgw/log.db",
        "ATTESTGW_TOKEN": "not-a-setting",  # another command's variable: ignored
    }
    s = parse_settings(BASE, environ=env)
    assert s.listen == "0.0.0.0:9000"
    assert s.relay.read_timeout_s == 5
    assert s.pool.health_interval_s == 0.5
    assert [w.url for w in s.workers] == ["http://127.0.0.1:1"]
    assert s.log["path"] == "/var/lib/attestgw/log.db"


@pytest.mark.parametrize(
    ("case", "data", "env", "fragment"),
    [
        ("unknown key", BASE + b"\n[relay2]\nx = 1\n", {}, "relay2"),
        ("no workers", b'[pool]\npolicy = "p"\n', {}, "[[workers]]"),
        ("no pool", b'[[workers]]\nurl = "http://a"\n', {}, "pool"),
        ("bad scheme", b'[pool]\npolicy="p"\n[[workers]]\nurl="ftp://a"\n', {}, "http(s)"),
        ("credentials", b'[pool]\npolicy="p"\n[[workers]]\nurl="http://u:p@a"\n', {}, "credentials"),
        ("bad port", b'[pool]\npolicy="p"\n[[workers]]\nurl="http://a:99999"\n', {}, "port"),
        (
            "duplicate",
            b'[pool]\npolicy="p"\n[[workers]]\nurl="http://a"\n[[workers]]\nurl="http://a/"\n',
            {},
            "unique",
        ),
        ("bad model", b'[pool]\npolicy="p"\n[[workers]]\nurl="http://a"\nmodels=["a b"]\n', {}, "model id"),
        ("negative timeout", BASE, {"ATTESTGW_RELAY__CONNECT_TIMEOUT_S": "-1"}, "connect_timeout_s"),
        ("tiny body limit", BASE, {"ATTESTGW_RELAY__MAX_REQUEST_BYTES": "10"}, "max_request_bytes"),
        ("bad listen", BASE, {"ATTESTGW_LISTEN": "nowhere"}, "HOST:PORT"),
        ("typo section", BASE, {"ATTESTGW_RELAYY__READ_TIMEOUT_S": "1"}, "relayy"),
        (
            "opaque not a table",
            b"identity = 3\n" + BASE.split(b"[identity]")[0],
            {},
            "[identity] must be a table",
        ),
        ("not toml", b"listen = ", {}, "TOML"),
        ("not utf-8", b"\xff\xfe", {}, "UTF-8"),
        ("string for number", BASE, {"ATTESTGW_POOL__HEALTH_INTERVAL_S": "soon"}, "health_interval_s"),
    ],
)
def test_invalid_settings_are_refused_naming_the_problem(
    case: str, data: bytes, env: dict[str, str], fragment: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse_settings(data, environ=env)
    assert err.value.code == "config.gateway_invalid"
    assert fragment in err.value.message


def test_a_relative_policy_path_is_anchored_next_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_bytes(BASE)
    s = load_settings(path, environ={})
    assert s.pool.policy == tmp_path / "worker-policy.toml"


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "missing.toml", environ={})
    assert err.value.code == "config.gateway_invalid"
