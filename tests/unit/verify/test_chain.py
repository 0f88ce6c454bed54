"""Leaf and chain structure checks that genuine AMD certificates never trip, on minted look-alikes.

The look-alikes are signed by throwaway keys (attestgw.crypto.signing), so they can never verify;
each test shows the structural check refuses them first, with its own code, before any chain or
signature work.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from attestgw.crypto.signing import RsaPrivateKey, build_certificate, generate_p384_key, generate_rsa_key
from attestgw.crypto.x509 import pem_certificates
from attestgw.errors import VerificationError
from attestgw.evidence.snp import parse_report
from attestgw.verify.snp import SnpCollateral, SnpVerifyOptions, verify_snp
from attestgw.verify.snp.chain import (
    check_amd_name,
    load_record,
    name_attributes,
    verify_chain_signatures,
)
from tests.conftest import corpus_file

AT = datetime(2025, 10, 1, tzinfo=UTC)
AMD_NAME = [
    ("OU", "Engineering"),
    ("C", "US"),
    ("L", "Santa Clara"),
    ("ST", "CA"),
    ("O", "Advanced Micro Devices"),
]
HWID = "1.3.6.1.4.1.3704.1.4"
CSP_ID = "1.3.6.1.4.1.3704.1.5"


def _read(rel: str) -> bytes:
    return corpus_file(rel).read_bytes()


@pytest.fixture(scope="module")
def issuer_key() -> RsaPrivateKey:
    return generate_rsa_key(2048)  # size is irrelevant here and 2048 keeps the test fast


def _leaf(
    issuer_key: RsaPrivateKey, subject: list[tuple[str, str]], extensions: list[tuple[str, bytes]]
) -> bytes:
    return build_certificate(
        subject=subject,
        issuer=[*AMD_NAME, ("CN", "SEV-Milan")],
        public_key=generate_p384_key().public_key(),
        issuer_key=issuer_key,
        serial=1,
        not_before=datetime(2025, 1, 1, tzinfo=UTC),
        not_after=datetime(2032, 1, 1, tzinfo=UTC),
        extensions=extensions,
    )


def _verify_with_leaf(leaf: bytes) -> str:
    report = parse_report(_read("snp/oak/milan_oc_release_report.bin"))
    collateral = SnpCollateral(signing_cert=leaf, chain=_read("snp/amd-roots/ask_ark_milan.pem"))
    with pytest.raises(VerificationError) as err:
        verify_snp(report, collateral, SnpVerifyOptions(at=AT))
    return err.value.code


@pytest.mark.corpus
def test_amd_subject_attributes_are_required(issuer_key: RsaPrivateKey) -> None:
    wrong_org = [(k, "Not AMD" if k == "O" else v) for k, v in AMD_NAME]
    leaf = _leaf(issuer_key, [*wrong_org, ("CN", "SEV-VCEK")], [(HWID, b"\x04\x40" + bytes(64))])
    record = load_record(leaf)
    assert record.name_problems == ("subject O='Not AMD', want 'Advanced Micro Devices'",)
    assert _verify_with_leaf(leaf) == "snp.cert_malformed"


@pytest.mark.corpus
def test_a_vcek_carrying_a_csp_id_is_a_vlek_in_disguise(issuer_key: RsaPrivateKey) -> None:
    leaf = _leaf(issuer_key, [*AMD_NAME, ("CN", "SEV-VCEK")], [(CSP_ID, b"\x16\x03aws")])
    assert _verify_with_leaf(leaf) == "snp.key_kind_mismatch"


@pytest.mark.corpus
def test_a_vcek_without_hwid_is_malformed(issuer_key: RsaPrivateKey) -> None:
    leaf = _leaf(issuer_key, [*AMD_NAME, ("CN", "SEV-VCEK")], [])
    assert _verify_with_leaf(leaf) == "snp.cert_malformed"


@pytest.mark.corpus
def test_hwid_and_csp_id_together_are_malformed(issuer_key: RsaPrivateKey) -> None:
    exts = [(HWID, b"\x04\x40" + bytes(64)), (CSP_ID, b"\x16\x03aws")]
    assert _verify_with_leaf(_leaf(issuer_key, [*AMD_NAME, ("CN", "SEV-VCEK")], exts)) == "snp.cert_malformed"


@pytest.mark.corpus
def test_other_leaf_names_are_malformed(issuer_key: RsaPrivateKey) -> None:
    leaf = _leaf(issuer_key, [*AMD_NAME, ("CN", "SEV-Milan")], [(HWID, bytes(64))])
    assert _verify_with_leaf(leaf) == "snp.cert_malformed"


@pytest.mark.corpus
def test_leaf_key_must_be_p384(issuer_key: RsaPrivateKey) -> None:
    leaf = build_certificate(
        subject=[*AMD_NAME, ("CN", "SEV-VCEK")],
        issuer=[*AMD_NAME, ("CN", "SEV-Milan")],
        public_key=issuer_key.public_key(),  # RSA
        issuer_key=issuer_key,
        serial=1,
        not_before=datetime(2025, 1, 1, tzinfo=UTC),
        not_after=datetime(2032, 1, 1, tzinfo=UTC),
        extensions=[(HWID, bytes(64))],
    )
    assert _verify_with_leaf(leaf) == "snp.cert_malformed"


@pytest.mark.corpus
def test_name_attributes_of_a_genuine_certificate() -> None:
    record = load_record(_read("snp/oak/milan_oc_release_vcek.der"))
    attrs = name_attributes(record.subject_der)
    assert attrs[b"\x55\x04\x03"] == ["SEV-VCEK"]
    assert attrs[b"\x55\x04\x0a"] == ["Advanced Micro Devices"]
    assert record.name_problems == ()
    assert name_attributes(record.issuer_der)[b"\x55\x04\x03"] == ["SEV-Milan"]


@pytest.mark.parametrize("der", [b"", b"\x31\x00", b"\x30\x02\x30\x00", b"\x30\x04\x31\x02\x30\x00"])
def test_malformed_names_raise_value_error(der: bytes) -> None:
    with pytest.raises(ValueError, match=r"Name|RDN|Attribute|DER"):
        name_attributes(der)


@pytest.mark.corpus
def test_version_is_checked() -> None:
    record = load_record(_read("snp/oak/milan_oc_release_vcek.der"))
    check_amd_name(record, "SEV-VCEK", "VCEK")
    with pytest.raises(VerificationError, match="want v3"):
        check_amd_name(dataclasses.replace(record, is_v3=False), "SEV-VCEK", "VCEK")


@pytest.mark.corpus
def test_issuer_linkage_is_rechecked_even_when_the_signatures_are_cached() -> None:
    ask_der, ark_der = pem_certificates(_read("snp/amd-roots/ask_ark_milan.pem"))
    ark, ask = load_record(ark_der), load_record(ask_der)
    leaf = load_record(_read("snp/oak/milan_oc_release_vcek.der"))
    verify_chain_signatures(ark, ask, leaf)  # fills the signature cache for this DER triple
    with pytest.raises(VerificationError) as err:
        verify_chain_signatures(ark, ask, dataclasses.replace(leaf, issuer_der=ark.subject_der))
    assert err.value.code == "snp.chain_invalid"
    with pytest.raises(VerificationError):
        verify_chain_signatures(ark, dataclasses.replace(ask, issuer_der=ask.subject_der), leaf)
    with pytest.raises(VerificationError):
        verify_chain_signatures(dataclasses.replace(ark, issuer_der=ask.subject_der), ask, leaf)
