"""The simulated SEV-SNP attester: real report bytes, signatures, certificate tables and overrides."""

from __future__ import annotations

import pytest
from cryptography import x509

from attestgw.attester.simulated_snp import SimulatedAmdAuthority, SimulatedSnpAttester
from attestgw.crypto.ecdsa import verify_p384_sha384
from attestgw.crypto.signing import certificate_public_key, generate_p384_key
from attestgw.errors import ConfigError, FormatError
from attestgw.evidence.snp import (
    ARK_GUID,
    ASK_GUID,
    REPORT_SIZE,
    VCEK_GUID,
    VLEK_GUID,
    AttestationReport,
    Product,
    SigningKey,
    TcbParts,
    parse_cert_table,
    parse_report,
    serialize_report,
)
from tests.unit.attester.simulated_pki import ISSUED_AT

NONCE = bytes(range(64))

#: CPUID family/model each product's reports carry (formats.md §2.1).
CPUID = {Product.MILAN: (0x19, 0x01), Product.GENOA: (0x19, 0x11), Product.TURIN: (0x1A, 0x02)}


def _attester(authority: SimulatedAmdAuthority, **kwargs: object) -> SimulatedSnpAttester:
    return SimulatedSnpAttester(authority, issued_at=ISSUED_AT, enable_simulation=True, **kwargs)  # type: ignore[arg-type]


