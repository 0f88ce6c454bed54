"""The simulated Intel TDX guest as a :class:`~attestgw.attester.base.CpuAttester` (development only).

Wraps :class:`~attestgw.attester.simulated_tdx.SimulatedTdxAttester`: every call returns a freshly
signed DCAP quote (v4, TD 1.0 body) with the requested REPORTDATA, together with the PCS collateral
the simulated Intel authority issues for it at that moment (TCB info, QE identity, CRLs, issuer
chains: the collateral bundle JSON ``attestgw verify tdx --collateral`` reads), marked ``simulated``
and with provider ``simulated-tdx``. There is no CC event log: the simulated TD's RTMRs are fixed
values, not the replay of a measured boot. Refused (``config.simulation_disabled``) unless
simulation is explicitly enabled, like every simulated component (see ``docs/simulated-tee.md``).

:meth:`SimulatedTdxBackend.policy_toml` writes the appraisal policy that trusts exactly this
backend's simulated Intel root and this TD (MRTD, RTMR0-3, MRSEAM, XFAM, TEE_TCB_SVN floor): with it a
client affirms the simulated worker, while a policy that does not list the root refuses it
(``tdx.root_not_pinned`` at verification, ``policy.simulated_root`` at appraisal).

What is not simulated: isolation, memory encryption, a TDX module, a quoting enclave, a measurement
of real code. The measurements are fixed values; a simulated quote proves nothing about the machine
that made it.
"""

from __future__ import annotations

from pathlib import Path

from attestgw.attester._simulation_gate import require_simulation_enabled
from attestgw.attester.base import CpuEvidence
from attestgw.attester.simulated_intel import SimulatedIntelAuthority
from attestgw.attester.simulated_tdx import SimulatedTdxAttester

__all__ = ["SIMULATED_TDX_PROVIDER", "SimulatedTdxBackend"]

#: The ``provider`` a simulated TDX backend reports (configfs-tsm would say ``tdx_guest``).
SIMULATED_TDX_PROVIDER = "simulated-tdx"


def _hex_list(values: tuple[bytes, ...] | list[bytes]) -> str:
    return "[" + ", ".join(f'"{v.hex()}"' for v in values) + "]"


class SimulatedTdxBackend:
    """A :class:`CpuAttester` producing simulated TDX quotes and their collateral. Thread-safe."""

    __slots__ = ("_attester",)

    def __init__(self, attester: SimulatedTdxAttester, *, enable_simulation: bool = False) -> None:
        require_simulation_enabled(enable_simulation, "SimulatedTdxBackend")
        self._attester = attester

    @classmethod
    def create(
        cls, *, authority_dir: Path | None = None, enable_simulation: bool = False
    ) -> SimulatedTdxBackend:
        """A TD on a fresh simulated platform, under the simulated Intel roots saved in ``authority_dir``.

        ``authority_dir`` keeps the roots (and so the root fingerprint a policy trusts) across
        restarts (:meth:`SimulatedIntelAuthority.load_or_create`); ``None`` makes throw-away roots.
        The PCK certificate and the attestation key are new on every start; the TD's measurements
        are fixed, so the policy of one start affirms the next.
        """
        require_simulation_enabled(enable_simulation, "SimulatedTdxBackend")
        if authority_dir is None:
            authority = SimulatedIntelAuthority(enable_simulation=True)
        else:
            authority = SimulatedIntelAuthority.load_or_create(authority_dir, enable_simulation=True)
        return cls(SimulatedTdxAttester(authority, enable_simulation=True), enable_simulation=True)

    def __repr__(self) -> str:
        return f"SimulatedTdxBackend({self._attester!r})"

    @property
    def attester(self) -> SimulatedTdxAttester:
        return self._attester

    def collect(self, report_data: bytes) -> CpuEvidence:
        """A simulated quote with REPORTDATA ``report_data`` (64 bytes) and its collateral bundle."""
        evidence = self._attester.quote(report_data)
        return CpuEvidence(
            tee="tdx",
            report=evidence.quote,
            provider=SIMULATED_TDX_PROVIDER,
            simulated=True,
            collateral=evidence.collateral,
        )

    def policy_toml(self, *, policy_id: str = "attestgw-simulated-worker") -> str:
        """An appraisal policy (``[policy]`` + ``[tdx]``) that affirms exactly this simulated TD.

        It lists the simulated Intel root in ``trust_simulated_roots`` and pins MRTD, RTMR0-3,
        MRSEAM and XFAM to this TD's values and TEE_TCB_SVN to at least its own; everything else
        keeps the strict defaults of ``docs/policy.md`` §8 (UpToDate TCB only, no debug TD,
        SEPT_VE_DISABLE required). The file says SIMULATED in its description and opts in through
        ``trust_simulated_roots``, so results made with it are marked simulated.
        """
        values = self._attester.td_measurements
        rtmrs = "\n".join(f"rtmr{i} = {_hex_list([r])}" for i, r in enumerate(values["rtmrs"]))
        return (
            "# SIMULATED TEE: this policy trusts a locally generated Intel root. Development only;\n"
            "# never use it (or copy its trust_simulated_roots) in production.\n"
            "[policy]\n"
            f'id = "{policy_id}"\n'
            'version = "1"\n'
            'description = "SIMULATED: trusts exactly this worker\'s simulated Intel root, MRTD and RTMRs"\n'
            "\n"
            "[tdx]\n"
            f"mrtds = {_hex_list([values['mr_td']])}\n"
            f"{rtmrs}\n"
            f"mrseams = {_hex_list([values['mr_seam']])}\n"
            f'xfam = "{values["xfam"]:016x}"\n'
            f'minimum_tee_tcb_svn = "{values["tee_tcb_svn"].hex()}"\n'
            f'trust_simulated_roots = ["{self._attester.authority.root_sha256()}"]\n'
        )
