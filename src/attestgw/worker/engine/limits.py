"""Limits of the inference engine and of the inner OpenAI-compatible API.

Every limit is a plain number checked once, at construction: a value out of range raises
:class:`~attestgw.errors.ConfigError` (``config.engine_invalid``) so that a bad ``--flag`` fails at
start, not at the first request. The defaults suit a small model on a CPU; a GPU deployment raises
``max_batch_size`` and the token limits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from attestgw.errors import ConfigError

__all__ = ["ApiSettings", "EngineLimits"]


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise ConfigError("config.engine_invalid", what)


@dataclass(frozen=True, slots=True)
class EngineLimits:
    """What one request may ask of the engine, and how requests are queued and batched.

    - ``max_prompt_tokens``: prompt tokens accepted per request (after the chat template);
      ``prompt + max_tokens`` must also fit the model's context (``max_position_embeddings``).
    - ``max_new_tokens``: the cap on ``max_tokens``; a request asking for more is refused, not clipped.
    - ``default_max_tokens``: used when a request does not say; ``None`` means
      ``min(128, max_new_tokens)`` (see :attr:`default_tokens`).
    - ``request_timeout_s``: wall time from admission to the last token, queueing included.
    - ``queue_size``: requests admitted but not yet running; one more is refused (``engine.queue_full``).
    - ``max_batch_size`` / ``batch_window_s``: the worker thread waits up to the window after the
      first queued request for others to join its batch, and stops early when the batch is full.
    - ``max_embedding_inputs``: texts per embeddings request.
    - ``max_stop_sequences``: stop strings per request (OpenAI allows 4).
    """

    max_prompt_tokens: int = 2048
    max_new_tokens: int = 512
    default_max_tokens: int | None = None
    request_timeout_s: float = 120.0
    queue_size: int = 64
    max_batch_size: int = 8
    batch_window_s: float = 0.005
    max_embedding_inputs: int = 64
    max_stop_sequences: int = 4

    def __post_init__(self) -> None:
        _require(self.max_prompt_tokens >= 1, f"max_prompt_tokens must be >= 1, got {self.max_prompt_tokens}")
        _require(self.max_new_tokens >= 1, f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        _require(
            self.default_max_tokens is None or 1 <= self.default_max_tokens <= self.max_new_tokens,
            f"default_max_tokens must be in [1, {self.max_new_tokens}], got {self.default_max_tokens}",
        )
        _require(self.request_timeout_s > 0, f"request_timeout_s must be > 0, got {self.request_timeout_s}")
        _require(self.queue_size >= 1, f"queue_size must be >= 1, got {self.queue_size}")
        _require(self.max_batch_size >= 1, f"max_batch_size must be >= 1, got {self.max_batch_size}")
        _require(
            0 <= self.batch_window_s <= 10, f"batch_window_s must be in [0, 10], got {self.batch_window_s}"
        )
        _require(
            self.max_embedding_inputs >= 1,
            f"max_embedding_inputs must be >= 1, got {self.max_embedding_inputs}",
        )
        _require(
            self.max_stop_sequences >= 0, f"max_stop_sequences must be >= 0, got {self.max_stop_sequences}"
        )

    @property
    def default_tokens(self) -> int:
        """``max_tokens`` for a request that does not say."""
        if self.default_max_tokens is not None:
            return self.default_max_tokens
        return min(128, self.max_new_tokens)


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Settings of the inner OpenAI-compatible app (the engine holds the token limits).

    ``max_body_bytes`` bounds the JSON body the app reads (``413 engine.body_too_large`` beyond it);
    ``clock`` gives the ``created`` Unix time of responses (injected so tests can pin it).
    """

    max_body_bytes: int = 1 << 20
    clock: Callable[[], float] = field(default=time.time)

    def __post_init__(self) -> None:
        _require(self.max_body_bytes >= 1, f"max_body_bytes must be >= 1, got {self.max_body_bytes}")
