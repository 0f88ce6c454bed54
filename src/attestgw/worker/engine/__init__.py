"""The enclave worker's inference engine, its tiny test model, and the inner OpenAI-compatible API.

- :func:`build_tiny_model` writes a deterministic tiny random Llama (no download);
- :func:`model_digest` names a model directory by the SHA-256 of its file manifest;
- :class:`Engine` loads a model directory (safetensors only) and serves chat, completions and
  embeddings from a worker thread, batching concurrent requests under :class:`EngineLimits`;
- :func:`create_openai_app` is the Starlette app that serves ``/v1/...`` over the engine. The worker
  service calls it in-process for every request it opened from the sealed channel.

See ``docs/worker-engine.md``.
"""

from .engine import ChatMessage, Engine
from .jobs import GenerationResult
from .limits import ApiSettings, EngineLimits
from .manifest import ManifestEntry, manifest_bytes, model_digest, model_manifest
from .openai_app import create_openai_app
from .scheduler import EngineStats
from .streams import EmbeddingResult, GenerationStream
from .tiny_model import TINY_MODEL_ID, build_tiny_model

__all__ = [
    "TINY_MODEL_ID",
    "ApiSettings",
    "ChatMessage",
    "EmbeddingResult",
    "Engine",
    "EngineLimits",
    "EngineStats",
    "GenerationResult",
    "GenerationStream",
    "ManifestEntry",
    "build_tiny_model",
    "create_openai_app",
    "manifest_bytes",
    "model_digest",
    "model_manifest",
]
