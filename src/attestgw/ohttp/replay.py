"""A bounded replay window for encapsulated requests, keyed on the HPKE encapsulated key (``enc``).

A relay can replay a sealed request (RFC 9458 §6.5). Every legitimate request carries a fresh
``enc``, so the gateway remembers the ``enc`` of each request it *accepted* and refuses a repeat.

Semantics (what is guaranteed, and what is not):

- Only requests that decrypted are remembered (:meth:`ReplayWindow.admit` is called after the AEAD
  accepted the request), so junk cannot flush the window.
- An ``enc`` accepted at time ``t`` is refused again until ``t + max_age_s``, *unless* more than
  ``max_entries`` newer requests were accepted first: memory is bounded, so under that load the
  oldest entries are evicted early. :meth:`ReplayWindow.horizon` says, at any moment, the oldest
  acceptance time that is still fully covered; requests older than it cannot be detected as
  replays here. The caller closes that gap with a freshness check on the request itself (RFC 9458
  §6.5: the inner ``Date`` field must not be older than the horizon), which is why the default
  clock is the wall clock (:func:`time.time`), comparable with ``Date``.
- Keys are SHA-256 digests of ``enc`` (32 bytes each, whatever the KEM), so memory is about
  ``max_entries`` × 150 bytes. The window is per process and thread-safe; several gateway
  processes need a shared store, which this class is not.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["ReplayWindow"]


class ReplayWindow:
    """Remembers accepted ``enc`` values for ``max_age_s`` seconds, at most ``max_entries`` of them."""

    __slots__ = ("_clock", "_evicted_until", "_lock", "_seen", "max_age_s", "max_entries")

    def __init__(
        self,
        *,
        max_entries: int = 131_072,
        max_age_s: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1 or max_age_s <= 0:
            raise ValueError("max_entries must be >= 1 and max_age_s > 0")
        self.max_entries = max_entries
        self.max_age_s = max_age_s
        self._clock = clock
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._evicted_until = float("-inf")
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def __repr__(self) -> str:
        return f"ReplayWindow(entries={len(self._seen)}/{self.max_entries}, max_age_s={self.max_age_s})"

    def _expire(self, now: float) -> None:
        cutoff = now - self.max_age_s
        seen = self._seen
        while seen and next(iter(seen.values())) <= cutoff:  # the oldest entry has expired
            seen.popitem(last=False)

    def admit(self, enc: bytes) -> bool:
        """Record ``enc``; False if it is already in the window (a replay), True if it is new."""
        digest = hashlib.sha256(enc).digest()
        with self._lock:
            now = self._clock()
            self._expire(now)
            seen = self._seen
            if digest in seen:
                return False
            if len(seen) >= self.max_entries:
                _, accepted = seen.popitem(last=False)
                self._evicted_until = max(self._evicted_until, accepted)
            seen[digest] = now
            return True

    def horizon(self) -> float:
        """Requests accepted after this time (clock units) are certainly detected if replayed.

        ``now - max_age_s``, or later when entries had to be evicted early to bound memory.
        """
        with self._lock:
            now = self._clock()
            return max(now - self.max_age_s, self._evicted_until)
