"""The simulated SEV-SNP guest as a :class:`~attestgw.attester.base.CpuAttester` (development only).

Wraps :class:`~attestgw.attester.simulated_snp.SimulatedSnpAttester`: every call returns a freshly
signed 1184-byte report with the requested REPORT_DATA, the simulated VCEK, the ASK → ARK chain and
the GHCB certificate table, marked ``simulated`` and with provider ``simulated-snp``. Refused
(``config.simulation_disabled``) unless simulation is explicitly enabled, like every simulated
component (see ``docs/simulated-tee.md``).

:meth:`SimulatedSnpBackend.policy_toml` writes the appraisal policy that trusts exactly this
backend's simulated root and measurement: with it a client affirms the simulated worker, while any
policy that does not list the root refuses it (``policy.simulated_root``).

What is not simulated: isolation, memory encryption, a launch measurement of real code. The
measurement is a fixed value; a simulated report proves nothing about the machine that made it.
"""

from __future__ import annotations

from pathlib import Path

from attestgw.attester._simulation_gate import require_simulation_enabled
from attestgw.attester.base import CpuEvidence
from attestgw.attester.simulated_amd import SimulatedAmdAuthority
from attestgw.attester.simulated_snp import SimulatedSnpAttester
from attestgw.evidence.snp import Product

__all__ = ["SIMULATED_PROVIDER", "SimulatedSnpBackend"]

#: The ``provider`` a simulated backend reports (configfs-tsm would say ``sev_guest``).
SIMULATED_PROVIDER = "simulated-snp"


class SimulatedSnpBackend:
    """A :class:`CpuAttester` producing simulated SEV-SNP evidence. Thread-safe (signing is stateless)."""

    __slots__ = ("_attester",)

    def __init__(self, attester: SimulatedSnpAttester, *, enable_simulation: bool = False) -> None:
        require_simulation_enabled(enable_simulation, "SimulatedSnpBackend")
        self._attester = attester

    @classmethod
    def create(
        cls,
        *,
        authority_dir: Path | None = None,
        product: Product = Product.GENOA,
        enable_simulation: bool = False,
    ) -> SimulatedSnpBackend:
        """A guest on a fresh simulated chip, under the simulated roots saved in ``authority_dir``.

        ``authority_dir`` keeps the roots (and so the ARK fingerprint a policy trusts) across
        restarts (:meth:`SimulatedAmdAuthority.load_or_create`); ``None`` makes throw-away roots.
        The chip, its VCEK and the report id are new on every start.
        """
        require_simulation_enabled(enable_simulation, "SimulatedSnpBackend")
        if authority_dir is None:
            authority = SimulatedAmdAuthority(product, enable_simulation=True)
        else:
            authority = SimulatedAmdAuthority.load_or_create(authority_dir, product, enable_simulation=True)
        return cls(SimulatedSnpAttester(authority, enable_simulation=True), enable_simulation=True)

    def __repr__(self) -> str:
        return f"SimulatedSnpBackend({self._attester!r})"

    @property
    def attester(self) -> SimulatedSnpAttester:
        return self._attester

    def collect(self, report_data: bytes) -> CpuEvidence:
        """A simulated report with REPORT_DATA ``report_data`` (64 bytes) and its full collateral."""
        evidence = self._attester.report(report_data)
        return CpuEvidence(
            tee="snp",
            report=evidence.report,
            provider=SIMULATED_PROVIDER,
            simulated=True,
            cert_table=evidence.cert_table,
            signing_cert=evidence.signing_cert,
            chain=evidence.chain,
        )

    def policy_toml(self, *, policy_id: str = "attestgw-simulated-worker") -> str:
        """An appraisal policy that affirms exactly this simulated root, product and measurement.

        Everything else keeps the strict defaults of ``docs/policy.md`` (no debug, VMPL 0, VCEK only);
        the TCB floor is the simulated chip's own TCB. The file says SIMULATED in its description and
        opts in through ``trust_simulated_roots``, so results made with it are marked simulated.
        """
        attester = self._attester
        authority = attester.authority
        tcb = "\n".join(f"{name} = {spl}" for name, spl in attester.tcb.items())
        return (
            "# SIMULATED TEE: this policy trusts a locally generated AMD root. Development only;\n"
            "# never use it (or copy its trust_simulated_roots) in production.\n"
            "[policy]\n"
            f'id = "{policy_id}"\n'
            'version = "1"\n'
            'description = "SIMULATED: trusts exactly this worker\'s simulated AMD root and measurement"\n'
            "\n"
            "[snp]\n"
            f'measurements = ["{attester.measurement.hex()}"]\n'
            f'trust_simulated_roots = ["{authority.ark_sha256()}"]\n'
            f'allowed_products = ["{authority.product.value}"]\n'
            "\n"
            "[snp.minimum_tcb]\n"
            f"{tcb}\n"
        )
