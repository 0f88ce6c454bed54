"""TCG crypto-agile event logs — the TDX CC event log (CCEL) and TPM event logs — and RTMR replay.

Format (TCG PC Client Platform Firmware Profile Specification, "PFP", v1.05, "Event Logging":
``TCG_PCClientPCREvent``, ``TCG_EfiSpecIdEvent``, ``TCG_PCR_EVENT2``), all integers little-endian:

1. One header event in the SHA-1 ``TCG_PCClientPCREvent`` shape: u32 PCRIndex, u32 EventType
   (must be EV_NO_ACTION = 3), 20-byte digest (must be zero), u32 EventSize, then the
   ``TCG_EfiSpecIdEvent``: the 16-byte signature ``"Spec ID Event03\\0"``, u32 platformClass,
   u8 specVersionMinor, u8 specVersionMajor, u8 specErrata, u8 uintnSize, u32 numberOfAlgorithms,
   that many ``{u16 algorithmId, u16 digestSize}``, u8 vendorInfoSize, vendorInfo. It must fill its
   EventSize exactly.
2. Then ``TCG_PCR_EVENT2`` records: u32 PCRIndex, u32 EventType, u32 digest count, that many
   ``{u16 hashAlg, digest}`` (digest size from the Spec ID event), u32 EventSize, event data. Every
   record must carry exactly one digest for each algorithm of the Spec ID event.
3. A CCEL is read from a fixed-size ACPI area (ACPI 6.5 "CC Event Log ACPI Table"); the log ends
   where the rest of the buffer is all 0xFF or all 0x00 (the unused area, kept in
   :attr:`EventLog.unused` so the log round-trips byte for byte).

In a CCEL the PCRIndex field holds the **CC measurement register index** (UEFI Specification 2.10,
``EFI_CC_MEASUREMENT_PROTOCOL``, ``MrIndex``; Intel TDX Virtual Firmware Design Guide): 0 = MRTD,
1 = RTMR0, 2 = RTMR1, 3 = RTMR2, 4 = RTMR3. TDVF maps TPM PCRs onto it (PCR0 → RTMR0, PCR1/7 →
RTMR1, PCR2–6 → RTMR2, PCR8–15 → RTMR3). :func:`replay_rtmrs` uses that mapping; it was checked by
replaying go-tdx-guest's COS-113 CCEL to the RTMRs of its quote (tests/unit/evidence_tdx).

Bounds: :data:`MAX_LOG_SIZE`, :data:`MAX_EVENTS`, :data:`MAX_EVENT_DATA`, :data:`MAX_ALGORITHMS`
(``eventlog.limit_exceeded``). Nothing here judges the events: their digests are not recomputed from
the event data, and replayed values mean something only once compared with a verified quote and
with reference values (``attestgw.appraisal``).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from attestgw.encoding import decode_blob
from attestgw.errors import FormatError
from attestgw.evidence.tdx._reader import Reader

__all__ = [
    "EV_NO_ACTION",
    "MAX_ALGORITHMS",
    "MAX_EVENTS",
    "MAX_EVENT_DATA",
    "MAX_LOG_SIZE",
    "SPEC_ID_SIGNATURE",
    "TPM_ALG_SHA1",
    "TPM_ALG_SHA256",
    "TPM_ALG_SHA384",
    "TPM_ALG_SHA512",
    "DigestAlgorithm",
    "EventLog",
    "LogEvent",
    "SpecIdEvent",
    "parse_event_log",
    "replay_rtmrs",
    "serialize_event_log",
]

EV_NO_ACTION = 0x00000003
SPEC_ID_SIGNATURE = b"Spec ID Event03\x00"
TPM_ALG_SHA1 = 0x0004
TPM_ALG_SHA256 = 0x000B
TPM_ALG_SHA384 = 0x000C
TPM_ALG_SHA512 = 0x000D

MAX_LOG_SIZE = 16 << 20
MAX_EVENTS = 65536
MAX_EVENT_DATA = 1 << 20
MAX_ALGORITHMS = 8
_MAX_DIGEST = 64
_ERR = "eventlog.malformed"
_LIMIT = "eventlog.limit_exceeded"
_RTMR_COUNT = 4


@dataclass(frozen=True, slots=True)
class DigestAlgorithm:
    """One ``{algorithmId, digestSize}`` entry of the Spec ID event (TPM_ALG_* ids)."""

    alg_id: int
    digest_size: int


@dataclass(frozen=True, slots=True)
class SpecIdEvent:
    """The header event: its PCRIndex field and the parsed ``TCG_EfiSpecIdEvent``."""

    pcr_index: int
    platform_class: int
    spec_version_minor: int
    spec_version_major: int
    spec_errata: int
    uintn_size: int
    algorithms: tuple[DigestAlgorithm, ...]
    vendor_info: bytes


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One ``TCG_PCR_EVENT2``. ``index`` is the PCR index (TPM log) or CC MR index (CCEL);
    ``offset`` is where the record starts in the log."""

    index: int
    event_type: int
    digests: tuple[tuple[int, bytes], ...]
    data: bytes
    offset: int = 0

    def digest(self, alg_id: int) -> bytes | None:
        """The digest for ``alg_id`` (a TPM_ALG_* id), or ``None`` if the event has none."""
        for alg, value in self.digests:
            if alg == alg_id:
                return value
        return None


