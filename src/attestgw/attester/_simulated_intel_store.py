"""On-disk form of a simulated Intel authority, so a simulated TDX worker keeps its roots across restarts.

Layout of the directory (the caller chooses where; it should be private to the service):

* ``authority.json`` — ``{"format", "simulated": true, "not_before"}``, written last, so its presence
  means the directory is complete;
* ``root.pem``, ``pck_ca.pem``, ``tcb_signing.pem`` — the Intel-shaped Root CA, PCK Platform CA and
  TCB Signing certificates (PEM, mode 0644);
* ``root.key.pem``, ``pck_ca.key.pem``, ``tcb_signing.key.pem`` — unencrypted PKCS#8 P-256 private
  keys, mode 0600.

Every file is written to a temporary name and renamed into place (the writer of
:mod:`._simulated_store`). Reading checks that each key is a P-256 key matching its certificate; it
does not check signatures or validity (the verifier does that), nor the file modes.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from attestgw.attester._simulated_store import _write
from attestgw.clock import parse_instant
from attestgw.crypto.keys import ec_key_curve_name, load_ec_private_key_pem
from attestgw.crypto.signing import (
    P256PrivateKey,
    certificate_from_pem,
    certificate_to_pem,
    key_matches_certificate,
    private_key_to_pem,
)
from attestgw.errors import ConfigError

__all__ = ["INTEL_ROLES", "has_intel_authority", "read_intel_authority", "write_intel_authority"]

INTEL_ROLES = ("root", "pck_ca", "tcb_signing")
_META = "authority.json"
_FORMAT = "attestgw.simulated-intel-authority.v1"


def has_intel_authority(directory: Path) -> bool:
    return (directory / _META).is_file()


def write_intel_authority(
    directory: Path, not_before: datetime, roots: dict[str, tuple[P256PrivateKey, bytes]]
) -> None:
    """Write ``roots`` (role → (private key, certificate DER)) for every role of :data:`INTEL_ROLES`."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for role in INTEL_ROLES:
        key, cert = roots[role]
        _write(directory / f"{role}.key.pem", private_key_to_pem(key), 0o600)
        _write(directory / f"{role}.pem", certificate_to_pem(cert), 0o644)
    meta = {"format": _FORMAT, "simulated": True, "not_before": not_before.isoformat()}
    _write(directory / _META, json.dumps(meta, indent=2).encode() + b"\n", 0o644)


def _invalid(directory: Path, why: str) -> ConfigError:
    return ConfigError(
        "config.simulated_authority_invalid", f"simulated Intel authority in {directory}: {why}"
    )


def read_intel_authority(directory: Path) -> tuple[datetime, dict[str, tuple[P256PrivateKey, bytes]]]:
    """``(not_before, roots)``; ``ConfigError("config.simulated_authority_invalid")`` otherwise."""
    try:
        meta = json.loads((directory / _META).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _invalid(directory, f"cannot read {_META} ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise _invalid(directory, f"{_META} is not {_FORMAT!r}")
    try:
        not_before = parse_instant(str(meta["not_before"]))
    except (KeyError, ValueError) as exc:
        raise _invalid(directory, f"bad not_before in {_META} ({exc})") from exc
    roots: dict[str, tuple[P256PrivateKey, bytes]] = {}
    for role in INTEL_ROLES:
        try:
            cert = certificate_from_pem((directory / f"{role}.pem").read_bytes())
            key = load_ec_private_key_pem((directory / f"{role}.key.pem").read_bytes())
            curve = ec_key_curve_name(key)
        except (OSError, ValueError, ConfigError) as exc:
            raise _invalid(directory, f"cannot read the {role} certificate or key ({exc})") from exc
        if curve != "P-256":
            raise _invalid(directory, f"{role}.key.pem is a {curve} key, want P-256")
        if not key_matches_certificate(key, cert):
            raise _invalid(directory, f"{role}.key.pem does not match {role}.pem")
        roots[role] = (key, cert)
    return not_before, roots
