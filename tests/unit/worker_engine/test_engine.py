"""The engine over the tiny model: chat, completions, streaming, stop strings, seeds, embeddings."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer

from attestgw.errors import ConfigError
from attestgw.worker.engine import ChatMessage, Engine, model_digest

HELLO = [ChatMessage("system", "You are terse."), ChatMessage("user", "Hello there")]


async def _stream_chat(engine: Engine, messages: list[ChatMessage], **kwargs: object) -> list[str]:
    stream = await engine.chat_stream(messages, **kwargs)
    return [delta async for delta in stream]


def test_engine_names_the_model_and_its_digest(engine: Engine, tiny_dir: Path) -> None:
    assert engine.model_id == "tiny"
    assert engine.model_digest == model_digest(tiny_dir)
    assert engine.device in ("cpu", "cuda")


def test_greedy_chat_is_deterministic(engine: Engine, tiny_dir: Path) -> None:
    async def main() -> None:
        first = await engine.chat(HELLO, max_tokens=24, temperature=0)
        second = await engine.chat(HELLO, max_tokens=24, temperature=0)
        assert first == second
        assert first.text
        assert first.completion_tokens <= 24
        assert first.finish_reason in ("stop", "length")
        if first.finish_reason == "length":
            assert first.completion_tokens == 24
        tokenizer = AutoTokenizer.from_pretrained(tiny_dir, local_files_only=True)
        prompt = tokenizer.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in HELLO],
            tokenize=False,
            add_generation_prompt=True,
        )
        assert first.prompt_tokens == len(tokenizer.encode(prompt, add_special_tokens=False))

    asyncio.run(main())


def test_streamed_deltas_concatenate_to_the_non_streamed_answer(engine: Engine) -> None:
    async def main() -> None:
        whole = await engine.chat(HELLO, max_tokens=40, temperature=0)
        stream = await engine.chat_stream(HELLO, max_tokens=40, temperature=0)
        deltas = [delta async for delta in stream]
        assert len(deltas) > 1  # it really streamed
        assert "".join(deltas) == whole.text
        assert stream.result == whole

    asyncio.run(main())


def test_a_different_prompt_gives_a_different_answer(engine: Engine) -> None:
    async def main() -> None:
        a = await engine.complete("The quick brown fox", max_tokens=30, temperature=0)
        b = await engine.complete("jumps over the lazy dog", max_tokens=30, temperature=0)
        assert a.text != b.text

    asyncio.run(main())


def test_stop_string_ends_the_answer_before_it(engine: Engine) -> None:
    async def main() -> None:
        free = await engine.complete("Once upon a time", max_tokens=40, temperature=0)
        assert len(free.text) >= 10
        stop = free.text[6:9]
        cut = free.text[: free.text.index(stop)]
        stopped = await engine.complete("Once upon a time", max_tokens=40, temperature=0, stop=[stop])
        assert stopped.text == cut
        assert stopped.finish_reason == "stop"
        stream = await engine.complete_stream("Once upon a time", max_tokens=40, temperature=0, stop=[stop])
        deltas = [d async for d in stream]
        assert "".join(deltas) == cut
        assert all(stop not in d for d in deltas)

    asyncio.run(main())


def test_seeded_sampling_repeats_and_seeds_differ(engine: Engine) -> None:
    async def main() -> None:
        runs = [
            await engine.complete("Roll the dice:", max_tokens=24, temperature=1.0, seed=seed)
            for seed in (7, 7, 8, 9)
        ]
        assert runs[0].text == runs[1].text
        assert len({r.text for r in runs}) > 1

    asyncio.run(main())


def test_top_p_close_to_zero_is_greedy(engine: Engine) -> None:
    async def main() -> None:
        greedy = await engine.complete("abc", max_tokens=20, temperature=0)
        nucleus = await engine.complete("abc", max_tokens=20, temperature=1.0, top_p=1e-6, seed=1)
        assert nucleus.text == greedy.text

    asyncio.run(main())


def test_embeddings_are_unit_vectors_that_tell_texts_apart(engine: Engine) -> None:
    async def main() -> None:
        vectors = await engine.embed(["hello world", "something else entirely", "hello world"])
        assert len(vectors) == 3
        assert all(len(v) == 64 for v in vectors)
        for vector in vectors:
            assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-5)
        assert vectors[0] == pytest.approx(vectors[2], abs=1e-5)
        assert vectors[0] != pytest.approx(vectors[1], abs=1e-3)
        alone = await engine.embeddings(["hello world"])
        assert alone.vectors[0] == pytest.approx(vectors[0], abs=1e-5)
        assert alone.prompt_tokens == len("hello world")

    asyncio.run(main())


def test_a_directory_without_safetensors_is_refused(tmp_path: Path, tiny_dir: Path) -> None:
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (tmp_path / name).write_bytes((tiny_dir / name).read_bytes())
    with pytest.raises(ConfigError) as info:
        Engine.load(tmp_path)
    assert info.value.code == "config.model_invalid"


def test_weights_that_leave_parameters_missing_are_refused(tmp_path: Path, tiny_dir: Path) -> None:
    for path in tiny_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    weights = load_file(str(tiny_dir / "model.safetensors"))
    del weights["model.layers.1.mlp.up_proj.weight"]
    save_file(weights, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    # transformers would fill the missing tensor with random values and serve garbage; we refuse.
    with pytest.raises(ConfigError) as info:
        Engine.load(tmp_path)
    assert info.value.code == "config.model_invalid"


def test_tied_embeddings_are_not_mistaken_for_missing_weights(tmp_path: Path, tiny_dir: Path) -> None:
    # Many small chat models (SmolLM2 among them) tie the output head to the embeddings and do not
    # store lm_head.weight: that must load, unlike a genuinely missing tensor.
    for path in tiny_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "tie_word_embeddings": True}))
    weights = load_file(str(tiny_dir / "model.safetensors"))
    del weights["lm_head.weight"]
    save_file(weights, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    with Engine.load(tmp_path, cpu_threads=1) as tied:
        result = asyncio.run(tied.complete("hi", max_tokens=3, temperature=0))
    assert result.completion_tokens == 3 or result.finish_reason == "stop"
