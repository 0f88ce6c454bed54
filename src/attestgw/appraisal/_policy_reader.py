"""Typed, strict readers over one TOML table, for policy files.

Every reader consumes its key; :meth:`Table.finish` then refuses whatever was not consumed, so an
unknown or misspelt key is an error rather than a silently ignored rule. Every refusal is
``ConfigError("config.policy_invalid")`` whose message starts with the dotted key path, e.g.
``snp.measurements[1]: want 96 hex digits (48 bytes), got 94``.

TOML booleans are never accepted where an integer is wanted (``True`` is an ``int`` in Python).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from attestgw.errors import ConfigError, UsageError

__all__ = ["Table", "parse_toml_document", "read_policy_file"]

_T = TypeVar("_T")
_HEX = re.compile(r"[0-9a-fA-F]*")
_MISSING: Any = object()


class Table:
    """A view of one TOML table that remembers which keys were read."""

    __slots__ = ("_data", "_path", "_seen", "_source")

    def __init__(self, data: Mapping[str, Any], path: str, source: str) -> None:
        self._data = data
        self._path = path
        self._source = source
        self._seen: set[str] = set()

    def key_path(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError("config.policy_invalid", f"{self._source}: {self.key_path(key)}: {problem}")

    def has(self, key: str) -> bool:
        return key in self._data

    def keys(self) -> list[str]:
        return list(self._data)

    def _take(self, key: str) -> Any:
        self._seen.add(key)
        return self._data.get(key, _MISSING)

    def finish(self) -> None:
        """Refuse every key that no reader consumed."""
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            others = f" (also unknown: {', '.join(unknown[1:])})" if len(unknown) > 1 else ""
            raise self.error(unknown[0], "unknown key" + others)

    def only(self, allowed: tuple[str, ...]) -> None:
        """Refuse, before reading anything, a key outside ``allowed`` (clearer than "missing X")."""
        for key in self._data:
            if key not in allowed:
                raise self.error(key, f"unknown key (want {', '.join(allowed)})")

    def table(self, key: str, *, required: bool = False) -> Table | None:
        value = self._take(key)
        if value is _MISSING:
            if required:
                raise self.error(key, "required table is missing")
            return None
        if not isinstance(value, dict):
            raise self.error(key, f"want a table, got {type(value).__name__}")
        if not value:
            raise self.error(key, "empty table")
        return Table(value, self.key_path(key), self._source)

    def string(self, key: str, *, required: bool = False, pattern: str | None = None) -> str | None:
        value = self._take(key)
        if value is _MISSING:
            if required:
                raise self.error(key, "required key is missing")
            return None
        if not isinstance(value, str):
            raise self.error(key, f"want a string, got {type(value).__name__}")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise self.error(key, f"{value!r} does not match {pattern}")
        return value

    def label(self, key: str, pattern: str) -> str:
        """A required identifier: a string (or an integer, taken as its decimal text) matching ``pattern``."""
        value = self._take(key)
        if value is _MISSING:
            raise self.error(key, "required key is missing")
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            raise self.error(key, f"{value!r} does not match {pattern}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._take(key)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"want true or false, got {value!r}")
        return value

    def _int(self, key: str, value: Any, lo: int, hi: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"want an integer, got {value!r}")
        if not lo <= value <= hi:
            raise self.error(key, f"{value} is out of range {lo}..{hi}")
        return value

    def integer(self, key: str, lo: int, hi: int) -> int | None:
        value = self._take(key)
        return None if value is _MISSING else self._int(key, value, lo, hi)

    def _list(self, key: str, *, allow_empty: bool = False, empty_hint: str = "") -> list[Any] | None:
        value = self._take(key)
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            raise self.error(key, f"want a list, got {type(value).__name__}")
        if not value and not allow_empty:
            hint = empty_hint or "remove the key to leave this rule unchecked"
            raise self.error(key, f"an empty list allows nothing; {hint}")
        return value

    def int_list(self, key: str, lo: int, hi: int, *, allow_empty: bool = False) -> tuple[int, ...] | None:
        items = self._list(key, allow_empty=allow_empty)
        if items is None:
            return None
        return tuple(sorted({self._int(f"{key}[{i}]", v, lo, hi) for i, v in enumerate(items)}))

    def _hex(self, key: str, value: Any, size: int) -> bytes:
        if not isinstance(value, str):
            raise self.error(key, f"want a hex string, got {type(value).__name__}")
        if not _HEX.fullmatch(value):
            raise self.error(key, "not hexadecimal (want digits 0-9a-f only, no 0x prefix)")
        if len(value) != 2 * size:
            raise self.error(key, f"want {2 * size} hex digits ({size} bytes), got {len(value)}")
        return bytes.fromhex(value)

    def hex_value(self, key: str, size: int) -> bytes | None:
        value = self._take(key)
        return None if value is _MISSING else self._hex(key, value, size)

    def hex_list(
        self, key: str, size: int, *, allow_empty: bool = False, empty_hint: str = ""
    ) -> tuple[bytes, ...] | None:
        items = self._list(key, allow_empty=allow_empty, empty_hint=empty_hint)
        if items is None:
            return None
        out: list[bytes] = []
        for i, v in enumerate(items):
            value = self._hex(f"{key}[{i}]", v, size)
            if value not in out:
                out.append(value)
        return tuple(out)

    def choice_list(self, key: str, choices: Mapping[str, _T]) -> tuple[_T, ...] | None:
        """A list of names from ``choices`` (case-insensitive), in the order given, deduplicated."""
        items = self._list(key)
        if items is None:
            return None
        out: list[_T] = []
        for i, v in enumerate(items):
            if not isinstance(v, str) or v.lower() not in choices:
                raise self.error(f"{key}[{i}]", f"{v!r} is not one of {', '.join(choices)}")
            choice = choices[v.lower()]
            if choice not in out:
                out.append(choice)
        return tuple(out)

    def dotted_version(self, key: str, min_parts: int, max_parts: int) -> tuple[int, ...] | None:
        """``"1.55"`` or ``"1.55.29"``: dot-separated decimal bytes (0..255)."""
        value = self.string(key)
        if value is None:
            return None
        parts = value.split(".")
        if not min_parts <= len(parts) <= max_parts or not all(p.isdigit() and len(p) <= 3 for p in parts):
            want = "major.minor" + (".build" if max_parts == 3 else "")
            raise self.error(key, f"{value!r} is not {want!r} (decimal numbers)")
        numbers = tuple(int(p) for p in parts)
        if any(n > 255 for n in numbers):
            raise self.error(key, f"{value!r}: each part must be 0..255")
        return numbers


def read_policy_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a policy file. Unreadable → ``UsageError("input.unreadable")``."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(
            "input.unreadable", f"cannot read policy {os.fspath(path)}: {exc.strerror}"
        ) from None


def parse_toml_document(data: bytes, source: str) -> dict[str, Any]:
    """UTF-8 TOML → a dict, or ``config.policy_invalid`` naming the file problem."""
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("config.policy_invalid", f"{source}: (file): not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config.policy_invalid", f"{source}: (file): not valid TOML: {exc}") from None
