"""Property tests for composite bundles and policies: ``parse_bundle`` with GPU fields only raises
FormatError; the one-file policy loader only raises ConfigError; its TOML writer round-trips."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tomllib
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attestgw.attestation import parse_bundle, parse_bundle_policy
from attestgw.attestation.policy import dump_tables
from attestgw.errors import CODES, ConfigError, FormatError
from tests.unit.composite.conftest import make_worker


@cache
def _seed() -> tuple[dict[str, Any], str]:
    worker = make_worker()
    return worker.bundle(os.urandom(32)), worker.policy_text()


def test_the_seed_bundle_parses_with_its_gpu() -> None:
    bundle, _ = _seed()
    parsed = parse_bundle(json.dumps(bundle).encode())
    assert parsed.gpu_evidence is not None
    assert len(parsed.unverified_gpus) == 1
    assert parsed.gpu_rims
    assert parsed.gpu_ocsp


_b64 = st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode())
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=16) | _b64,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(["gpu_evidence", "gpu_collateral"]),
    value=_json,
    index=st.integers(0, 3),
    mutate_blob=st.binary(max_size=256),
)
def test_gpu_fields_only_raise_format_errors(field: str, value: Any, index: int, mutate_blob: bytes) -> None:
    bundle, _ = _seed()
    candidates = [
        value,
        [base64.b64encode(mutate_blob).decode()],
        [bundle["gpu_evidence"][0], value],
        {"rims": [base64.b64encode(mutate_blob).decode()], "ocsp": value},
    ]
    obj = {**bundle, field: candidates[index]}
    with contextlib.suppress(FormatError):
        parse_bundle(json.dumps(obj).encode())


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(0, 4000), junk=st.binary(max_size=16))
def test_the_gpu_envelope_bytes_only_raise_format_errors(cut: int, junk: bytes) -> None:
    bundle, _ = _seed()
    blob = base64.b64decode(bundle["gpu_evidence"][0])
    mutated = blob[:cut] + junk + blob[cut + len(junk) :]
    obj = {**bundle, "gpu_evidence": [base64.b64encode(mutated).decode()]}
    try:
        parsed, code = parse_bundle(json.dumps(obj).encode()), None
    except FormatError as err:
        parsed, code = None, err.code
    assert code is None or code in CODES  # a registered, documented refusal
    assert parsed is None or parsed.gpu_evidence == (mutated,)  # what parses is exactly what was sent


_toml_scalar = st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=12)
_toml_value = st.recursive(_toml_scalar, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
_toml_doc = st.recursive(
    st.dictionaries(st.text(max_size=6), _toml_value, max_size=4),
    lambda inner: st.dictionaries(st.text(max_size=6), _toml_value | inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(doc=_toml_doc)
def test_the_policy_writer_round_trips(doc: dict[str, Any]) -> None:
    assert tomllib.loads(dump_tables(doc)) == doc


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(0, 2000), junk=st.text(max_size=12))
def test_mutated_policies_only_raise_config_errors(cut: int, junk: str) -> None:
    _, text = _seed()
    data = (text[:cut] + junk + text[cut:]).encode()
    try:
        policy, code = parse_bundle_policy(data), None
    except ConfigError as err:
        policy, code = None, err.code
    assert code is None or code in CODES
    assert policy is None or policy.digest == hashlib.sha256(data).hexdigest()  # names these exact bytes
