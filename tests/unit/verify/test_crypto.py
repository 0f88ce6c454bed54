"""attestgw.crypto.x509 / .ecdsa: certificate loading, AMD RSA-PSS rules, ECDSA, DER splitting.

These sit under tests/unit/verify because the verifier is their only user so far.
"""

from __future__ import annotations

import itertools
import warnings

import pytest

from attestgw.crypto.ecdsa import verify_p384_sha384
from attestgw.crypto.x509 import (
    cert_sha256,
    certificate_serial,
    der_bytes,
    der_tlv,
    load_certificate,
    load_crl,
    load_pem_bundle,
    p384_public_key,
    pem_certificates,
    signed_layout,
    verify_der_signed_by,
    verify_layout_signed_by,
    verify_signed_by,
)
from attestgw.errors import VerificationError
from attestgw.evidence.snp import parse_report
from tests.conftest import corpus_file

P384_N = int(
    "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973", 16
)


def _read(rel: str) -> bytes:
    return corpus_file(rel).read_bytes()


# -- DER ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("der", "result"),
    [("0500", (0x05, 2, 2)), ("0403616263", (0x04, 2, 5)), ("048180" + "00" * 128, (0x04, 3, 131))],
)
def test_der_tlv_reads_short_and_long_lengths(der: str, result: tuple[int, int, int]) -> None:
    data = bytes.fromhex(der)
    assert der_tlv(data, 0, len(data)) == result


@pytest.mark.parametrize(
    "der",
    ["", "04", "0480", "048101", "04820001" + "00", "0485" + "00" * 5, "1f0100", "0403ab"],
    ids=[
        "empty",
        "no-length",
        "indefinite",
        "long-form-short",
        "leading-zero",
        "5-byte-length",
        "high-tag",
        "short",
    ],
)
def test_der_tlv_refuses_what_der_forbids(der: str) -> None:
    data = bytes.fromhex(der)
    with pytest.raises(ValueError, match="DER"):
        der_tlv(data, 0, len(data))


def test_der_tlv_stays_inside_its_container() -> None:
    data = bytes.fromhex("0403616263")
    with pytest.raises(ValueError, match="runs past"):
        der_tlv(data, 0, 4)


# -- loading ----------------------------------------------------------------------------------------


@pytest.mark.corpus
def test_amd_serial_zero_loads_without_any_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cert = load_certificate(_read("snp/trustee/test-vcek.der"))
        assert certificate_serial(cert) == 0


@pytest.mark.corpus
def test_the_suppression_does_not_outlive_the_call() -> None:
    load_certificate(_read("snp/trustee/test-vcek.der"))
    with pytest.warns(UserWarning, match="still visible"):
        warnings.warn("still visible", UserWarning, stacklevel=1)


@pytest.mark.corpus
def test_pem_and_der_give_the_same_certificate() -> None:
    pem = _read("snp/constellation/aws_vlek.pem")
    cert = load_certificate(pem)
    assert load_certificate(der_bytes(cert)) == cert
    assert cert_sha256(cert) == cert_sha256(load_certificate(der_bytes(cert)))


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "no PEM CERTIFICATE"),
        (b"\x30\x03\x02\x01\x00", "unreadable"),
        (b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "base64"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "END"),
        (b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", "no PEM CERTIFICATE"),
        (b"\x00" * (2 * 1024 * 1024), "too large"),
    ],
    ids=["empty", "not-x509", "bad-base64", "no-end", "other-pem", "huge"],
)
def test_unreadable_certificates_are_cert_malformed(data: bytes, why: str) -> None:
    with pytest.raises(VerificationError) as err:
        load_certificate(data)
    assert err.value.code == "snp.cert_malformed"
    assert why in err.value.message


@pytest.mark.corpus
def test_a_pem_bundle_is_not_one_certificate() -> None:
    with pytest.raises(VerificationError, match="want exactly 1"):
        load_certificate(_read("snp/amd-roots/ask_ark_milan.pem"))
    assert [
        c.subject.rfc4514_string()[:9] for c in load_pem_bundle(_read("snp/amd-roots/ask_ark_milan.pem"))
    ] == [
        "CN=SEV-Mi",
        "CN=ARK-Mi",
    ]


@pytest.mark.corpus
def test_pem_certificates_ignores_other_blocks() -> None:
    chain = _read("snp/amd-roots/ask_ark_milan.pem")
    key_block = b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    assert pem_certificates(key_block + chain) == pem_certificates(chain)


