"""Exact byte spans of the members of a top-level JSON object, without re-serializing.

Intel signs the bytes of the ``tcbInfo`` / ``enclaveIdentity`` value exactly as served
(formats.md §3.6), so the verifier must hash that substring. :func:`member_spans` walks the top
level of the object with the standard library's own decoder (``raw_decode``) and reports where
each member's value starts and ends. UTF-8 decoding is a bijection on valid input, so slicing the
text and re-encoding gives back the original bytes.

Refused: invalid UTF-8 or JSON, a top level that is not an object, duplicate keys (a signed
document with two ``tcbInfo`` members would be ambiguous), input over :data:`MAX_JSON` bytes,
NaN/Infinity constants. Not checked: the meaning of any value.
"""

from __future__ import annotations

import json
from typing import Any

from attestgw.encoding import STRICT_JSON

__all__ = ["MAX_JSON", "load_object", "member_raw", "split_signed_response"]

MAX_JSON = 256 * 1024  # the largest Intel TCB info seen is ~20 KiB
_WS = " \t\r\n"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"JSON constant {name} is not allowed")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


_STRICT = STRICT_JSON


def _text(data: bytes) -> str:
    if len(data) > MAX_JSON:
        raise ValueError(f"JSON document is {len(data)} bytes, want at most {MAX_JSON}")
    return bytes(data).decode("utf-8")


def load_object(data: bytes) -> dict[str, Any]:
    """Decode a JSON object strictly (see module docstring). Raises ValueError."""
    text = _text(data)
    value = _STRICT.decode(text)
    if not isinstance(value, dict):
        raise ValueError("top-level JSON value is not an object")
    return value


def member_raw(data: bytes, key: str) -> bytes:
    """The exact bytes of the value of top-level member ``key``. Raises ValueError if absent."""
    load_object(data)  # validates the whole document (and refuses duplicate keys) first
    text = _text(data)
    pos = len(text) - len(text.lstrip(_WS))
    if text[pos : pos + 1] != "{":
        raise ValueError("top-level JSON value is not an object")
    pos += 1
    while True:
        pos = _skip_ws(text, pos)
        if text[pos] == "}":
            break
        name, pos = _DECODER.raw_decode(text, pos)
        pos = _skip_ws(text, pos)
        pos = _skip_ws(text, pos + 1)  # past ':' (load_object already proved the syntax)
        start = pos
        _, pos = _DECODER.raw_decode(text, pos)
        if name == key:
            return text[start:pos].encode("utf-8")
        pos = _skip_ws(text, pos)
        if text[pos] == ",":
            pos += 1
    raise ValueError(f"JSON object has no member {key!r}")


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


def split_signed_response(body: bytes, member: str) -> tuple[bytes, Any]:
    """A PCS response ``{member: {...}, "signature": "<hex>"}``: the member's exact raw bytes and
    the (unchecked) signature value. Raises ``ValueError`` for any other shape."""
    outer = load_object(body)
    if outer.keys() != {member, "signature"}:
        raise ValueError(f"response members {sorted(outer)}; want {member}, signature")
    return member_raw(body, member), outer["signature"]
