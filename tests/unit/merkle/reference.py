"""A deliberately naive Merkle tree, written straight from the recursive definitions, for comparison.

RFC 9162 §2.1.1 (MTH), §2.1.3.1 (PATH), §2.1.4.1 (PROOF/SUBPROOF) and
draft-ietf-plants-merkle-tree-certs §4.4.1 (SUBTREE_PROOF), over raw entries, with its own hashlib
calls: it shares no code with ``attestgw.merkle``, so agreeing with it means something.
"""

from __future__ import annotations

import hashlib


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def _subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*_subproof(m, d[:k], b), mth(d[k:])]
    return [*_subproof(m - k, d[k:], False), mth(d[:k])]


def proof(m: int, d: list[bytes]) -> list[bytes]:
    return _subproof(m, d, True)


def _subtree_subproof(start: int, end: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if start == 0 and end == n:
        return [] if b else [mth(d)]
    k = _k(n)
    if end <= k:
        return [*_subtree_subproof(start, end, d[:k], b), mth(d[k:])]
    if k <= start:
        return [*_subtree_subproof(start - k, end - k, d[k:], b), mth(d[:k])]
    return [*_subtree_subproof(0, end - k, d[k:], False), mth(d[:k])]


def subtree_proof(start: int, end: int, d: list[bytes]) -> list[bytes]:
    return _subtree_subproof(start, end, d, True)
