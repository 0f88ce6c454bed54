"""A directory that behaves like the kernel's configfs-tsm report interface, for the backend's tests.

:class:`FakeTsmKernel` is passed to :class:`ConfigfsTsmAttester` as its ``_kernel`` hook and plays the
kernel's part at the points where the real kernel acts: it creates an entry's attributes when the
entry is made (configfs does that inside ``mkdir``), counts writes in ``generation``, produces the
report when ``outblob`` is read (a real simulated SEV-SNP report for the REPORT_DATA in ``inblob``,
with the certificate table as ``auxblob``), clears the attributes before ``rmdir``, and fails any
step with an errno as the syscall would. The backend runs exactly the syscalls it makes on a kernel.

Knobs: ``provider`` (``None``: no provider attribute), ``races`` (how many upcoming entries another
writer scribbles into, between our write and our read), ``fail[(operation, name)] = errno``,
``privlevel_floor``, ``outblob_override``, ``auxblob_override`` (``None``: attribute absent),
``generation_text``.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from attestgw.attester.simulated_snp import SimulatedSnpAttester

_ATTRIBUTES = ("inblob", "privlevel", "outblob", "auxblob", "provider", "generation")
_UNSET = object()


class FakeTsmKernel:
    def __init__(
        self, root: Path, attester: SimulatedSnpAttester, *, provider: str | None = "sev_guest"
    ) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.attester = attester
        self.provider = provider
        self.races = 0
        self.fail: dict[tuple[str, str], int] = {}
        self.privlevel_floor = 0
        self.outblob_override: bytes | None = None
        self.auxblob_override: object = _UNSET
        self.generation_text: str | None = None
        self.entries: list[str] = []
        self.privlevels: list[int] = []
        self.reports = 0
        self._generation: dict[Path, int] = {}

    def __call__(self, operation: str, path: Path) -> None:
        name = path.name if operation in ("read", "write") else operation
        code = self.fail.get((operation, name))
        if code is not None:
            raise OSError(code, os.strerror(code), str(path))
        if operation == "mkdir":
            self._mkdir(path)
        elif operation == "write":
            self._written(path)
        elif operation == "read" and path.name == "outblob":
            self._produce(path.parent)
        elif operation == "rmdir":
            for attribute in path.iterdir():
                attribute.unlink()

    def _set_generation(self, entry: Path, value: int) -> None:
        self._generation[entry] = value
        text = self.generation_text if self.generation_text is not None else f"{value}\n"
        (entry / "generation").write_text(text)

    def _mkdir(self, entry: Path) -> None:
        self.entries.append(entry.name)
        for attribute in _ATTRIBUTES:
            (entry / attribute).write_bytes(b"")
        if self.provider is None:
            (entry / "provider").unlink()
        else:
            (entry / "provider").write_text(self.provider + "\n")
        self._set_generation(entry, 0)

    def _written(self, path: Path) -> None:
        entry = path.parent
        if path.name == "privlevel":
            level = int(path.read_text())
            if level < self.privlevel_floor:
                raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), str(path))
            self.privlevels.append(level)
        self._set_generation(entry, self._generation[entry] + 1)
        if path.name == "inblob" and self.races > 0:
            # Another process writes its own REPORT_DATA into the same entry before we read.
            self.races -= 1
            path.write_bytes(b"\xee" * 64)
            self._set_generation(entry, self._generation[entry] + 1)

    def _produce(self, entry: Path) -> None:
        inblob = (entry / "inblob").read_bytes()
        report_data = inblob + bytes(64 - len(inblob))  # the kernel zero-pads a short inblob
        evidence = self.attester.report(report_data)
        self.reports += 1
        outblob = self.outblob_override if self.outblob_override is not None else evidence.report
        (entry / "outblob").write_bytes(outblob)
        auxblob = evidence.cert_table if self.auxblob_override is _UNSET else self.auxblob_override
        if auxblob is None:
            (entry / "auxblob").unlink()
        else:
            assert isinstance(auxblob, bytes)
            (entry / "auxblob").write_bytes(auxblob)

    def leftover_entries(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir())
