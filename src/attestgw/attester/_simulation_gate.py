"""The opt-in every simulated TEE component checks before it does anything.

Simulated evidence is real bytes signed by locally generated roots; used by mistake in a deployment it
would look like hardware evidence to anyone who trusts those roots. So constructing a simulated
component is refused unless the caller passes ``enable_simulation=True`` or the process environment
sets ``ATTESTGW_ALLOW_SIMULATED=1`` (exactly ``1``; other values do not enable it).
"""

from __future__ import annotations

import os

from attestgw.errors import ConfigError

__all__ = ["ALLOW_SIMULATED_ENV", "require_simulation_enabled"]

ALLOW_SIMULATED_ENV = "ATTESTGW_ALLOW_SIMULATED"


def require_simulation_enabled(enable_simulation: bool, what: str) -> None:
    """Raise ``ConfigError("config.simulation_disabled")`` unless simulation was explicitly enabled."""
    if enable_simulation or os.environ.get(ALLOW_SIMULATED_ENV) == "1":
        return
    raise ConfigError(
        "config.simulation_disabled",
        f"{what} is simulated and refused by default: pass enable_simulation=True "
        f"or set {ALLOW_SIMULATED_ENV}=1 (development and tests only)",
    )
