"""C2SP tlog-checkpoint note text (c2sp.org/tlog-checkpoint §Note text): parse and format.

The text is at least three non-empty lines, each ending in a newline:

1. origin — the log's identity (attestgw uses a schema-less URL such as ``attestgw.example/log``);
2. tree size — ASCII decimal, no leading zeros (``0`` for the empty tree), below 2^64;
3. root hash — standard base64 of the 32-byte RFC 9162 root;
4. optional extension lines, opaque and non-empty (not recommended; attestgw writes none).

This is the note *text*, the part a signature covers; :mod:`attestgw.merkle.note` handles the
signature lines and :mod:`attestgw.log.signing` the signatures. Not checked here: that any signature
vouches for the text, that the origin is the expected log, or that the root matches any tree.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from attestgw.errors import FormatError
from attestgw.merkle.hashing import HASH_SIZE, MAX_TREE_SIZE

__all__ = ["Checkpoint", "parse_checkpoint"]

_SIZE = re.compile(r"0|[1-9][0-9]{0,19}", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f]")


def _bad(message: str) -> FormatError:
    return FormatError("log.checkpoint_malformed", message)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One tree head: which log, how many leaves, which root, plus opaque extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for what, line in (("origin", self.origin), *(("extension line", e) for e in self.extensions)):
            if not line or _CONTROL.search(line):
                raise _bad(f"{what} {line[:80]!r} is empty or contains a control character")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise _bad("tree size is not in [0, 2^64)")
        if len(self.root_hash) != HASH_SIZE:
            raise _bad(f"root hash is {len(self.root_hash)} bytes, want {HASH_SIZE}")

    def to_text(self) -> str:
        """The note text: origin, size, base64 root, extension lines, each followed by a newline."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode("ascii")]
        return "".join(line + "\n" for line in (*lines, *self.extensions))


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint note text (as returned by a verified note). Raises ``FormatError`` only.

    ``parse_checkpoint(cp.to_text()) == cp`` for every valid checkpoint, and the parser accepts only
    the one canonical spelling of each field, so ``parse_checkpoint(t).to_text() == t``.
    """
    if not text.endswith("\n"):
        raise _bad("checkpoint text does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise _bad(f"checkpoint text has {len(lines)} lines, want at least 3")
    origin, size_line, root_line, *extensions = lines
    # The size regex bounds the digit count before int(), so no huge-integer parsing.
    if not _SIZE.fullmatch(size_line):
        raise _bad(f"tree size {size_line[:40]!r} is not a decimal without leading zeros")
    size = int(size_line)
    if size > MAX_TREE_SIZE:
        raise _bad("tree size is not below 2^64")
    try:
        root = base64.b64decode(root_line, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        raise _bad(f"root hash {root_line[:60]!r} is not valid base64") from None
    if base64.b64encode(root).decode("ascii") != root_line:
        raise _bad("root hash is not canonical standard base64")
    return Checkpoint(origin, size, root, tuple(extensions))
