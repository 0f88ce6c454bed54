"""``AsyncAttestedTransport``: :class:`~attestgw.client.transport.AttestedTransport` for asyncio.

Same contract, same sans-I/O core (:mod:`attestgw.client._exchange`): use it with
``httpx.AsyncClient(transport=...)`` and ``openai.AsyncOpenAI(http_client=...)``. Attestation runs
once per worker and policy at a time (an :class:`asyncio.Lock`), its signature checks inline on the
event loop (a few milliseconds, once per TTL); sealing and opening are microseconds per message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import httpx

from attestgw.appraisal import SnpPolicy
from attestgw.attestation import BundlePolicy
from attestgw.client._exchange import (
    SealedRequest,
    StreamOpener,
    inner_request,
    open_one_shot,
    seal,
    wants_stream,
)
from attestgw.client._problems import REATTEST_CODES, refusal
from attestgw.client.attest import AttestOptions, attest_async, auth_headers, log_monitor
from attestgw.client.logcheck import LogMonitor
from attestgw.client.session import DEFAULT_TTL, AttestedSession, SessionCache
from attestgw.client.transport import RECEIPT_EXTENSION, media_type
from attestgw.clock import utcnow
from attestgw.errors import AttestgwError
from attestgw.ohttp import ChunkedResponseOpener, ClientResponseOpener
from attestgw.receipt import Receipt

__all__ = ["AsyncAttestedTransport"]


async def _already_read(body: bytes) -> AsyncIterator[bytes]:
    yield body


class _AsyncSealedStream(httpx.AsyncByteStream):
    """Body of a streamed response: authenticated chunks as they arrive, then the receipt check."""

    def __init__(
        self,
        outer: httpx.Response,
        chunks: AsyncIterator[bytes],
        opener: StreamOpener,
        pending: list[bytes],
        finished: bool,
        done: Callable[[Receipt, httpx.Response | None], None],
    ) -> None:
        self._outer = outer
        self._chunks = chunks
        self._opener = opener
        self._pending = pending
        self._finished = finished
        self._done = done
        self.response: httpx.Response | None = None
        self._run: AsyncIterator[bytes] | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # One pass over the body, however often it is iterated (the openai client drains a stream
        # after its end marker): a second iteration continues where the first stopped.
        if self._run is None:
            self._run = self._body()
        async for piece in self._run:
            yield piece

    async def _body(self) -> AsyncIterator[bytes]:
        try:
            # (pending holds the whole body when the stream already ended before the head came back)
            tail, self._pending = (self._pending, []) if self._finished else ([], self._pending)
            for piece in self._pending:
                yield piece
            if not self._finished:
                async for data in self._chunks:
                    for piece in self._opener.feed(data):
                        yield piece
                tail = self._opener.finish()
            # deliver the receipt before the last bytes: a consumer may stop reading at them
            assert self._opener.receipt is not None
            self._done(self._opener.receipt, self.response)
            for piece in tail:
                yield piece
        finally:
            await self._outer.aclose()

    async def aclose(self) -> None:
        await self._outer.aclose()


class AsyncAttestedTransport(httpx.AsyncBaseTransport):
    """Seal every request to the worker at ``url`` once ``policy`` affirmed it.

    Arguments as for :class:`~attestgw.client.transport.AttestedTransport`; ``transport`` is an
    :class:`httpx.AsyncBaseTransport` (default :class:`httpx.AsyncHTTPTransport`).
    """

    def __init__(
        self,
        url: str,
        policy: SnpPolicy | BundlePolicy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        cache: SessionCache | None = None,
        on_receipt: Callable[[Receipt], None] | None = None,
        online: bool = False,
        cache_dir: Path | None = None,
        ttl: timedelta = DEFAULT_TTL,
        kem_id: int | None = None,
        attest_timeout: float = 30.0,
        model: str | None = None,
        token: str | None = None,
        log_key: str | Path | LogMonitor | None = None,
    ) -> None:
        self._url = url.rstrip("/")
        self._policy = policy
        self._inner = transport if transport is not None else httpx.AsyncHTTPTransport()
        self._client = httpx.AsyncClient(transport=self._inner, timeout=attest_timeout)
        self._cache = cache if cache is not None else SessionCache()
        self._on_receipt = on_receipt
        self._options = AttestOptions(online=online, cache_dir=cache_dir, ttl=ttl, kem_id=kem_id, model=model)
        self._token = token  # the bearer token is sent, never logged or shown
        self._log = log_monitor(log_key)  # one monitor: it keeps the last checkpoint between attestations
        self._auth = auth_headers(token)
        self._lock: asyncio.Lock | None = None  # made on first use, inside the running loop
        self._urls: dict[str, httpx.URL] = {}  # parsed once: the two sealed routes of the worker
        self.last_receipt: Receipt | None = None

    def __repr__(self) -> str:
        return f"AsyncAttestedTransport({self._url!r}, policy={self._policy.id}@{self._policy.digest[:12]})"

    def _cached(self) -> AttestedSession | None:
        """The cached session, unless this transport checks the log and that session's log was not."""
        session = self._cache.get(self._url, self._policy.digest, utcnow(), self._options.model)
        return None if session is None or (self._log is not None and session.log is None) else session

    async def session(self) -> AttestedSession:
        """The live session for this worker and policy, attesting first when there is none."""
        session = self._cached()
        if session is not None:
            return session
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            session = self._cached()
            if session is None:
                o = self._options
                session = await attest_async(
                    self._url,
                    self._policy,
                    http_client=self._client,
                    online=o.online,
                    cache_dir=o.cache_dir,
                    ttl=o.ttl,
                    kem_id=o.kem_id,
                    model=o.model,
                    token=self._token,
                    log_key=self._log,
                )
                self._cache.put(session)
            return session

    def _target(self, url: str) -> httpx.URL:
        target = self._urls.get(url)
        if target is None:
            target = self._urls[url] = httpx.URL(url)
        return target

    async def _reattested(self, stale: AttestedSession) -> bool:
        self._cache.drop(stale)
        return (await self.session()).ohttp_keys != stale.ohttp_keys

    def _delivered(self, receipt: Receipt, response: httpx.Response | None) -> None:
        self.last_receipt = receipt
        if response is not None:
            response.extensions[RECEIPT_EXTENSION] = receipt
        if self._on_receipt is not None:
            self._on_receipt(receipt)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        content = await request.aread()
        bhttp_request = inner_request(request, content)
        streaming = wants_stream(request, content)
        for attempt in range(2):
            session = await self.session()  # AttestationRefused here: nothing was sealed or sent
            sealed, opener = seal(session, bhttp_request, streaming=streaming)
            outer = await self._inner.handle_async_request(
                httpx.Request(
                    "POST",
                    self._target(sealed.url),
                    headers=sealed.outer_headers(self._auth),
                    content=sealed.body,
                    extensions={k: v for k, v in request.extensions.items() if k == "timeout"},
                )
            )
            if outer.status_code == 200:
                return await self._opened(outer, opener, session, sealed)
            try:
                body = await outer.aread()
            finally:
                await outer.aclose()
            error = refusal(
                outer.status_code,
                outer.headers.get("content-type", ""),
                body,
                retry_after=outer.headers.get("retry-after"),
            )
            if attempt == 0 and error.code in REATTEST_CODES and await self._reattested(session):
                continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    async def _opened(
        self,
        outer: httpx.Response,
        opener: ClientResponseOpener | ChunkedResponseOpener,
        session: AttestedSession,
        sealed: SealedRequest,
    ) -> httpx.Response:
        if media_type(outer) != sealed.accept:
            await outer.aclose()
            raise refusal(200, media_type(outer), b"")
        if isinstance(opener, ClientResponseOpener):
            try:
                body = await outer.aread()
            finally:
                await outer.aclose()
            opened = open_one_shot(opener, body, session, sealed)
            response = httpx.Response(opened.status, headers=list(opened.headers), content=opened.content)
            self._delivered(opened.receipt, response)
            return response
        return await self._streamed(outer, StreamOpener(opener, session, sealed))

    async def _streamed(self, outer: httpx.Response, opener: StreamOpener) -> httpx.Response:
        # (a transport may hand back a body it already read, as httpx.MockTransport does)
        chunks = _already_read(outer.content) if outer.is_stream_consumed else outer.aiter_raw()
        pending: list[bytes] = []
        finished = False
        try:
            async for data in chunks:
                pending += opener.feed(data)
                if opener.head is not None:
                    break
            else:
                pending += opener.finish()
                finished = True
            status, headers = opener.head_pairs()
        except (AttestgwError, httpx.HTTPError):
            await outer.aclose()
            raise
        stream = _AsyncSealedStream(outer, chunks, opener, pending, finished, self._delivered)
        response = httpx.Response(status, headers=list(headers), stream=stream)
        stream.response = response
        return response

    async def aclose(self) -> None:
        await self._client.aclose()
