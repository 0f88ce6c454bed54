"""Records: allow-listed, versioned, canonical; prompts, tokens and keys cannot get in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from attestgw.errors import FormatError
from attestgw.log import RECORD_TYPES, build_record, canonicalize, parse_record
from tests.unit.log.logdata import denial, relay

AT = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
DIGEST = "ab" * 32

EXAMPLES: dict[str, dict[str, object]] = {
    "attestation.appraised": {
        "worker": "w1", "tee": "snp", "evidence_digest": DIGEST, "nonce_digest": DIGEST,
        "policy_digest": DIGEST,
        "verified_at": "2026-05-01T12:00:00.000000Z", "expires_at": "2026-05-01T12:10:00.000000Z",
        "status": "affirming", "codes": [], "ear": {"ear_status": "affirming"}, "measurement": "00" * 48,
        "instance_digest": DIGEST, "simulated": True,
    },
    "worker.admitted": {
        "worker": "w1", "attestation_index": 0, "instance_digest": DIGEST, "models": ["tiny"]
    },
    "worker.evicted": {"worker": "w1", "reason": "gateway.upstream_failed"},
    "inference.relayed": relay(0, 1),
    "authorization.denied": denial(1),
    "key.registered": {"key_id": "k1", "model": "tiny"},
    "key.released": {"key_id": "k1", "worker": "w1", "attestation_index": 0},
    "key.release_denied": {"key_id": "k1", "worker": "w1", "codes": ["policy.measurement_mismatch"]},
    "key.revoked": {"key_id": "k1"},
    "key.destroyed": {"key_id": "k1"},
    "policy.changed": {"policy_kind": "access", "policy_id": "p1", "policy_digest": DIGEST},
    "log.key_rotated": {"old_key": "a+01234567+AQID", "new_key": "b+01234567+AQID"},
}  # fmt: skip


def test_every_record_type_has_an_example() -> None:
    assert set(EXAMPLES) == set(RECORD_TYPES)


@pytest.mark.parametrize("record_type", sorted(EXAMPLES))
def test_round_trip(record_type: str) -> None:
    record = build_record(record_type, EXAMPLES[record_type], at=AT)
    again = parse_record(record.data)
    assert (again.type, again.time, dict(again.fields)) == (record_type, AT, EXAMPLES[record_type])
    assert record.data == canonicalize({"v": 1, "type": record_type, "time": "2026-05-01T12:00:00.123456Z",
                                        **EXAMPLES[record_type]})  # fmt: skip


@pytest.mark.parametrize("record_type", sorted(EXAMPLES))
@pytest.mark.parametrize(
    "secret", ["prompt", "plaintext", "token", "authorization", "private_key", "dek", "note"]
)
def test_fields_outside_the_allow_list_are_refused(record_type: str, secret: str) -> None:
    fields = {**EXAMPLES[record_type], secret: "What is the capital of France?"}
    with pytest.raises(FormatError) as err:
        build_record(record_type, fields, at=AT)
    assert err.value.code == "log.record_field_not_allowed"
    assert "capital" not in str(err.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("principal_digest", "alice@example.com"),  # an identity where a digest belongs
        ("principal_digest", "AB" * 32),  # uppercase hex
        ("model", "a model with spaces and a prompt"),
        ("key_id", 256),
        ("key_id", True),
        ("attestation_index", -1),
        ("ciphertext_digest", None),
    ],
)
def test_ill_shaped_fields_are_refused(field: str, value: object) -> None:
    with pytest.raises(FormatError) as err:
        build_record("inference.relayed", {**relay(0, 1), field: value}, at=AT)
    assert err.value.code == "log.record_malformed"


def test_missing_field_envelope_override_and_unknown_type() -> None:
    fields = relay(0, 1)
    del fields["worker"]
    with pytest.raises(FormatError, match="lacks 'worker'"):
        build_record("inference.relayed", fields, at=AT)
    with pytest.raises(FormatError, match="set by the log"):
        build_record("inference.relayed", {**relay(0, 1), "time": "x"}, at=AT)
    with pytest.raises(FormatError) as err:
        build_record("chat.prompt", {}, at=AT)
    assert err.value.code == "log.record_unsupported"


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (lambda d: d.replace(b'"v":1', b'"v":2'), "log.record_unsupported"),
        (lambda d: d.replace(b'"v":1', b'"v":true'), "log.record_unsupported"),
        (lambda d: d.replace(b'Z"', b'+00:00"'), "log.record_malformed"),
        (lambda d: d.replace(b'"time":"2026-05-01', b'"time":"2026-13-01'), "log.record_malformed"),
        (lambda d: d + b" ", "log.record_malformed"),
        (
            lambda d: d.replace(b'{"', b'{"prompt":"x","', 1),
            "log.record_malformed",
        ),  # unsorted, so not canonical
        (lambda d: d.replace(b'{"', b'{"aaa":"x","', 1), "log.record_field_not_allowed"),
    ],
)
def test_stored_bytes_are_checked_when_read(edit, code: str) -> None:  # type: ignore[no-untyped-def]
    data = build_record("inference.relayed", relay(0, 1), at=AT).data
    with pytest.raises(FormatError) as err:
        parse_record(edit(data))
    assert err.value.code == code


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_record("inference.relayed", relay(0, 1), at=datetime(2026, 1, 1))
