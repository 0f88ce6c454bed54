"""The inference engine: a Hugging Face model directory served through an async API.

:meth:`Engine.load` reads a model directory with transformers on torch — CUDA when
``torch.cuda.is_available()``, else CPU — with ``local_files_only=True``, ``use_safetensors=True``
and ``trust_remote_code=False``: nothing is downloaded, no pickle is ever read and no code from the
directory runs. A directory without ``*.safetensors`` weights, or whose weights leave parameters of
the model missing (which transformers would fill with random values), is refused
(``config.model_invalid``). ``*.bin`` files next to the safetensors are ignored, never read.

The model digest (:mod:`.manifest`) is taken before loading. Not checked: that the directory does
not change between the digest and the load — serve it from read-only storage (the TEE image, or
weights decrypted in memory).

The async methods tokenize on the caller's event loop (bounded by the inner API's body limit), check
the limits (:class:`~.limits.EngineLimits`), and queue a job for the worker thread
(:mod:`.scheduler`); they never block the loop on the model. Refusals are
:class:`~attestgw.errors.UsageError` (the request: ``engine.request_invalid``,
``engine.prompt_too_long``, ``engine.max_tokens_too_large``) or
:class:`~attestgw.errors.ServiceUnavailableError` (the engine: ``engine.queue_full``, ``engine.timeout``,
``engine.closed``, ``engine.failed``).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

from attestgw.errors import ConfigError, UsageError

from .generate import ModelRunner
from .jobs import EmbedJob, GenerateJob, GenerationResult, Sink
from .limits import EngineLimits
from .manifest import model_digest
from .sampling import SamplingParams
from .scheduler import EngineStats, Scheduler
from .streams import EmbeddingResult, GenerationStream, await_embeddings

__all__ = ["ChatMessage", "Engine"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat turn: ``role`` (``system``, ``user``, ``assistant``) and its text."""

    role: str
    content: str


