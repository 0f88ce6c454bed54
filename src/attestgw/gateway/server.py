"""Serving the gateway with uvicorn, with a shutdown that drains streams.

:class:`GatewayServer` is a ``uvicorn.Server`` whose shutdown first marks the app's
:class:`~attestgw.gateway.edge.Lifecycle` as draining (new requests that still arrive on open
connections get ``503 gateway.shutting_down``), then lets uvicorn stop accepting, close idle
connections and wait up to ``relay.drain_timeout_s`` for requests in flight — streams included —
before the lifespan shutdown stops the pool and the upstream client.
"""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI

from attestgw.gateway.edge import Lifecycle
from attestgw.gateway.settings import GatewaySettings

__all__ = ["GatewayServer", "server_config"]


def server_config(
    app: FastAPI, settings: GatewaySettings, *, host: str | None = None, port: int | None = None
) -> uvicorn.Config:
    """uvicorn settings for the gateway: our own access logs (uvicorn's are off), graceful drain."""
    listen_host, listen_port = settings.listen_address
    return uvicorn.Config(
        app,
        host=listen_host if host is None else host,
        port=listen_port if port is None else port,
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=int(max(1, settings.relay.drain_timeout_s)),
        server_header=False,
        proxy_headers=False,
    )


class GatewayServer(uvicorn.Server):
    """``uvicorn.Server`` that flips the app into draining before it shuts down."""

    def __init__(self, config: uvicorn.Config, lifecycle: Lifecycle) -> None:
        super().__init__(config)
        self._lifecycle = lifecycle

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._lifecycle.begin_drain()
        await super().shutdown(sockets=sockets)
