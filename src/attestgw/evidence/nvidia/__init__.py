"""NVIDIA GPU / NVSwitch evidence (layer L1): SPDM 1.1 measurements, opaque TLVs, envelopes, RIMs.

Pure parsing into frozen dataclasses; nothing here verifies a signature. See formats.md §4 and
``docs/nvidia-verification.md``.
"""

from attestgw.evidence.nvidia.envelope import CC_MODES, MAX_DEVICES, GpuEvidence, parse_gpu_evidence
from attestgw.evidence.nvidia.opaque import (
    FeatureFlag,
    OpaqueData,
    OpaqueType,
    parse_opaque,
    serialize_opaque,
)
from attestgw.evidence.nvidia.rim import (
    RimContent,
    RimMeasurement,
    SignatureInfo,
    UnverifiedRim,
    canonical_octets,
    content_from_canonical,
    parse_rim,
)
from attestgw.evidence.nvidia.spdm import (
    NONCE_SIZE,
    REQUEST_SIZE,
    SIGNATURE_SIZE,
    GpuReport,
    MeasurementBlock,
    SpdmRequest,
    SpdmResponse,
    parse_gpu_report,
    serialize_gpu_report,
)

__all__ = [
    "CC_MODES",
    "MAX_DEVICES",
    "NONCE_SIZE",
    "REQUEST_SIZE",
    "SIGNATURE_SIZE",
    "FeatureFlag",
    "GpuEvidence",
    "GpuReport",
    "MeasurementBlock",
    "OpaqueData",
    "OpaqueType",
    "RimContent",
    "RimMeasurement",
    "SignatureInfo",
    "SpdmRequest",
    "SpdmResponse",
    "UnverifiedRim",
    "canonical_octets",
    "content_from_canonical",
    "parse_gpu_evidence",
    "parse_gpu_report",
    "parse_opaque",
    "parse_rim",
    "serialize_gpu_report",
    "serialize_opaque",
]
