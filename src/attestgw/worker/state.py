"""The worker's state directory (``--state-dir``): what survives a restart, and nothing secret of the TEE.

Layout::

    DIR/                       created with mode 0700
      simulated-amd/           simulated SEV-SNP only: the simulated AMD roots (ARK/ASK/ASVK, keys 0600)
      simulated-intel/         simulated TDX only: the simulated Intel roots and collateral signers
      policy.toml              simulated TEE only: a policy trusting exactly those roots and this
                               worker's measurement (rewritten at every start)
      models/tiny/             --model tiny: the deterministic tiny model, built once

What is *not* kept: the OHTTP keys, the receipt key and the simulated chip's VCEK or PCK. They are made in
memory at every start, so clients re-attest after a restart. The simulated roots' private keys are
development material: never use them, or a policy that trusts them, in production.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["StateDir"]


@dataclass(frozen=True, slots=True)
class StateDir:
    """Paths inside one state directory. :meth:`prepare` creates it (mode 0700)."""

    path: Path

    @property
    def authority_dir(self) -> Path:
        return self.path / "simulated-amd"

    @property
    def policy_path(self) -> Path:
        return self.path / "policy.toml"

    @property
    def models_dir(self) -> Path:
        return self.path / "models"

    def prepare(self) -> StateDir:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self

    def write_policy(self, text: str) -> Path:
        """Replace ``policy.toml`` atomically (a reader never sees half a policy)."""
        target = self.policy_path
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o644)
        os.replace(tmp, target)
        return target
