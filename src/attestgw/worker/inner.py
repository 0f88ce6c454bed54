"""Calling the inner OpenAI-compatible ASGI app in-process, for requests opened from the sealed channel.

:class:`InnerApp` wraps any ASGI 3 app. :meth:`InnerApp.startup` / :meth:`~InnerApp.shutdown` run
its lifespan protocol (a Starlette sub-app's lifespan does not run by itself; apps without lifespan
support are detected the way uvicorn's ``lifespan="auto"`` does) and keep its lifespan state, which
every request scope then receives a shallow copy of. :meth:`InnerApp.stream` turns one Binary HTTP
request into an async iterator of :class:`InnerStart` and :class:`InnerBody` events *as the app
sends them* (no buffering: a server-sent event reaches the caller when the app emits it). A bounded
queue applies back-pressure to the app when the caller is slower than the model.

The scope is an ordinary HTTP/1.1 scope: method, ``https``, the path and query from the Binary HTTP
request, its header fields (names lower-cased as ASGI requires, ``host`` from the authority when
absent, ``content-length`` recomputed, hop-by-hop fields dropped), no client or server address (the
worker does not know who sent a sealed request, by design).

Not checked: the app's output (status and fields are re-validated when they are encoded as Binary
HTTP), and the request's semantics (the worker checks the model before calling).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Scope

from attestgw.bhttp import Field, Request
from attestgw.bhttp.message import validate_fields
from attestgw.errors import FormatError

__all__ = ["HOP_BY_HOP", "InnerApp", "InnerAppError", "InnerBody", "InnerStart"]

#: Connection-specific fields (RFC 9110 §7.6.1) that never cross into or out of Binary HTTP.
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade"}
)
_QUEUE_DEPTH = 16
#: Request fields the scope never carries: hop-by-hop ones, and the length (recomputed from the content).
_NOT_FORWARDED = HOP_BY_HOP | {b"content-length"}


class InnerAppError(Exception):
    """The inner app raised, or returned without completing its response. Not an attestgw refusal:
    the worker answers it with a sealed 500 (``worker.inner_error``)."""


@dataclass(frozen=True, slots=True)
class InnerStart:
    """The response status and header fields (hop-by-hop and ``content-length`` removed)."""

    status: int
    headers: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class InnerBody:
    """One non-empty piece of content, as the app sent it."""

    data: bytes


def _response_fields(raw: list[tuple[bytes, bytes]]) -> tuple[Field, ...]:
    """The app's header fields as Binary HTTP fields, minus those that must not (or cannot) cross.

    ``content-length`` is dropped because Binary HTTP frames the content itself; a field Binary HTTP
    cannot carry (a name that is not a token, a value with CR/LF) is dropped rather than failing a
    response the model already produced.
    """
    fields = []
    for name, value in raw:
        field = Field(bytes(name).lower(), bytes(value))
        if field.name in HOP_BY_HOP or field.name == b"content-length":
            continue
        try:
            validate_fields((field,), "response")
        except FormatError:
            continue
        fields.append(field)
    return tuple(fields)


def _start(message: Message) -> InnerStart:
    status = int(message["status"])
    if not 200 <= status <= 599:
        # 1xx cannot be relayed (RFC 9458 §5.2 for interim responses inside OHTTP); >599 is not HTTP.
        raise InnerAppError(f"the inner app sent status {status}")
    return InnerStart(status, _response_fields(list(message.get("headers", []))))


class InnerApp:
    """An ASGI app called in-process. Use from one event loop (the worker's)."""

    __slots__ = ("_app", "_lifespan_in", "_lifespan_out", "_lifespan_task", "_supports_lifespan", "state")

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self.state: dict[str, Any] = {}
        self._supports_lifespan = False
        self._lifespan_task: asyncio.Task[None] | None = None
        self._lifespan_in: asyncio.Queue[Message] = asyncio.Queue()
        self._lifespan_out: asyncio.Queue[Message] = asyncio.Queue()

    # -- lifespan ----------------------------------------------------------------------------------

    async def startup(self) -> None:
        """Run the app's lifespan startup; raise ``RuntimeError`` if it reports failure."""
        # Fresh queues per run: a queue is bound to the event loop that first uses it.
        self._lifespan_in = asyncio.Queue()
        self._lifespan_out = asyncio.Queue()
        scope: Scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }

        async def run() -> None:
            try:
                await self._app(scope, self._lifespan_in.get, self._lifespan_out.put)
            except Exception as exc:  # an app without lifespan support raises on the unknown scope
                await self._lifespan_out.put({"type": "_raised", "error": repr(exc)})
            else:
                await self._lifespan_out.put({"type": "_returned"})

        self._lifespan_task = asyncio.create_task(run())
        await self._lifespan_in.put({"type": "lifespan.startup"})
        message = await self._lifespan_out.get()
        if message["type"] == "lifespan.startup.complete":
            self._supports_lifespan = True
        elif message["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"the inner app failed to start: {message.get('message', '')}")
        # Otherwise the app does not speak lifespan: nothing to start or stop.

    async def shutdown(self) -> None:
        """Run the app's lifespan shutdown (no-op when it has no lifespan)."""
        task, self._lifespan_task = self._lifespan_task, None
        if task is None:
            return
        if self._supports_lifespan:
            await self._lifespan_in.put({"type": "lifespan.shutdown"})
            await self._lifespan_out.get()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    # -- requests ----------------------------------------------------------------------------------

    def http_scope(self, request: Request, *, root_path: str = "") -> Scope:
        """The ASGI HTTP scope for an opened Binary HTTP request."""
        raw_path, _, query = request.path.partition(b"?")
        headers = [(name, f.value) for f in request.headers if (name := f.name.lower()) not in _NOT_FORWARDED]
        if request.authority and not any(name == b"host" for name, _ in headers):
            headers.insert(0, (b"host", request.authority))
        if request.content or request.method not in (b"GET", b"HEAD"):
            headers.append((b"content-length", str(len(request.content)).encode("ascii")))
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": request.method.decode("ascii"),
            "scheme": request.scheme.decode("ascii"),
            "path": unquote_to_bytes(raw_path).decode("utf-8", "replace"),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": root_path,
            "headers": headers,
            "client": None,
            "server": None,
            "state": dict(self.state),
        }

    async def call(self, request: Request) -> tuple[InnerStart, bytes]:
        """The app's whole response to ``request`` (the known-length path).

        The app is awaited directly (no task, no queue: the whole answer is needed anyway before it
        can be sealed). Raises :class:`InnerAppError` if the app fails before completing its
        response; an app that fails *after* completing it (Starlette's error middleware re-raises
        once its 500 went out) keeps the response it sent.
        """
        scope = self.http_scope(request)
        done = asyncio.Event()
        body_sent = False
        start: InnerStart | None = None
        content = bytearray()

        async def receive() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": request.content, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal start
            if done.is_set():
                raise OSError("the response is already complete")
            if message["type"] == "http.response.start" and start is None:
                start = _start(message)
            elif message["type"] == "http.response.body" and start is not None:
                content.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        try:
            await self._app(scope, receive, send)
        except InnerAppError:
            raise
        except Exception as exc:
            if not done.is_set():
                raise InnerAppError("the inner app failed before completing its response") from exc
        if start is None or not done.is_set():
            raise InnerAppError("the inner app did not complete its response")
        return start, bytes(content)

    async def stream(self, request: Request) -> AsyncGenerator[InnerStart | InnerBody, None]:
        """The app's response to ``request``: one :class:`InnerStart`, then :class:`InnerBody` pieces.

        Raises :class:`InnerAppError` if the app fails before completing its response. Closing the
        iterator early (the client went away) tells the app ``http.disconnect`` and cancels it.
        """
        scope = self.http_scope(request)
        out: asyncio.Queue[Message | None] = asyncio.Queue(maxsize=_QUEUE_DEPTH)
        gone = asyncio.Event()
        body_sent = False
        failure: list[BaseException] = []

        async def receive() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": request.content, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if gone.is_set():
                raise OSError("the client of the sealed request went away")
            await out.put(message)

        async def run() -> None:
            try:
                await self._app(scope, receive, send)
            except Exception as exc:
                failure.append(exc)
            finally:
                await out.put(None)

        task = asyncio.create_task(run())
        completed = False
        try:
            started = False
            while not completed:
                message = await out.get()
                if message is None:
                    raise InnerAppError("the inner app did not complete its response") from (
                        failure[0] if failure else None
                    )
                if message["type"] == "http.response.start" and not started:
                    started = True
                    yield _start(message)
                elif message["type"] == "http.response.body" and started:
                    data = bytes(message.get("body", b""))
                    if data:
                        yield InnerBody(data)
                    completed = not message.get("more_body", False)
        finally:
            gone.set()
            if completed:
                await _drain(out, task)  # let background tasks of the app finish
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _drain(out: asyncio.Queue[Message | None], task: asyncio.Task[None]) -> None:
    """Wait for the app to return, consuming (and ignoring) anything it still sends."""
    while not task.done():
        getter = asyncio.ensure_future(out.get())
        await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
        if not getter.done():
            getter.cancel()
    await task