def _pick_device(device: str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


_HALF = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def _pick_dtype(device: torch.device, root: Path) -> torch.dtype:
    """float32 on CPU; on CUDA the half type the checkpoint declares (``dtype`` / ``torch_dtype`` in
    config.json), else float32 — a checkpoint saved in float32 keeps its exact numbers."""
    if device.type != "cuda":
        return torch.float32
    try:
        config = json.loads((root / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError("config.model_invalid", f"config.json is not readable JSON: {exc}") from exc
    declared = (config.get("dtype") or config.get("torch_dtype")) if isinstance(config, dict) else None
    dtype = _HALF.get(str(declared))
    if dtype is torch.bfloat16 and not torch.cuda.is_bf16_supported():
        return torch.float16
    return dtype or torch.float32


def _load_model(root: Path, dtype: torch.dtype) -> Any:
    dtype_arg = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    # With output_loading_info=True the call returns (model, info); its annotation says model only.
    loaded: Any = AutoModelForCausalLM.from_pretrained(
        root,
        local_files_only=True,
        use_safetensors=True,
        trust_remote_code=False,
        output_loading_info=True,
        **{dtype_arg: dtype},
    )
    model, info = loaded
    missing = list(info.get("missing_keys", ())) + [str(k) for k in info.get("mismatched_keys", ())]
    if missing:
        raise ConfigError(
            "config.model_invalid",
            f"the weights do not cover the model: missing or mismatched {sorted(missing)[:5]}",
        )
    return model


def _logits_to_keep(model: Any) -> tuple[tuple[str, int], ...]:
    parameters = inspect.signature(model.forward).parameters
    for name in ("logits_to_keep", "num_logits_to_keep"):
        if name in parameters:
            return ((name, 1),)
    return ()


class Engine:
    """A loaded model with a worker thread. Build with :meth:`load`; ``close`` when done."""

    def __init__(
        self,
        *,
        model: Any,
        tokenizer: Any,
        model_id: str,
        model_digest: str,
        device: torch.device,
        limits: EngineLimits,
    ) -> None:
        self._tokenizer = tokenizer
        self._tokenizer_lock = threading.Lock()
        self._limits = limits
        self.model_id = model_id
        self.model_digest = model_digest
        self.device = str(device)
        config = model.config
        #: The model's context window (prompt + answer), when its config says.
        self.context_length: int | None = getattr(config, "max_position_embeddings", None)
        eos: set[int] = set()
        for source in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
            if isinstance(source, int):
                eos.add(source)
            elif isinstance(source, list | tuple):
                eos.update(int(x) for x in source)
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = min(eos) if eos else 0
        runner = ModelRunner(
            model=model,
            device=device,
            pad_id=int(pad),
            eos_ids=frozenset(eos),
            decode=self._decode,
            last_logits_only=_logits_to_keep(model),
        )
        self._scheduler = Scheduler(runner, limits)

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        model_id: str | None = None,
        limits: EngineLimits | None = None,
        device: str | None = None,
        cpu_threads: int | None = None,
    ) -> Engine:
        """Load a model directory (config, ``*.safetensors`` weights, tokenizer) and start the engine.

        ``model_id`` defaults to the directory's name; ``device`` to CUDA when available, else CPU.
        Weights load as float32 on CPU; on CUDA in the half type the checkpoint declares (bfloat16
        falls back to float16 where unsupported), else float32.
        ``cpu_threads`` sets torch's intra-op thread count — for the whole process, as torch has
        one pool. Use 1 for small models: spreading a tiny matrix product over threads costs more
        than it saves, and on a busy machine it is several times slower (measured in
        docs/worker-engine.md). ``None`` keeps torch's default (one thread per core).
        """
        if cpu_threads is not None:
            if cpu_threads < 1:
                raise ConfigError("config.engine_invalid", f"cpu_threads must be >= 1, got {cpu_threads}")
            torch.set_num_threads(cpu_threads)
        root = Path(directory)
        if not (root / "config.json").is_file():
            raise ConfigError("config.model_invalid", f"{str(root)!r} has no config.json")
        if not any(root.glob("*.safetensors")):
            raise ConfigError("config.model_invalid", f"{str(root)!r} has no *.safetensors weights")
        digest = model_digest(root)
        target = _pick_device(device)
        try:
            tokenizer = AutoTokenizer.from_pretrained(root, local_files_only=True, trust_remote_code=False)
            model = _load_model(root, _pick_dtype(target, root))
            model.to(target)  # a device that is not there fails here, as a load error
        except ConfigError:
            raise
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
            raise ConfigError("config.model_invalid", f"{str(root)!r} does not load: {exc}") from exc
        model.eval()
        return cls(
            model=model,
            tokenizer=tokenizer,
            model_id=model_id or root.name,
            model_digest=digest,
            device=target,
            limits=limits or EngineLimits(),
        )

    @property
    def limits(self) -> EngineLimits:
        return self._limits

    def stats(self) -> EngineStats:
        """Batch counters (how many batches ran, the largest), for tests and metrics."""
        return self._scheduler.stats()

    def close(self) -> None:
        """Stop the worker thread; requests still waiting or running fail with ``engine.closed``."""
        self._scheduler.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- tokenization (event loop side) --

    def _decode(self, ids: Sequence[int]) -> str:
        with self._tokenizer_lock:
            text = self._tokenizer.decode(
                list(ids), skip_special_tokens=True, clean_up_tokenization_spaces=False
            )
        return str(text)

    def _encode(self, text: str, *, special: bool) -> list[int]:
        with self._tokenizer_lock:
            ids = self._tokenizer.encode(text, add_special_tokens=special)
        return [int(i) for i in ids]

    def _chat_prompt(self, messages: Sequence[ChatMessage]) -> list[int]:
        if not messages:
            raise UsageError("engine.request_invalid", "messages must not be empty")
        if getattr(self._tokenizer, "chat_template", None) is None:
            raise UsageError("engine.request_invalid", f"model {self.model_id!r} has no chat template")
        conversation = [{"role": m.role, "content": m.content} for m in messages]
        with self._tokenizer_lock:
            text = self._tokenizer.apply_chat_template(
                conversation, tokenize=False, add_generation_prompt=True
            )
        # The template already wrote any BOS it wants: do not add special tokens twice.
        return self._encode(str(text), special=False)

    def _check_prompt(self, ids: Sequence[int], max_tokens: int) -> None:
        limits = self._limits
        if not ids:
            raise UsageError("engine.request_invalid", "the prompt is empty")
        if len(ids) > limits.max_prompt_tokens:
            raise UsageError(
                "engine.prompt_too_long",
                f"the prompt has {len(ids)} tokens, the limit is {limits.max_prompt_tokens}",
            )
        if self.context_length is not None and len(ids) + max_tokens > self.context_length:
            raise UsageError(
                "engine.prompt_too_long",
                f"{len(ids)} prompt tokens + max_tokens {max_tokens} exceed the context of "
                f"{self.context_length} tokens",
            )

    def _resolve_max_tokens(self, params: SamplingParams) -> int:
        if params.max_tokens is None:
            return self._limits.default_tokens
        if params.max_tokens > self._limits.max_new_tokens:
            raise UsageError(
                "engine.max_tokens_too_large",
                f"max_tokens is {params.max_tokens}, the limit is {self._limits.max_new_tokens}",
            )
        return params.max_tokens

    def _deadline(self) -> tuple[float, float]:
        """(monotonic deadline for the worker thread, event-loop deadline for the caller)."""
        timeout = self._limits.request_timeout_s
        return time.monotonic() + timeout, asyncio.get_running_loop().time() + timeout

    async def _start(self, ids: list[int], params: SamplingParams) -> GenerationStream:
        if len(params.stop) > self._limits.max_stop_sequences:
            raise UsageError(
                "engine.request_invalid",
                f"{len(params.stop)} stop sequences, the limit is {self._limits.max_stop_sequences}",
            )
        max_tokens = self._resolve_max_tokens(params)
        self._check_prompt(ids, max_tokens)
        deadline, loop_deadline = self._deadline()
        job = GenerateJob(tuple(ids), params, max_tokens, deadline, Sink(asyncio.get_running_loop()))
        self._scheduler.submit(job)
        return GenerationStream(job, loop_deadline)

    # -- the async API --
    # Sampling arguments, for every generating method: ``max_tokens`` (None: the engine default),
    # ``temperature`` (0 = greedy, deterministic), ``top_p``, ``stop`` strings, ``seed``.

    async def chat_stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> GenerationStream:
        """Queue a chat completion; the stream yields text deltas (see :class:`GenerationStream`).

        Refusals (limits, a full queue) are raised here, before anything is streamed.
        """
        params = SamplingParams(max_tokens, temperature, top_p, tuple(stop), seed)
        return await self._start(self._chat_prompt(messages), params)

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> GenerationResult:
        """A chat completion: apply the model's chat template, generate, return the whole answer."""
        stream = await self.chat_stream(
            messages, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=seed
        )
        return await stream.collect()

    async def complete_stream(
        self,
        prompt: str,
        *,
        max_tokens: int | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> GenerationStream:
        """Queue a plain-text completion of ``prompt`` (no chat template)."""
        params = SamplingParams(max_tokens, temperature, top_p, tuple(stop), seed)
        return await self._start(self._encode(prompt, special=True), params)

    async def complete(
        self,
        prompt: str,
        *,
        max_tokens: int | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> GenerationResult:
        """A plain-text completion of ``prompt``."""
        stream = await self.complete_stream(
            prompt, max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=seed
        )
        return await stream.collect()

    async def embeddings(self, texts: Sequence[str]) -> EmbeddingResult:
        """Mean-pooled, L2-normalised last hidden states of ``texts``, with the token count."""
        if not texts:
            raise UsageError("engine.request_invalid", "input must not be empty")
        if len(texts) > self._limits.max_embedding_inputs:
            raise UsageError(
                "engine.request_invalid",
                f"{len(texts)} inputs, the limit is {self._limits.max_embedding_inputs}",
            )
        inputs = [self._encode(text, special=True) for text in texts]
        for ids in inputs:
            self._check_prompt(ids, 0)
        deadline, loop_deadline = self._deadline()
        job = EmbedJob(tuple(tuple(ids) for ids in inputs), deadline, Sink(asyncio.get_running_loop()))
        self._scheduler.submit(job)
        vectors = await await_embeddings(job, loop_deadline)
        return EmbeddingResult(vectors=vectors, prompt_tokens=sum(len(ids) for ids in inputs))

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """The embedding vectors of ``texts`` (one list of floats per text, unit length)."""
        return (await self.embeddings(texts)).vectors
