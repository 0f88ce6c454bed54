"""The TEE registry: one lookup by kind, typed, read-only, and a clear refusal for unknown kinds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from attestgw.errors import UsageError
from attestgw.evidence.snp import Product
from attestgw.verify.registry import VERIFIERS, SnpVerifier, verifier_for
from attestgw.verify.snp import SnpCollateral, SnpVerifyOptions
from tests.conftest import corpus_file


def test_snp_is_registered() -> None:
    verifier = verifier_for("snp")
    assert isinstance(verifier, SnpVerifier)
    assert verifier.kind == "snp"
    assert set(VERIFIERS) == {"snp", "tdx", "nvidia"}


@pytest.mark.corpus
def test_parse_then_verify_through_the_registry() -> None:
    verifier = verifier_for("snp")
    report = verifier.parse(corpus_file("snp/virtee-sev/report_milan.hex").read_bytes())  # hex text
    collateral = SnpCollateral(
        signing_cert=corpus_file("snp/virtee-sev/vcek_milan.der").read_bytes(),
        chain=corpus_file("snp/virtee-sev/cert_chain_milan.pem").read_bytes(),
    )
    claims = verifier.verify(report, collateral, SnpVerifyOptions(at=datetime(2025, 10, 1, tzinfo=UTC)))
    assert claims.product is Product.MILAN


def test_unknown_kind_is_a_usage_error_listing_the_known_ones() -> None:
    with pytest.raises(UsageError, match="supported: nvidia, snp, tdx") as err:
        verifier_for("sgx")
    assert err.value.code == "usage.invalid"


def test_the_registry_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        VERIFIERS["evil"] = SnpVerifier()  # type: ignore[index]
