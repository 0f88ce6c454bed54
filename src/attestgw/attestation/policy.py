"""The policy a bundle is appraised with: the SEV-SNP policy, and the NVIDIA section when GPUs attest.

One file holds both (``docs/nvidia-verification.md`` §7): the ``[policy]`` table, the ``[snp]`` table
of ``docs/policy.md`` and, for workers with GPUs, the ``[nvidia]`` table (and ``[nvidia.ocsp]``) of
``docs/nvidia-verification.md`` §5. :func:`parse_bundle_policy` validates each section with its own
strict loader (unknown keys, bad values, empty tables → ``config.policy_invalid``) and both results
carry the digest of the *whole* file, so one policy reference names the CPU and GPU decisions.

A file without ``[nvidia]`` is an SNP policy exactly as before; a bundle with GPU evidence appraised
with it is refused (``policy.gpu_policy_missing``): GPUs are never accepted by default. Simulated GPU
roots are trusted only when ``[nvidia] trust_simulated_roots`` lists them.

Not checked here: whether the reference values suit a deployment (the operator's choice, recorded by
the digest).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tomllib
from dataclasses import dataclass
from typing import Any

from attestgw.appraisal import SnpPolicy, parse_policy
from attestgw.appraisal._nvidia_policy import GpuPolicy, parse_gpu_policy
from attestgw.errors import ConfigError, UsageError

__all__ = ["BundlePolicy", "as_bundle_policy", "dump_tables", "load_bundle_policy", "parse_bundle_policy"]

_SECTIONS = ("policy", "snp", "nvidia")


@dataclass(frozen=True, slots=True)
class BundlePolicy:
    """The SEV-SNP policy and, when the file has an ``[nvidia]`` table, the GPU policy."""

    snp: SnpPolicy
    gpu: GpuPolicy | None = None

    @property
    def digest(self) -> str:
        """SHA-256 of the policy file (the same in both sections)."""
        return self.snp.digest


def as_bundle_policy(policy: SnpPolicy | BundlePolicy) -> BundlePolicy:
    """An SNP policy on its own is a bundle policy without a GPU section."""
    return policy if isinstance(policy, BundlePolicy) else BundlePolicy(policy)


def _invalid(source: str, message: str) -> ConfigError:
    return ConfigError("config.policy_invalid", f"{source}: {message}")


def _quote(text: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes; DEL must be escaped in TOML
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any, source: str, key: str) -> str:
    """One TOML value, for the restricted types policy files use (strings, integers, booleans, arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v, source, key) for v in value) + "]"
    raise _invalid(source, f"{key}: {type(value).__name__} values are not used in policies")


def dump_tables(doc: dict[str, Any], source: str = "<policy>", prefix: str = "") -> str:
    """TOML text for ``doc`` (nested tables of the restricted value types); ``tomllib`` reads it back
    to an equal document."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in doc.items():
        name = _quote(key)
        if isinstance(value, dict):
            tables.append((f"{prefix}{name}", value))
        else:
            lines.append(f"{name} = {_value(value, source, prefix + key)}")
    for path, table in tables:
        lines.append(f"[{path}]")
        lines.append(dump_tables(table, source, path + "."))
    return "\n".join(lines) + "\n"


def parse_bundle_policy(data: bytes, *, source: str = "<policy>") -> BundlePolicy:
    """Validate a policy file (UTF-8 TOML) with ``[policy]``, ``[snp]`` and optionally ``[nvidia]``."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _invalid(source, f"not UTF-8 TOML: {exc}") from None
    if "nvidia" not in doc:
        return BundlePolicy(parse_policy(data, source=source))
    unknown = sorted(set(doc) - set(_SECTIONS))
    if unknown:
        raise _invalid(source, f"{unknown[0]}: unknown table (want {', '.join(_SECTIONS)})")
    if "policy" not in doc:
        raise _invalid(source, "policy: required table is missing")
    meta = {"policy": doc["policy"]}
    snp_text = dump_tables({**meta, **{k: v for k, v in doc.items() if k == "snp"}}, source)
    gpu_text = dump_tables({**meta, "nvidia": doc["nvidia"]}, source)
    snp = parse_policy(snp_text.encode("utf-8"), source=source)
    gpu = parse_gpu_policy(gpu_text.encode("utf-8"), source=source)
    return BundlePolicy(
        snp=dataclasses.replace(snp, digest=digest), gpu=dataclasses.replace(gpu, digest=digest)
    )


def load_bundle_policy(path: str | os.PathLike[str]) -> BundlePolicy:
    """Read and validate a policy file. Unreadable → ``UsageError("input.unreadable")``."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise UsageError(
            "input.unreadable", f"cannot read policy {os.fspath(path)}: {exc.strerror}"
        ) from None
    return parse_bundle_policy(data, source=os.fspath(path))