def test_unreadable_crl_is_crl_invalid() -> None:
    with pytest.raises(VerificationError) as err:
        load_crl(b"\x30\x00")
    assert err.value.code == "snp.crl_invalid"


@pytest.mark.corpus
def test_p384_public_key_refuses_rsa() -> None:
    ask, _ = load_pem_bundle(_read("snp/amd-roots/ask_ark_milan.pem"))
    with pytest.raises(VerificationError, match="want EC P-384") as err:
        p384_public_key(ask)
    assert err.value.code == "snp.cert_malformed"


@pytest.mark.corpus
def test_p384_public_key_refuses_p256() -> None:
    intel_root = load_certificate(_read("tdx/intel-roots/dcap-qvl_TrustedRootCA.der"))
    with pytest.raises(VerificationError, match="want EC P-384"):
        p384_public_key(intel_root)


# -- signatures: AMD RSASSA-PSS ---------------------------------------------------------------------


def _milan() -> tuple[bytes, bytes, bytes]:
    ask, ark = pem_certificates(_read("snp/amd-roots/ask_ark_milan.pem"))
    return _read("snp/oak/milan_oc_release_vcek.der"), ask, ark


@pytest.mark.corpus
def test_genuine_amd_chain_verifies() -> None:
    vcek, ask, ark = _milan()
    ask_cert, ark_cert = load_certificate(ask), load_certificate(ark)
    assert verify_der_signed_by(ark, ark_cert)
    assert verify_der_signed_by(ask, ark_cert)
    assert verify_der_signed_by(vcek, ask_cert)
    assert verify_signed_by(load_certificate(vcek), ask_cert)
    assert verify_signed_by(load_crl(_read("snp/openpcc/amd_milan_crl.der")), ark_cert)


@pytest.mark.corpus
def test_signature_by_the_wrong_issuer_is_refused() -> None:
    vcek, _, ark = _milan()
    assert not verify_der_signed_by(vcek, load_certificate(ark))


def _outer_alg_offset(der: bytes) -> int:
    layout = signed_layout(der)
    return der.rindex(layout.outer_alg)


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("old", "new", "what"),
    [
        (b"\xa2\x03\x02\x01\x30", b"\xa2\x03\x02\x01\x20", "salt 32"),
        (
            b"\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x02",
            b"\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01",
            "SHA-256",
        ),
    ],
)
def test_other_pss_parameters_in_the_outer_algorithm_are_refused(old: bytes, new: bytes, what: str) -> None:
    # The outer AlgorithmIdentifier is not covered by the signature: the RSA math over the TBS still
    # succeeds, so only the explicit parameter check can refuse this certificate.
    vcek, ask, _ = _milan()
    start = _outer_alg_offset(vcek)
    alg = vcek[start : start + len(signed_layout(vcek).outer_alg)]
    assert old in alg
    changed = vcek[:start] + alg.replace(old, new, 1) + vcek[start + len(alg) :]
    assert signed_layout(changed).tbs == signed_layout(vcek).tbs
    assert not verify_der_signed_by(changed, load_certificate(ask)), what


@pytest.mark.corpus
def test_tbs_algorithm_must_match_the_outer_one() -> None:
    vcek, ask, _ = _milan()
    tbs_alg = signed_layout(vcek).tbs_alg
    start = vcek.index(tbs_alg)
    changed = (
        vcek[:start]
        + tbs_alg.replace(b"\xa2\x03\x02\x01\x30", b"\xa2\x03\x02\x01\x20")
        + vcek[start + len(tbs_alg) :]
    )
    assert not verify_der_signed_by(changed, load_certificate(ask))


# The AMD VCEK signature AlgorithmIdentifier, and the same parameters with the first hash's NULL
# omitted (RFC 4055 allows both encodings).
AMD_ALG = bytes.fromhex(
    "304106092a864886f70d01010a3034a00f300d06096086480165030402020500"
    "a11c301a06092a864886f70d010108300d06096086480165030402020500a203020130"
)
AMD_ALG_NO_NULL = bytes.fromhex(
    "303f06092a864886f70d01010a3032a00d300b0609608648016503040202"
    "a11c301a06092a864886f70d010108300d06096086480165030402020500a203020130"
)


