"""The policy a bundle is appraised with: the CPU TEE's section(s), and the NVIDIA section when GPUs attest.

One file holds them all (``docs/nvidia-verification.md`` §7): the ``[policy]`` table, the ``[snp]``
table of ``docs/policy.md`` and/or the ``[tdx]`` table of ``docs/policy.md`` §8 and, for workers
with GPUs, the ``[nvidia]`` table (and ``[nvidia.ocsp]``) of ``docs/nvidia-verification.md`` §5.
:func:`parse_bundle_policy` validates each section with its own strict loader (unknown keys, bad
values, empty tables → ``config.policy_invalid``) and every result carries the digest of the *whole*
file, so one policy reference names the CPU and GPU decisions.

A file with only ``[policy]`` and ``[snp]`` is an SNP policy exactly as before. A bundle is appraised
with the section of its own TEE: an SEV-SNP bundle with a policy that has no ``[snp]``, or a TDX bundle
with one that has no ``[tdx]``, is refused (``policy.tee_policy_missing``); a bundle with GPU evidence
and no ``[nvidia]`` is refused (``policy.gpu_policy_missing``): nothing is accepted by default.
Simulated roots are trusted only when the section of their kind lists them in ``trust_simulated_roots``.

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

from attestgw.appraisal import SnpPolicy, TdxPolicy, parse_policy, parse_tdx_policy
from attestgw.appraisal._nvidia_policy import GpuPolicy, parse_gpu_policy
from attestgw.errors import ConfigError, UsageError

__all__ = ["BundlePolicy", "as_bundle_policy", "dump_tables", "load_bundle_policy", "parse_bundle_policy"]

_SECTIONS = ("policy", "snp", "tdx", "nvidia")


@dataclass(frozen=True, slots=True)
class BundlePolicy:
    """The SEV-SNP and/or TDX policy and, when the file has an ``[nvidia]`` table, the GPU policy.

    At least one CPU section is present; every section carries the same ``id``, ``version`` and
    ``digest`` (those of the file).
    """

    snp: SnpPolicy | None
    gpu: GpuPolicy | None = None
    tdx: TdxPolicy | None = None

    def __post_init__(self) -> None:
        if self.snp is None and self.tdx is None:
            raise ConfigError("config.policy_invalid", "a bundle policy needs an [snp] or a [tdx] section")

    @property
    def _cpu(self) -> SnpPolicy | TdxPolicy:
        cpu = self.snp if self.snp is not None else self.tdx
        assert cpu is not None  # __post_init__
        return cpu

    @property
    def id(self) -> str:
        return self._cpu.id

    @property
    def version(self) -> str:
        return self._cpu.version

    @property
    def digest(self) -> str:
        """SHA-256 of the policy file (the same in every section)."""
        return self._cpu.digest


def as_bundle_policy(policy: SnpPolicy | BundlePolicy) -> BundlePolicy:
    """An SNP policy on its own is a bundle policy without a GPU or TDX section."""
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
    """Validate a policy file (UTF-8 TOML): ``[policy]``, ``[snp]`` and/or ``[tdx]``, maybe ``[nvidia]``."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _invalid(source, f"not UTF-8 TOML: {exc}") from None
    if "nvidia" not in doc and "tdx" not in doc:
        return BundlePolicy(parse_policy(data, source=source))
    unknown = sorted(set(doc) - set(_SECTIONS))
    if unknown:
        raise _invalid(source, f"{unknown[0]}: unknown table (want {', '.join(_SECTIONS)})")
    if "policy" not in doc:
        raise _invalid(source, "policy: required table is missing")
    if "snp" not in doc and "tdx" not in doc:
        raise _invalid(source, "snp: required table is missing (a policy needs [snp] and/or [tdx])")
    meta = {"policy": doc["policy"]}

    def section(name: str) -> bytes:
        return dump_tables({**meta, name: doc[name]}, source).encode("utf-8")

    snp = parse_policy(section("snp"), source=source) if "snp" in doc else None
    tdx = parse_tdx_policy(section("tdx"), source=source) if "tdx" in doc else None
    gpu = parse_gpu_policy(section("nvidia"), source=source) if "nvidia" in doc else None
    return BundlePolicy(
        snp=None if snp is None else dataclasses.replace(snp, digest=digest),
        gpu=None if gpu is None else dataclasses.replace(gpu, digest=digest),
        tdx=None if tdx is None else dataclasses.replace(tdx, digest=digest),
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
