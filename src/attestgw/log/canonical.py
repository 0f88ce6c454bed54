"""RFC 8785 JSON Canonicalization Scheme (JCS): one byte string per JSON value. Pure: stdlib only.

Every evidence-log record is stored, hashed into its leaf and signed over in this form, so two
encoders that agree on the value agree on the bytes.

:func:`canonicalize` (RFC 8785 §3.2):

- ``null``, ``true``, ``false`` as literals; no whitespace anywhere;
- strings: ``"`` and ``\\`` escaped, U+0008/0009/000A/000C/000D as ``\\b \\t \\n \\f \\r``, the other
  controls below U+0020 as ``\\u00xx`` (lowercase hex), everything else as UTF-8 (§3.2.2.2); a
  string holding a lone surrogate is refused;
- numbers as ECMAScript ``Number.prototype.toString`` of the IEEE-754 double (§3.2.2.3): integers
  only within ±(2^53 − 1), floats finite;
- object members sorted by the UTF-16 code units of their names (§3.2.3); names must be strings.

:func:`parse_canonical` is the strict reader used for stored records: UTF-8 JSON of at most
``max_bytes``, no duplicate member names, no ``NaN``/``Infinity``, and the bytes must be exactly the
canonical form of the value they decode to (so a record has one spelling). Every failure is
``FormatError(log.record_malformed)``.

Not checked here: what the value means (record schemas do that, :mod:`attestgw.log.records`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from json.encoder import encode_basestring as _escape
from typing import Any

from attestgw.errors import FormatError

__all__ = ["MAX_SAFE_INTEGER", "canonicalize", "parse_canonical"]

#: The largest integer an IEEE-754 double holds exactly; RFC 8785 §3.2.2.3 (I-JSON, RFC 7493 §2.2).
MAX_SAFE_INTEGER = (1 << 53) - 1
_MAX_DEPTH = 64


def _bad(message: str) -> FormatError:
    return FormatError("log.record_malformed", message)


def _string(text: str) -> str:
    # The stdlib's C escaper writes exactly the §3.2.2.2 escapes (short forms, else \u00xx in
    # lowercase) and leaves every other character as is; the property tests hold it to that.
    return _escape(text)


def _es6_number(value: float) -> str:
    """ECMAScript Number::toString (ECMA-262 §7.1.12.1) of a finite double.

    Python's ``repr`` yields the shortest digit string that round-trips (the same ``k``, and the
    same digits, that ECMAScript requires); only the layout of those digits differs.
    """
    if value == 0:
        return "0"  # also -0
    if value < 0:
        return "-" + _es6_number(-value)
    mantissa, _, exp_text = repr(value).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = int_part + frac_part
    point = len(int_part) + (int(exp_text) if exp_text else 0)  # the value is 0.digits × 10^point
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    exponent = f"e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return (digits if k == 1 else digits[0] + "." + digits[1:]) + exponent


def _encode(value: Any, out: list[str], depth: int) -> None:
    kind = type(value)
    if kind is str:
        out.append(_escape(value))
    elif kind is dict:
        if depth >= _MAX_DEPTH:
            raise _bad(f"nesting deeper than {_MAX_DEPTH}")
        out.append("{")
        first = True
        for key in sorted(value, key=_utf16_key):
            if not first:
                out.append(",")
            first = False
            out.append(_escape(key))
            out.append(":")
            _encode(value[key], out, depth + 1)
        out.append("}")
    elif kind is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise _bad("integer outside ±(2^53 - 1) (RFC 8785 §3.2.2.3)")
        out.append(str(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is list or kind is tuple:
        if depth >= _MAX_DEPTH:
            raise _bad(f"nesting deeper than {_MAX_DEPTH}")
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out, depth + 1)
        out.append("]")
    elif kind is float:
        if not math.isfinite(value):
            raise _bad("NaN and infinities are not JSON numbers")
        out.append(_es6_number(value))
    else:
        _encode(_plain(value), out, depth)


def _plain(value: Any) -> Any:
    """Subclasses of the JSON types (a ``StrEnum`` member, a ``MappingProxyType``…) as plain values."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise _bad(f"{type(value).__name__} is not a JSON value")


def _utf16_key(name: object) -> bytes:
    if not isinstance(name, str):
        raise _bad("object member names must be strings")
    return name.encode("utf-16-be", "surrogatepass")


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value`` (dict, list/tuple, str, int, float, bool, None)."""
    out: list[str] = []
    _encode(value, out, 0)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        raise _bad("a string holds a lone surrogate (not Unicode text)") from None


def _parse_int(text: str) -> int | float:
    # Canonical text of a double ≥ 2^53 is written without a fraction ("1e16" → 10000000000000000):
    # read it back as the double it came from; the canonical re-encoding then decides.
    value = int(text)
    return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else float(text)


def _refuse_constant(name: str) -> Any:
    raise _bad(f"{name} is not JSON")


class _HasFraction(Exception):
    """Raised by the fast decoder at the first number with a fraction or exponent."""


def _no_fraction(text: str) -> float:
    raise _HasFraction


#: Decodes ASCII text whose integers are short (see ``_LONG_INT``) and that has no fractions: with
#: these, ``int`` parsing is exact and the values are the ones the full decoder would build.
_FAST_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_no_fraction)
_FAST_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
#: An integer of 16 or more digits (it may exceed 2^53 - 1), or a string that looks like one after
#: ':', ',' or '[' — either way the full path decides (as it does for any top-level number).
_LONG_INT = re.compile(rb"[:,\[]-?\d{16}")


def _fast_parse(data: bytes) -> Any:
    """The value of ``data`` if it is canonical and qualifies for the fast path, else ``None``.

    For ASCII text with no fractions or exponents, shallow nesting and safe integers, the stdlib's
    sorted compact encoding *is* the RFC 8785 form, so equal bytes prove ``data`` canonical.
    """
    if data[:1] in b"-0123456789" or not data.isascii() or _LONG_INT.search(data):
        return None
    if data.count(b"[") + data.count(b"{") >= _MAX_DEPTH:
        return None
    try:
        value = _FAST_DECODER.decode(data.decode("ascii"))
    except _HasFraction:
        return None
    except FormatError:
        raise
    except (ValueError, RecursionError):  # JSONDecodeError
        raise _bad("not UTF-8 JSON") from None
    if value is None:  # "null" is canonical, but None means "take the full path" here
        return None
    return value if _FAST_ENCODER.encode(value).encode() == data else None


def parse_canonical(data: bytes, *, max_bytes: int) -> Any:
    """Decode ``data``, requiring UTF-8 JSON in exactly its canonical form (see module docstring).

    Duplicate member names need no separate check: the decoded object keeps one of them, so its
    canonical form is shorter than ``data`` and the comparison fails.
    """
    if len(data) > max_bytes:
        raise _bad(f"{len(data)} bytes exceeds the {max_bytes}-byte cap")
    fast = _fast_parse(data)
    if fast is not None:
        return fast

    def number(text: str) -> int | float:
        return _parse_int(text) if text.lstrip("-").isdigit() else float(text)

    def integer(text: str) -> int | float:
        return _parse_int(text) if len(text) > 15 else int(text)  # beyond 2^53 - 1 is a double

    try:
        value = json.loads(
            data.decode("utf-8"), parse_constant=_refuse_constant, parse_float=number, parse_int=integer
        )
    except FormatError:
        raise
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
        raise _bad("not UTF-8 JSON") from None
    if canonicalize(value) != data:
        raise _bad("not in RFC 8785 canonical form")
    return value
