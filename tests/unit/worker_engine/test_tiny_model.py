"""The tiny model: deterministic bytes, safetensors only, loadable offline by transformers."""

from __future__ import annotations

from pathlib import Path

from safetensors import safe_open
from transformers import AutoConfig, AutoTokenizer

from attestgw.worker.engine import build_tiny_model, model_digest

EXPECTED_FILES = {
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
}


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_same_seed_gives_byte_identical_files(tmp_path: Path, tiny_dir: Path) -> None:
    again = build_tiny_model(tmp_path / "again", seed=0)
    assert _files(again) == _files(tiny_dir)
    assert model_digest(again) == model_digest(tiny_dir)


def test_another_seed_changes_only_the_weights(tmp_path: Path, tiny_dir: Path) -> None:
    other = _files(build_tiny_model(tmp_path / "other", seed=1))
    reference = _files(tiny_dir)
    assert other["model.safetensors"] != reference["model.safetensors"]
    assert {k: v for k, v in other.items() if k != "model.safetensors"} == {
        k: v for k, v in reference.items() if k != "model.safetensors"
    }


def test_directory_holds_safetensors_and_no_pickle(tiny_dir: Path) -> None:
    assert {p.name for p in tiny_dir.iterdir()} == EXPECTED_FILES
    with safe_open(str(tiny_dir / "model.safetensors"), framework="pt") as weights:
        names = set(weights.keys())
    assert "lm_head.weight" in names
    assert "model.layers.1.mlp.down_proj.weight" in names


def test_transformers_loads_config_and_tokenizer_offline(tiny_dir: Path) -> None:
    config = AutoConfig.from_pretrained(tiny_dir, local_files_only=True)
    assert config.model_type == "llama"
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (64, 2, 4)
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir, local_files_only=True)
    assert config.vocab_size == len(tokenizer)
    ids = tokenizer.encode("Hello, world!\n", add_special_tokens=False)
    assert len(ids) == len("Hello, world!\n")  # character-level
    assert tokenizer.decode(ids) == "Hello, world!\n"
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert tokenizer.eos_token == "<|im_end|>"


def test_characters_outside_ascii_become_unknown(tiny_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir, local_files_only=True)
    ids = tokenizer.encode("é", add_special_tokens=False)
    assert ids == [tokenizer.unk_token_id]
