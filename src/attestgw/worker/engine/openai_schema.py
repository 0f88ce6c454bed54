"""Strict validation of OpenAI-style request bodies for the inner API (hand-written, no pydantic).

Each ``parse_*`` takes the decoded JSON object and returns a frozen request, or raises
:class:`~attestgw.errors.UsageError` with code ``engine.request_invalid`` naming the field. The rules:

- an unknown field is refused, not ignored (a client that asks for ``tools`` or ``logit_bias`` must
  learn that it did not get them);
- fields the engine cannot honour are accepted only at their neutral value: ``n`` = 1, penalties = 0,
  ``logprobs`` false, ``echo`` false, ``best_of`` = 1;
- ``null`` means "not given"; booleans are never accepted as numbers; numbers must be finite;
- ``user`` and message ``name`` are accepted and ignored (they are labels, not instructions).

Token-based limits (prompt length, ``max_tokens`` cap) are the engine's; this module checks shapes
and ranges only. Not supported: token-id prompts, images/audio content parts, tools, response
formats, ``dimensions`` for embeddings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from attestgw.errors import UsageError

from .engine import ChatMessage

__all__ = [
    "ChatRequest",
    "CompletionRequest",
    "EmbeddingRequest",
    "Sampling",
    "parse_chat",
    "parse_completion",
    "parse_embedding",
]

_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
_SAMPLING_FIELDS = frozenset(
    {"max_tokens", "temperature", "top_p", "stop", "seed", "n", "presence_penalty", "frequency_penalty"}
)
_COMMON_FIELDS = frozenset({"model", "stream", "stream_options", "user"}) | _SAMPLING_FIELDS
_CHAT_FIELDS = _COMMON_FIELDS | {"messages", "max_completion_tokens", "logprobs"}
_COMPLETION_FIELDS = _COMMON_FIELDS | {"prompt", "echo", "suffix", "best_of", "logprobs"}
_EMBEDDING_FIELDS = frozenset({"model", "input", "encoding_format", "user", "dimensions"})


def _invalid(message: str) -> UsageError:
    return UsageError("engine.request_invalid", message)


@dataclass(frozen=True, slots=True)
class Sampling:
    """The sampling arguments of a request, as keyword arguments for :class:`~.engine.Engine`."""

    max_tokens: int | None
    temperature: float
    top_p: float
    stop: tuple[str, ...]
    seed: int | None

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": self.stop,
            "seed": self.seed,
        }


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: tuple[ChatMessage, ...]
    sampling: Sampling
    stream: bool
    include_usage: bool


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    model: str
    prompts: tuple[str, ...]
    sampling: Sampling
    stream: bool
    include_usage: bool


@dataclass(frozen=True, slots=True)
class EmbeddingRequest:
    model: str
    inputs: tuple[str, ...]
    encoding_format: str


class _Fields:
    """Typed access to a JSON object's fields; ``None`` for absent or null."""

    def __init__(self, body: Mapping[str, Any], allowed: frozenset[str]) -> None:
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise _invalid(f"unknown field {unknown[0]!r}")
        self._body = body

    def raw(self, name: str) -> Any:
        return self._body.get(name)

    def string(self, name: str, *, required: bool = False) -> str | None:
        value = self._body.get(name)
        if value is None:
            if required:
                raise _invalid(f"{name!r} is required")
            return None
        if not isinstance(value, str):
            raise _invalid(f"{name!r} must be a string, got {type(value).__name__}")
        return value

    def boolean(self, name: str) -> bool | None:
        value = self._body.get(name)
        if value is not None and not isinstance(value, bool):
            raise _invalid(f"{name!r} must be a boolean, got {type(value).__name__}")
        return value

    def integer(self, name: str, low: int, high: int) -> int | None:
        value = self._body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _invalid(f"{name!r} must be an integer, got {type(value).__name__}")
        if not low <= value <= high:
            raise _invalid(f"{name!r} must be in [{low}, {high}], got {value}")
        return value

    def number(self, name: str, low: float, high: float) -> float | None:
        value = self._body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise _invalid(f"{name!r} must be a finite number, got {value!r}")
        if not low <= value <= high:
            raise _invalid(f"{name!r} must be in [{low}, {high}], got {value}")
        return float(value)

    def only(self, name: str, neutral: object) -> None:
        """Accept ``name`` only at its neutral value (the engine has no other)."""
        value = self._body.get(name)
        if value is None:
            return
        # 0.0 is as neutral as 0, but False is not 0: compare values of the same kind only.
        if isinstance(value, bool) != isinstance(neutral, bool) or value != neutral:
            raise _invalid(f"{name!r} is not supported (only {neutral!r})")


def _stop(fields: _Fields) -> tuple[str, ...]:
    value = fields.raw("stop")
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(s, str) and s for s in items):
        raise _invalid("'stop' must be a non-empty string or a list of non-empty strings")
    return tuple(items)


