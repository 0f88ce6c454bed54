"""Bounded, thread-safe LRU caches for pure work over identical bytes (parsing, signature math).

What may be cached (and why it is safe): the result of a *pure* function of exact input bytes —
parsing a certificate, or "this RSA-PSS signature over these exact DER bytes verifies with that
exact issuer key". Keys are the input bytes themselves or a SHA-256 over length-prefixed inputs, so
two different inputs can never share an entry. What must never be cached: anything that depends on
the verification time, the trust store, the CRL, the report, or the caller's options — those checks
run on every call.

Each cache registers itself so :func:`clear_all` (exposed as
:func:`attestgw.verify.snp.verifier.clear_caches`) can empty them, e.g. for a cold benchmark.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["BoundedLru", "clear_all", "digest_key"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_CLEARERS: list[Callable[[], None]] = []


class BoundedLru(Generic[K, V]):
    """A least-recently-used map holding at most ``maxsize`` entries."""

    __slots__ = ("_data", "_lock", "maxsize")

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be positive")
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        _CLEARERS.append(self.clear)

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)


def clear_all() -> None:
    """Empty every registered cache."""
    for clear in _CLEARERS:
        clear()


def digest_key(*parts: bytes) -> bytes:
    """SHA-256 over length-prefixed ``parts``: distinct tuples of inputs give distinct keys."""
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.digest()
