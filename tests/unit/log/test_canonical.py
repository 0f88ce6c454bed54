"""RFC 8785 canonical JSON: agrees with the reference implementation; the strict reader only lets
canonical bytes in, and only ``FormatError`` out."""

from __future__ import annotations

import json
import math

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from attestgw.errors import FormatError
from attestgw.log.canonical import MAX_SAFE_INTEGER, canonicalize, parse_canonical

safe_ints = st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
texts = st.text(st.characters(codec="utf-8"), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | safe_ints | finite_floats | texts,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(texts, children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_matches_the_rfc8785_reference(value: object) -> None:
    assert canonicalize(value) == rfc8785.dumps(value)


@settings(max_examples=800, deadline=None)
@given(finite_floats)
def test_numbers_follow_ecmascript_number_to_string(value: float) -> None:
    text = canonicalize(value)
    assert text == rfc8785.dumps(value)
    assert float(text) == value or (value == 0 and float(text) == 0)


@pytest.mark.parametrize(
    ("value", "want"),
    [
        # RFC 8785 Appendix B sample numbers (IEEE-754 value → canonical text)
        (0.0, b"0"),
        (-0.0, b"0"),
        (5e-324, b"5e-324"),
        (1.7976931348623157e308, b"1.7976931348623157e+308"),
        (9007199254740991.0, b"9007199254740991"),
        (1e21, b"1e+21"),
        (1e20, b"100000000000000000000"),
        (0.000001, b"0.000001"),
        (1e-7, b"1e-7"),
        (333333333.3333333, b"333333333.3333333"),
    ],
)
def test_appendix_b_numbers(value: float, want: bytes) -> None:
    assert canonicalize(value) == want


def test_rfc8785_section_3_2_3_sorting_by_utf16_code_units() -> None:
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    order = list(json.loads(canonicalize(value)))
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize(
    "bad",
    [
        math.nan,
        math.inf,
        MAX_SAFE_INTEGER + 1,
        -MAX_SAFE_INTEGER - 1,
        "\ud800",
        {1: 2},
        b"bytes",
        {"a": set()},
    ],
)
def test_values_outside_i_json_are_refused(bad: object) -> None:
    with pytest.raises(FormatError) as err:
        canonicalize(bad)
    assert err.value.code == "log.record_malformed"


@pytest.mark.parametrize(
    "data",
    [
        b'{"b":1,"a":2}',  # unsorted
        b'{"a": 1}',  # whitespace
        b'{"a":1.0}',  # non-canonical number
        b'{"a":1,"a":1}',  # duplicate name
        b'{"a":"\\u0041"}',  # needless escape
        b'{"a":NaN}',
        b"\xff",
        b"[" * 100 + b"]" * 100,
    ],
)
def test_parse_refuses_every_non_canonical_spelling(data: bytes) -> None:
    with pytest.raises(FormatError):
        parse_canonical(data, max_bytes=1024)


def test_parse_caps_size_before_decoding() -> None:
    with pytest.raises(FormatError, match="cap"):
        parse_canonical(b'"' + b"a" * 100 + b'"', max_bytes=64)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_parse_round_trips_canonical_bytes(value: object) -> None:
    data = canonicalize(value)
    assert canonicalize(parse_canonical(data, max_bytes=1 << 20)) == data


@pytest.mark.parametrize(
    "data",
    [
        b"9007199254740993",
        b'{"a":9007199254740993}',
        b'{"a":[1,-9007199254740993]}',
        b'{"a":1.50}',
        b'{"a":-0}',
        b'{"a":1,"a":1}',
    ],
)
def test_the_fast_path_refuses_what_is_not_canonical(data: bytes) -> None:
    """Regression: the decoder fast path must not accept unsafe integers, fractions or duplicates."""
    with pytest.raises(FormatError) as err:
        parse_canonical(data, max_bytes=1024)
    assert err.value.code == "log.record_malformed"


def test_the_largest_double_integer_is_read_back_as_that_double() -> None:
    assert parse_canonical(b'{"a":9007199254740992}', max_bytes=1024) == {"a": 9007199254740992.0}
