"""check_crl on the genuine Milan CRL: issuer, signature, window and serial look-up, each on its own."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from attestgw.crypto.x509 import pem_certificates
from attestgw.errors import VerificationError
from attestgw.verify.snp.chain import CertRecord, load_record
from attestgw.verify.snp.crl import CrlRecord, check_crl, load_crl_record
from tests.conftest import corpus_file

pytestmark = pytest.mark.corpus

AT = datetime(2025, 10, 1, tzinfo=UTC)


def _milan() -> tuple[CrlRecord, CertRecord, CertRecord]:
    ask, ark = pem_certificates(corpus_file("snp/amd-roots/ask_ark_milan.pem").read_bytes())
    crl = load_crl_record(corpus_file("snp/openpcc/amd_milan_crl.der").read_bytes())
    return crl, load_record(ark), load_record(ask)


def _code(crl: CrlRecord, ark: CertRecord, serials: dict[str, int], at: datetime = AT) -> str:
    with pytest.raises(VerificationError) as err:
        check_crl(crl, ark, serials, at)
    return err.value.code


def test_genuine_crl_passes_and_lists_nothing() -> None:
    crl, ark, ask = _milan()
    assert crl.revoked == frozenset()
    check_crl(crl, ark, {"SEV-Milan": ask.serial, "VCEK": 0}, AT)


@pytest.mark.parametrize("role", ["SEV-Milan", "VCEK"])
def test_a_listed_serial_is_revoked(role: str) -> None:
    crl, ark, ask = _milan()
    serials = {"SEV-Milan": ask.serial, "VCEK": 0}
    listed = dataclasses.replace(crl, revoked=frozenset({serials[role]}))
    assert _code(listed, ark, serials) == "snp.cert_revoked"


def test_window_is_half_open() -> None:
    crl, ark, _ = _milan()
    assert crl.next_update is not None
    check_crl(crl, ark, {}, crl.this_update)
    assert _code(crl, ark, {}, crl.next_update) == "snp.crl_stale"


def test_crl_without_next_update_is_invalid() -> None:
    crl, ark, _ = _milan()
    assert _code(dataclasses.replace(crl, next_update=None), ark, {}) == "snp.crl_invalid"


def test_issuer_must_be_the_ark() -> None:
    crl, ark, ask = _milan()
    assert _code(crl, ask, {}) == "snp.crl_invalid"
    # Named issuer checked on its own, not only implied by the signature.
    assert _code(dataclasses.replace(crl, issuer_der=ask.subject_der), ark, {}) == "snp.crl_invalid"


def test_signature_is_checked_over_the_exact_bytes() -> None:
    crl, ark, _ = _milan()
    layout = crl.layout._replace(signature=crl.layout.signature[:-1] + b"\x00")
    forged = dataclasses.replace(crl, der=crl.der + b"x", layout=layout)  # distinct cache key
    assert _code(forged, ark, {}) == "snp.crl_invalid"
