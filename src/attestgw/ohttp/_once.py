"""The one-shot guard behind the typestate objects: a second use raises ``ohttp.already_used``."""

from __future__ import annotations

from attestgw.errors import DecryptionError

__all__ = ["OneShot"]


class OneShot:
    """Base for objects that may be used once. A failed use still counts: no retry oracle."""

    __slots__ = ("_used",)

    def __init__(self) -> None:
        self._used = False

    @property
    def used(self) -> bool:
        return self._used

    def _consume(self, what: str) -> None:
        if self._used:
            raise DecryptionError("ohttp.already_used", f"{what} can be used once and was already used")
        self._used = True
