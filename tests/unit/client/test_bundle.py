"""Bundle parsing: strict structure, unverified content, distinct codes for malformed vs unsupported."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from typing import Any

import pytest

from attestgw.client import MAX_BUNDLE_BYTES, parse_bundle
from attestgw.crypto.receipt_keys import ReceiptKey
from attestgw.errors import FormatError
from attestgw.ohttp import ServerKey, encode_key_configs
from tests.unit.client.simulated_worker import MODEL_DIGEST, SimulatedWorkerKeys


@pytest.fixture(scope="module")
def bundle_obj(worker: SimulatedWorkerKeys) -> dict[str, Any]:
    return json.loads(worker.bundle(bytes(range(32))))


def _with(obj: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> bytes:
    copy = json.loads(json.dumps(obj))
    edit(copy)
    return json.dumps(copy).encode()


def test_a_worker_bundle_parses_to_its_bytes(worker: SimulatedWorkerKeys, bundle_obj: dict[str, Any]) -> None:
    bundle = parse_bundle(json.dumps(bundle_obj).encode())
    assert bundle.nonce == bytes(range(32))
    assert len(bundle.report) == 1184
    assert bundle.ohttp_keys == worker.ohttp_keys
    assert [c.key_id for c in bundle.unverified_key_configs] == [1]
    assert bundle.receipt_spki == worker.signer.spki_der
    assert bundle.chain is not None
    assert bundle.chain.startswith(b"-----BEGIN CERTIFICATE-----")
    assert bundle.crl is None
    assert bundle.auxblob is None
    assert [(m.id, m.digest.hex()) for m in bundle.models] == [("tiny", MODEL_DIGEST)]
    assert bundle.unverified_simulated is True


def test_unknown_keys_are_ignored_because_the_protocol_only_grows(bundle_obj: dict[str, Any]) -> None:
    def add(o: dict[str, Any]) -> None:
        o["new_field"] = {"anything": 1}
        o["evidence"]["new_evidence"] = "x"

    assert parse_bundle(_with(bundle_obj, add)).version == 1


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    def edit(o: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for p in parents:
            o = o[p]
        o[last] = value

    return edit


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def edit(o: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for p in parents:
            o = o[p]
        del o[last]

    return edit


def _set_many(*pairs: tuple[str, Any]) -> Callable[[dict[str, Any]], None]:
    def edit(o: dict[str, Any]) -> None:
        for path, value in pairs:
            _set(path, value)(o)

    return edit


_P256_SPKI = ReceiptKey("ES256").spki_der
_P256_SPKI_B64 = base64.b64encode(_P256_SPKI).decode()
# the same prefix with a point whose y is wrong: not on the curve
_OFF_CURVE_B64 = base64.b64encode(_P256_SPKI[:-1] + bytes([_P256_SPKI[-1] ^ 1])).decode()

MALFORMED = [
    ("version is a boolean", _set("version", True)),
    ("nonce upper-case hex", _set("nonce", "AB" * 32)),
    ("nonce too short", _set("nonce", "ab" * 31)),
    ("nonce missing", _delete("nonce")),
    ("simulated is a string", _set("simulated", "yes")),
    ("report missing", _delete("evidence.report")),
    ("report unpadded base64", _set("evidence.report", "QUI")),
    ("report urlsafe alphabet", _set("evidence.report", "ab-_" * 4)),
    ("report with whitespace", _set("evidence.report", "QUJD\nQUJD")),
    ("report is a number", _set("evidence.report", 5)),
    ("cert_table not base64", _set("evidence.cert_table", "%%%%")),
    ("chain not PEM", _set("evidence.chain", "QUJD")),
    ("generation negative", _set("evidence.generation", -1)),
    ("evidence not an object", _set("evidence", [])),
    ("receipt spki not Ed25519", _set("receipt_key.spki", "QUJD")),
    ("receipt alg ES256 but an Ed25519 spki", _set("receipt_key.alg", "ES256")),
    ("receipt alg Ed25519 but a P-256 spki", _set("receipt_key.spki", _P256_SPKI_B64)),
    (
        "receipt spki a P-256 point off the curve",
        _set_many(("receipt_key.alg", "ES256"), ("receipt_key.spki", _OFF_CURVE_B64)),
    ),
    ("receipt key missing", _delete("receipt_key")),
    ("models not a list", _set("models", {})),
    ("model digest upper-case", _set("models", [{"id": "tiny", "digest": "AB" * 32}])),
    ("model id empty", _set("models", [{"id": "", "digest": "ab" * 32}])),
    (
        "model listed twice",
        _set("models", [{"id": "tiny", "digest": "ab" * 32}, {"id": "tiny", "digest": "cd" * 32}]),
    ),
]


@pytest.mark.parametrize(("case", "edit"), MALFORMED, ids=[c for c, _ in MALFORMED])
def test_malformed_bundles_are_refused(
    case: str, edit: Callable[[dict[str, Any]], None], bundle_obj: dict[str, Any]
) -> None:
    with pytest.raises(FormatError) as err:
        parse_bundle(_with(bundle_obj, edit))
    assert err.value.code == "bundle.malformed", case


UNSUPPORTED = [
    ("version 2", _set("version", 2)),
    ("an SGX bundle", _set("tee", "sgx")),
    ("another binding", _set("binding", "attestgw/report-data/v2")),
    ("an RS256 receipt key", _set("receipt_key.alg", "RS256")),
    ("an EdDSA receipt key by its JOSE name", _set("receipt_key.alg", "EdDSA")),
    ("GPU evidence present", _set("gpu_evidence", {"gpus": []})),
]


@pytest.mark.parametrize(("case", "edit"), UNSUPPORTED, ids=[c for c, _ in UNSUPPORTED])
def test_what_the_client_cannot_verify_is_refused_as_unsupported(
    case: str, edit: Callable[[dict[str, Any]], None], bundle_obj: dict[str, Any]
) -> None:
    with pytest.raises(FormatError) as err:
        parse_bundle(_with(bundle_obj, edit))
    assert err.value.code == "bundle.unsupported", case


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[1]", b'{"version": NaN}', b'{"version": 1, "version": 1}', b"\xff\xfe"],
    ids=["empty", "text", "array", "nan", "duplicate key", "not utf-8"],
)
def test_what_is_not_a_json_object_is_malformed(data: bytes) -> None:
    with pytest.raises(FormatError) as err:
        parse_bundle(data)
    assert err.value.code == "bundle.malformed"


def test_duplicate_keys_deep_inside_are_refused(bundle_obj: dict[str, Any]) -> None:
    text = json.dumps(bundle_obj).replace('"provider":', '"provider": "x", "provider":', 1)
    with pytest.raises(FormatError) as err:
        parse_bundle(text.encode())
    assert err.value.code == "bundle.malformed"


def test_an_oversized_bundle_is_refused_before_parsing() -> None:
    with pytest.raises(FormatError) as err:
        parse_bundle(b" " * (MAX_BUNDLE_BYTES + 1))
    assert err.value.code == "bundle.malformed"


def test_key_configs_that_do_not_decode_keep_the_channel_code(bundle_obj: dict[str, Any]) -> None:
    with pytest.raises(FormatError) as err:
        parse_bundle(_with(bundle_obj, _set("ohttp_keys", "AAEC")))
    assert err.value.code == "ohttp.key_config_invalid"


def test_several_key_configs_are_kept_in_the_workers_order(bundle_obj: dict[str, Any]) -> None:
    keys = encode_key_configs([ServerKey.generate(9).config, ServerKey.generate(3).config])
    bundle = parse_bundle(_with(bundle_obj, _set("ohttp_keys", base64.b64encode(keys).decode())))
    assert [c.key_id for c in bundle.unverified_key_configs] == [9, 3]
    assert bundle.ohttp_keys == keys


def test_random_bytes_never_escape_as_anything_but_format_errors() -> None:
    for _ in range(200):
        with pytest.raises(FormatError):  # 64 random bytes are never a bundle, and never crash it
            parse_bundle(os.urandom(64))
