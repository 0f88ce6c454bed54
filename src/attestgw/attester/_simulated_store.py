"""On-disk form of a simulated AMD authority, so a worker keeps the same roots across restarts.

Layout of the directory (the caller chooses where; it should be private to the service):

* ``authority.json`` — ``{"format", "simulated": true, "product", "not_before"}``, written last, so
  its presence means the directory is complete;
* ``ark.pem``, ``ask.pem``, ``asvk.pem`` — the certificates (PEM, mode 0644);
* ``ark.key.pem``, ``ask.key.pem``, ``asvk.key.pem`` — unencrypted PKCS#8 private keys, mode 0600.

Every file is written to a temporary name and renamed into place. Reading checks that each key
matches its certificate; it does not check signatures or validity (the verifier does that), nor the
file modes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from attestgw.clock import parse_instant
from attestgw.crypto.signing import (
    RsaPrivateKey,
    certificate_from_pem,
    certificate_to_pem,
    key_matches_certificate,
    private_key_to_pem,
    rsa_key_from_pem,
)
from attestgw.errors import ConfigError
from attestgw.evidence.snp import Product

__all__ = ["ROLES", "KeyAndCert", "has_authority", "read_authority", "write_authority"]

ROLES = ("ark", "ask", "asvk")
_META = "authority.json"
_FORMAT = "attestgw.simulated-amd-authority.v1"


@dataclass(frozen=True, slots=True)
class KeyAndCert:
    """An RSA root or intermediate: private key (never shown in ``repr``) and certificate DER."""

    private_key: RsaPrivateKey = field(repr=False)
    certificate: bytes


def has_authority(directory: Path) -> bool:
    return (directory / _META).is_file()


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # O_CREAT's mode is ignored when a stale temporary file already exists
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def write_authority(
    directory: Path, product: Product, not_before: datetime, roots: dict[str, KeyAndCert]
) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for role in ROLES:
        _write(directory / f"{role}.key.pem", private_key_to_pem(roots[role].private_key), 0o600)
        _write(directory / f"{role}.pem", certificate_to_pem(roots[role].certificate), 0o644)
    meta = {
        "format": _FORMAT,
        "simulated": True,
        "product": product.value,
        "not_before": not_before.isoformat(),
    }
    _write(directory / _META, json.dumps(meta, indent=2).encode() + b"\n", 0o644)


def _invalid(directory: Path, why: str) -> ConfigError:
    return ConfigError("config.simulated_authority_invalid", f"simulated authority in {directory}: {why}")


def read_authority(directory: Path) -> tuple[Product, datetime, dict[str, KeyAndCert]]:
    """``(product, not_before, roots)``; ``ConfigError("config.simulated_authority_invalid")`` otherwise."""
    try:
        meta = json.loads((directory / _META).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _invalid(directory, f"cannot read {_META} ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise _invalid(directory, f"{_META} is not {_FORMAT!r}")
    try:
        product = Product(meta["product"])
        not_before = parse_instant(str(meta["not_before"]))
    except (KeyError, ValueError) as exc:
        raise _invalid(directory, f"bad product or not_before in {_META} ({exc})") from exc
    roots: dict[str, KeyAndCert] = {}
    for role in ROLES:
        try:
            cert = certificate_from_pem((directory / f"{role}.pem").read_bytes())
            key = rsa_key_from_pem((directory / f"{role}.key.pem").read_bytes())
        except (OSError, ValueError) as exc:
            raise _invalid(directory, f"cannot read the {role.upper()} ({exc})") from exc
        if not key_matches_certificate(key, cert):
            raise _invalid(directory, f"{role}.key.pem does not match {role}.pem")
        roots[role] = KeyAndCert(key, cert)
    return product, not_before, roots
