"""The gateway (edge layer, the only FastAPI importer): identity, authorization, quotas and an OHTTP relay.

It never sees plaintext: sealed requests and chunked responses pass through as bytes. See
``docs/gateway.md``. Build one with :func:`create_app` over :class:`GatewayServices` (the services
behind :mod:`attestgw.gateway.ports` and a :class:`WorkerPool`); serve it with
:class:`GatewayServer` (uvicorn, draining shutdown).
"""

from attestgw.gateway.app import create_app
from attestgw.gateway.pool import Admission, Worker, WorkerPool
from attestgw.gateway.ports import Authenticator, Authorizer, Quotas, Recorder
from attestgw.gateway.problems import GatewayError
from attestgw.gateway.relay import KEY_CONFIG_HEADER
from attestgw.gateway.server import GatewayServer, server_config
from attestgw.gateway.services import GatewayServices
from attestgw.gateway.settings import GatewaySettings, load_settings, parse_settings

__all__ = [
    "KEY_CONFIG_HEADER",
    "Admission",
    "Authenticator",
    "Authorizer",
    "GatewayError",
    "GatewayServer",
    "GatewayServices",
    "GatewaySettings",
    "Quotas",
    "Recorder",
    "Worker",
    "WorkerPool",
    "create_app",
    "load_settings",
    "parse_settings",
    "server_config",
]
