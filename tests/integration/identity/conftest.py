"""The real OpenID provider fixtures (tests/oidc) for the identity integration tests."""

from tests.oidc.fixture import oidc_provider, rotating_oidc_provider

__all__ = ["oidc_provider", "rotating_oidc_provider"]
