"""Principal digests: stable, distinct, and defined for every string a JSON token can carry."""

from __future__ import annotations

from attestgw.identity import Principal


def test_digest_separates_issuer_and_subject() -> None:
    a = Principal(subject="bc", issuer="a")
    b = Principal(subject="c", issuer="ab")
    assert a.digest != b.digest
    assert a.digest == Principal(subject="bc", issuer="a").digest


def test_a_lone_surrogate_from_a_json_escape_has_a_digest() -> None:
    # json.loads('"\\ud800"') yields a lone surrogate; hashing it must not raise
    odd = Principal(subject="\ud800", issuer="https://issuer.test")
    assert len(odd.digest) == 64
    assert odd.digest != Principal(subject="\ud801", issuer="https://issuer.test").digest
