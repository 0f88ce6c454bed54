"""Incremental detokenization with stop strings: token ids in, text deltas out.

A streamed answer and a non-streamed one must be the same text. Both go through
:class:`IncrementalText`; the final text of a request is by definition the concatenation of the
deltas it released, and for tokenizers whose decoding is prefix-stable (decoding more tokens only
appends characters: byte-level BPE, SentencePiece, the tiny model's character tokenizer) that equals
``decode(all generated ids)`` cut before the first stop string.

Text is held back, never retracted:

- while the decoded text ends with U+FFFD (a multi-byte character split across tokens);
- while its tail could be the start of a stop string (so a stop string never leaks into a stream).

Decoding re-decodes every generated id at each step (quadratic in the answer length, which
``max_new_tokens`` bounds); a tokenizer that is not prefix-stable may see its earlier deltas
disagree with a full decode — the released deltas are kept and the rest is appended from where
they end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["IncrementalText"]

_REPLACEMENT = "\ufffd"


class IncrementalText:
    """Turns a growing list of token ids into text deltas, honouring stop strings.

    Not thread-safe: one instance belongs to one generating row.
    """

    __slots__ = ("_decode", "_ids", "_released", "_stops", "stopped")

    def __init__(self, decode: Callable[[Sequence[int]], str], stops: Sequence[str] = ()) -> None:
        self._decode = decode
        self._stops = tuple(stop for stop in stops if stop)
        self._ids: list[int] = []
        self._released = ""
        #: True once a stop string was seen; the text ends just before it.
        self.stopped = False

    @property
    def text(self) -> str:
        """Everything released so far."""
        return self._released

    def push(self, token_id: int) -> str:
        """Add one generated token; return the text that may be released now ("" if none)."""
        if self.stopped:
            return ""
        self._ids.append(token_id)
        full = self._decode(self._ids)
        cut = self._first_stop(full)
        if cut is not None:
            self.stopped = True
            return self._release(full[:cut])
        end = len(full)
        if full.endswith(_REPLACEMENT):
            end = len(full.rstrip(_REPLACEMENT))
        end -= self._stop_prefix_length(full[:end])
        return self._release(full[:end])

    def finish(self) -> str:
        """Release what was held back (generation ended without a stop string)."""
        if self.stopped or not self._ids:
            return ""
        return self._release(self._decode(self._ids))

    def _release(self, upto: str) -> str:
        # For a prefix-stable tokenizer ``upto`` starts with what was released. If it does not,
        # what was sent stays sent and the rest is appended from the same character offset.
        delta = upto[len(self._released) :]
        self._released += delta
        return delta

    def _first_stop(self, full: str) -> int | None:
        # A new stop string can only start in the part not yet released, or end there.
        longest = max((len(stop) for stop in self._stops), default=0)
        start = max(0, len(self._released) - longest + 1)
        found = [index for stop in self._stops if (index := full.find(stop, start)) >= 0]
        return min(found) if found else None

    def _stop_prefix_length(self, text: str) -> int:
        """Length of the longest tail of ``text`` that is a proper prefix of some stop string."""
        best = 0
        for stop in self._stops:
            for length in range(min(len(stop) - 1, len(text)), best, -1):
                if text.endswith(stop[:length]):
                    best = length
                    break
        return best
