"""What a worker asks of its TEE: CPU evidence for a REPORT_DATA, and GPU evidence for a nonce.

A :class:`CpuAttester` turns the 64 bytes of REPORT_DATA that :mod:`attestgw.evidence.binding`
computed into :class:`CpuEvidence`: the report (SEV-SNP) or quote (TDX) plus whatever collateral the
platform hands out with it. Backends: :mod:`attestgw.attester.configfs_tsm` (Linux configfs-tsm, the
real thing), :mod:`attestgw.attester.simulated_backend` (SEV-SNP) and
:mod:`attestgw.attester.simulated_tdx_backend` (Intel TDX) (development only, refused unless simulation
is explicitly enabled).

:class:`GpuAttester` is the slot for NVIDIA GPU evidence (SPDM GET_MEASUREMENTS via NVML,
:mod:`attestgw.attester.nvml`, or simulated GPUs). The worker derives the GPU nonce with
:func:`attestgw.evidence.binding.gpu_nonce`, collects the GPU evidence first and binds its digest into
REPORT_DATA.

Not checked by anything here: that the evidence is genuine or acceptable. Attesters only collect;
``attestgw.verify`` and ``attestgw.appraisal`` (on the relying party's side) decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["CpuAttester", "CpuEvidence", "GpuAttester"]


@dataclass(frozen=True, slots=True)
class CpuEvidence:
    """CPU evidence as collected, with the collateral the platform returned next to it.

    ``tee``: ``"snp"`` or ``"tdx"``. ``report``: the raw SEV-SNP ATTESTATION_REPORT (1184 bytes) or
    TDX quote. ``provider``: who produced it (configfs-tsm's ``provider`` attribute such as
    ``sev_guest``, or ``simulated-snp``). ``generation``: configfs-tsm's write counter for the report
    entry (``None`` for other backends). ``cert_table``: the SEV-SNP GHCB certificate table (configfs
    ``auxblob`` for ``sev_guest``); ``signing_cert`` (DER VCEK/VLEK) and ``chain`` (PEM, ASK/ASVK then
    ARK) are split out of it when it carries them, so clients need not. ``auxblob``: any other
    provider's auxiliary blob, verbatim. ``simulated``: True only for simulated backends.
    ``collateral`` (TDX): the Intel PCS collateral bundle JSON for the quote, in the shape
    :func:`attestgw.evidence.tdx_collateral.parse_bundle` reads; ``event_log`` (TDX): the CC event
    log (CCEL) whose replay gives the quote's RTMRs.

    Every collateral field may be ``None``: what the platform did not provide, the relying party
    holds or fetches itself. Nothing here is trusted: the host supplies the certificate table.
    """

    tee: str
    report: bytes = field(repr=False)
    provider: str
    simulated: bool = False
    cert_table: bytes | None = field(default=None, repr=False)
    signing_cert: bytes | None = field(default=None, repr=False)
    chain: bytes | None = field(default=None, repr=False)
    crl: bytes | None = field(default=None, repr=False)
    generation: int | None = None
    auxblob: bytes | None = field(default=None, repr=False)
    collateral: bytes | None = field(default=None, repr=False)
    event_log: bytes | None = field(default=None, repr=False)


@runtime_checkable
class CpuAttester(Protocol):
    """Collects CPU evidence whose REPORT_DATA is exactly ``report_data`` (64 bytes, never padded).

    Implementations may block (file I/O, signing): async callers run them in a worker thread. They
    raise :class:`~attestgw.errors.AttestgwError` subclasses with ``attester.*`` codes when the
    platform cannot produce evidence, and ``ValueError`` for a ``report_data`` that is not 64 bytes.
    """

    def collect(self, report_data: bytes) -> CpuEvidence: ...


@runtime_checkable
class GpuAttester(Protocol):
    """Collects one evidence blob per GPU, in device order, for ``nonce``.

    ``nonce`` is the 32-byte :func:`attestgw.evidence.binding.gpu_nonce`. Each blob is one device's
    evidence as :func:`attestgw.evidence.nvidia.parse_gpu_evidence` reads it — NVIDIA's serialized
    evidence object (SPDM transcript, chain, versions, ``cc_mode``) for the backends here
    (:mod:`attestgw.attester.nvml`, :mod:`attestgw.attester.simulated_gpu`). The CPU evidence commits
    to exactly these bytes. A worker without GPUs passes ``None`` instead.
    """

    def collect(self, nonce: bytes) -> list[bytes]: ...
