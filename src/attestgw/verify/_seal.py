"""The capability that makes "verified" a type: only code in ``attestgw.verify`` holds it.

Verified-claims dataclasses take a ``seal`` field and refuse to be constructed without this exact
object, so appraisal can never be handed claims that did not pass through a verifier. Tests that need
hand-made claims import it explicitly, which makes that reach visible in review.
"""

from __future__ import annotations

__all__ = ["SEAL", "check_seal"]


class _Seal:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<attestgw.verify seal>"


SEAL = _Seal()


def check_seal(seal: object, what: str) -> None:
    if seal is not SEAL:
        raise TypeError(f"{what} can only be constructed by attestgw.verify")