def _sampling(fields: _Fields, max_tokens: int | None) -> Sampling:
    fields.only("n", 1)
    fields.only("presence_penalty", 0)
    fields.only("frequency_penalty", 0)
    temperature = fields.number("temperature", 0.0, 2.0)
    top_p = fields.number("top_p", 0.0, 1.0)
    if top_p == 0.0:
        raise _invalid("'top_p' must be greater than 0")
    return Sampling(
        max_tokens=max_tokens,
        temperature=1.0 if temperature is None else temperature,
        top_p=1.0 if top_p is None else top_p,
        stop=_stop(fields),
        seed=fields.integer("seed", -(2**63), 2**64 - 1),
    )


def _stream(fields: _Fields) -> tuple[bool, bool]:
    stream = bool(fields.boolean("stream"))
    options = fields.raw("stream_options")
    if options is None:
        return stream, False
    if not stream:
        raise _invalid("'stream_options' is only allowed with 'stream': true")
    if not isinstance(options, dict):
        raise _invalid("'stream_options' must be an object")
    include = _Fields(options, frozenset({"include_usage"})).boolean("include_usage")
    return stream, bool(include)


def _content(value: Any, index: int) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts: list[str] = []
        for part in value:
            if not isinstance(part, dict) or part.get("type") != "text" or set(part) != {"type", "text"}:
                raise _invalid(f"messages[{index}].content: only text parts are supported")
            if not isinstance(part["text"], str):
                raise _invalid(f"messages[{index}].content: a text part's 'text' must be a string")
            texts.append(part["text"])
        return "\n".join(texts)
    raise _invalid(f"messages[{index}].content must be a string or a list of text parts")


def _messages(value: Any) -> tuple[ChatMessage, ...]:
    if not isinstance(value, list) or not value:
        raise _invalid("'messages' must be a non-empty list")
    messages: list[ChatMessage] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise _invalid(f"messages[{index}] must be an object")
        fields = _Fields(item, frozenset({"role", "content", "name"}))
        role = fields.string("role", required=True)
        if role not in _ROLES:
            raise _invalid(f"messages[{index}].role must be one of {sorted(_ROLES)}, got {role!r}")
        fields.string("name")
        if item.get("content") is None:
            raise _invalid(f"messages[{index}].content is required")
        messages.append(ChatMessage(_ROLES[role], _content(item["content"], index)))
    return tuple(messages)


def parse_chat(body: Mapping[str, Any]) -> ChatRequest:
    """Validate a ``POST /v1/chat/completions`` body."""
    fields = _Fields(body, _CHAT_FIELDS)
    model = fields.string("model", required=True)
    assert model is not None
    fields.only("logprobs", False)
    max_completion = fields.integer("max_completion_tokens", 1, 2**31)
    max_tokens = fields.integer("max_tokens", 1, 2**31)
    if max_completion is not None and max_tokens is not None and max_completion != max_tokens:
        raise _invalid("'max_tokens' and 'max_completion_tokens' disagree")
    fields.string("user")
    stream, include_usage = _stream(fields)
    return ChatRequest(
        model=model,
        messages=_messages(fields.raw("messages")),
        sampling=_sampling(fields, max_completion if max_completion is not None else max_tokens),
        stream=stream,
        include_usage=include_usage,
    )


def parse_completion(body: Mapping[str, Any], max_prompts: int) -> CompletionRequest:
    """Validate a ``POST /v1/completions`` body (a string prompt, or a list of up to ``max_prompts``)."""
    fields = _Fields(body, _COMPLETION_FIELDS)
    model = fields.string("model", required=True)
    assert model is not None
    fields.only("echo", False)
    fields.only("best_of", 1)
    for name in ("suffix", "logprobs"):
        if fields.raw(name) is not None:
            raise _invalid(f"{name!r} is not supported")
    fields.string("user")
    prompt = fields.raw("prompt")
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise _invalid("'prompt' must be a string or a non-empty list of strings (token ids unsupported)")
    if len(prompts) > max_prompts:
        raise _invalid(f"'prompt' has {len(prompts)} entries, the limit is {max_prompts}")
    stream, include_usage = _stream(fields)
    if stream and len(prompts) != 1:
        raise _invalid("streaming is supported for a single prompt only")
    sampling = _sampling(fields, fields.integer("max_tokens", 1, 2**31))
    return CompletionRequest(model, tuple(prompts), sampling, stream, include_usage)


def parse_embedding(body: Mapping[str, Any]) -> EmbeddingRequest:
    """Validate a ``POST /v1/embeddings`` body."""
    fields = _Fields(body, _EMBEDDING_FIELDS)
    model = fields.string("model", required=True)
    assert model is not None
    if fields.raw("dimensions") is not None:
        raise _invalid("'dimensions' is not supported")
    fields.string("user")
    encoding = fields.string("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise _invalid(f"'encoding_format' must be 'float' or 'base64', got {encoding!r}")
    value = fields.raw("input")
    inputs = [value] if isinstance(value, str) else value
    if not isinstance(inputs, list) or not inputs or not all(isinstance(t, str) for t in inputs):
        raise _invalid("'input' must be a string or a non-empty list of strings (token ids unsupported)")
    return EmbeddingRequest(model, tuple(inputs), encoding)
