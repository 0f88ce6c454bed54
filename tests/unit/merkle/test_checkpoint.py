"""C2SP tlog-checkpoint text: canonical parsing and formatting, and a typed refusal of the rest."""

from __future__ import annotations

import base64

import pytest

from attestgw.errors import FormatError
from attestgw.merkle import EMPTY_ROOT, Checkpoint, parse_checkpoint

ROOT = bytes(range(32))
ROOT_B64 = base64.b64encode(ROOT).decode()
URLSAFE = base64.urlsafe_b64encode(bytes([0xFF]) * 32).decode()


def test_round_trip_with_and_without_extensions() -> None:
    cp = Checkpoint("attestgw.example/log", 1234, ROOT)
    assert cp.to_text() == f"attestgw.example/log\n1234\n{ROOT_B64}\n"
    assert parse_checkpoint(cp.to_text()) == cp
    ext = Checkpoint("o", 0, EMPTY_ROOT, ("Timestamp: 1", "x y"))
    assert parse_checkpoint(ext.to_text()) == ext
    assert parse_checkpoint(ext.to_text()).to_text() == ext.to_text()


def test_largest_uint64_size_parses() -> None:
    text = f"o\n{(1 << 64) - 1}\n{ROOT_B64}\n"
    assert parse_checkpoint(text).size == (1 << 64) - 1


@pytest.mark.parametrize(
    ("case", "text"),
    [
        ("no final newline", f"o\n1\n{ROOT_B64}"),
        ("two lines", "o\n1\n"),
        ("empty origin", f"\n1\n{ROOT_B64}\n"),
        ("leading zero", f"o\n01\n{ROOT_B64}\n"),
        ("plus sign", f"o\n+1\n{ROOT_B64}\n"),
        ("negative", f"o\n-1\n{ROOT_B64}\n"),
        ("spaces around size", f"o\n 1\n{ROOT_B64}\n"),
        ("non-ASCII digits", f"o\n\u0661\n{ROOT_B64}\n"),
        ("2^64", f"o\n{1 << 64}\n{ROOT_B64}\n"),
        ("thousands of digits", f"o\n{'9' * 5000}\n{ROOT_B64}\n"),
        ("hex root", f"o\n1\n{ROOT.hex()}\n"),
        ("short root", f"o\n1\n{base64.b64encode(ROOT[:31]).decode()}\n"),
        ("unpadded root", f"o\n1\n{ROOT_B64.rstrip('=')}\n"),
        ("url-safe root", f"o\n1\n{URLSAFE}\n"),
        ("non-ASCII in root", f"o\n1\n{ROOT_B64[:-2]}é=\n"),
        ("empty extension line", f"o\n1\n{ROOT_B64}\n\nx\n"),
        ("control character", f"o\x01\n1\n{ROOT_B64}\n"),
    ],
)
def test_malformed_checkpoints_are_refused(case: str, text: str) -> None:
    with pytest.raises(FormatError) as info:
        parse_checkpoint(text)
    assert info.value.code == "log.checkpoint_malformed", case


def test_checkpoint_values_are_validated_on_construction() -> None:
    for bad in (
        lambda: Checkpoint("", 1, ROOT),
        lambda: Checkpoint("o\nx", 1, ROOT),
        lambda: Checkpoint("o", -1, ROOT),
        lambda: Checkpoint("o", 1, ROOT[:16]),
        lambda: Checkpoint("o", 1, ROOT, ("",)),
    ):
        with pytest.raises(FormatError):
            bad()
