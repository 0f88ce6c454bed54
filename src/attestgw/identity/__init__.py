"""Identity (service layer): verify OIDC access tokens (RFC 9068) and API keys into a :class:`Principal`."""

from attestgw.identity.principal import Principal

__all__ = ["Principal"]
