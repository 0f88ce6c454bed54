"""NVIDIA GPU / NVSwitch verification (formats.md §4): device chain, SPDM signature, nonce, FWID, RIMs
(XML signatures, chains), OCSP and measurement comparison → ``VerifiedGpuClaims``. No network here.
"""

from attestgw.verify.nvidia.claims import (
    GpuArch,
    GpuCollateral,
    GpuVerifyOptions,
    RimRole,
    VerifiedGpuClaims,
    VerifiedRim,
)
from attestgw.verify.nvidia.measurements import (
    MeasurementComparison,
    MeasurementMismatch,
    compare_measurements,
)
from attestgw.verify.nvidia.ocsp import OcspOutcome, OcspSettings
from attestgw.verify.nvidia.trust import (
    NVIDIA_DEVICE_ROOT_SHA256,
    NVIDIA_RIM_ROOT_SHA256,
    NVIDIA_TRUST,
    NvidiaTrustAnchor,
    NvidiaTrustStore,
    RootKind,
)
from attestgw.verify.nvidia.verifier import verify_gpu, verify_gpus

__all__ = [
    "NVIDIA_DEVICE_ROOT_SHA256",
    "NVIDIA_RIM_ROOT_SHA256",
    "NVIDIA_TRUST",
    "GpuArch",
    "GpuCollateral",
    "GpuVerifyOptions",
    "MeasurementComparison",
    "MeasurementMismatch",
    "NvidiaTrustAnchor",
    "NvidiaTrustStore",
    "OcspOutcome",
    "OcspSettings",
    "RimRole",
    "RootKind",
    "VerifiedGpuClaims",
    "VerifiedRim",
    "compare_measurements",
    "verify_gpu",
    "verify_gpus",
]
