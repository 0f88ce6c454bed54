"""One authenticator for the gateway: OIDC access tokens by default, API keys where enabled.

:class:`CompositeAuthenticator` reads the Bearer credential once to choose the path: a token that starts
with ``agw_`` goes to the API key authenticator when one is configured; everything else (and ``agw_``
tokens when API keys are off, which OIDC then refuses as malformed) goes to OIDC. It adds no check of
its own; each path's checks and codes are those of :mod:`attestgw.identity.oidc` and
:mod:`attestgw.identity.apikeys`.
"""

from __future__ import annotations

from typing import Protocol

from attestgw.identity.apikeys import API_KEY_PREFIX
from attestgw.identity.principal import Principal
from attestgw.identity.token import bearer_token

__all__ = ["CompositeAuthenticator"]


class _VerifiesTokens(Protocol):
    async def verify_token(self, token: str) -> Principal: ...


class CompositeAuthenticator:
    """``oidc`` for JWT-shaped tokens (the default path); ``api_keys`` for ``agw_`` tokens, if given."""

    def __init__(self, oidc: _VerifiesTokens, api_keys: _VerifiesTokens | None = None) -> None:
        self._oidc = oidc
        self._api_keys = api_keys

    def __repr__(self) -> str:
        return f"CompositeAuthenticator(oidc={self._oidc!r}, api_keys={self._api_keys!r})"

    async def authenticate(self, authorization: str | None) -> Principal:
        token = bearer_token(authorization)
        if self._api_keys is not None and token.startswith(API_KEY_PREFIX):
            return await self._api_keys.verify_token(token)
        return await self._oidc.verify_token(token)
