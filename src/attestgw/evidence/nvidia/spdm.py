"""NVIDIA GPU / NVSwitch attestation report: SPDM 1.1 GET_MEASUREMENTS request ‖ MEASUREMENTS response.

Layout (DMTF DSP0274 1.1 §10.11, formats.md §4.1), little-endian:

- request, 37 bytes: SPDMVersion 0x11, code 0xE0, Param1 0x01 (signature requested), Param2 0xFF
  (all blocks), Nonce[32] (the verifier's), SlotIDParam (slot in bits 3:0);
- response: SPDMVersion (= the request's), code 0x60, Param1, Param2, NumberOfBlocks u8,
  MeasurementRecordLength u24, MeasurementRecord, Nonce[32] (the responder's own), OpaqueLength u16,
  OpaqueData (NVIDIA TLVs, :mod:`.opaque`), Signature[96] (ECDSA P-384 ``r‖s``).

Each measurement block: Index u8 (1-based, unique), MeasurementSpecification u8 (must be 0x01, DMTF),
MeasurementSize u16, then the DMTF measurement: value type u8, value size u16, value.

:func:`parse_gpu_report` is strict: versions and codes as above, NumberOfBlocks equals the blocks
read, the record and every block are consumed exactly. Zero bytes after the signature are tolerated
(a fixed-size NVML buffer; one trustee capture carries one) and counted in ``padding``; anything else
after it is ``nvidia.oversized``. Errors: ``nvidia.truncated``, ``nvidia.oversized``,
``nvidia.spdm_invalid``, ``nvidia.opaque_invalid`` — all :class:`FormatError`.

Not checked here: the signature, the nonce, what the opaque values mean (``attestgw.verify.nvidia``).
"""

from __future__ import annotations

from dataclasses import dataclass

from attestgw.errors import FormatError
from attestgw.evidence.nvidia.opaque import OpaqueData, parse_opaque, serialize_opaque

__all__ = [
    "DMTF_SPEC",
    "GET_MEASUREMENTS",
    "MAX_EVIDENCE_SIZE",
    "MEASUREMENTS",
    "NONCE_SIZE",
    "REQUEST_SIZE",
    "SIGNATURE_SIZE",
    "SPDM_VERSION_11",
    "GpuReport",
    "MeasurementBlock",
    "SpdmRequest",
    "SpdmResponse",
    "parse_gpu_report",
    "serialize_gpu_report",
]

SPDM_VERSION_11 = 0x11
GET_MEASUREMENTS = 0xE0
MEASUREMENTS = 0x60
DMTF_SPEC = 0x01
REQUEST_SIZE = 37
NONCE_SIZE = 32
SIGNATURE_SIZE = 96
MAX_EVIDENCE_SIZE = 64 * 1024  # a Hopper report is ~4.1 KiB; generous for future blocks
_MAX_PADDING = 4096


@dataclass(frozen=True, slots=True)
class SpdmRequest:
    """GET_MEASUREMENTS as the driver sent it (covered by the signature)."""

    version: int
    param1: int
    param2: int
    nonce: bytes
    slot_id_param: int

    @property
    def slot_id(self) -> int:
        return self.slot_id_param & 0x0F


@dataclass(frozen=True, slots=True)
class MeasurementBlock:
    """One DMTF measurement block; ``index`` is 1-based (RIM index = ``index - 1``)."""

    index: int
    value_type: int
    value: bytes

    @property
    def is_digest(self) -> bool:
        """DMTF value type bit 7 clear: a digest (raw bitstream otherwise)."""
        return not self.value_type & 0x80


@dataclass(frozen=True, slots=True)
class SpdmResponse:
    version: int
    param1: int
    param2: int
    blocks: tuple[MeasurementBlock, ...]
    responder_nonce: bytes
    opaque_raw: bytes
    opaque: OpaqueData
    signature: bytes

    def block(self, index: int) -> MeasurementBlock | None:
        """The block with 1-based ``index``, if present."""
        for blk in self.blocks:
            if blk.index == index:
                return blk
        return None


@dataclass(frozen=True, slots=True)
class GpuReport:
    """A parsed, unverified attestation report. ``raw`` is exactly the bytes parsed (with padding)."""

    request: SpdmRequest
    response: SpdmResponse
    raw: bytes
    padding: int

    @property
    def signed_bytes(self) -> bytes:
        """Request ‖ response without the 96-byte signature: what the device signed (SPDM 1.1)."""
        return self.raw[: len(self.raw) - self.padding - SIGNATURE_SIZE]

    @property
    def nonce(self) -> bytes:
        """The requester nonce, the one the verifier chose (not the responder's)."""
        return self.request.nonce


def _take(data: bytes, pos: int, size: int, what: str) -> bytes:
    if size > len(data) - pos:
        raise FormatError(
            "nvidia.truncated", f"{what} needs {size} bytes at offset {pos}, {len(data) - pos} left"
        )
    return data[pos : pos + size]


