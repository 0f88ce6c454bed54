"""Sampling parameters of one request, and choosing the next token from one row of logits.

Greedy (``temperature == 0``) takes the arg-max and is deterministic. Otherwise the logits are
divided by the temperature, nucleus (top-p) filtering keeps the smallest set of most likely tokens
whose probability reaches ``top_p``, and one token is drawn with the request's own
:class:`torch.Generator`: a request with a ``seed`` draws the same tokens whether it runs alone or
in a batch. Not implemented: penalties, top-k, logit bias, logprobs (the inner API refuses them).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import torch

from attestgw.errors import UsageError

__all__ = ["SamplingParams", "choose_token", "make_generator"]


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """How to generate: ``max_tokens`` new tokens at most, stop strings, temperature, top-p, seed.

    Ranges follow the OpenAI API: temperature in [0, 2], top_p in (0, 1], seed any 64-bit integer.
    Out-of-range values raise :class:`UsageError` (``engine.request_invalid``). ``max_tokens``
    ``None`` means the engine's default; its upper bound is the engine's ``max_new_tokens``.
    """

    max_tokens: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.max_tokens is not None and self.max_tokens < 1:
            raise UsageError("engine.request_invalid", f"max_tokens must be >= 1, got {self.max_tokens}")
        if not 0.0 <= self.temperature <= 2.0:
            raise UsageError(
                "engine.request_invalid", f"temperature must be in [0, 2], got {self.temperature}"
            )
        if not 0.0 < self.top_p <= 1.0:
            raise UsageError("engine.request_invalid", f"top_p must be in (0, 1], got {self.top_p}")
        if any(not stop for stop in self.stop):
            raise UsageError("engine.request_invalid", "stop strings must not be empty")
        if self.seed is not None and not -(2**63) <= self.seed < 2**64:
            raise UsageError("engine.request_invalid", "seed must fit in 64 bits")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


def make_generator(params: SamplingParams, device: torch.device) -> torch.Generator | None:
    """The request's random generator (``None`` when greedy: nothing is drawn)."""
    if params.greedy:
        return None
    seed = secrets.randbits(63) if params.seed is None else params.seed % 2**64
    return torch.Generator(device=device).manual_seed(seed)


def choose_token(logits: torch.Tensor, params: SamplingParams, generator: torch.Generator | None) -> int:
    """The next token id from one row of logits (shape ``[vocab]``)."""
    if generator is None:
        return int(torch.argmax(logits).item())
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if params.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        cumulative = torch.cumsum(sorted_probs, dim=-1)
        # Drop a token when the tokens before it already reach top_p; the first is always kept.
        drop = (cumulative - sorted_probs) >= params.top_p
        sorted_probs = sorted_probs.masked_fill(drop, 0.0)
        choice = torch.multinomial(sorted_probs, 1, generator=generator)
        return int(order[choice].item())
    return int(torch.multinomial(probs, 1, generator=generator).item())
