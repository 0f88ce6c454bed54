"""Stable error codes: registered, documented, and enforced at construction."""

from __future__ import annotations

import re

import pytest

from attestgw.errors import CODES, AttestgwError, CollateralUnavailableError, FormatError, UsageError
from tests.conftest import REPO


def test_every_code_is_documented_and_every_documented_code_exists() -> None:
    text = (REPO / "docs" / "errors.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^- `([a-z0-9_]+\.[a-z0-9_.]+)`", text, re.MULTILINE))
    assert set(CODES) - documented == set(), "codes missing from docs/errors.md"
    assert documented - set(CODES) == set(), "docs/errors.md lists codes that do not exist"


def test_codes_are_namespaced_lowercase() -> None:
    for code in CODES:
        assert re.fullmatch(r"[a-z0-9]+(\.[a-z0-9_]+)+", code), code


def test_unregistered_code_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unregistered"):
        FormatError("snp.made_up", "x")


def test_exit_codes_follow_the_cli_contract() -> None:
    assert FormatError("snp.truncated", "x").exit_code == 1
    assert CollateralUnavailableError("collateral.unavailable", "x").exit_code == 3
    assert UsageError("usage.invalid", "x").exit_code == 2
    err: AttestgwError = FormatError("snp.truncated", "short")
    assert str(err) == "snp.truncated: short"