def _signature_ok(report: AttestationReport, cert: bytes) -> bool:
    key = certificate_public_key(cert)
    return verify_p384_sha384(key, report.signature.r, report.signature.s, report.signed_bytes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def milan_vcek(milan: SimulatedAmdAuthority) -> SimulatedSnpAttester:
    return _attester(milan)


def test_refused_unless_enabled(milan: SimulatedAmdAuthority, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATTESTGW_ALLOW_SIMULATED", raising=False)
    with pytest.raises(ConfigError) as info:
        SimulatedSnpAttester(milan, issued_at=ISSUED_AT)
    assert info.value.code == "config.simulation_disabled"


@pytest.mark.parametrize("product", list(Product))
@pytest.mark.parametrize("kind", [SigningKey.VCEK, SigningKey.VLEK])
def test_default_report_parses_and_is_signed_by_the_certificate(
    authorities: dict[Product, SimulatedAmdAuthority], product: Product, kind: SigningKey
) -> None:
    attester = _attester(authorities[product], signing_key=kind)
    evidence = attester.report(NONCE)
    assert evidence.simulated
    assert evidence.signing_key is kind
    assert evidence.product is product
    assert len(evidence.report) == REPORT_SIZE
    report = parse_report(evidence.report)
    assert serialize_report(report) == evidence.report
    assert report.version == 5
    assert report.report_data == NONCE
    assert report.signer_info.signing_key is kind
    assert (report.cpuid_fam_id, report.cpuid_mod_id) == CPUID[product]
    assert report.cpuid_product is product
    assert report.policy.raw == 0x30000
    assert not report.policy.debug_allowed
    assert not report.policy.migrate_ma_allowed
    assert report.report_id_ma == b"\xff" * 32
    assert report.vmpl == 0
    assert report.measurement == attester.measurement
    assert report.chip_id == attester.chip_id
    for tcb in (report.reported_tcb, report.current_tcb, report.committed_tcb, report.launch_tcb):
        assert tcb.parts(product) == attester.tcb
    assert _signature_ok(report, evidence.signing_cert)
    # R and S occupy the low 48 bytes of their 72-byte little-endian fields (formats.md §2.1).
    assert not any(report.signature.r_le[48:])
    assert not any(report.signature.s_le[48:])


def test_turin_chip_id_has_eight_meaningful_bytes(turin: SimulatedAmdAuthority) -> None:
    chip = _attester(turin).chip_id
    assert len(chip) == 64
    assert any(chip[:8])
    assert not any(chip[8:])


def test_certificates_and_table_match_the_signing_key(milan: SimulatedAmdAuthority) -> None:
    for kind, guid in ((SigningKey.VCEK, VCEK_GUID), (SigningKey.VLEK, VLEK_GUID)):
        attester = _attester(milan, signing_key=kind)
        evidence = attester.report(NONCE)
        assert evidence.signing_cert == attester.signing.certificate
        assert evidence.chain == milan.chain_pem(kind)
        assert evidence.ark_sha256 == milan.ark_sha256()
        table = parse_cert_table(evidence.cert_table)
        assert [e.guid for e in table.entries] == [guid, ASK_GUID, ARK_GUID]
        assert table.get(guid) == evidence.signing_cert
        assert table.get(ASK_GUID) == milan.intermediate_certificate(kind)
        assert table.get(ARK_GUID) == milan.ark_certificate()
        cn = x509.load_der_x509_certificate(evidence.signing_cert).subject.rfc4514_string()
        assert cn.startswith(f"CN=SEV-{kind.name},")


@pytest.mark.parametrize("version", [2, 3, 4, 5])
def test_version_override_produces_that_layout(milan_vcek: SimulatedSnpAttester, version: int) -> None:
    report = parse_report(milan_vcek.report(NONCE, version=version).report)
    assert report.version == version
    assert (report.cpuid_fam_id is None) == (version < 3)
    assert (report.launch_mit_vector is None) == (version < 5)
    assert _signature_ok(report, milan_vcek.signing.certificate)


def test_field_overrides_are_signed_in(milan_vcek: SimulatedSnpAttester) -> None:
    tcb = TcbParts(bootloader=1, tee=2, snp=3, microcode=4)
    evidence = milan_vcek.report(
        NONCE,
        vmpl=2,
        host_data=b"\x11" * 32,
        measurement=b"\x22" * 48,
        platform_info=0x1,
        reported_tcb=tcb,
        committed_tcb=0x0102,
        guest_svn=7,
    )
    report = parse_report(evidence.report)
    assert (report.vmpl, report.guest_svn, report.platform_info.raw) == (2, 7, 0x1)
    assert report.host_data == b"\x11" * 32
    assert report.measurement == b"\x22" * 48
    assert report.reported_tcb.parts(Product.MILAN) == tcb
    assert report.committed_tcb.raw == 0x0102
    assert report.current_tcb.parts(Product.MILAN) == milan_vcek.tcb
    assert _signature_ok(report, evidence.signing_cert)
    # The certificate is the attester's: overriding the report's TCB does not reissue the VCEK.
    assert evidence.signing_cert == milan_vcek.signing.certificate


def test_debug_and_migration_agent_can_be_set(milan_vcek: SimulatedSnpAttester) -> None:
    debug = parse_report(milan_vcek.report(NONCE, debug=True).report)
    assert debug.policy.debug_allowed
    assert not debug.policy.migrate_ma_allowed
    ma = parse_report(milan_vcek.report(NONCE, migration_agent=True).report)
    assert ma.policy.migrate_ma_allowed
    assert ma.report_id_ma != b"\xff" * 32
    assert _signature_ok(ma, milan_vcek.signing.certificate)


def test_signature_knobs(milan_vcek: SimulatedSnpAttester) -> None:
    cert = milan_vcek.signing.certificate
    assert not _signature_ok(parse_report(milan_vcek.report(NONCE, tamper_signature=True).report), cert)
    other = generate_p384_key()
    resigned = parse_report(milan_vcek.report(NONCE, sign_with=other).report)
    assert not _signature_ok(resigned, cert)
    assert verify_p384_sha384(
        other.public_key(), resigned.signature.r, resigned.signature.s, resigned.signed_bytes
    )
    assert parse_report(milan_vcek.report(NONCE, zero_signature=True).report).signature.is_zero


def test_patch_writes_raw_bytes_before_signing(milan_vcek: SimulatedSnpAttester) -> None:
    raw = milan_vcek.report(NONCE, patch={0x04C: b"\x01"}).report
    assert raw[0x04C] == 1
    with pytest.raises(FormatError) as info:
        parse_report(raw)
    assert info.value.code == "snp.reserved_nonzero"
    padded = milan_vcek.report(NONCE, patch={0x2A0 + 60: b"\x01"}).report
    assert padded[0x2A0 + 60] == 1  # a patch inside the signature area survives signing


def test_report_ids_are_per_guest(milan: SimulatedAmdAuthority) -> None:
    one, two = _attester(milan), _attester(milan)
    assert (
        parse_report(one.report(NONCE).report).report_id == parse_report(one.report(NONCE).report).report_id
    )
    assert (
        parse_report(one.report(NONCE).report).report_id != parse_report(two.report(NONCE).report).report_id
    )
    assert one.chip_id != two.chip_id


def test_bad_arguments_are_refused(milan_vcek: SimulatedSnpAttester) -> None:
    with pytest.raises(ValueError, match="exactly 64 bytes"):
        milan_vcek.report(NONCE[:32])
    with pytest.raises(TypeError, match="unknown report overrides"):
        milan_vcek.report(NONCE, raw=b"")
    with pytest.raises(TypeError, match="unknown report overrides"):
        milan_vcek.report(NONCE, measurment=b"")
    with pytest.raises(ValueError, match="outside the report"):
        milan_vcek.report(NONCE, patch={REPORT_SIZE: b"\x01"})
