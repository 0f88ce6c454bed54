"""GPU evidence as it arrives: one raw or hex SPDM transcript, or NVIDIA's serialized evidence JSON.

:func:`parse_gpu_evidence` accepts

- the SPDM request ‖ response as raw bytes, hex or base64 (one device; ``nvidia/*/…Report.hex``);
- NVIDIA's serialized evidence JSON (nvattest / PPCIe): a list — or one object — of
  ``{"arch", "evidence" (base64 SPDM), "certificate" (base64 of the PEM chain), "nonce" (hex),
  "driver_version", "vbios_version", "version"}``; attestgw's NVML attester adds ``"cc_mode"``
  (``on`` / ``off`` / ``devtools``, as NVML reported it).

Everything here is **unverified** and named so: the envelope's nonce, arch, versions and CC mode are
what the host said, not what the GPU signed. Verification compares the signed values with them.
Keys outside the list above are refused, so a typo never silently drops a field. Errors are
``FormatError("nvidia.evidence_invalid")`` (plus the SPDM parser's codes). Not checked here: any
signature, the chain, the nonce.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from attestgw.encoding import decode_blob
from attestgw.errors import FormatError
from attestgw.evidence.nvidia.spdm import MAX_EVIDENCE_SIZE, GpuReport, parse_gpu_report

__all__ = ["CC_MODES", "MAX_DEVICES", "GpuEvidence", "parse_gpu_evidence"]

_CODE = "nvidia.evidence_invalid"
MAX_DEVICES = 16  # 8 GPUs + 4 NVSwitches in an HGX box, with room
_MAX_JSON = 4 * 1024 * 1024
_MAX_CHAIN = 64 * 1024
_KEYS = frozenset(
    {"arch", "evidence", "certificate", "nonce", "driver_version", "vbios_version", "version", "cc_mode"}
)
CC_MODES = ("on", "off", "devtools")


@dataclass(frozen=True, slots=True)
class GpuEvidence:
    """One device's evidence and what its envelope claimed about it (all unverified)."""

    report: GpuReport
    certificate_chain: bytes | None = None
    unverified_arch: str | None = None
    unverified_nonce: bytes | None = None
    unverified_driver_version: str | None = None
    unverified_vbios_version: str | None = None
    unverified_cc_mode: str | None = None


def _b64(value: Any, what: str, limit: int) -> bytes:
    if not isinstance(value, str) or len(value) > limit * 2:
        raise FormatError(_CODE, f"{what} must be a base64 string of at most {limit} bytes")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError(_CODE, f"{what} is not valid base64") from None


def _text(item: dict[str, Any], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 64 or not value.isascii():
        raise FormatError(_CODE, f"{where}.{key} must be a short ASCII string")
    return value


def _device(item: Any, where: str) -> GpuEvidence:
    if not isinstance(item, dict):
        raise FormatError(_CODE, f"{where} is not an object")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise FormatError(_CODE, f"{where} has unknown keys {unknown}")
    if "evidence" not in item:
        raise FormatError(_CODE, f"{where} has no 'evidence'")
    report = parse_gpu_report(_b64(item["evidence"], f"{where}.evidence", MAX_EVIDENCE_SIZE))
    chain = _b64(item["certificate"], f"{where}.certificate", _MAX_CHAIN) if "certificate" in item else None
    nonce_text = _text(item, "nonce", where)
    nonce = None
    if nonce_text is not None:
        try:
            nonce = bytes.fromhex(nonce_text)
        except ValueError:
            raise FormatError(_CODE, f"{where}.nonce is not hex") from None
    cc_mode = _text(item, "cc_mode", where)
    if cc_mode is not None and cc_mode.lower() not in CC_MODES:
        raise FormatError(_CODE, f"{where}.cc_mode {cc_mode!r}, want one of {', '.join(CC_MODES)}")
    return GpuEvidence(
        report=report,
        certificate_chain=chain,
        unverified_arch=_text(item, "arch", where),
        unverified_nonce=nonce,
        unverified_driver_version=_text(item, "driver_version", where),
        unverified_vbios_version=_text(item, "vbios_version", where),
        unverified_cc_mode=None if cc_mode is None else cc_mode.lower(),
    )


def _from_json(data: bytes) -> tuple[GpuEvidence, ...]:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise FormatError(_CODE, "serialized evidence is not UTF-8 JSON") from None
    items = doc if isinstance(doc, list) else [doc]
    if not items or len(items) > MAX_DEVICES:
        raise FormatError(_CODE, f"serialized evidence lists {len(items)} devices, want 1..{MAX_DEVICES}")
    return tuple(_device(item, f"evidence[{i}]") for i, item in enumerate(items))


def parse_gpu_evidence(data: bytes) -> tuple[GpuEvidence, ...]:
    """One :class:`GpuEvidence` per device, in the order given. See the module docstring."""
    data = bytes(data)
    if len(data) > _MAX_JSON:
        raise FormatError(_CODE, f"GPU evidence input is {len(data)} bytes, at most {_MAX_JSON}")
    if data.lstrip()[:1] in (b"[", b"{"):
        return _from_json(data)
    return (GpuEvidence(report=parse_gpu_report(decode_blob(data))),)
