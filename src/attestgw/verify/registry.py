"""The one place that branches on the TEE kind: ``"snp"`` / ``"tdx"`` → its parser and verifier.

Adding a TEE (TDX, NVIDIA GPU) means one :class:`TeeVerifier` implementation and one line in
:data:`VERIFIERS`; callers look the kind up and never write ``if kind == …`` themselves.

Each entry is typed by what it parses to, what collateral and options it takes and what verified
claims it returns, so ``verifier_for("snp")`` stays precisely typed for mypy. Unknown kinds are a
:class:`~attestgw.errors.UsageError` (``usage.invalid``).

Not done here: choosing a policy or appraising — verification only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, Literal, Protocol, TypeVar, overload

from attestgw.errors import UsageError
from attestgw.evidence.nvidia import GpuEvidence, parse_gpu_evidence
from attestgw.evidence.snp import AttestationReport, parse_report
from attestgw.evidence.tdx import Quote, parse_quote
from attestgw.evidence.tdx_collateral import CollateralBundle
from attestgw.verify.nvidia.claims import GpuCollateral, GpuVerifyOptions, VerifiedGpuClaims
from attestgw.verify.nvidia.verifier import verify_gpus
from attestgw.verify.snp.claims import SnpCollateral, SnpVerifyOptions, VerifiedSnpClaims
from attestgw.verify.snp.verifier import verify_snp
from attestgw.verify.tdx.claims import TdxVerifyOptions, VerifiedTdxClaims
from attestgw.verify.tdx.quote_verifier import verify_tdx

__all__ = ["VERIFIERS", "NvidiaVerifier", "SnpVerifier", "TdxVerifier", "TeeVerifier", "verifier_for"]

EvidenceT = TypeVar("EvidenceT")
CollateralT_contra = TypeVar("CollateralT_contra", contravariant=True)
OptionsT_contra = TypeVar("OptionsT_contra", contravariant=True)
ClaimsT_co = TypeVar("ClaimsT_co", covariant=True)


class TeeVerifier(Protocol, Generic[EvidenceT, CollateralT_contra, OptionsT_contra, ClaimsT_co]):
    """Parse evidence bytes, then verify the parsed evidence with collateral and options."""

    @property
    def kind(self) -> str:
        """The registry key, e.g. ``"snp"``."""
        ...

    def parse(self, data: bytes) -> EvidenceT:
        """Bytes (raw, hex or base64) → parsed, unverified evidence; ``FormatError`` otherwise."""
        ...

    def verify(
        self, parsed: EvidenceT, collateral: CollateralT_contra, options: OptionsT_contra
    ) -> ClaimsT_co:
        """Parsed evidence → verified claims, or an ``AttestgwError`` with a stable code."""
        ...


@dataclass(frozen=True, slots=True)
class SnpVerifier:
    """AMD SEV-SNP: :func:`~attestgw.evidence.snp.parse_report` then :func:`verify_snp`.

    ``parse`` takes the 1184-byte report itself; unwrapping envelopes (Azure HCL, extended-report
    certificate tables) is the caller's job because they carry data the caller must bind.
    """

    kind: str = "snp"

    def parse(self, data: bytes) -> AttestationReport:
        return parse_report(data)

    def verify(
        self, parsed: AttestationReport, collateral: SnpCollateral, options: SnpVerifyOptions
    ) -> VerifiedSnpClaims:
        return verify_snp(parsed, collateral, options)


@dataclass(frozen=True, slots=True)
class TdxVerifier:
    """Intel TDX: :func:`~attestgw.evidence.tdx.parse_quote` then :func:`verify_tdx`.

    ``parse`` accepts zero padding after the signature data (fixed-size quote buffers) but refuses
    other trailing bytes. SGX quotes parse, and ``verify`` refuses them (``tdx.not_a_td_quote``).
    """

    kind: str = "tdx"

    def parse(self, data: bytes) -> Quote:
        return parse_quote(data)

    def verify(
        self, parsed: Quote, collateral: CollateralBundle, options: TdxVerifyOptions
    ) -> VerifiedTdxClaims:
        return verify_tdx(parsed, collateral, options)


@dataclass(frozen=True, slots=True)
class NvidiaVerifier:
    """NVIDIA GPUs / NVSwitches: :func:`~attestgw.evidence.nvidia.parse_gpu_evidence` (raw, hex or
    serialized JSON; one or several devices) then :func:`verify_gpus` (every device, in order)."""

    kind: str = "nvidia"

    def parse(self, data: bytes) -> tuple[GpuEvidence, ...]:
        return parse_gpu_evidence(data)

    def verify(
        self, parsed: tuple[GpuEvidence, ...], collateral: GpuCollateral, options: GpuVerifyOptions
    ) -> tuple[VerifiedGpuClaims, ...]:
        return verify_gpus(parsed, collateral, options)


#: Every supported TEE kind. Read-only; extend by adding a line here.
VERIFIERS: Mapping[str, TeeVerifier[Any, Any, Any, Any]] = MappingProxyType(
    {"snp": SnpVerifier(), "tdx": TdxVerifier(), "nvidia": NvidiaVerifier()}
)


@overload
def verifier_for(kind: Literal["snp"]) -> SnpVerifier: ...
@overload
def verifier_for(kind: Literal["tdx"]) -> TdxVerifier: ...
@overload
def verifier_for(kind: Literal["nvidia"]) -> NvidiaVerifier: ...
@overload
def verifier_for(kind: str) -> TeeVerifier[Any, Any, Any, Any]: ...
def verifier_for(kind: str) -> TeeVerifier[Any, Any, Any, Any]:
    """The verifier registered for ``kind``; ``UsageError("usage.invalid")`` if there is none."""
    try:
        return VERIFIERS[kind]
    except KeyError:
        known = ", ".join(sorted(VERIFIERS))
        raise UsageError("usage.invalid", f"unknown TEE kind {kind!r}; supported: {known}") from None
