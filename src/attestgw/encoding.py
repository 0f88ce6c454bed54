"""Input decoding shared by every parser: raw bytes, hex or base64 auto-detected; strict JSON.

Detection is deliberately conservative: text is only treated as hex or base64 when *all* of it
(ignoring ASCII whitespace) belongs to that alphabet and decodes to exactly one of the lengths the
caller expects. Anything else is returned unchanged as raw bytes, and the parser then applies its own
length checks. This means a raw binary structure that happens to be valid hex of the right length
would be misread; for the structures attestgw handles (which contain zero bytes) that cannot happen.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

__all__ = ["STRICT_JSON", "decode_blob", "strict_json_object", "to_hex"]

_WS = re.compile(rb"[ \t\r\n]+")
_HEX = re.compile(rb"\A(?:0x)?[0-9a-fA-F]+\Z")
_B64 = re.compile(rb"\A[A-Za-z0-9+/_-]+={0,2}\Z")


def to_hex(data: bytes) -> str:
    """Lowercase hex, the one way attestgw shows bytes to people and JSON."""
    return data.hex()


def decode_blob(data: bytes, expected_lengths: tuple[int, ...] = ()) -> bytes:
    """Return the binary structure encoded in ``data`` (raw, hex or base64).

    ``expected_lengths`` lists the binary lengths a text encoding must decode to for it to be
    accepted; when empty, any successfully decoded text is accepted. Never raises: undecodable input
    is returned as-is for the parser to reject with its own error code.
    """
    if not data or not data.isascii():
        return data
    compact = _WS.sub(b"", data)
    if not compact:
        return data
    candidates: list[bytes] = []
    if _HEX.match(compact):
        hex_text = compact[2:] if compact[:2] in (b"0x", b"0X") else compact
        if len(hex_text) % 2 == 0:
            candidates.append(binascii.unhexlify(hex_text))
    if _B64.match(compact):
        padded = compact + b"=" * (-len(compact) % 4)
        try:
            alt = b"-_" if (b"-" in compact or b"_" in compact) else None
            candidates.append(base64.b64decode(padded, altchars=alt, validate=True))
        except binascii.Error:
            pass
    for candidate in candidates:
        if not expected_lengths or len(candidate) in expected_lengths:
            return candidate
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate JSON member {key!r}")
        out[key] = value
    return out


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


#: A decoder that refuses duplicate member names (at any depth) and NaN / Infinity: two readers of
#: the same bytes must never see different values. Its errors are :class:`ValueError`.
STRICT_JSON = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)


def strict_json_object(data: bytes) -> dict[str, Any]:
    """Decode UTF-8 JSON that must be one object, strictly (see :data:`STRICT_JSON`).

    Raises :class:`ValueError` for anything else, including invalid UTF-8 and nesting so deep that
    the decoder would recurse without bound (never :class:`RecursionError`). Callers map the error to
    their own stable code.
    """
    try:
        value = STRICT_JSON.decode(bytes(data).decode("utf-8"))
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value
