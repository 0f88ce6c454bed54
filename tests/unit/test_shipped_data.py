"""Policies shipped inside the package are the repository's reviewed policies, byte for byte."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from tests.conftest import REPO

DATA = Path(str(files("attestgw") / "data"))


def test_the_default_attestation_policy_is_the_repositorys() -> None:
    shipped = DATA / "default-snp.toml"
    assert shipped.read_bytes() == (REPO / "policies" / "attestation" / "default-snp.toml").read_bytes()


@pytest.mark.parametrize(
    "name",
    sorted(
        p.name for p in (REPO / "policies" / "access").iterdir() if p.suffix in (".cedar", ".cedarschema")
    ),
)
def test_the_shipped_access_policies_are_the_repositorys(name: str) -> None:
    assert (DATA / "access" / name).read_bytes() == (REPO / "policies" / "access" / name).read_bytes()


def test_nothing_extra_is_shipped_as_access_policy() -> None:
    shipped = {p.name for p in (DATA / "access").iterdir()}
    repo = {
        p.name for p in (REPO / "policies" / "access").iterdir() if p.suffix in (".cedar", ".cedarschema")
    }
    assert shipped == repo
