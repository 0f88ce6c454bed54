"""Moving a chunked exchange through the gateway without buffering it: the request body going up,
the response going down, and the end of the stream whichever way it comes.

:class:`RequestBody` streams the client's body to the worker (aiohttp sends it chunked) while
counting its size and hashing it (the record needs the ciphertext's SHA-256). Over the limit, it stops
sending and remembers: the caller answers 413 instead of whatever the worker said about the cut body.

:class:`RelayStream` is the ASGI response for a streamed answer: it sends each piece the worker sent
as soon as it arrives, and when the client goes away it stops reading from the worker (a watcher on
``receive`` cancels the pump; uvicorn's ``send`` does not fail after a disconnect). If the worker
fails mid-stream, the response ends there — without the final OHTTP chunk, which the client reports
as ``ohttp.truncated`` — never with bytes the worker did not send. Whatever happens, ``cleanup`` (the
upstream response, the in-flight lease, the quota slot) is closed and ``on_end`` is told the outcome.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, suppress

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from attestgw.errors import AttestgwError

__all__ = ["RelayStream", "RequestBody"]


class RequestBody:
    """The client's body as an async iterable for aiohttp: ``first`` then the rest of ``source``.

    ``started`` tells whether any byte was handed to the upstream connection (then the request may
    have reached the worker and must not be sent elsewhere); ``done`` is set once the body ended.
    """

    def __init__(self, first: bytes, source: AsyncIterator[bytes], limit: int) -> None:
        self._first = first
        self._source = source
        self._limit = limit
        self.size = 0
        self.digest = hashlib.sha256()
        self.started = False
        self.too_large = False
        self.done = asyncio.Event()

    def _take(self, piece: bytes) -> bool:
        self.size += len(piece)
        if self.size > self._limit:
            self.too_large = True
            return False
        self.digest.update(piece)
        return True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.started = True
        try:
            if self._take(self._first):
                yield self._first
                async for piece in self._source:
                    if piece and not self._take(piece):
                        break
                    if piece:
                        yield piece
        finally:
            self.done.set()


async def _wait_disconnect(receive: Receive, body_done: asyncio.Event) -> None:
    await body_done.wait()
    while (await receive())["type"] != "http.disconnect":
        pass


class RelayStream(Response):
    """Streams ``pieces`` with status 200 (see module docstring)."""

    def __init__(
        self,
        pieces: AsyncIterator[bytes],
        *,
        media_type: str,
        headers: dict[str, str],
        cleanup: AsyncExitStack,
        body_done: asyncio.Event,
        on_end: Callable[[str, int], Awaitable[None]],
    ) -> None:
        super().__init__(status_code=200, headers=headers, media_type=media_type)
        # Response() declares the empty body's length; this body is streamed (chunked encoding).
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self._pieces = pieces
        self._cleanup = cleanup
        self._body_done = body_done
        self._on_end = on_end
        self._sent = 0

    async def _pump(self, send: Send) -> str:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        try:
            async for piece in self._pieces:
                self._sent += len(piece)
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            outcome = "complete"
        except AttestgwError as err:
            outcome = err.code  # the worker failed mid-stream: end here, the client sees a truncation
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return outcome

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        outcome = "client_disconnected"
        pump = asyncio.ensure_future(self._pump(send))
        watch = asyncio.ensure_future(_wait_disconnect(receive, self._body_done))
        try:
            await asyncio.wait((pump, watch), return_when=asyncio.FIRST_COMPLETED)
            if pump.done() and not pump.cancelled() and pump.exception() is None:
                outcome = pump.result()
        finally:
            for task in (pump, watch):
                task.cancel()
            for task in (pump, watch):
                with suppress(asyncio.CancelledError, Exception):
                    await task
            await self._cleanup.aclose()
            await self._on_end(outcome, self._sent)