@dataclass(frozen=True, slots=True)
class EventLog:
    """A parsed, **unverified** event log; ``unused`` is the fill (0xFF or 0x00) after the last event."""

    spec_id: SpecIdEvent
    events: tuple[LogEvent, ...]
    unused: bytes


def _parse_spec_id(reader: Reader) -> SpecIdEvent:
    pcr_index = reader.u32("header PCRIndex")
    event_type = reader.u32("header EventType")
    if event_type != EV_NO_ACTION:
        raise FormatError(_ERR, f"header event type {event_type:#x}, want EV_NO_ACTION (0x3)")
    if any(reader.take(20, "header digest")):
        raise FormatError(_ERR, "header event digest is not zero")
    size = reader.u32("header EventSize")
    body = Reader(reader.take(size, "Spec ID event"), _ERR)
    signature = body.take(16, "Spec ID signature")
    if signature != SPEC_ID_SIGNATURE:
        raise FormatError(
            _ERR, f"Spec ID signature {signature!r}, want {SPEC_ID_SIGNATURE!r} (crypto-agile log)"
        )
    platform_class = body.u32("platformClass")
    minor, major, errata, uintn = (body.u8(name) for name in ("minor", "major", "errata", "uintnSize"))
    count = body.u32("numberOfAlgorithms")
    if not 1 <= count <= MAX_ALGORITHMS:
        raise FormatError(_LIMIT, f"Spec ID lists {count} algorithms, want 1..{MAX_ALGORITHMS}")
    algorithms: list[DigestAlgorithm] = []
    for _ in range(count):
        alg, digest_size = body.u16("algorithmId"), body.u16("digestSize")
        if not 1 <= digest_size <= _MAX_DIGEST or any(a.alg_id == alg for a in algorithms):
            raise FormatError(_ERR, f"Spec ID algorithm {alg:#06x}: size {digest_size} or duplicate")
        algorithms.append(DigestAlgorithm(alg, digest_size))
    vendor_info = body.take(body.u8("vendorInfoSize"), "vendorInfo")
    if body.remaining:
        raise FormatError(_ERR, f"Spec ID event has {body.remaining} bytes after vendorInfo")
    return SpecIdEvent(pcr_index, platform_class, minor, major, errata, uintn, tuple(algorithms), vendor_info)


def _parse_event(reader: Reader, sizes: dict[int, int]) -> LogEvent:
    offset = reader.pos
    index = reader.u32("PCRIndex")
    event_type = reader.u32("EventType")
    count = reader.u32("digest count")
    if count != len(sizes):
        raise FormatError(
            _ERR, f"event at {offset:#x} has {count} digests, the Spec ID event lists {len(sizes)}"
        )
    digests: list[tuple[int, bytes]] = []
    for _ in range(count):
        alg = reader.u16("hashAlg")
        if alg not in sizes or any(a == alg for a, _d in digests):
            raise FormatError(_ERR, f"event at {offset:#x}: digest algorithm {alg:#06x} unknown or repeated")
        digests.append((alg, reader.take(sizes[alg], "digest")))
    size = reader.u32("EventSize")
    if size > MAX_EVENT_DATA:
        raise FormatError(_LIMIT, f"event at {offset:#x} has {size} bytes of data, limit {MAX_EVENT_DATA}")
    return LogEvent(index, event_type, tuple(digests), reader.take(size, "event data"), offset)


