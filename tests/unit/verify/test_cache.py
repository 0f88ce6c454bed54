"""The verifier's caches skip only pure work over identical bytes; every per-call check still runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from attestgw.errors import VerificationError
from attestgw.evidence.snp import parse_report
from attestgw.verify.cache import BoundedLru, digest_key
from attestgw.verify.snp import AMD_TRUST, SnpCollateral, SnpVerifyOptions, clear_caches, verify_snp
from tests.conftest import corpus_file

pytestmark = pytest.mark.corpus

AT = datetime(2025, 10, 1, 8, 0, tzinfo=UTC)


def _read(rel: str) -> bytes:
    return corpus_file(rel).read_bytes()


@pytest.fixture
def warm() -> tuple[bytes, SnpCollateral]:
    """A genuine Milan report whose chain, CRL and certificates are already in the caches."""
    clear_caches()
    report = _read("snp/oak/milan_oc_release_report.bin")
    collateral = SnpCollateral(
        signing_cert=_read("snp/oak/milan_oc_release_vcek.der"),
        chain=_read("snp/amd-roots/ask_ark_milan.pem"),
        crl=_read("snp/openpcc/amd_milan_crl.der"),
    )
    assert verify_snp(parse_report(report), collateral, SnpVerifyOptions(at=AT)).crl_checked
    return report, collateral


def _code(report: bytes, collateral: SnpCollateral, **options: object) -> str:
    with pytest.raises(VerificationError) as err:
        verify_snp(parse_report(report), collateral, SnpVerifyOptions(**{"at": AT, **options}))  # type: ignore[arg-type]
    return err.value.code


def _bump(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] = (out[offset] + 1) % 256
    return bytes(out)


def test_tampered_report_fails_after_a_warm_cache(warm: tuple[bytes, SnpCollateral]) -> None:
    report, collateral = warm
    assert _code(_bump(report, 0x50), collateral) == "snp.signature_invalid"
    assert _code(_bump(report, 0x180), collateral) == "snp.tcb_mismatch"
    assert _code(_bump(report, 0x1A0), collateral) == "snp.chip_id_mismatch"
    # and the genuine one still verifies afterwards: failures poison nothing
    assert verify_snp(parse_report(report), collateral, SnpVerifyOptions(at=AT))


def test_validity_is_checked_at_every_call(warm: tuple[bytes, SnpCollateral]) -> None:
    report, collateral = warm
    assert _code(report, collateral, at=datetime(2033, 1, 1, tzinfo=UTC)) == "snp.cert_expired"


def test_the_pin_is_checked_at_every_call(warm: tuple[bytes, SnpCollateral]) -> None:
    report, collateral = warm
    assert _code(report, collateral, trust=AMD_TRUST.without_real_roots()) == "snp.root_not_pinned"


def test_crl_freshness_is_checked_at_every_call(warm: tuple[bytes, SnpCollateral]) -> None:
    report, collateral = warm
    assert _code(report, collateral, at=datetime(2026, 6, 1, tzinfo=UTC)) == "snp.crl_stale"


def test_a_cached_chain_does_not_vouch_for_a_changed_leaf(warm: tuple[bytes, SnpCollateral]) -> None:
    report, collateral = warm
    vcek = collateral.signing_cert
    assert vcek is not None
    tampered = SnpCollateral(signing_cert=_bump(vcek, len(vcek) - 1), chain=collateral.chain)
    assert _code(report, tampered) == "snp.chain_invalid"


def test_cold_and_warm_give_equal_claims(warm: tuple[bytes, SnpCollateral]) -> None:
    report, collateral = warm
    hot = verify_snp(parse_report(report), collateral, SnpVerifyOptions(at=AT))
    clear_caches()
    cold = verify_snp(parse_report(report), collateral, SnpVerifyOptions(at=AT))
    assert hot == cold


def test_lru_keeps_the_most_recently_used_entries() -> None:
    cache: BoundedLru[str, int] = BoundedLru(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c"), len(cache)) == (1, 3, 2)
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError, match="positive"):
        BoundedLru(0)


def test_digest_keys_separate_the_parts() -> None:
    # Without length prefixes ("ab", "c") and ("a", "bc") would share a key.
    assert digest_key(b"ab", b"c") != digest_key(b"a", b"bc")
    assert digest_key(b"ab", b"c") == digest_key(b"ab", b"c")
