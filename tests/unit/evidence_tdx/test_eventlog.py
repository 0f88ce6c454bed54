"""CC event log parsing on the corpus logs and RTMR replay against the RTMRs of the matching quotes."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct

import pytest

from attestgw.errors import FormatError
from attestgw.evidence.tdx import (
    EV_NO_ACTION,
    TPM_ALG_SHA256,
    TPM_ALG_SHA384,
    LogEvent,
    parse_event_log,
    parse_quote,
    replay_rtmrs,
    serialize_event_log,
)
from tests.conftest import corpus_file


def _td_rtmrs(rel: str) -> tuple[bytes, ...]:
    raw = corpus_file(rel).read_bytes()
    if rel.endswith(".json"):
        raw = json.loads(raw)["quote"].encode()
    body = parse_quote(raw).td_body
    assert body is not None
    return body.rtmrs


@pytest.mark.corpus
def test_go_tdx_guest_ccel_replays_to_its_quote() -> None:
    """MANIFEST: ccel_data.dat replays to the RTMRs of cos-113-tdx-quote.dat (256 KiB ACPI area)."""
    raw = corpus_file("tdx/go-tdx-guest/ccel/ccel_data.dat").read_bytes()
    log = parse_event_log(raw)
    assert serialize_event_log(log) == raw
    assert [a.alg_id for a in log.spec_id.algorithms] == [TPM_ALG_SHA384]
    assert len(log.events) == 43
    assert set(log.unused) == {0xFF}
    assert replay_rtmrs(log.events) == _td_rtmrs("tdx/go-tdx-guest/ccel/cos-113-tdx-quote.dat")


@pytest.mark.corpus
def test_tampered_ccel_no_longer_replays() -> None:
    raw = corpus_file("tdx/go-tdx-guest/ccel/ccel_data.dat").read_bytes()
    events = list(parse_event_log(raw).events)
    first = next(i for i, e in enumerate(events) if e.index == 1 and e.event_type != EV_NO_ACTION)
    digest = events[first].digest(TPM_ALG_SHA384)
    assert digest is not None
    flipped = bytes([digest[0] ^ 1]) + digest[1:]
    events[first] = LogEvent(events[first].index, events[first].event_type, ((TPM_ALG_SHA384, flipped),), b"")
    rtmrs = _td_rtmrs("tdx/go-tdx-guest/ccel/cos-113-tdx-quote.dat")
    assert replay_rtmrs(events)[0] != rtmrs[0]
    assert replay_rtmrs(events)[1:] == rtmrs[1:]


@pytest.mark.corpus
def test_dstack_ccel_replays_boot_rtmrs_of_tappd_quote() -> None:
    """Not paired by MANIFEST: the dstack CCEL replays RTMR0 and RTMR2 of dcap-qvl's tappd quote
    (same image); RTMR1/RTMR3 carry events this 64 KiB sample does not hold."""
    raw = corpus_file("tdx/dstack/ccel.bin").read_bytes()
    log = parse_event_log(raw)
    assert serialize_event_log(log) == raw
    replayed = replay_rtmrs(log.events)
    quote = _td_rtmrs("tdx/dcap-qvl/quote-from-tappd.hex")
    assert (replayed[0], replayed[2]) == (quote[0], quote[2])


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("log_file", "quote_file"),
    [
        ("tdx/phala-dstack/simulator_eventlog.json", "tdx/phala-dstack/simulator_quote.hex"),
        ("tdx/dstack/verifier-quote-report.json", "tdx/dstack/verifier-quote-report.json"),
    ],
)
def test_dstack_json_event_logs_replay_with_mr_index_mapping(log_file: str, quote_file: str) -> None:
    """dstack's JSON logs number RTMRs 0..3 ("imr"); as CC MR indexes they are 1..4."""
    doc = json.loads(corpus_file(log_file).read_text())
    entries = json.loads(doc["event_log"]) if isinstance(doc, dict) else doc
    events = [
        LogEvent(e["imr"] + 1, e["event_type"], ((TPM_ALG_SHA384, bytes.fromhex(e["digest"])),), b"")
        for e in entries
    ]
    assert replay_rtmrs(events) == _td_rtmrs(quote_file)


