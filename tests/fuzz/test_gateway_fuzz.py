"""Property tests for the gateway's parsers: settings (file + environment), request ids, and the
worker refusals it passes on. Only ``ConfigError`` may escape the settings parser."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from attestgw.errors import ConfigError
from attestgw.gateway.observability import request_id
from attestgw.gateway.problems import worker_refusal
from attestgw.gateway.settings import parse_settings

_VALID = b'[pool]\npolicy = "p.toml"\n[[workers]]\nurl = "http://127.0.0.1:8080"\n'
_KEYS = st.sampled_from(
    [
        "LISTEN",
        "WORKERS",
        "POOL__POLICY",
        "RELAY__READ_TIMEOUT_S",
        "RELAY__MAX_REQUEST_BYTES",
        "IDENTITY__X",
        "ACCESS_LOG",
        "X__Y",
        "POOL",
    ]
)
_env = st.dictionaries(_KEYS.map(lambda k: "ATTESTGW_" + k), st.text(max_size=40), max_size=4)


@given(st.binary(max_size=512), _env)
@settings(max_examples=300, deadline=None)
def test_only_config_error_escapes_the_settings_parser(data: bytes, env: dict[str, str]) -> None:
    try:
        parsed, code = parse_settings(data, environ=env), None
    except ConfigError as err:
        parsed, code = None, err.code
    assert code in (None, "config.gateway_invalid")
    assert parsed is None or parsed.pool.policy  # whatever passed names the worker policy


@given(_env)
@settings(max_examples=300, deadline=None)
def test_environment_overrides_on_a_valid_file_never_crash(env: dict[str, str]) -> None:
    try:
        parsed = parse_settings(_VALID, environ=env)
    except ConfigError:
        return
    assert parsed.workers  # whatever passed is complete


@given(st.one_of(st.none(), st.text(max_size=200)))
def test_request_ids_are_always_safe_to_log_and_echo(offered: str | None) -> None:
    rid = request_id(offered)
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", rid)


@given(st.integers(100, 599), st.text(max_size=40), st.binary(max_size=200))
def test_worker_refusals_never_raise_and_carry_only_registered_codes(
    status: int, ctype: str, body: bytes
) -> None:
    response = worker_refusal(status, ctype, body, "rid")
    if response is not None:
        problem = json.loads(response.body)
        assert problem["status"] == status
        assert problem["request_id"] == "rid"
