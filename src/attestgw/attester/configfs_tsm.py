"""CPU evidence from Linux configfs-tsm (``Documentation/ABI/testing/configfs-tsm``): SEV-SNP and TDX.

The kernel exposes one directory, ``/sys/kernel/config/tsm/report``; every ``mkdir`` in it creates a
report *entry* with these attributes:

* ``inblob`` (write): up to 64 bytes of REPORT_DATA; attestgw always writes exactly 64;
* ``privlevel`` (write, optional): the privilege level to request the report at (SEV-SNP VMPL 0-3);
* ``outblob`` (read): the report (SEV-SNP ATTESTATION_REPORT) or quote (TDX), generated on read;
* ``auxblob`` (read, may be absent or empty): supplemental data; for SEV-SNP the GHCB certificate
  table (VCEK/VLEK, ASK/ASVK, ARK) the host provided;
* ``provider`` (read): ``sev_guest``, ``tdx_guest``, …;
* ``generation`` (read): incremented by every write to the entry. Another process that can write to
  the same entry could swap the inputs between our write and our read; the ABI's answer is to read
  ``generation`` before writing, count our own writes, and compare after reading.

Steps of :meth:`ConfigfsTsmAttester.collect` (one attempt):

1. ``mkdir`` a fresh entry with an unguessable name (``attester.unavailable`` when the directory is
   missing or access is refused: no configfs, a kernel without ``CONFIG_TSM_REPORTS``, not a CVM);
2. read ``generation``;
3. write ``inblob``, then ``privlevel`` when configured;
4. read ``outblob``, ``auxblob`` (optional), ``provider``, then ``generation`` again;
5. ``rmdir`` the entry (also when a step failed);
6. if ``generation`` moved by anything but our own writes, retry from 1 with a new entry; after
   ``max_attempts`` races, ``attester.race``.

Error classes: an absent or forbidden interface, or an unknown provider, is a deployment problem
(:class:`~attestgw.errors.ConfigError`); output that is not what the ABI promises is a
:class:`~attestgw.errors.FormatError` (``attester.invalid_output``); a kernel or firmware refusal
(``EIO``, ``EBUSY``, ``EINVAL`` on ``privlevel``, …) and lost races are transient unavailability of
evidence (:class:`~attestgw.errors.CollateralUnavailableError`, ``attester.request_failed`` /
``attester.race``): retrying later may succeed.

Not checked here: the report's signature, its REPORT_DATA or anything else about its content (the
worker compares REPORT_DATA; the relying party verifies). The certificate table is host input and
is passed on untouched; when it parses, the signing certificate and chain are split out of it for
the client's convenience, otherwise they are left ``None``.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from attestgw.attester.base import CpuEvidence
from attestgw.errors import AttestgwError, CollateralUnavailableError, ConfigError, FormatError
from attestgw.evidence.snp import ARK_GUID, ASK_GUID, REPORT_SIZE, VCEK_GUID, VLEK_GUID, parse_cert_table

__all__ = ["DEFAULT_ROOT", "PROVIDERS", "ConfigfsTsmAttester", "KernelHook"]

DEFAULT_ROOT = Path("/sys/kernel/config/tsm/report")
#: configfs-tsm provider name → attestgw TEE kind.
PROVIDERS: dict[str, str] = {"sev_guest": "snp", "tdx_guest": "tdx"}
#: ``(operation, path)``: called after ``mkdir`` and each attribute write, and before each read and
#: the ``rmdir``. A test seam that lets a fake directory behave like the kernel (create attributes,
#: produce ``outblob``, fail with an ``OSError`` as a syscall would); ``None`` on a real kernel.
KernelHook = Callable[[str, Path], None]

_MAX_BLOB = 1 << 20  # a TDX quote is a few KiB, an SNP certificate table a few pages
_MAX_TEXT = 64
_UNAVAILABLE_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.ENXIO, errno.ENODEV, errno.EOPNOTSUPP})


@dataclass(frozen=True, slots=True)
class _Raw:
    outblob: bytes
    auxblob: bytes | None
    provider: str
    generation: int


def _pem(der: bytes) -> bytes:
    # Written by hand rather than through a certificate parser: the table is host input and the
    # worker has no reason to parse it; the relying party does.
    text = base64.b64encode(der).decode("ascii")
    lines = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n".encode("ascii")


class ConfigfsTsmAttester:
    """Collects SEV-SNP reports or TDX quotes through configfs-tsm. Thread-safe (one entry per call).

    ``root``: the report directory. ``privlevel``: written when set (0-3). ``provider``: when set,
    any other provider is refused (``attester.unsupported_provider``). ``max_attempts``: entries
    tried before giving up on a racing writer. ``_kernel``: see :data:`KernelHook` (tests only).
    """

    __slots__ = ("_kernel", "_max_attempts", "_privlevel", "_provider", "_root")

    def __init__(
        self,
        root: Path = DEFAULT_ROOT,
        *,
        privlevel: int | None = None,
        provider: str | None = None,
        max_attempts: int = 3,
        _kernel: KernelHook | None = None,
    ) -> None:
        if privlevel is not None and not 0 <= privlevel <= 3:
            raise ValueError(f"privlevel must be 0-3, got {privlevel}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if provider is not None and provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}, want one of {sorted(PROVIDERS)}")
        self._root = Path(root)
        self._privlevel = privlevel
        self._provider = provider
        self._max_attempts = max_attempts
        self._kernel = _kernel

    def __repr__(self) -> str:
        return f"ConfigfsTsmAttester(root={str(self._root)!r}, privlevel={self._privlevel})"

    @property
    def root(self) -> Path:
        return self._root

    def collect(self, report_data: bytes) -> CpuEvidence:
        """Evidence whose REPORT_DATA is ``report_data`` (exactly 64 bytes). See the module steps."""
        if len(report_data) != 64:
            raise ValueError(f"REPORT_DATA must be exactly 64 bytes, got {len(report_data)}")
        for _ in range(self._max_attempts):
            raw = self._attempt(bytes(report_data))
            if raw is not None:
                return self._evidence(raw)
        raise CollateralUnavailableError(
            "attester.race",
            f"configfs-tsm generation changed under a concurrent writer on {self._max_attempts} attempts",
        )

    # -- one attempt -------------------------------------------------------------------------------

    def _hook(self, operation: str, path: Path) -> None:
        if self._kernel is not None:
            self._kernel(operation, path)

    def _attempt(self, report_data: bytes) -> _Raw | None:
        entry = self._root / f"attestgw-{os.getpid()}-{secrets.token_hex(8)}"
        try:
            entry.mkdir()
        except OSError as exc:
            raise self._mkdir_error(exc) from None
        try:
            try:
                self._hook("mkdir", entry)
            except OSError as exc:
                raise self._mkdir_error(exc) from None
            raw = self._exchange(entry, report_data)
        except BaseException:
            # The original error matters more than a failed cleanup of a uniquely named entry.
            with contextlib.suppress(OSError):
                self._hook("rmdir", entry)
                entry.rmdir()
            raise
        try:
            self._hook("rmdir", entry)
            entry.rmdir()
        except OSError as exc:
            raise self._os_error(exc, entry, "removing the report entry") from None
        return raw

    def _exchange(self, entry: Path, report_data: bytes) -> _Raw | None:
        before = self._generation(entry)
        self._write(entry / "inblob", report_data)
        writes = 1
        if self._privlevel is not None:
            self._write(entry / "privlevel", f"{self._privlevel}\n".encode("ascii"))
            writes += 1
        outblob = self._read(entry / "outblob", _MAX_BLOB)
        auxblob = self._read(entry / "auxblob", _MAX_BLOB, optional=True)
        provider_raw = self._read(entry / "provider", _MAX_TEXT)
        after = self._generation(entry)
        if after != before + writes:
            return None  # someone else wrote to the entry between our write and our read
        assert provider_raw is not None
        assert outblob is not None
        provider = provider_raw.decode("ascii", "replace").strip()
        return _Raw(outblob, auxblob or None, provider, after)

    def _write(self, path: Path, data: bytes) -> None:
        try:
            # No O_CREAT: configfs attributes exist with the entry; creating one means it is not configfs.
            fd = os.open(path, os.O_WRONLY)
            try:
                written = os.write(fd, data)
            finally:
                os.close(fd)
            self._hook("write", path)
        except OSError as exc:
            raise self._os_error(exc, path, "writing") from None
        if written != len(data):
            raise CollateralUnavailableError(
                "attester.request_failed", f"{path.name}: wrote {written} of {len(data)} bytes"
            )

    def _read(self, path: Path, limit: int, *, optional: bool = False) -> bytes | None:
        try:
            self._hook("read", path)
            with path.open("rb") as f:
                data = f.read(limit + 1)
        except FileNotFoundError:
            if optional:
                return None
            raise FormatError(
                "attester.invalid_output", f"configfs-tsm entry has no {path.name} attribute"
            ) from None
        except OSError as exc:
            raise self._os_error(exc, path, "reading") from None
        if len(data) > limit:
            raise FormatError("attester.invalid_output", f"{path.name} is longer than {limit} bytes")
        return data

    def _generation(self, entry: Path) -> int:
        raw = self._read(entry / "generation", _MAX_TEXT)
        assert raw is not None
        text = raw.decode("ascii", "replace").strip()
        if not text.isdigit():
            raise FormatError("attester.invalid_output", f"generation {text!r} is not a decimal number")
        return int(text)

    # -- results and errors ------------------------------------------------------------------------

    def _evidence(self, raw: _Raw) -> CpuEvidence:
        tee = PROVIDERS.get(raw.provider)
        if tee is None or (self._provider is not None and raw.provider != self._provider):
            want = self._provider or " or ".join(sorted(PROVIDERS))
            raise ConfigError("attester.unsupported_provider", f"provider {raw.provider!r}, want {want}")
        if not raw.outblob:
            raise FormatError("attester.invalid_output", "outblob is empty")
        if tee != "snp":
            return CpuEvidence(
                tee=tee,
                report=raw.outblob,
                provider=raw.provider,
                generation=raw.generation,
                auxblob=raw.auxblob,
            )
        if len(raw.outblob) != REPORT_SIZE:
            raise FormatError(
                "attester.invalid_output", f"SEV-SNP outblob is {len(raw.outblob)} bytes, want {REPORT_SIZE}"
            )
        signing_cert, chain = _split_cert_table(raw.auxblob)
        return CpuEvidence(
            tee=tee,
            report=raw.outblob,
            provider=raw.provider,
            generation=raw.generation,
            cert_table=raw.auxblob,
            signing_cert=signing_cert,
            chain=chain,
        )

    def _mkdir_error(self, exc: OSError) -> AttestgwError:
        if isinstance(exc, FileNotFoundError | NotADirectoryError):
            return ConfigError(
                "attester.unavailable",
                f"{self._root} does not exist: configfs is not mounted, the kernel lacks "
                "CONFIG_TSM_REPORTS, or this is not a confidential VM",
            )
        return self._os_error(exc, self._root, "creating a report entry in")

    @staticmethod
    def _os_error(exc: OSError, path: Path, doing: str) -> AttestgwError:
        reason = errno.errorcode.get(exc.errno or 0, "unknown error")
        if exc.errno in _UNAVAILABLE_ERRNOS:
            return ConfigError(
                "attester.unavailable", f"{doing} {path}: {reason} (no access or no TEE provider)"
            )
        return CollateralUnavailableError("attester.request_failed", f"{doing} {path}: {reason}")


def _split_cert_table(table: bytes | None) -> tuple[bytes | None, bytes | None]:
    """The signing certificate (DER) and the ``ASK ‖ ARK`` PEM chain, when the table holds them."""
    if table is None:
        return None, None
    try:
        parsed = parse_cert_table(table)
    except FormatError:
        return None, None  # passed on verbatim; the relying party decides what to make of it
    signing = parsed.get(VCEK_GUID) or parsed.get(VLEK_GUID)
    ask, ark = parsed.get(ASK_GUID), parsed.get(ARK_GUID)
    chain = _pem(ask) + _pem(ark) if ask is not None and ark is not None else None
    return signing, chain