@pytest.mark.corpus
def test_azure_tpm_event_log_parses() -> None:
    """A vTPM (not CCEL) crypto-agile log with SHA-1/SHA-256/SHA-384 banks and PCR indexes 0..14."""
    text = corpus_file("azure/openpcc/tcg_eventlog.txtar").read_bytes()
    match = re.search(rb"-----BEGIN LOG-----\n(.*?)-----END LOG-----", text, re.S)
    assert match is not None
    raw = base64.b64decode(match.group(1))
    log = parse_event_log(raw)
    assert serialize_event_log(log) == raw
    assert len(log.events) == 100
    assert [a.digest_size for a in log.spec_id.algorithms] == [20, 32, 48]
    assert all(e.digest(TPM_ALG_SHA256) is not None for e in log.events)
    with pytest.raises(FormatError) as err:  # PCR 5..14 are not CC MR indexes
        replay_rtmrs(log.events)
    assert err.value.code == "eventlog.mr_index_invalid"


def _header(algs: tuple[tuple[int, int], ...] = ((TPM_ALG_SHA384, 48),)) -> bytes:
    spec = b"Spec ID Event03\x00" + struct.pack("<IBBBBI", 0, 0, 2, 0, 2, len(algs))
    spec += b"".join(struct.pack("<HH", a, s) for a, s in algs) + b"\x00"
    return struct.pack("<II", 1, EV_NO_ACTION) + bytes(20) + struct.pack("<I", len(spec)) + spec


def _event(index: int, digest: bytes, data: bytes = b"x", event_type: int = 0x80000001) -> bytes:
    return (
        struct.pack("<IIIH", index, event_type, 1, TPM_ALG_SHA384)
        + digest
        + struct.pack("<I", len(data))
        + data
    )


def test_replay_extends_each_rtmr_with_sha384() -> None:
    d1, d2 = hashlib.sha384(b"a").digest(), hashlib.sha384(b"b").digest()
    log = parse_event_log(_header() + _event(1, d1) + _event(4, d2) + _event(0, d2) + b"\xff" * 100)
    rtmr0 = hashlib.sha384(bytes(48) + d1).digest()
    rtmr3 = hashlib.sha384(bytes(48) + d2).digest()
    assert replay_rtmrs(log.events) == (rtmr0, bytes(48), bytes(48), rtmr3)
    assert len(log.unused) == 100


def test_no_action_events_are_not_extended() -> None:
    d = hashlib.sha384(b"a").digest()
    log = parse_event_log(_header() + _event(1, d, event_type=EV_NO_ACTION))
    assert replay_rtmrs(log.events) == (bytes(48),) * 4


def test_replay_refuses_events_without_sha384() -> None:
    event = LogEvent(2, 0x80000001, ((TPM_ALG_SHA256, bytes(32)),), b"")
    with pytest.raises(FormatError) as err:
        replay_rtmrs([event])
    assert err.value.code == "eventlog.digest_missing"


@pytest.mark.parametrize(
    ("blob", "code"),
    [
        (b"", "eventlog.malformed"),
        (_header()[:-3], "eventlog.malformed"),
        (_header().replace(b"Event03", b"Event02"), "eventlog.malformed"),
        (_header() + _event(1, bytes(48))[:-2], "eventlog.malformed"),
        (_header() + _event(1, bytes(48)) + b"\x01\x02", "eventlog.malformed"),
        (_header() + _event(1, bytes(48)).replace(b"\x0c\x00", b"\x0b\x00", 1), "eventlog.malformed"),
        (_header(tuple((0x10 + i, 32) for i in range(9))), "eventlog.limit_exceeded"),
        (
            _header()
            + struct.pack("<IIIH", 1, 1, 1, TPM_ALG_SHA384)
            + bytes(48)
            + struct.pack("<I", 1 << 24),
            "eventlog.limit_exceeded",
        ),
    ],
    ids=[
        "empty",
        "short-header",
        "old-signature",
        "short-event",
        "garbage-tail",
        "unknown-alg",
        "too-many-algs",
        "huge-event",
    ],
)
def test_malformed_logs_are_refused(blob: bytes, code: str) -> None:
    with pytest.raises(FormatError) as err:
        parse_event_log(blob)
    assert err.value.code == code
