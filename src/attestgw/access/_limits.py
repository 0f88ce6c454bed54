"""Lexical bounds checked before any Cedar text reaches cedarpy.

cedarpy's parsers recurse natively: a few hundred nested parentheses or a few thousand chained
``if … then … else`` crash the whole process (stack overflow, not a Python exception), and
``policies_to_pst`` only bounds depth *after* the text parser ran. So the text is scanned here first
and refused with ``config.access_policy_invalid`` when it is too big, too deep or too long.

The scan is deliberately coarse (tokens, brackets, ``if`` keywords); it never decides validity, which
is Cedar's job. Not checked: anything semantic.
"""

from __future__ import annotations

import re

from attestgw.errors import ConfigError

__all__ = [
    "MAX_DEPTH",
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "MAX_STATEMENT_TOKENS",
    "check_policy_text",
    "check_schema_text",
]

MAX_FILE_BYTES = 256 * 1024
MAX_FILES = 256
#: Open brackets plus ``if`` keywords seen so far in one statement.
MAX_DEPTH = 32
MAX_STATEMENT_TOKENS = 2048

_TOKEN = re.compile(
    r'\s+|//[^\n]*|"(?:[^"\\\n]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|[0-9]+|::|==|!=|<=|>=|&&|\|\||.', re.DOTALL
)
_OPEN = frozenset("([{")
_CLOSE = frozenset(")]}")


def _scan(text: str, source: str, *, open_: frozenset[str], close: frozenset[str], statements: bool) -> None:
    depth = ifs = tokens = 0
    for match in _TOKEN.finditer(text):
        lexeme = match.group()
        if lexeme[0].isspace() or lexeme.startswith("//"):
            continue
        tokens += 1
        if lexeme in open_:
            depth += 1
        elif lexeme in close:
            depth = max(0, depth - 1)
        elif statements and lexeme == "if":
            ifs += 1
        elif lexeme == ";" and depth == 0:
            ifs = tokens = 0
            continue
        if depth + ifs > MAX_DEPTH:
            line = text.count("\n", 0, match.start()) + 1
            raise ConfigError(
                "config.access_policy_invalid",
                f"{source}: line {line}: nesting deeper than {MAX_DEPTH} (brackets plus if-expressions)",
            )
        if statements and tokens > MAX_STATEMENT_TOKENS:
            line = text.count("\n", 0, match.start()) + 1
            raise ConfigError(
                "config.access_policy_invalid",
                f"{source}: line {line}: a statement longer than {MAX_STATEMENT_TOKENS} tokens",
            )


def _check_size(text: str, source: str) -> None:
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise ConfigError("config.access_policy_invalid", f"{source}: not valid Unicode text") from None
    if size > MAX_FILE_BYTES:
        raise ConfigError("config.access_policy_invalid", f"{source}: larger than {MAX_FILE_BYTES} bytes")


def check_policy_text(text: str, source: str) -> None:
    """Refuse Cedar policy text that could exhaust cedarpy's native stack."""
    _check_size(text, source)
    _scan(text, source, open_=_OPEN, close=_CLOSE, statements=True)


def check_schema_text(text: str, source: str) -> None:
    """Refuse Cedar schema text (or JSON schema text) nested too deeply; ``Set<…>`` counts as nesting.

    Schemas have no expression chains, so only size and depth are bounded.
    """
    _check_size(text, source)
    _scan(text, source, open_=_OPEN | {"<"}, close=_CLOSE | {">"}, statements=False)
