"""A small, bounded DER reader for the PCK certificate's SGX extension (X.690 §8, DER subset).

Only what the extension uses: single-byte tags, definite lengths of at most four bytes in minimal
form, primitive INTEGER / OCTET STRING / ENUMERATED / BOOLEAN / OID and constructed SEQUENCE.
Every read is checked against its container's end; errors are :class:`ValueError` for the caller
to turn into its own code. Not checked: anything outside that subset (it is refused, not skipped).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Element", "children", "read_element", "to_int"]

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
OID = 0x06
ENUMERATED = 0x0A
BOOLEAN = 0x01


@dataclass(frozen=True, slots=True)
class Element:
    """One DER element: its tag and the bytes of its value."""

    tag: int
    value: bytes


def read_element(data: bytes, pos: int, end: int) -> tuple[Element, int]:
    """The element at ``data[pos:end]`` and the offset just past it. Raises ValueError."""
    if pos + 2 > end or end > len(data):
        raise ValueError("DER element truncated")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError("DER high-tag-number form is not used here")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise ValueError("DER length is indefinite, oversized or truncated")
        length = int.from_bytes(data[pos : pos + count], "big")
        if length < 0x80 or data[pos] == 0:
            raise ValueError("DER length not minimally encoded")
        pos += count
    if length > end - pos:
        raise ValueError("DER value runs past its container")
    return Element(tag, data[pos : pos + length]), pos + length


def children(value: bytes, *, limit: int) -> list[Element]:
    """The elements of a constructed value, all of it, at most ``limit`` (else ValueError)."""
    out: list[Element] = []
    pos = 0
    while pos < len(value):
        if len(out) >= limit:
            raise ValueError(f"more than {limit} elements in a SEQUENCE")
        element, pos = read_element(value, pos, len(value))
        out.append(element)
    return out


def to_int(element: Element, *, tag: int = INTEGER, max_bytes: int = 8) -> int:
    """A non-negative INTEGER (or ENUMERATED) in minimal two's-complement form."""
    raw = element.value
    if element.tag != tag or not raw or len(raw) > max_bytes:
        raise ValueError(f"want a small tag-{tag:#x} integer, got tag {element.tag:#x} of {len(raw)} bytes")
    if raw[0] & 0x80:
        raise ValueError("negative integer")
    if len(raw) > 1 and raw[0] == 0 and not raw[1] & 0x80:
        raise ValueError("integer not minimally encoded")
    return int.from_bytes(raw, "big")
