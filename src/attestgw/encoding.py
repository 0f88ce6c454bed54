"""Input decoding shared by every evidence parser: raw bytes, hex or base64, auto-detected.

Detection is deliberately conservative: text is only treated as hex or base64 when *all* of it
(ignoring ASCII whitespace) belongs to that alphabet and decodes to exactly one of the lengths the
caller expects. Anything else is returned unchanged as raw bytes, and the parser then applies its own
length checks. This means a raw binary structure that happens to be valid hex of the right length
would be misread; for the structures attestgw handles (which contain zero bytes) that cannot happen.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["decode_blob", "to_hex"]

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
