"""The upstream client: one pooled ``aiohttp`` session per gateway app, and what its failures mean.

Why aiohttp (docs/gateway.md has the figures): a relay's upstream client is on the hot path of every
request; httpx as a reverse-proxy client fell to ~1/17 of its upstream's throughput at 32 connections
in the issue's measurement, while aiohttp's connector keeps pooled keep-alive connections without a
per-request lock convoy.

Failures are sorted by whether the request can have reached the worker:

* :class:`ConnectFailed` — the connection could not be opened (refused, unreachable, connect
  timeout): nothing was sent, so the relay may try the next worker;
* ``GatewayError("gateway.upstream_timeout")`` — the worker went silent for ``read_timeout_s``;
* ``GatewayError("gateway.upstream_failed")`` — anything after the request may have been sent
  (reset, disconnect, malformed answer): never retried, because a sealed request is single use.

Idle pooled connections are dropped after :data:`KEEPALIVE_S`, below uvicorn's default keep-alive
(5 s), so the pool does not hand out a connection the worker is closing. Bodies are not decompressed
(``auto_decompress=False``): the relay passes bytes as they came.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp

from attestgw.gateway.problems import GatewayError
from attestgw.gateway.settings import RelaySettings

__all__ = ["KEEPALIVE_S", "ConnectFailed", "SmallAnswer", "Upstream"]

KEEPALIVE_S = 4.0
#: Answers read whole (bundles, key configs, problems, health) are small; a bigger one is refused.
MAX_SMALL_ANSWER = 2 * 1024 * 1024


class ConnectFailed(Exception):
    """No connection to the worker could be opened; the request was not sent."""


@dataclass(frozen=True, slots=True)
class SmallAnswer:
    status: int
    content_type: str
    body: bytes


def _failed(exc: BaseException) -> Exception:
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return ConnectFailed(type(exc).__name__)
    if isinstance(exc, aiohttp.SocketTimeoutError | asyncio.TimeoutError):
        return GatewayError("gateway.upstream_timeout", "the worker did not answer within the read timeout")
    return GatewayError("gateway.upstream_failed", f"the worker connection failed ({type(exc).__name__})")


async def _read_all(response: aiohttp.ClientResponse, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for piece in response.content.iter_any():
        size += len(piece)
        if size > limit:
            raise GatewayError("gateway.upstream_failed", "the worker's answer exceeds the relay limit")
        parts.append(piece)
    return b"".join(parts)


class Upstream:
    """Pooled HTTP/1.1 client to the workers. :meth:`start` inside the event loop, :meth:`close` after."""

    def __init__(self, relay: RelaySettings) -> None:
        self._relay = relay
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self._relay.max_connections,
            limit_per_host=0,
            keepalive_timeout=KEEPALIVE_S,
            enable_cleanup_closed=False,
        )
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self._relay.connect_timeout_s, sock_read=self._relay.read_timeout_s
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the upstream client is not started")
        return self._session

    async def get(self, url: str, *, params: dict[str, str] | None = None, retry: bool = True) -> SmallAnswer:
        """GET a small answer whole. A connection the worker closed under us is retried once (GETs are
        idempotent); other failures as in the module docstring."""
        try:
            async with self.session.get(url, params=params) as response:
                body = await _read_all(response, MAX_SMALL_ANSWER)
                return SmallAnswer(response.status, response.headers.get("Content-Type", ""), body)
        except aiohttp.ServerDisconnectedError:
            if retry:
                return await self.get(url, params=params, retry=False)
            raise _failed(aiohttp.ServerDisconnectedError()) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _failed(exc) from None

    @asynccontextmanager
    async def post(
        self, url: str, *, content_type: str, data: bytes | AsyncIterable[bytes]
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """POST ``data`` (bytes, or an async iterator streamed with chunked encoding); yields the response
        once its head arrived, released when the block ends. Failures as in the module docstring."""
        try:
            response = await self.session.post(url, data=data, headers={"Content-Type": content_type})
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _failed(exc) from None
        try:
            yield response
        finally:
            response.release()

    @staticmethod
    async def read_small(response: aiohttp.ClientResponse, limit: int) -> bytes:
        """The whole body of ``response`` (at most ``limit`` bytes, else ``upstream_failed``)."""
        try:
            return await _read_all(response, limit)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _failed(exc) from None

    @staticmethod
    async def pieces(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        """The body as it arrives. Raises as in the module docstring when the worker fails mid-body."""
        try:
            async for piece in response.content.iter_any():
                yield piece
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _failed(exc) from None
