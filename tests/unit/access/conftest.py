"""Shared fixtures: the shipped policies, a model registry, callers, and a policy-directory builder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from attestgw.access import CedarAuthorizer, ModelAttributes
from attestgw.identity import Principal
from tests.conftest import REPO

SHIPPED = REPO / "policies" / "access"
SCHEMA = (SHIPPED / "schema.cedarschema").read_text(encoding="utf-8")

MODELS = {
    "acme-llm": ModelAttributes(tenants=frozenset({"acme"}), tier="premium"),
    "shared-llm": ModelAttributes(),
}


def caller(
    subject: str = "alice",
    *,
    tenant: str | None = "acme",
    groups: tuple[str, ...] = (),
    roles: tuple[str, ...] = (),
    issuer: str = "https://issuer.example",
) -> Principal:
    return Principal(subject=subject, issuer=issuer, tenant=tenant, groups=groups, roles=roles)


@pytest.fixture(scope="module")
def shipped() -> CedarAuthorizer:
    return CedarAuthorizer.from_dir(SHIPPED, MODELS)


@pytest.fixture
def policy_dir(tmp_path: Path) -> Callable[..., Path]:
    """Write ``name → text`` policy files and the shipped schema (unless ``schema`` is given)."""

    def build(
        files: dict[str, str], schema: str | None = SCHEMA, schema_name: str = "schema.cedarschema"
    ) -> Path:
        for name, text in files.items():
            (tmp_path / name).write_text(text, encoding="utf-8")
        if schema is not None:
            (tmp_path / schema_name).write_text(schema, encoding="utf-8")
        return tmp_path

    return build
