"""The inner OpenAI-compatible API: a Starlette app over an :class:`~.engine.Engine`.

Routes: ``POST /v1/chat/completions`` (``stream: true`` → server-sent events), ``POST
/v1/completions``, ``POST /v1/embeddings``, ``GET /v1/models``, ``GET /v1/models/{id}``.

This app never sees sealing: the worker service opens each sealed request and passes it through the
ASGI interface in-process. Streaming responses are a :class:`~starlette.responses.StreamingResponse`
with one ASGI body message per server-sent event (``data: {json}\\n\\n``, then ``data: [DONE]\\n\\n``)
and no middleware that could buffer them, so the sealing layer can seal one chunk per event.

Refusals are OpenAI-shaped, ``{"error": {"message", "type", "param", "code"}}``, where ``code`` is the
stable attestgw code (``docs/errors.md``) and the status follows it: 400 ``engine.request_invalid``
/ ``engine.prompt_too_long`` / ``engine.max_tokens_too_large``, 404 ``engine.model_not_found``, 413
``engine.body_too_large``, 429 ``engine.queue_full`` (with ``Retry-After``), 503 ``engine.closed``,
504 ``engine.timeout``, 500 ``engine.failed``. Every refusal of a request is decided before the first
byte of a stream; a failure after that (a timeout mid-stream) is sent as a last ``data: {"error":
…}`` event and the stream ends without ``[DONE]``.

Usage: non-streamed responses carry ``usage``. Streamed chat and completions put ``usage`` on the
chunk that carries ``finish_reason``; with ``stream_options.include_usage`` they follow OpenAI
instead and send it in one extra chunk with empty ``choices`` before ``[DONE]``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import struct
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from attestgw.errors import AttestgwError, UsageError

from .engine import Engine
from .jobs import GenerationResult
from .limits import ApiSettings
from .openai_schema import parse_chat, parse_completion, parse_embedding
from .streams import GenerationStream

__all__ = ["create_openai_app", "error_body", "status_for"]

_STATUS: Mapping[str, tuple[int, str]] = {
    "engine.request_invalid": (400, "invalid_request_error"),
    "engine.prompt_too_long": (400, "invalid_request_error"),
    "engine.max_tokens_too_large": (400, "invalid_request_error"),
    "engine.model_not_found": (404, "invalid_request_error"),
    "engine.body_too_large": (413, "invalid_request_error"),
    "engine.queue_full": (429, "rate_limit_error"),
    "engine.closed": (503, "server_error"),
    "engine.timeout": (504, "timeout_error"),
}


def status_for(code: str) -> int:
    """The HTTP status the inner API answers an error code with (500 for codes it does not map)."""
    return _STATUS.get(code, (500, "server_error"))[0]


def error_body(code: str, message: str) -> dict[str, Any]:
    """An OpenAI-shaped error object for ``code``."""
    kind = _STATUS.get(code, (500, "server_error"))[1]
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _error_response(code: str, message: str, status: int | None = None) -> JSONResponse:
    status = status if status is not None else status_for(code)
    headers = {"retry-after": "1"} if code == "engine.queue_full" else None
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


async def _on_attestgw_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AttestgwError)
    if exc.code in _STATUS:
        return _error_response(exc.code, exc.message)
    return _error_response("engine.failed", "the request failed inside the worker")


async def _on_http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error_response("engine.request_invalid", str(exc.detail), exc.status_code)


async def _on_unexpected(_request: Request, _exc: Exception) -> Response:
    # No detail: an unexpected exception's text may quote the request.
    return _error_response("engine.failed", "the request failed inside the worker")


def _sse(payload: Mapping[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode("utf-8") + b"\n\n"


_DONE = b"data: [DONE]\n\n"


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


class _Api:
    """The route handlers: parse, call the engine once, shape the answer."""

    def __init__(self, engine: Engine, settings: ApiSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.created = int(settings.clock())

    async def _json(self, request: Request) -> Mapping[str, Any]:
        limit = self.settings.max_body_bytes
        media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if media != "application/json":
            raise UsageError(
                "engine.request_invalid", f"content-type must be application/json, got {media!r}"
            )
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise UsageError("engine.body_too_large", f"the body is {declared} bytes, the limit is {limit}")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise UsageError("engine.body_too_large", f"the body exceeds the limit of {limit} bytes")
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise UsageError("engine.request_invalid", "the body is not valid JSON") from None
        if not isinstance(document, dict):
            raise UsageError("engine.request_invalid", "the body must be a JSON object")
        return document

    def _check_model(self, model: str) -> None:
        if model != self.engine.model_id:
            raise UsageError(
                "engine.model_not_found",
                f"model {model!r} is not served here (this worker serves {self.engine.model_id!r})",
            )

    def _envelope(self, prefix: str, kind: str) -> dict[str, Any]:
        return {
            "id": f"{prefix}-{secrets.token_hex(12)}",
            "object": kind,
            "created": int(self.settings.clock()),
            "model": self.engine.model_id,
        }

    async def chat(self, request: Request) -> Response:
        parsed = parse_chat(await self._json(request))
        self._check_model(parsed.model)
        kwargs = parsed.sampling.as_kwargs()
        if parsed.stream:
            stream = await self.engine.chat_stream(parsed.messages, **kwargs)
            envelope = self._envelope("chatcmpl", "chat.completion.chunk")
            return _event_stream(_chat_events(stream, envelope, parsed.include_usage))
        result = await self.engine.chat(parsed.messages, **kwargs)
        body = self._envelope("chatcmpl", "chat.completion")
        body["choices"] = [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.text},
                "finish_reason": result.finish_reason,
                "logprobs": None,
            }
        ]
        body["usage"] = _usage(result.prompt_tokens, result.completion_tokens)
        return JSONResponse(body)

    async def completions(self, request: Request) -> Response:
        parsed = parse_completion(await self._json(request), self.engine.limits.max_batch_size)
        self._check_model(parsed.model)
        kwargs = parsed.sampling.as_kwargs()
        streams: list[GenerationStream] = []
        try:
            # Queue every prompt before waiting on any, so that they can share one batch.
            for prompt in parsed.prompts:
                streams.append(await self.engine.complete_stream(prompt, **kwargs))
        except BaseException:
            for started in streams:
                started.cancel()
            raise
        if parsed.stream:
            envelope = self._envelope("cmpl", "text_completion")
            return _event_stream(_completion_events(streams[0], envelope, parsed.include_usage))
        try:
            results: list[GenerationResult] = await asyncio.gather(*(s.collect() for s in streams))
        finally:
            for stream in streams:  # when one prompt fails, stop generating for the others
                stream.cancel()
        body = self._envelope("cmpl", "text_completion")
        body["choices"] = [
            {"index": i, "text": r.text, "finish_reason": r.finish_reason, "logprobs": None}
            for i, r in enumerate(results)
        ]
        body["usage"] = _usage(
            sum(r.prompt_tokens for r in results), sum(r.completion_tokens for r in results)
        )
        return JSONResponse(body)

    async def embeddings(self, request: Request) -> Response:
        parsed = parse_embedding(await self._json(request))
        self._check_model(parsed.model)
        result = await self.engine.embeddings(parsed.inputs)
        data = []
        for index, vector in enumerate(result.vectors):
            embedding: list[float] | str = vector
            if parsed.encoding_format == "base64":
                # What the openai client asks for by default: little-endian float32, base64.
                embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": self.engine.model_id,
                "usage": {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens},
            }
        )

    def _model_card(self) -> dict[str, Any]:
        return {
            "id": self.engine.model_id,
            "object": "model",
            "created": self.created,
            "owned_by": "attestgw",
        }

    async def models(self, _request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [self._model_card()]})

    async def model(self, request: Request) -> Response:
        self._check_model(str(request.path_params["model_id"]))
        return JSONResponse(self._model_card())


def _event_stream(events: AsyncIterator[bytes]) -> StreamingResponse:
    # no-cache and X-Accel-Buffering: no keep proxies from holding events back.
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


async def _stream_events(
    stream: GenerationStream,
    chunk: Callable[[dict[str, Any]], dict[str, Any]],
    first: dict[str, Any] | None,
    delta: Callable[[str], dict[str, Any]],
    finish: Callable[[str], dict[str, Any]],
    include_usage: bool,
) -> AsyncIterator[bytes]:
    """The SSE body shared by chat and completions (see the module docstring for ``usage``)."""
    try:
        if first is not None:
            yield _sse(chunk(first))
        async for text in stream:
            if text:
                yield _sse(chunk(delta(text)))
        result = stream.result
        assert result is not None
        usage = _usage(result.prompt_tokens, result.completion_tokens)
        last = chunk(finish(result.finish_reason))
        if not include_usage:
            last["usage"] = usage
        yield _sse(last)
        if include_usage:
            yield _sse({**chunk({}), "choices": [], "usage": usage})
        yield _DONE
    except AttestgwError as exc:
        # The status line has gone out: report in-band and end without [DONE].
        yield _sse(error_body(exc.code, exc.message))
    finally:
        stream.cancel()


def _chat_events(
    stream: GenerationStream, envelope: dict[str, Any], include_usage: bool
) -> AsyncIterator[bytes]:
    def chunk(choice: dict[str, Any]) -> dict[str, Any]:
        return {**envelope, "choices": [choice]} if choice else dict(envelope)

    def delta(text: str) -> dict[str, Any]:
        return {"index": 0, "delta": {"content": text}, "finish_reason": None, "logprobs": None}

    def finish(reason: str) -> dict[str, Any]:
        return {"index": 0, "delta": {}, "finish_reason": reason, "logprobs": None}

    first = {
        "index": 0,
        "delta": {"role": "assistant", "content": ""},
        "finish_reason": None,
        "logprobs": None,
    }
    return _stream_events(stream, chunk, first, delta, finish, include_usage)


def _completion_events(
    stream: GenerationStream, envelope: dict[str, Any], include_usage: bool
) -> AsyncIterator[bytes]:
    def chunk(choice: dict[str, Any]) -> dict[str, Any]:
        return {**envelope, "choices": [choice]} if choice else dict(envelope)

    def delta(text: str) -> dict[str, Any]:
        return {"index": 0, "text": text, "finish_reason": None, "logprobs": None}

    def finish(reason: str) -> dict[str, Any]:
        return {"index": 0, "text": "", "finish_reason": reason, "logprobs": None}

    return _stream_events(stream, chunk, None, delta, finish, include_usage)


def create_openai_app(engine: Engine, settings: ApiSettings | None = None) -> Starlette:
    """The inner OpenAI-compatible ASGI app serving ``engine`` (no import-time state)."""
    api = _Api(engine, settings or ApiSettings())
    routes = [
        Route("/v1/chat/completions", api.chat, methods=["POST"]),
        Route("/v1/completions", api.completions, methods=["POST"]),
        Route("/v1/embeddings", api.embeddings, methods=["POST"]),
        Route("/v1/models", api.models, methods=["GET"]),
        Route("/v1/models/{model_id:path}", api.model, methods=["GET"]),
    ]
    handlers: dict[Any, Callable[[Request, Exception], Any]] = {
        AttestgwError: _on_attestgw_error,
        HTTPException: _on_http_error,
        Exception: _on_unexpected,
    }
    return Starlette(routes=routes, exception_handlers=handlers)
