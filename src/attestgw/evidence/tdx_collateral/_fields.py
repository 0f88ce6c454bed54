"""Typed readers for Intel collateral JSON fields (formats.md §3.6). Each raises ValueError.

Shared by the TCB info and QE identity parsers; the callers turn ValueError into
``tdx.collateral_malformed`` with the field path in the message.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = ["TcbStatus", "as_int", "as_list", "as_obj", "as_str", "hex_bytes", "instant", "status"]

_HEX = re.compile(r"[0-9A-Fa-f]*")
# Intel PCS writes RFC 3339 UTC instants with a literal "Z" (e.g. 2025-06-19T10:16:03Z).
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


class TcbStatus(StrEnum):
    """Intel's TCB status strings, as written in TCB info and QE identity levels."""

    UP_TO_DATE = "UpToDate"
    SW_HARDENING_NEEDED = "SWHardeningNeeded"
    CONFIGURATION_NEEDED = "ConfigurationNeeded"
    CONFIGURATION_AND_SW_HARDENING_NEEDED = "ConfigurationAndSWHardeningNeeded"
    OUT_OF_DATE = "OutOfDate"
    OUT_OF_DATE_CONFIGURATION_NEEDED = "OutOfDateConfigurationNeeded"
    REVOKED = "Revoked"


def as_obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what}: want an object")
    return value


def as_list(value: Any, what: str, limit: int = 256) -> list[Any]:
    if not isinstance(value, list) or len(value) > limit:
        raise ValueError(f"{what}: want a list of at most {limit} items")
    return value


def as_str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what}: want a string")
    return value


def as_int(value: Any, what: str, maximum: int = 0xFFFF_FFFF) -> int:
    # bool is an int subclass in Python; JSON true is not a number.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValueError(f"{what}: want an integer in 0..{maximum}")
    return value


def hex_bytes(value: Any, what: str, size: int) -> bytes:
    text = as_str(value, what)
    if len(text) != 2 * size or not _HEX.fullmatch(text):
        raise ValueError(f"{what}: want {2 * size} hex digits")
    return bytes.fromhex(text)


def instant(value: Any, what: str) -> datetime:
    text = as_str(value, what)
    if not _INSTANT.fullmatch(text):
        raise ValueError(f"{what}: want an RFC 3339 UTC instant ending in Z")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def status(value: Any, what: str) -> TcbStatus:
    text = as_str(value, what)
    try:
        return TcbStatus(text)
    except ValueError:
        raise ValueError(f"{what}: unknown TCB status {text!r}") from None
