"""Strict JSON for the identity package: one object, no duplicate members, no NaN / Infinity."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["loads_object"]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate member {key!r}")
        result[key] = value
    return result


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def loads_object(data: bytes) -> dict[str, Any]:
    """Decode UTF-8 JSON that must be an object; raises :class:`ValueError` for anything else.

    Duplicate member names (at any depth) and the non-standard constants are refused: two readers of
    the same bytes must never see different values. Deep nesting and huge integers surface as
    ``ValueError`` too, never as ``RecursionError``.
    """
    try:
        value = json.loads(
            data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant
        )
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value
