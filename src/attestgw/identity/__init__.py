"""Identity (service layer): verify OIDC access tokens (RFC 9068) and API keys into a :class:`Principal`.

The gateway uses a :class:`CompositeAuthenticator` (OIDC by default, API keys optionally) through its
``Authenticator`` port. See docs/identity.md for the checks, their order and their error codes.
"""

from attestgw.identity.apikeys import (
    API_KEY_PREFIX,
    ApiKeyAuthenticator,
    ApiKeyRecord,
    MintedApiKey,
    dump_api_keys,
    load_api_keys,
    mint_api_key,
)
from attestgw.identity.composite import CompositeAuthenticator
from attestgw.identity.config import DEFAULT_ALGORITHMS, IssuerConfig, JwksCacheSettings
from attestgw.identity.jwks import CacheStats, JwksCache
from attestgw.identity.oidc import TYP_RELAXED, OidcAuthenticator
from attestgw.identity.principal import Principal

__all__ = [
    "API_KEY_PREFIX",
    "DEFAULT_ALGORITHMS",
    "TYP_RELAXED",
    "ApiKeyAuthenticator",
    "ApiKeyRecord",
    "CacheStats",
    "CompositeAuthenticator",
    "IssuerConfig",
    "JwksCache",
    "JwksCacheSettings",
    "MintedApiKey",
    "OidcAuthenticator",
    "Principal",
    "dump_api_keys",
    "load_api_keys",
    "mint_api_key",
]
