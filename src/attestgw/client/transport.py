"""``AttestedTransport``: an httpx transport that sends every request sealed to an attested worker.

Plug it into any httpx client — and so into the official ``openai`` client, unchanged::

    transport = AttestedTransport("http://127.0.0.1:8000", load_policy("policy.toml"))
    client = OpenAI(base_url="http://worker/v1", api_key="unused",
                    http_client=httpx.Client(transport=transport))

For each request: attest the worker if there is no live session (cached per worker URL and policy
digest for the TTL), encode the request as Binary HTTP, seal it (chunked OHTTP when the JSON body
asks for ``"stream": true``), POST it to ``{url}/ohttp`` or ``{url}/ohttp-chunked`` through the inner
transport, open the answer, check the receipt, and return the inner response. Streams are handed on
chunk by chunk as they authenticate; a stream without its final chunk raises ``ohttp.truncated``
while it is read, and the receipt (in the final chunk) is checked before the last bytes are released.

Refusals are raised as the typed errors of :mod:`attestgw.errors` (the ``openai`` client passes
them through unchanged): an attestation the policy does not affirm raises
:class:`~attestgw.client.attest.AttestationRefused` **before anything is sealed or sent**; an outer
refusal carries the worker's code (``ohttp.replay``, ``ohttp.unknown_key_id`` …). When the worker
says ``ohttp.unknown_key_id`` or ``ohttp.decrypt_failed`` the transport attests again once and, if
the attested key configs changed, retries once; otherwise it raises.

The verified receipt is exposed three ways: ``response.extensions["attestgw_receipt"]`` (for streams,
set when the stream completes), the ``on_receipt`` callback, and ``transport.last_receipt`` (the most
recently verified one; with concurrent requests prefer the callback or the extension).

The URL of the request names the inner API (``http://worker/v1/chat/completions`` → path
``/v1/chat/completions``); where it is sent is always the attested worker URL given here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
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
from attestgw.client.attest import AttestOptions, attest, auth_headers, log_monitor
from attestgw.client.logcheck import LogMonitor
from attestgw.client.session import DEFAULT_TTL, AttestedSession, SessionCache
from attestgw.clock import utcnow
from attestgw.errors import AttestgwError
from attestgw.ohttp import ChunkedResponseOpener, ClientResponseOpener
from attestgw.receipt import Receipt

__all__ = ["RECEIPT_EXTENSION", "AttestedTransport"]

#: ``response.extensions`` key of the verified :class:`~attestgw.receipt.Receipt`.
RECEIPT_EXTENSION = "attestgw_receipt"


def media_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "")
    return value.split(";", maxsplit=1)[0].strip().lower()


class _SealedStream(httpx.SyncByteStream):
    """Body of a streamed response: authenticated chunks as they arrive, then the receipt check."""

    def __init__(
        self,
        outer: httpx.Response,
        chunks: Iterator[bytes],
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
        self._run: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        # One pass over the body, however often it is iterated: a consumer that stops at a sentinel
        # and then drains the rest continues where it stopped instead of starting again.
        if self._run is None:
            self._run = self._body()
        yield from self._run

    def _body(self) -> Iterator[bytes]:
        try:
            # (pending holds the whole body when the stream already ended before the head came back)
            tail, self._pending = (self._pending, []) if self._finished else ([], self._pending)
            yield from self._pending
            if not self._finished:
                for data in self._chunks:
                    yield from self._opener.feed(data)
                tail = self._opener.finish()
            # deliver the receipt before the last bytes: a consumer may stop reading at them
            assert self._opener.receipt is not None
            self._done(self._opener.receipt, self.response)
            yield from tail
        finally:
            self._outer.close()

    def close(self) -> None:
        self._outer.close()


class AttestedTransport(httpx.BaseTransport):
    """Seal every request to the worker at ``url`` once ``policy`` affirmed it (see module doc).

    ``transport``: the inner transport that carries the attestation GET and the sealed POSTs
    (default :class:`httpx.HTTPTransport`); it is closed with this one. ``cache``: share a
    :class:`SessionCache` between transports. ``online``, ``cache_dir``, ``ttl``, ``kem_id``: as for
    :func:`~attestgw.client.attest.attest`. ``log_key``: every attestation must prove its record is in
    the gateway's evidence log (:mod:`attestgw.client.logcheck`); one monitor keeps the last checkpoint.
    """

    def __init__(
        self,
        url: str,
        policy: SnpPolicy | BundlePolicy,
        *,
        transport: httpx.BaseTransport | None = None,
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
        self._inner = transport if transport is not None else httpx.HTTPTransport()
        # the attestation GET goes through the same inner transport; closing this client closes it
        self._client = httpx.Client(transport=self._inner, timeout=attest_timeout)
        self._cache = cache if cache is not None else SessionCache()
        self._on_receipt = on_receipt
        self._options = AttestOptions(online=online, cache_dir=cache_dir, ttl=ttl, kem_id=kem_id, model=model)
        self._token = token  # the bearer token is sent, never logged or shown
        self._log = log_monitor(log_key)  # one monitor: it keeps the last checkpoint between attestations
        self._auth = auth_headers(token)
        self._lock = threading.Lock()
        self._urls: dict[str, httpx.URL] = {}  # parsed once: the two sealed routes of the worker
        self.last_receipt: Receipt | None = None

    def __repr__(self) -> str:
        return f"AttestedTransport({self._url!r}, policy={self._policy.id}@{self._policy.digest[:12]})"

    def _cached(self) -> AttestedSession | None:
        """The cached session, unless this transport checks the log and that session's log was not."""
        session = self._cache.get(self._url, self._policy.digest, utcnow(), self._options.model)
        return None if session is None or (self._log is not None and session.log is None) else session

    def session(self) -> AttestedSession:
        """The live session for this worker and policy, attesting first when there is none."""
        session = self._cached()
        if session is not None:
            return session
        with self._lock:  # one attestation at a time, not one per concurrent request
            session = self._cached()
            if session is None:
                o = self._options
                session = attest(
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

    def _reattested(self, stale: AttestedSession) -> bool:
        """Drop ``stale``, attest again, and say whether the attested key configs changed."""
        self._cache.drop(stale)
        return self.session().ohttp_keys != stale.ohttp_keys

    def _post(self, sealed: SealedRequest, request: httpx.Request) -> httpx.Response:
        target = self._urls.get(sealed.url)
        if target is None:
            target = self._urls[sealed.url] = httpx.URL(sealed.url)
        outer = httpx.Request(
            "POST",
            target,
            headers=sealed.outer_headers(self._auth),
            content=sealed.body,
            extensions={k: v for k, v in request.extensions.items() if k == "timeout"},
        )
        return self._inner.handle_request(outer)

    def _delivered(self, receipt: Receipt, response: httpx.Response | None) -> None:
        self.last_receipt = receipt
        if response is not None:
            response.extensions[RECEIPT_EXTENSION] = receipt
        if self._on_receipt is not None:
            self._on_receipt(receipt)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        bhttp_request = inner_request(request, content)
        streaming = wants_stream(request, content)
        for attempt in range(2):
            session = self.session()  # AttestationRefused here: nothing was sealed or sent
            sealed, opener = seal(session, bhttp_request, streaming=streaming)
            outer = self._post(sealed, request)
            if outer.status_code == 200:
                return self._opened(outer, opener, session, sealed)
            try:
                body = outer.read()
            finally:
                outer.close()
            error = refusal(
                outer.status_code,
                outer.headers.get("content-type", ""),
                body,
                retry_after=outer.headers.get("retry-after"),
            )
            if attempt == 0 and error.code in REATTEST_CODES and self._reattested(session):
                continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def _opened(
        self,
        outer: httpx.Response,
        opener: ClientResponseOpener | ChunkedResponseOpener,
        session: AttestedSession,
        sealed: SealedRequest,
    ) -> httpx.Response:
        if media_type(outer) != sealed.accept:
            outer.close()
            raise refusal(200, media_type(outer), b"")
        if isinstance(opener, ClientResponseOpener):
            try:
                body = outer.read()
            finally:
                outer.close()
            opened = open_one_shot(opener, body, session, sealed)
            response = httpx.Response(opened.status, headers=list(opened.headers), content=opened.content)
            self._delivered(opened.receipt, response)
            return response
        return self._streamed(outer, StreamOpener(opener, session, sealed))

    def _streamed(self, outer: httpx.Response, opener: StreamOpener) -> httpx.Response:
        # (a transport may hand back a body it already read, as httpx.MockTransport does)
        chunks = iter([outer.content]) if outer.is_stream_consumed else outer.iter_raw()
        pending: list[bytes] = []
        finished = False
        try:
            for data in chunks:
                pending += opener.feed(data)
                if opener.head is not None:
                    break
            else:
                pending += opener.finish()
                finished = True
            status, headers = opener.head_pairs()
        except (AttestgwError, httpx.HTTPError):
            outer.close()
            raise
        stream = _SealedStream(outer, chunks, opener, pending, finished, self._delivered)
        response = httpx.Response(status, headers=list(headers), stream=stream)
        stream.response = response
        return response

    def close(self) -> None:
        self._client.close()
