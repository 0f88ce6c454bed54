"""NVIDIA GPU appraisal policy: a TOML file → a validated, frozen :class:`GpuPolicy`.

Same ``[policy]`` table as the SNP/TDX policies and an ``[nvidia]`` table (keys in
``docs/nvidia-verification.md`` §5), plus an optional ``[nvidia.ocsp]`` table whose knobs feed
verification (:class:`~attestgw.verify.nvidia.OcspSettings`). Validated at load with the strict
reader (:mod:`._policy_reader`): unknown keys, bad versions, empty lists → ``config.policy_invalid``.

Deny by default: CC mode on and developer tools off are required (a mode NVML did not report is a
failure unless ``allow_unreported_cc_mode``), measurements must match both RIMs, the nonce must have
been checked, OCSP must have covered every certificate, simulated roots are refused unless listed.
Every weakening is named in :attr:`GpuPolicy.opt_ins`. The digest is SHA-256 of the file's bytes.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from attestgw.appraisal._policy_reader import Table, parse_toml_document, read_policy_file
from attestgw.verify.nvidia import GpuArch, OcspSettings

__all__ = ["GpuPolicy", "driver_version_tuple", "load_gpu_policy", "parse_gpu_policy", "vbios_version_tuple"]

_ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_ARCHS = {a.value.lower(): a for a in GpuArch}
_DRIVER = re.compile(r"[0-9]{1,4}(\.[0-9]{1,4}){1,3}")
_VBIOS = re.compile(r"[0-9A-Fa-f]{2}(\.[0-9A-Fa-f]{2}){4}")


def driver_version_tuple(text: str) -> tuple[int, ...] | None:
    """``"550.90.07"`` → ``(550, 90, 7)``; None when not a driver version."""
    return tuple(int(p) for p in text.split(".")) if _DRIVER.fullmatch(text) else None


def vbios_version_tuple(text: str) -> tuple[int, ...] | None:
    """``"96.00.9F.00.01"`` → ``(0x96, 0, 0x9F, 0, 1)``; None when not a VBIOS version."""
    return tuple(int(p, 16) for p in text.split(".")) if _VBIOS.fullmatch(text) else None


@dataclass(frozen=True, slots=True)
class GpuPolicy:
    """A validated NVIDIA policy; build it with :func:`load_gpu_policy` / :func:`parse_gpu_policy`."""

    id: str
    version: str
    digest: str
    description: str = ""
    allowed_architectures: tuple[GpuArch, ...] = (GpuArch.HOPPER, GpuArch.BLACKWELL)
    minimum_driver_version: str | None = None
    minimum_vbios_version: str | None = None
    require_measurement_match: bool = True
    tolerated_indices: tuple[int, ...] = ()
    require_cc_mode: bool = True
    allow_unreported_cc_mode: bool = False
    require_nonce: bool = True
    max_evidence_age: timedelta | None = None
    expected_device_count: int | None = None
    trust_simulated_roots: tuple[str, ...] = ()
    ocsp: OcspSettings = field(default_factory=OcspSettings)

    @property
    def opt_ins(self) -> tuple[str, ...]:
        out = []
        if not self.require_measurement_match:
            out.append("require_measurement_match")
        if self.tolerated_indices:
            out.append("tolerated_indices")
        if not self.require_cc_mode:
            out.append("require_cc_mode")
        if self.allow_unreported_cc_mode:
            out.append("allow_unreported_cc_mode")
        if not self.require_nonce:
            out.append("require_nonce")
        if self.trust_simulated_roots:
            out.append("trust_simulated_roots")
        out.extend(self.ocsp.opt_ins)
        return tuple(out)


def load_gpu_policy(path: str | os.PathLike[str]) -> GpuPolicy:
    """Read and validate an NVIDIA policy file. Unreadable → ``UsageError("input.unreadable")``."""
    return parse_gpu_policy(read_policy_file(path), source=os.fspath(path))


def _version(table: Table, key: str, parse: Any) -> str | None:
    value = table.string(key)
    if value is not None and parse(value) is None:
        raise table.error(key, f"{value!r} is not a version like the evidence reports it")
    return value


def parse_gpu_policy(data: bytes, *, source: str = "<policy>") -> GpuPolicy:
    """Validate NVIDIA policy bytes (UTF-8 TOML). ``source`` only labels error messages."""
    digest = hashlib.sha256(data).hexdigest()
    doc = parse_toml_document(data, source)
    root = Table(doc, "", source)
    meta = root.table("policy", required=True)
    root.table("nvidia", required=True)
    root.finish()
    assert meta is not None
    raw = dict(doc["nvidia"])
    ocsp_raw = raw.pop("ocsp", None)
    gpu = Table(raw, "nvidia", source)
    policy_id, version = meta.label("id", _ID), meta.label("version", _ID)
    description = meta.string("description") or ""
    meta.finish()
    ocsp = OcspSettings()
    if ocsp_raw is not None:
        if not isinstance(ocsp_raw, dict) or not ocsp_raw:
            raise gpu.error("ocsp", "want a non-empty table")
        table = Table(ocsp_raw, "nvidia.ocsp", source)
        grace = table.integer("grace_seconds", 0, 7 * 86400) or 0
        ocsp = OcspSettings(
            required=table.boolean("required", True),
            grace=timedelta(seconds=grace),
            allow_certificate_hold=table.boolean("allow_certificate_hold", False),
        )
        table.finish()
    age = gpu.integer("max_evidence_age_seconds", 1, 86400)
    tolerated = gpu.int_list("tolerated_indices", 0, 255) or ()
    require_match = gpu.boolean("require_measurement_match", True)
    if tolerated and not require_match:
        raise gpu.error("tolerated_indices", "has no effect with require_measurement_match = false")
    policy = GpuPolicy(
        id=policy_id,
        version=version,
        digest=digest,
        description=description,
        allowed_architectures=gpu.choice_list("allowed_architectures", _ARCHS)
        or (GpuArch.HOPPER, GpuArch.BLACKWELL),
        minimum_driver_version=_version(gpu, "minimum_driver_version", driver_version_tuple),
        minimum_vbios_version=_version(gpu, "minimum_vbios_version", vbios_version_tuple),
        require_measurement_match=require_match,
        tolerated_indices=tolerated,
        require_cc_mode=gpu.boolean("require_cc_mode", True),
        allow_unreported_cc_mode=gpu.boolean("allow_unreported_cc_mode", False),
        require_nonce=gpu.boolean("require_nonce", True),
        max_evidence_age=None if age is None else timedelta(seconds=age),
        expected_device_count=gpu.integer("expected_device_count", 1, 16),
        trust_simulated_roots=tuple(
            r.hex() for r in gpu.hex_list("trust_simulated_roots", 32, allow_empty=True) or ()
        ),
        ocsp=ocsp,
    )
    gpu.finish()
    return policy
