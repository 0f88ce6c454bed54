"""attestgw.crypto.signing: P-384 report signatures and AMD-shaped certificates and CRLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509

from attestgw.crypto.ecdsa import verify_p384_sha384
from attestgw.crypto.signing import (
    RsaPrivateKey,
    build_certificate,
    build_crl,
    certificate_public_key,
    certificate_to_pem,
    generate_p384_key,
    generate_rsa_key,
    key_matches_certificate,
    p384_key_from_pem,
    pem_bundle,
    private_key_to_pem,
    rsa_key_from_pem,
    sign_p384_sha384,
    split_pem_bundle,
)
from tests.conftest import corpus_file

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AMD = [
    ("OU", "Engineering"),
    ("C", "US"),
    ("L", "Santa Clara"),
    ("ST", "CA"),
    ("O", "Advanced Micro Devices"),
]

#: AlgorithmIdentifier { RSASSA-PSS, SHA-384, MGF1(SHA-384), saltLength 48 } as AMD encodes it.
AMD_PSS_ALGORITHM = bytes.fromhex(
    "3041"
    "06092a864886f70d01010a"
    "3034"
    "a00f300d06096086480165030402020500"
    "a11c301a06092a864886f70d010108300d06096086480165030402020500"
    "a203020130"
)


@pytest.fixture(scope="module")
def rsa_root() -> tuple[RsaPrivateKey, bytes]:
    # 2048 bits keeps this module fast; the AMD key size is exercised by the authority tests.
    key = generate_rsa_key(2048)
    cert = build_certificate(
        subject=[*AMD, ("CN", "ARK-Test")],
        issuer=[*AMD, ("CN", "ARK-Test")],
        public_key=key.public_key(),
        issuer_key=key,
        serial=0x10000,
        not_before=T0,
        not_after=T0 + timedelta(days=365),
        ca=True,
        crl_sign=True,
        crl_distribution_url="https://kdsintf.amd.com/vcek/v1/Milan/crl",
    )
    return key, cert


def test_p384_signature_verifies_only_for_the_signed_message_and_key() -> None:
    key = generate_p384_key()
    r, s = sign_p384_sha384(key, b"report body")
    assert r.bit_length() <= 384
    assert s.bit_length() <= 384
    assert verify_p384_sha384(key.public_key(), r, s, b"report body")
    assert not verify_p384_sha384(key.public_key(), r, s, b"report bodY")
    assert not verify_p384_sha384(generate_p384_key().public_key(), r, s, b"report body")
    assert not verify_p384_sha384(key.public_key(), r ^ 1, s, b"report body")
    assert not verify_p384_sha384(key.public_key(), 0, 0, b"report body")


def test_rsa_signed_certificate_uses_amds_pss_parameters(rsa_root: tuple[RsaPrivateKey, bytes]) -> None:
    _, der = rsa_root
    cert = x509.load_der_x509_certificate(der)
    assert cert.version is x509.Version.v3
    assert cert.signature_algorithm_oid == x509.SignatureAlgorithmOID.RSASSA_PSS
    # Both the TBS signature field and the outer signatureAlgorithm carry the exact AMD encoding.
    assert der.count(AMD_PSS_ALGORITHM) == 2
    cert.verify_directly_issued_by(cert)


def test_pss_encoding_matches_real_amd_vceks_and_crls() -> None:
    # AMD's ARK/ASK spell out the default trailerField (a3 03 02 01 01) in their PSS parameters;
    # VCEKs and CRLs, like everything cryptography builds, omit it (docs/simulated-tee.md).
    for rel in ("snp/oak/turin_oc_vcek.der", "snp/oak/genoa_oc_vcek.der", "snp/openpcc/amd_milan_crl.der"):
        assert corpus_file(rel).read_bytes().count(AMD_PSS_ALGORITHM) == 2, rel


def test_ca_certificate_names_and_extensions(rsa_root: tuple[RsaPrivateKey, bytes]) -> None:
    _, der = rsa_root
    cert = x509.load_der_x509_certificate(der)
    assert cert.subject.rfc4514_string() == (
        "CN=ARK-Test,O=Advanced Micro Devices,ST=CA,L=Santa Clara,C=US,OU=Engineering"
    )
    assert cert.serial_number == 0x10000
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical
    assert basic.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [p.full_name[0].value for p in points if p.full_name] == [
        "https://kdsintf.amd.com/vcek/v1/Milan/crl"
    ]


def test_leaf_with_raw_extensions_signed_by_the_root(rsa_root: tuple[RsaPrivateKey, bytes]) -> None:
    root_key, root_der = rsa_root
    leaf_key = generate_p384_key()
    der = build_certificate(
        subject=[*AMD, ("CN", "SEV-VCEK")],
        issuer=[*AMD, ("CN", "ARK-Test")],
        public_key=leaf_key.public_key(),
        issuer_key=root_key,
        serial=1,
        not_before=T0,
        not_after=T0 + timedelta(days=7),
        extensions=[("1.3.6.1.4.1.3704.1.3.1", b"\x02\x01\x04"), ("1.3.6.1.4.1.3704.1.2", b"\x16\x02ab")],
    )
    leaf = x509.load_der_x509_certificate(der)
    leaf.verify_directly_issued_by(x509.load_der_x509_certificate(root_der))
    got = [(e.oid.dotted_string, e.critical, e.value) for e in leaf.extensions]
    assert [(oid, crit) for oid, crit, _ in got] == [
        ("1.3.6.1.4.1.3704.1.3.1", False),
        ("1.3.6.1.4.1.3704.1.2", False),
    ]
    assert [v.value for _, _, v in got if isinstance(v, x509.UnrecognizedExtension)] == [
        b"\x02\x01\x04",
        b"\x16\x02ab",
    ]
    assert key_matches_certificate(leaf_key, der)
    assert not key_matches_certificate(generate_p384_key(), der)
    assert certificate_public_key(der) == leaf_key.public_key()


def test_serial_zero_is_refused_by_the_library(rsa_root: tuple[RsaPrivateKey, bytes]) -> None:
    # AMD's VCEKs use serial 0; the simulated ones use 1 because of this (docs/simulated-tee.md).
    root_key, _ = rsa_root
    with pytest.raises(ValueError, match="positive"):
        build_certificate(
            subject=[("CN", "SEV-VCEK")],
            issuer=[("CN", "ARK-Test")],
            public_key=generate_p384_key().public_key(),
            issuer_key=root_key,
            serial=0,
            not_before=T0,
            not_after=T0 + timedelta(days=1),
        )


def test_naive_times_and_unknown_name_attributes_are_refused(rsa_root: tuple[RsaPrivateKey, bytes]) -> None:
    root_key, _ = rsa_root
    common = {
        "issuer": [("CN", "x")],
        "public_key": generate_p384_key().public_key(),
        "issuer_key": root_key,
        "serial": 1,
        "not_after": T0 + timedelta(days=1),
    }
    with pytest.raises(ValueError, match="timezone-aware"):
        build_certificate(subject=[("CN", "x")], not_before=datetime(2026, 1, 1), **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown name attribute"):
        build_certificate(subject=[("EMAIL", "x")], not_before=T0, **common)  # type: ignore[arg-type]


def test_crl_is_signed_by_the_issuer_and_lists_the_serials(rsa_root: tuple[RsaPrivateKey, bytes]) -> None:
    root_key, root_der = rsa_root
    der = build_crl(root_der, root_key, [0x10001, 7], T0, T0 + timedelta(days=30))
    crl = x509.load_der_x509_crl(der)
    root = x509.load_der_x509_certificate(root_der)
    assert crl.issuer == root.subject
    assert crl.signature_algorithm_oid == x509.SignatureAlgorithmOID.RSASSA_PSS
    assert der.count(AMD_PSS_ALGORITHM) == 2
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert not crl.is_signature_valid(generate_rsa_key(2048).public_key())
    assert crl.next_update_utc == T0 + timedelta(days=30)
    assert crl.get_revoked_certificate_by_serial_number(0x10001) is not None
    assert crl.get_revoked_certificate_by_serial_number(7) is not None
    assert crl.get_revoked_certificate_by_serial_number(0x10002) is None


def test_pem_helpers_round_trip_and_refuse_the_wrong_key_type(rsa_root: tuple[RsaPrivateKey, bytes]) -> None:
    root_key, root_der = rsa_root
    ec_key = generate_p384_key()
    bundle = pem_bundle([root_der, root_der])
    assert bundle.count(b"-----BEGIN CERTIFICATE-----") == 2
    assert split_pem_bundle(b"junk\n" + bundle + b"trailer") == [root_der, root_der]
    assert split_pem_bundle(certificate_to_pem(root_der)) == [root_der]
    rsa_pem = private_key_to_pem(root_key)
    assert key_matches_certificate(rsa_key_from_pem(rsa_pem), root_der)
    ec_pem = private_key_to_pem(ec_key)
    assert b"BEGIN PRIVATE KEY" in ec_pem
    assert p384_key_from_pem(ec_pem).public_key() == ec_key.public_key()
    with pytest.raises(ValueError, match="RSA"):
        rsa_key_from_pem(ec_pem)
    with pytest.raises(ValueError, match="P-384"):
        p384_key_from_pem(rsa_pem)
