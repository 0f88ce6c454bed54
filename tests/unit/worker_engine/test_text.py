"""Incremental detokenization: deltas concatenate to the answer, never split a character, never
leak a stop string."""

from __future__ import annotations

from collections.abc import Sequence

from attestgw.worker.engine.text import IncrementalText

CHARS = "abcdefghijklmnopqrstuvwxyz <>!"


def char_decode(ids: Sequence[int]) -> str:
    return "".join(CHARS[i] for i in ids)


def byte_decode(ids: Sequence[int]) -> str:
    # Byte-level tokenizers decode a split multi-byte character to U+FFFD until it is complete.
    return bytes(ids).decode("utf-8", errors="replace")


def run(text: IncrementalText, ids: Sequence[int]) -> list[str]:
    deltas = []
    for token in ids:
        deltas.append(text.push(token))
        if text.stopped:
            break
    deltas.append(text.finish())
    return [d for d in deltas if d]


def encode(text: str) -> list[int]:
    return [CHARS.index(c) for c in text]


def test_deltas_concatenate_to_the_decoded_text() -> None:
    text = IncrementalText(char_decode)
    deltas = run(text, encode("hello world"))
    assert deltas == list("hello world")
    assert text.text == "hello world"


def test_a_split_utf8_character_is_held_until_complete() -> None:
    text = IncrementalText(byte_decode)
    data = "añ€x".encode()
    deltas = run(text, list(data))
    assert deltas == ["a", "ñ", "€", "x"]
    assert "\ufffd" not in "".join(deltas)


def test_an_invalid_byte_is_released_at_the_end() -> None:
    text = IncrementalText(byte_decode)
    deltas = run(text, [ord("a"), 0xFF])
    assert "".join(deltas) == "a\ufffd"


def test_stop_string_cuts_the_text_and_never_appears_in_a_delta() -> None:
    text = IncrementalText(char_decode, stops=["<end>"])
    deltas = run(text, encode("abc<en<end>more"))
    assert "".join(deltas) == "abc<en"
    assert text.stopped
    assert all("<end>" not in d for d in deltas)


def test_a_possible_stop_prefix_is_held_then_released() -> None:
    text = IncrementalText(char_decode, stops=["<end>"])
    assert text.push(CHARS.index("<")) == ""
    assert text.push(CHARS.index("e")) == ""
    assert text.push(CHARS.index("x")) == "<ex"
    assert not text.stopped


def test_earliest_of_several_stop_strings_wins() -> None:
    text = IncrementalText(char_decode, stops=["zz", "b"])
    deltas = run(text, encode("aazzb"))
    assert "".join(deltas) == "aa"


def test_a_held_prefix_is_released_when_generation_ends() -> None:
    text = IncrementalText(char_decode, stops=["!!"])
    deltas = run(text, encode("ok!"))
    assert "".join(deltas) == "ok!"