def parse_event_log(data: bytes) -> EventLog:
    """Parse a crypto-agile event log (raw, hex or base64; a CCEL area may carry unused fill).

    Raises ``FormatError`` only: ``eventlog.malformed`` (truncation, wrong header, unknown or
    missing digest algorithms, garbage after the last event) or ``eventlog.limit_exceeded``.
    """
    blob = decode_blob(bytes(data))
    if len(blob) > MAX_LOG_SIZE:
        raise FormatError(_LIMIT, f"event log is {len(blob)} bytes, limit {MAX_LOG_SIZE}")
    reader = Reader(blob, _ERR)
    spec_id = _parse_spec_id(reader)
    sizes = {a.alg_id: a.digest_size for a in spec_id.algorithms}
    # Where the fill starts: the log ends at the first event boundary from which every remaining
    # byte is 0xFF or 0x00. Computed once so the scan stays linear.
    content_end = min(len(blob.rstrip(b"\xff")), len(blob.rstrip(b"\x00")))
    events: list[LogEvent] = []
    while reader.pos < content_end:
        if len(events) >= MAX_EVENTS:
            raise FormatError(_LIMIT, f"event log has more than {MAX_EVENTS} events")
        events.append(_parse_event(reader, sizes))
    return EventLog(spec_id, tuple(events), blob[reader.pos :])


def serialize_event_log(log: EventLog) -> bytes:
    """Encode ``log`` (header event, events, unused fill). Equal to the input for a parsed log.
    Raises ``ValueError`` on digests whose size disagrees with the Spec ID event."""
    spec = log.spec_id
    spec_body = bytearray(SPEC_ID_SIGNATURE)
    spec_body += struct.pack(
        "<IBBBBI",
        spec.platform_class,
        spec.spec_version_minor,
        spec.spec_version_major,
        spec.spec_errata,
        spec.uintn_size,
        len(spec.algorithms),
    )
    for algorithm in spec.algorithms:
        spec_body += struct.pack("<HH", algorithm.alg_id, algorithm.digest_size)
    spec_body += bytes((len(spec.vendor_info),)) + spec.vendor_info
    out = bytearray(struct.pack("<II", spec.pcr_index, EV_NO_ACTION) + bytes(20))
    out += struct.pack("<I", len(spec_body)) + spec_body
    sizes = {a.alg_id: a.digest_size for a in spec.algorithms}
    for event in log.events:
        out += struct.pack("<III", event.index, event.event_type, len(event.digests))
        for alg, value in event.digests:
            if sizes.get(alg) != len(value):
                raise ValueError(f"digest for algorithm {alg:#06x} has {len(value)} bytes")
            out += struct.pack("<H", alg) + value
        out += struct.pack("<I", len(event.data)) + event.data
    return bytes(out + log.unused)


def replay_rtmrs(events: Iterable[LogEvent]) -> tuple[bytes, bytes, bytes, bytes]:
    """Replay CCEL events into RTMR0..RTMR3: each starts at 48 zero bytes and
    ``RTMR[i] = SHA-384(RTMR[i] ‖ digest)`` with the event's SHA-384 digest.

    CC MR index 1..4 extends RTMR 0..3; index 0 (MRTD, measured by the TDX module at build time)
    and EV_NO_ACTION events (never extended, per PFP) are skipped. Raises ``FormatError``:
    ``eventlog.mr_index_invalid`` for an index above 4, ``eventlog.digest_missing`` for an event
    without a 48-byte SHA-384 digest. Does **not** compare anything: the caller matches the result
    against the verified quote's RTMRs.
    """
    rtmrs = [bytes(48)] * _RTMR_COUNT
    for event in events:
        if event.event_type == EV_NO_ACTION or event.index == 0:
            continue
        if event.index > _RTMR_COUNT:
            raise FormatError(
                "eventlog.mr_index_invalid",
                f"event at {event.offset:#x} has CC MR index {event.index}, want 0..4",
            )
        digest = event.digest(TPM_ALG_SHA384)
        if digest is None or len(digest) != 48:
            raise FormatError(
                "eventlog.digest_missing", f"event at {event.offset:#x} has no 48-byte SHA-384 digest"
            )
        slot = event.index - 1
        rtmrs[slot] = hashlib.sha384(rtmrs[slot] + digest).digest()
    return rtmrs[0], rtmrs[1], rtmrs[2], rtmrs[3]
