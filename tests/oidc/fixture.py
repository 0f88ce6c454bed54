"""A real OpenID provider (npm ``oidc-provider``, tests/oidc/server.mjs) on loopback, for tests.

Use the fixtures from a conftest or test module::

    from tests.oidc.fixture import oidc_provider  # noqa: F401  (session-scoped, never rotated)

    def test_something(oidc_provider: OidcProvider) -> None:
        token = oidc_provider.token(scope="infer")
        ...

``rotating_oidc_provider`` is a function-scoped provider of its own for tests that call
:meth:`OidcProvider.rotate_keys`. Both skip, with the reason, when ``node`` or
``tests/oidc/node_modules`` is missing (``scripts/test`` runs ``npm ci`` there).

The provider issues RFC 9068 JWT access tokens by client_credentials for the audience
:data:`AUDIENCE`; :meth:`OidcProvider.token` picks the signing algorithm (RS256, PS256, ES256) and
client (``attestgw-test``: tenant ``acme``, groups ``researchers`` and ``ops``, roles under
``realm_access.roles``; ``attestgw-other``: tenant ``globex``; ``attestgw-short``: tokens live 1 s).
Signing keys are generated here per start into a JWKS file the provider reads, so rotating them is a
restart with a new file on the same port (same issuer URL).
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from attestgw.crypto.keys import generate_ec_key
from attestgw.crypto.signing import generate_rsa_key

__all__ = [
    "AUDIENCE",
    "CLIENTS",
    "OidcProvider",
    "oidc_provider",
    "require_node",
    "rotating_oidc_provider",
    "running_oidc_provider",
]

HERE = Path(__file__).resolve().parent
AUDIENCE = "http://gateway.test"
CLIENTS = ("attestgw-test", "attestgw-other", "attestgw-short")
_RESOURCE_FOR_ALG = {"RS256": AUDIENCE, "PS256": f"{AUDIENCE}/ps256", "ES256": f"{AUDIENCE}/es256"}
_START_TIMEOUT_S = 30.0


def require_node() -> str:
    """The path of ``node``, or skip the calling test with the reason the provider cannot run."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH: the OIDC provider tests need Node.js >= 20.19")
    if not (HERE / "node_modules" / "oidc-provider" / "package.json").is_file():
        pytest.skip("tests/oidc/node_modules is missing: run `npm ci` in tests/oidc (scripts/test does)")
    return node


def _signing_keys() -> dict[str, Any]:
    """A fresh private JWKS: one RS256, one PS256 (RSA-2048) and one ES256 key, random kids."""
    keys = []
    for alg in ("RS256", "PS256", "ES256"):
        if alg == "ES256":
            jwk: dict[str, Any] = ECAlgorithm.to_jwk(generate_ec_key("P-256"), as_dict=True)
        else:
            jwk = RSAAlgorithm.to_jwk(generate_rsa_key(2048), as_dict=True)
        jwk.pop("key_ops", None)  # pyjwt marks private keys "sign"; the published set must not say so
        jwk.update(kid=f"{alg.lower()}-{secrets.token_hex(6)}", use="sig", alg=alg)
        keys.append(jwk)
    return {"keys": keys}


class OidcProvider:
    """One node process running tests/oidc/server.mjs; see the module docstring."""

    def __init__(self, node: str, workdir: Path) -> None:
        self._node = node
        self._workdir = workdir
        self._secret = secrets.token_urlsafe(32)
        self._process: subprocess.Popen[bytes] | None = None
        self._generation = 0
        self._port = 0
        self.issuer = ""
        self.audience = AUDIENCE
        self.kids: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"OidcProvider({self.issuer!r}, kids={sorted(self.kids.values())})"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/jwks"

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        self._generation += 1
        jwks = _signing_keys()
        self.kids = {key["alg"]: key["kid"] for key in jwks["keys"]}
        path = self._workdir / f"jwks-{self._generation}.json"
        path.write_text(json.dumps(jwks), encoding="utf-8")
        path.chmod(0o600)
        log = (self._workdir / f"provider-{self._generation}.log").open("wb")
        env = {**os.environ, "OIDC_TEST_CLIENT_SECRET": self._secret, "NODE_ENV": "test"}
        self._process = subprocess.Popen(
            [self._node, str(HERE / "server.mjs"), "--jwks", str(path), "--port", str(self._port)],
            cwd=HERE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
        )
        log.close()
        line = self._first_line(self._process)
        self.issuer = json.loads(line)["issuer"]
        self._port = int(self.issuer.rsplit(":", 1)[1])
        self._wait_for_discovery()

    def _first_line(self, process: subprocess.Popen[bytes]) -> bytes:
        assert process.stdout is not None
        deadline = time.monotonic() + _START_TIMEOUT_S
        buffer = b""
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or process.poll() is not None:
                self.stop()
                raise RuntimeError(f"the OIDC provider did not start; see {self._workdir}")
            ready, _, _ = select.select([process.stdout], [], [], remaining)
            if ready:
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    continue
                buffer += chunk
        return buffer.split(b"\n", 1)[0]

    def _wait_for_discovery(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        url = f"{self.issuer}/.well-known/openid-configuration"
        while True:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the OIDC provider never served its discovery document")
            time.sleep(0.05)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()

    def rotate_keys(self) -> dict[str, str]:
        """Restart with a brand-new key set (old keys gone from the JWKS); returns the new kids by alg."""
        self.stop()
        self.start()
        return dict(self.kids)

    # -- tokens -----------------------------------------------------------------------------------

    def token_response(
        self, scope: str = "infer", *, client_id: str = "attestgw-test", alg: str = "RS256"
    ) -> dict[str, Any]:
        """The token endpoint's JSON answer to a client_credentials grant."""
        response = httpx.post(
            f"{self.issuer}/token",
            auth=(client_id, self._secret),
            data={"grant_type": "client_credentials", "scope": scope, "resource": _RESOURCE_FOR_ALG[alg]},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def token(
        self,
        scope: str = "infer",
        *,
        client_id: str = "attestgw-test",
        alg: str = "RS256",
        short_lived: bool = False,
    ) -> str:
        """A fresh access token (``short_lived``: from ``attestgw-short``, valid for 1 second)."""
        if short_lived:
            client_id = "attestgw-short"
        token: str = self.token_response(scope, client_id=client_id, alg=alg)["access_token"]
        return token

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS the provider publishes right now."""
        body: dict[str, Any] = httpx.get(self.jwks_uri, timeout=10).json()
        return body


@contextmanager
def running_oidc_provider(workdir: Path) -> Iterator[OidcProvider]:
    """Start a provider (or skip the test), yield it, and stop it afterwards."""
    provider = OidcProvider(require_node(), workdir)
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """A provider shared by the whole session; do not rotate its keys (use ``rotating_oidc_provider``)."""
    with running_oidc_provider(tmp_path_factory.mktemp("oidc")) as provider:
        yield provider


@pytest.fixture
def rotating_oidc_provider(tmp_path: Path) -> Iterator[OidcProvider]:
    """A provider of the test's own, free to :meth:`~OidcProvider.rotate_keys`."""
    with running_oidc_provider(tmp_path) as provider:
        yield provider
