"""Running a batch on the model: token-by-token generation and mean-pooled embeddings.

Runs only on the engine's worker thread, never on the event loop.

**Generation** (:meth:`ModelRunner.generate`): the prompts of a batch are left-padded to one length
and run through the model in one forward pass (prefill); then every step runs one forward pass over
the batch with the KV cache, and each row picks its own next token with its own sampling
parameters (:mod:`.sampling`). Position ids come from the attention mask, so a left-padded row sees
the same positions as it would alone. A row leaves the batch when it meets EOS, a stop string, its
``max_tokens``, its deadline or cancellation; its KV cache rows are dropped so that the remaining
rows do not pay for it. Each row streams its text deltas as they are produced, so streaming and
non-streaming requests share batches.

**Embeddings** (:meth:`ModelRunner.embed`): right-padded batches through the base model, the last
hidden state mean-pooled over real tokens, L2-normalised, returned as float32 values.

Not done: continuous batching (a request that arrives while a batch runs waits for the next one),
prefix caching, speculative decoding. For that, serve vLLM behind the worker's sealed channel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from attestgw.errors import ServiceUnavailableError

from .jobs import Delta, Embedded, EmbedJob, Failed, Finished, GenerateJob, GenerationResult
from .sampling import choose_token, make_generator
from .text import IncrementalText

__all__ = ["ModelRunner"]


class _Row:
    __slots__ = ("completion_tokens", "generator", "job", "text")

    def __init__(
        self, job: GenerateJob, decode: Callable[[Sequence[int]], str], device: torch.device
    ) -> None:
        self.job = job
        self.text = IncrementalText(decode, job.params.stop)
        self.generator = make_generator(job.params, device)
        self.completion_tokens = 0

    def finish(self, reason: str) -> None:
        tail = self.text.finish()
        if tail:
            self.job.sink.post(Delta(tail))
        result = GenerationResult(
            text=self.text.text,
            finish_reason="stop" if reason == "stop" else "length",
            prompt_tokens=len(self.job.prompt_ids),
            completion_tokens=self.completion_tokens,
        )
        self.job.sink.post(Finished(result))

    def fail(self, code: str, message: str) -> None:
        self.job.sink.post(Failed(ServiceUnavailableError(code, message)))


@dataclass(frozen=True, slots=True)
class ModelRunner:
    """A loaded model and what the batch loop needs to know about its tokenizer."""

    model: Any  # a transformers PreTrainedModel (its type is not precise enough to be useful here)
    device: torch.device
    pad_id: int
    eos_ids: frozenset[int]
    decode: Callable[[Sequence[int]], str]
    #: Extra forward() arguments for the prefill: ask for the last position's logits only
    #: (``logits_to_keep`` in transformers 5, ``num_logits_to_keep`` in 4.45+), when supported.
    last_logits_only: tuple[tuple[str, int], ...] = ()

    def generate(self, jobs: Sequence[GenerateJob], stopping: threading.Event) -> None:
        """Run ``jobs`` as one batch until every row has finished; events go to each job's sink."""
        rows = [_Row(job, self.decode, self.device) for job in jobs]
        width = max(len(job.prompt_ids) for job in jobs)
        ids = [[self.pad_id] * (width - len(j.prompt_ids)) + list(j.prompt_ids) for j in jobs]
        masks = [[0] * (width - len(j.prompt_ids)) + [1] * len(j.prompt_ids) for j in jobs]
        input_ids = torch.tensor(ids, dtype=torch.long, device=self.device)
        mask = torch.tensor(masks, dtype=torch.long, device=self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        active = list(range(len(rows)))  # batch position -> row index
        past: Any = None
        with torch.inference_mode():
            while active:
                out = self.model(
                    input_ids=input_ids,
                    attention_mask=mask,
                    position_ids=positions,
                    past_key_values=past,
                    use_cache=True,
                    **dict(self.last_logits_only),
                )
                past = out.past_key_values
                logits = out.logits[:, -1, :]
                keep: list[int] = []
                next_tokens: list[int] = []
                now = time.monotonic()
                for slot, index in enumerate(active):
                    token = self._step(rows[index], logits[slot], now, stopping)
                    if token is not None:
                        keep.append(slot)
                        next_tokens.append(token)
                if not keep:
                    return
                if len(keep) < len(active):
                    selected = torch.tensor(keep, dtype=torch.long, device=self.device)
                    past.batch_select_indices(selected)
                    mask = mask.index_select(0, selected)
                    positions = positions.index_select(0, selected)
                    active = [active[slot] for slot in keep]
                input_ids = torch.tensor(next_tokens, dtype=torch.long, device=self.device)[:, None]
                mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=1)
                positions = positions[:, -1:] + 1

    def _step(self, row: _Row, logits: torch.Tensor, now: float, stopping: threading.Event) -> int | None:
        """Advance one row; return the token to feed next, or None when the row has finished."""
        job = row.job
        if job.cancelled.is_set():
            return None  # nobody listens any more
        if stopping.is_set():
            row.fail("engine.closed", "the engine shut down during generation")
            return None
        if now > job.deadline:
            row.fail("engine.timeout", "the request ran past its timeout during generation")
            return None
        token = choose_token(logits, job.params, row.generator)
        row.completion_tokens += 1
        if token in self.eos_ids:
            row.finish("stop")
            return None
        delta = row.text.push(token)
        if delta:
            job.sink.post(Delta(delta))
        if row.text.stopped:
            row.finish("stop")
            return None
        if row.completion_tokens >= job.max_tokens:
            row.finish("length")
            return None
        return token

    def embed(self, jobs: Sequence[EmbedJob], chunk: int) -> None:
        """Embed every input of ``jobs``, ``chunk`` texts per forward pass; post one event per job."""
        now = time.monotonic()
        live = [job for job in jobs if not job.cancelled.is_set()]
        for job in live:
            if now > job.deadline:
                job.sink.post(
                    Failed(ServiceUnavailableError("engine.timeout", "the request timed out in the queue"))
                )
        live = [job for job in live if now <= job.deadline]
        flat = [inputs for job in live for inputs in job.inputs]
        vectors: list[list[float]] = []
        base = getattr(self.model, "base_model", self.model)
        with torch.inference_mode():
            for start in range(0, len(flat), chunk):
                part = flat[start : start + chunk]
                width = max(len(ids) for ids in part)
                ids = [list(x) + [self.pad_id] * (width - len(x)) for x in part]
                masks = [[1] * len(x) + [0] * (width - len(x)) for x in part]
                input_ids = torch.tensor(ids, dtype=torch.long, device=self.device)
                mask = torch.tensor(masks, dtype=torch.long, device=self.device)
                hidden = base(input_ids=input_ids, attention_mask=mask).last_hidden_state.float()
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1)
                normalised = torch.nn.functional.normalize(pooled, p=2.0, dim=-1)
                vectors.extend(normalised.cpu().tolist())
        offset = 0
        for job in live:
            job.sink.post(Embedded(vectors[offset : offset + len(job.inputs)]))
            offset += len(job.inputs)