@pytest.mark.corpus
def test_declared_parameters_are_checked_even_when_the_rsa_math_would_pass() -> None:
    # Same TBS and signature bytes (which verify with AMD's fixed parameters); only what the
    # certificate declares changes. Declaring anything but AMD's scheme must be refused.
    vcek, ask, _ = _milan()
    issuer = load_certificate(ask)
    layout = signed_layout(vcek)
    assert layout.outer_alg == AMD_ALG
    assert verify_layout_signed_by(layout, issuer)
    salt32 = AMD_ALG.replace(bytes.fromhex("a203020130"), bytes.fromhex("a203020120"))
    assert not verify_layout_signed_by(layout._replace(tbs_alg=salt32, outer_alg=salt32), issuer)
    # An equivalent encoding is accepted, but both fields must carry the same bytes.
    assert verify_layout_signed_by(
        layout._replace(tbs_alg=AMD_ALG_NO_NULL, outer_alg=AMD_ALG_NO_NULL), issuer
    )
    assert not verify_layout_signed_by(layout._replace(outer_alg=AMD_ALG_NO_NULL), issuer)


@pytest.mark.corpus
def test_rsa_pkcs1v15_signatures_are_refused() -> None:
    # A genuine sha384WithRSAEncryption chain (Azure vTPM CA): valid, but not AMD's scheme.
    root = load_certificate(_read("azure/openpcc/azure_tpm_root_2023.pem"))
    intermediate = load_certificate(_read("azure/openpcc/azure_tpm_intermediate_03.pem"))
    assert not verify_signed_by(intermediate, root)


# -- signatures: ECDSA --------------------------------------------------------------------------------


@pytest.mark.corpus
def test_ecdsa_certificate_chains_verify_for_generic_use() -> None:
    chain = load_pem_bundle(_read("nvidia/nvtrust/hopperCertChain.pem"))
    for child, parent in itertools.pairwise(chain):
        assert verify_signed_by(child, parent)
    assert not verify_signed_by(chain[0], chain[2])
    # AMD chains are RSA-PSS only: the same genuine ECDSA signature is refused there.
    assert not verify_der_signed_by(der_bytes(chain[0]), chain[1], allow_ecdsa=False)


@pytest.mark.corpus
def test_malformed_der_never_raises() -> None:
    _, _, ark = _milan()
    issuer = load_certificate(ark)
    assert not verify_der_signed_by(b"", issuer)
    assert not verify_der_signed_by(b"\x30\x00", issuer)
    assert not verify_der_signed_by(ark[:-1], issuer)


# -- ECDSA P-384 over raw (r, s) -------------------------------------------------------------------------


def _report_and_key() -> tuple[bytes, int, int, object]:
    report = parse_report(_read("snp/oak/milan_oc_release_report.bin"))
    key = p384_public_key(load_certificate(_read("snp/oak/milan_oc_release_vcek.der")))
    return report.signed_bytes, report.signature.r, report.signature.s, key


@pytest.mark.corpus
def test_report_signature_verifies_from_little_endian_fields() -> None:
    message, r, s, key = _report_and_key()
    assert verify_p384_sha384(key, r, s, message)  # type: ignore[arg-type]


@pytest.mark.corpus
@pytest.mark.parametrize(
    "change",
    [
        lambda m, r, s: (m[:0x50] + bytes([m[0x50] ^ 1]) + m[0x51:], r, s),
        lambda m, r, s: (m, r + 1, s),
        lambda m, r, s: (m, r, s ^ 1),
        lambda m, r, s: (m, 0, s),
        lambda m, r, s: (m, r, 0),
        lambda m, r, s: (m, r + P384_N, s),  # same value mod n, but out of range
        lambda m, r, s: (m, r, P384_N),
        lambda m, r, s: (m, int.from_bytes(r.to_bytes(48, "big"), "little"), s),  # byte order confusion
    ],
    ids=["message", "r+1", "s^1", "r=0", "s=0", "r+n", "s=n", "r-byte-order"],
)
def test_report_signature_variants_are_refused(change: object) -> None:
    message, r, s, key = _report_and_key()
    m2, r2, s2 = change(message, r, s)  # type: ignore[operator]
    assert not verify_p384_sha384(key, r2, s2, m2)  # type: ignore[arg-type]


@pytest.mark.corpus
def test_a_p256_key_is_refused() -> None:
    message, r, s, _ = _report_and_key()
    p256 = load_certificate(_read("tdx/intel-roots/dcap-qvl_TrustedRootCA.der")).public_key()
    assert not verify_p384_sha384(p256, r, s, message)  # type: ignore[arg-type]
