"""A deterministic tiny random Llama, built locally: the model the tests and ``--model tiny`` serve.

:func:`build_tiny_model` writes a complete Hugging Face model directory with no download and no
pickle: ``config.json`` (a Llama with hidden size 64, 2 layers, 4 heads, 2 KV heads),
``generation_config.json``, ``model.safetensors`` (float32 weights drawn from a seeded generator),
``tokenizer.json`` (built with the ``tokenizers`` library) and ``tokenizer_config.json`` (special
tokens and a ChatML-style chat template). The same seed gives byte-identical files, so the same
model digest, with the library versions this project pins.

The tokenizer is character-level over printable ASCII plus ``\\n`` and ``\\t`` (a BPE model with no
merges): every token decodes to exactly one character, which keeps streamed deltas simple to check.
Any other character becomes ``<unk>``. The weights are random: the model's answers are gibberish,
but deterministic for a given prompt at temperature 0. It is a test fixture, never a real model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from tokenizers import AddedToken, Tokenizer, decoders, models

__all__ = ["TINY_MODEL_ID", "build_tiny_model"]

#: The model id the worker serves the tiny model under.
TINY_MODEL_ID = "tiny"

_SPECIAL = ("<|pad|>", "<|bos|>", "<|im_start|>", "<|im_end|>", "<unk>")
_PAD, _BOS, _IM_START, _EOS, _UNK = range(len(_SPECIAL))
_CHARS = ("\n", "\t", *(chr(code) for code in range(0x20, 0x7F)))

_HIDDEN = 64
_INTERMEDIATE = 128
_LAYERS = 2
_HEADS = 4
_KV_HEADS = 2
_CONTEXT = 2048

# ChatML, as used by many small chat models; roles and contents are inserted verbatim.
_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _vocab() -> dict[str, int]:
    return {token: index for index, token in enumerate((*_SPECIAL, *_CHARS))}


def _config() -> dict[str, Any]:
    # Written by hand (not LlamaConfig.save_pretrained) so that the bytes do not depend on the
    # installed transformers version. "rope_theta" is read by transformers 4.x and 5.x alike.
    return {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": _BOS,
        "eos_token_id": _EOS,
        "head_dim": _HIDDEN // _HEADS,
        "hidden_act": "silu",
        "hidden_size": _HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": _INTERMEDIATE,
        "max_position_embeddings": _CONTEXT,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": _HEADS,
        "num_hidden_layers": _LAYERS,
        "num_key_value_heads": _KV_HEADS,
        "pad_token_id": _PAD,
        "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "use_cache": True,
        "vocab_size": len(_SPECIAL) + len(_CHARS),
    }


def _shapes(vocab_size: int) -> dict[str, tuple[int, ...]]:
    head_dim = _HIDDEN // _HEADS
    shapes: dict[str, tuple[int, ...]] = {
        "model.embed_tokens.weight": (vocab_size, _HIDDEN),
        "model.norm.weight": (_HIDDEN,),
        "lm_head.weight": (vocab_size, _HIDDEN),
    }
    for layer in range(_LAYERS):
        prefix = f"model.layers.{layer}."
        shapes |= {
            prefix + "input_layernorm.weight": (_HIDDEN,),
            prefix + "post_attention_layernorm.weight": (_HIDDEN,),
            prefix + "self_attn.q_proj.weight": (_HEADS * head_dim, _HIDDEN),
            prefix + "self_attn.k_proj.weight": (_KV_HEADS * head_dim, _HIDDEN),
            prefix + "self_attn.v_proj.weight": (_KV_HEADS * head_dim, _HIDDEN),
            prefix + "self_attn.o_proj.weight": (_HIDDEN, _HEADS * head_dim),
            prefix + "mlp.gate_proj.weight": (_INTERMEDIATE, _HIDDEN),
            prefix + "mlp.up_proj.weight": (_INTERMEDIATE, _HIDDEN),
            prefix + "mlp.down_proj.weight": (_HIDDEN, _INTERMEDIATE),
        }
    return shapes


def _weights(seed: int, vocab_size: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    # Sorted names and one generator: the draw order, hence the bytes, depend only on the seed.
    for name, shape in sorted(_shapes(vocab_size).items()):
        if name.endswith("norm.weight"):
            tensors[name] = torch.ones(shape, dtype=torch.float32)
            continue
        # Wide embeddings and output head give clear gaps between the top logits, so greedy
        # decoding does not flip on float rounding when requests are batched with padding.
        std = 1.0 if "embed_tokens" in name else 0.3 if name == "lm_head.weight" else 0.08
        tensors[name] = torch.randn(shape, generator=generator, dtype=torch.float32) * std
    return tensors


def _tokenizer() -> Tokenizer:
    tokenizer = Tokenizer(models.BPE(vocab=_vocab(), merges=[], unk_token=_SPECIAL[_UNK]))
    tokenizer.decoder = decoders.Fuse()
    tokenizer.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in _SPECIAL])
    return tokenizer


def _tokenizer_config() -> dict[str, Any]:
    return {
        "bos_token": _SPECIAL[_BOS],
        "chat_template": _CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": _SPECIAL[_EOS],
        "model_max_length": _CONTEXT,
        "pad_token": _SPECIAL[_PAD],
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": _SPECIAL[_UNK],
    }


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def build_tiny_model(directory: Path, seed: int = 0) -> Path:
    """Write the tiny model into ``directory`` (created if missing) and return it.

    Files already in the directory with other names are left alone, and they count in the model
    digest (see :mod:`.manifest`): build into an empty directory. Nothing is downloaded.
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    config = _config()
    _write_json(target / "config.json", config)
    _write_json(
        target / "generation_config.json",
        {"bos_token_id": _BOS, "eos_token_id": _EOS, "pad_token_id": _PAD},
    )
    save_file(
        _weights(seed, config["vocab_size"]), str(target / "model.safetensors"), metadata={"format": "pt"}
    )
    _tokenizer().save(str(target / "tokenizer.json"))
    _write_json(target / "tokenizer_config.json", _tokenizer_config())
    return target