def _parse_request(data: bytes) -> SpdmRequest:
    head = _take(data, 0, REQUEST_SIZE, "GET_MEASUREMENTS request")
    version, code, param1, param2 = head[0], head[1], head[2], head[3]
    if version != SPDM_VERSION_11:
        raise FormatError("nvidia.spdm_invalid", f"request SPDMVersion {version:#04x}, want 0x11")
    if code != GET_MEASUREMENTS:
        raise FormatError("nvidia.spdm_invalid", f"request code {code:#04x}, want 0xe0 (GET_MEASUREMENTS)")
    if param1 != 0x01:
        raise FormatError(
            "nvidia.spdm_invalid", f"request Param1 {param1:#04x}, want 0x01 (signature requested)"
        )
    if param2 != 0xFF:
        raise FormatError("nvidia.spdm_invalid", f"request Param2 {param2:#04x}, want 0xff (all blocks)")
    return SpdmRequest(version, param1, param2, bytes(head[4:36]), head[36])


def _parse_blocks(record: bytes, count: int) -> tuple[MeasurementBlock, ...]:
    blocks: list[MeasurementBlock] = []
    seen: set[int] = set()
    pos = 0
    while pos < len(record):
        head = _take(record, pos, 4, "measurement block header")
        index, spec, size = head[0], head[1], int.from_bytes(head[2:4], "little")
        if spec != DMTF_SPEC:
            raise FormatError(
                "nvidia.spdm_invalid", f"block {index}: MeasurementSpecification {spec:#04x}, want 0x01"
            )
        if index in (0, 0xFF) or index in seen:
            raise FormatError("nvidia.spdm_invalid", f"block index {index} is reserved or repeated")
        seen.add(index)
        body = _take(record, pos + 4, size, f"measurement block {index}")
        if size < 3 or int.from_bytes(body[1:3], "little") != size - 3:
            raise FormatError(
                "nvidia.spdm_invalid", f"block {index}: DMTF value size does not fill MeasurementSize {size}"
            )
        blocks.append(MeasurementBlock(index, body[0], bytes(body[3:])))
        pos += 4 + size
    if len(blocks) != count:
        raise FormatError(
            "nvidia.spdm_invalid", f"NumberOfBlocks {count}, but the record holds {len(blocks)}"
        )
    return tuple(blocks)


def parse_gpu_report(data: bytes) -> GpuReport:
    """Parse request ‖ response (raw bytes; envelopes are :mod:`.envelope`'s job). See the module doc."""
    data = bytes(data)
    if len(data) > MAX_EVIDENCE_SIZE:
        raise FormatError(
            "nvidia.oversized", f"GPU evidence is {len(data)} bytes, at most {MAX_EVIDENCE_SIZE}"
        )
    request = _parse_request(data)
    pos = REQUEST_SIZE
    head = _take(data, pos, 8, "MEASUREMENTS response header")
    version, code, param1, param2, count = head[0], head[1], head[2], head[3], head[4]
    if version != request.version:
        raise FormatError(
            "nvidia.spdm_invalid", f"response SPDMVersion {version:#04x}, request {request.version:#04x}"
        )
    if code != MEASUREMENTS:
        raise FormatError("nvidia.spdm_invalid", f"response code {code:#04x}, want 0x60 (MEASUREMENTS)")
    record_len = int.from_bytes(head[5:8], "little")
    pos += 8
    blocks = _parse_blocks(_take(data, pos, record_len, "measurement record"), count)
    pos += record_len
    responder_nonce = _take(data, pos, NONCE_SIZE, "responder nonce")
    pos += NONCE_SIZE
    opaque_len = int.from_bytes(_take(data, pos, 2, "OpaqueLength"), "little")
    pos += 2
    opaque_raw = _take(data, pos, opaque_len, "opaque data")
    pos += opaque_len
    signature = _take(data, pos, SIGNATURE_SIZE, "signature")
    pos += SIGNATURE_SIZE
    tail = data[pos:]
    if len(tail) > _MAX_PADDING or any(tail):
        raise FormatError("nvidia.oversized", f"{len(tail)} bytes after the signature, not all zero padding")
    response = SpdmResponse(
        version,
        param1,
        param2,
        blocks,
        bytes(responder_nonce),
        bytes(opaque_raw),
        parse_opaque(opaque_raw),
        bytes(signature),
    )
    return GpuReport(request, response, data, len(tail))


def serialize_gpu_report(report: GpuReport) -> bytes:
    """Rebuild the wire bytes from the fields (``== report.raw`` for anything the parser accepted)."""
    req, resp = report.request, report.response
    out = (
        bytearray((req.version, GET_MEASUREMENTS, req.param1, req.param2))
        + req.nonce
        + bytes((req.slot_id_param,))
    )
    record = bytearray()
    for blk in resp.blocks:
        size = 3 + len(blk.value)
        record += bytes((blk.index, DMTF_SPEC)) + size.to_bytes(2, "little")
        record += bytes((blk.value_type,)) + len(blk.value).to_bytes(2, "little") + blk.value
    opaque = serialize_opaque(resp.opaque)
    out += bytes((resp.version, MEASUREMENTS, resp.param1, resp.param2, len(resp.blocks)))
    out += len(record).to_bytes(3, "little") + record + resp.responder_nonce
    out += len(opaque).to_bytes(2, "little") + opaque + resp.signature + bytes(report.padding)
    return bytes(out)
