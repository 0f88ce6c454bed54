"""A development OpenID issuer for the embedded demo (edge layer, Starlette): NOT for production.

The demo needs an identity provider that runs from a clean clone with nothing but Python. This one
serves, on loopback only:

* ``GET /.well-known/openid-configuration`` — discovery (issuer, jwks_uri, token_endpoint);
* ``GET /jwks`` — its public signing key (ES256, a P-256 key generated in memory at start);
* ``POST /token`` — OAuth 2.0 client credentials (RFC 6749 §4.4, client_secret_post or _basic)
  issuing RFC 9068 access tokens (``typ: at+jwt``; ``iss``, ``aud``, ``sub``, ``client_id``,
  ``scope``, ``iat``, ``nbf``, ``exp``, ``jti``, plus ``tenant`` and ``groups``) for the clients it
  was configured with.

:meth:`DevIssuer.mint` issues a token directly (the demo's ``stack.json`` token, the refused
"unauthorized" one). The gateway verifies these tokens exactly like any other issuer's (discovery,
JWKS, every RFC 9068 check): nothing in the gateway knows this issuer is special. Integration tests
use a real provider (``oidc-provider`` on Node); this one exists so the demo needs no Node.
"""

from attestgw.devissuer.issuer import DevClient, DevIssuer

__all__ = ["DevClient", "DevIssuer"]
