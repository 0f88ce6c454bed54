"""The simulated AMD PKI: refused by default, AMD-shaped roots and VCEK/VLEKs, save and load."""

from __future__ import annotations

import hashlib
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509

from attestgw.attester.simulated_snp import SimulatedAmdAuthority
from attestgw.crypto.signing import split_pem_bundle
from attestgw.errors import ConfigError
from attestgw.evidence.snp import Product, SigningKey, TcbParts
from tests.conftest import corpus_file
from tests.unit.attester.simulated_pki import ISSUED_AT

AMD_OID = "1.3.6.1.4.1.3704.1"
ENV = "ATTESTGW_ALLOW_SIMULATED"
MILAN_TCB = TcbParts(bootloader=4, tee=0, snp=24, microcode=219)
TURIN_TCB = TcbParts(fmc=3, bootloader=1, tee=0, snp=2, microcode=71)
CHIP = bytes(range(64))
TURIN_CHIP = bytes(range(1, 9)) + bytes(56)


def _cert(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def _amd_extensions(der: bytes) -> list[tuple[str, bytes]]:
    out = []
    for ext in _cert(der).extensions:
        assert isinstance(ext.value, x509.UnrecognizedExtension)
        assert not ext.critical
        out.append((ext.oid.dotted_string.removeprefix(AMD_OID), ext.value.value))
    return out


@pytest.mark.parametrize("env", [None, "0", "true", "yes"])
def test_refused_unless_enabled(monkeypatch: pytest.MonkeyPatch, env: str | None) -> None:
    if env is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, env)
    with pytest.raises(ConfigError) as info:
        SimulatedAmdAuthority(Product.MILAN)
    assert info.value.code == "config.simulation_disabled"
    assert ENV in info.value.message


def test_environment_variable_enables_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "1")
    assert SimulatedAmdAuthority(Product.GENOA).product is Product.GENOA


@pytest.mark.parametrize("product", list(Product))
def test_roots_look_like_amds(authorities: dict[Product, SimulatedAmdAuthority], product: Product) -> None:
    authority = authorities[product]
    name = product.value
    ark = _cert(authority.ark_certificate())
    ask = _cert(authority.intermediate_certificate(SigningKey.VCEK))
    asvk = _cert(authority.intermediate_certificate(SigningKey.VLEK))
    suffix = "O=Advanced Micro Devices,ST=CA,L=Santa Clara,C=US,OU=Engineering"
    assert ark.subject.rfc4514_string() == f"CN=ARK-{name},{suffix}"
    assert ark.issuer == ark.subject
    assert ask.subject.rfc4514_string() == f"CN=SEV-{name},{suffix}"
    assert asvk.subject.rfc4514_string() == f"CN=SEV-VLEK-{name},{suffix}"
    for cert in (ark, ask, asvk):
        assert cert.version is x509.Version.v3
        assert cert.public_key().key_size == 4096  # type: ignore[union-attr]
        assert cert.signature_algorithm_oid == x509.SignatureAlgorithmOID.RSASSA_PSS
        start = cert.not_valid_before_utc
        assert cert.not_valid_after_utc == start.replace(year=start.year + 25)
        cert.verify_directly_issued_by(ark)
    assert ask.issuer == ark.subject
    assert asvk.issuer == ark.subject
    assert ask.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    assert authority.ark_sha256() == hashlib.sha256(authority.ark_certificate()).hexdigest()
    assert authority.intermediate_serial(SigningKey.VCEK) == ask.serial_number
    assert authority.intermediate_serial(SigningKey.VLEK) == asvk.serial_number
    assert ask.serial_number != asvk.serial_number


def test_simulated_names_equal_amds_real_ones(milan: SimulatedAmdAuthority) -> None:
    real = {}
    for der in split_pem_bundle(corpus_file("snp/amd-roots/trustee_milan_ask_ark_asvk.pem").read_bytes()):
        real[_cert(der).subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value] = der
    assert set(real) == {"ARK-Milan", "SEV-Milan", "SEV-VLEK-Milan"}
    ours = {
        "ARK-Milan": milan.ark_certificate(),
        "SEV-Milan": milan.intermediate_certificate(SigningKey.VCEK),
        "SEV-VLEK-Milan": milan.intermediate_certificate(SigningKey.VLEK),
    }
    for cn, der in ours.items():
        assert _cert(der).subject == _cert(real[cn]).subject, cn
        assert _cert(der).issuer == _cert(real[cn]).issuer, cn
    # Different keys, so a different fingerprint: a simulated root never matches AMD's pin.
    assert milan.ark_sha256() != hashlib.sha256(real["ARK-Milan"]).hexdigest()


def test_chain_pem_is_intermediate_then_ark(milan: SimulatedAmdAuthority) -> None:
    for kind in (SigningKey.VCEK, SigningKey.VLEK):
        assert split_pem_bundle(milan.chain_pem(kind)) == [
            milan.intermediate_certificate(kind),
            milan.ark_certificate(),
        ]


def test_milan_vcek_extensions_and_validity(milan: SimulatedAmdAuthority) -> None:
    vcek = milan.issue_vcek(CHIP, MILAN_TCB, ISSUED_AT)
    cert = _cert(vcek.certificate)
    assert cert.subject.rfc4514_string().startswith("CN=SEV-VCEK,")
    assert cert.issuer == _cert(milan.intermediate_certificate()).subject
    cert.verify_directly_issued_by(_cert(milan.intermediate_certificate()))
    assert cert.serial_number == 1  # AMD uses 0, which cryptography refuses
    assert cert.not_valid_before_utc == ISSUED_AT
    assert cert.not_valid_after_utc == datetime(2033, 1, 1, tzinfo=UTC)
    assert cert.public_key().curve.name == "secp384r1"  # type: ignore[union-attr]
    assert cert.public_key() == vcek.private_key.public_key()
    assert _amd_extensions(vcek.certificate) == [
        (".1", bytes.fromhex("020101")),
        (".2", b"\x16\x08Milan-B0"),
        (".3.1", bytes.fromhex("020104")),
        (".3.2", bytes.fromhex("020100")),
        (".3.4", bytes.fromhex("020100")),
        (".3.5", bytes.fromhex("020100")),
        (".3.6", bytes.fromhex("020100")),
        (".3.7", bytes.fromhex("020100")),
        (".3.3", bytes.fromhex("020118")),
        (".3.8", bytes.fromhex("020200db")),  # 219 needs a leading zero byte to stay positive
        (".4", b"\x04\x40" + CHIP),
    ]
    assert "private_key" not in repr(vcek)


@pytest.mark.filterwarnings("ignore:Parsed a serial number:cryptography.utils.CryptographyDeprecationWarning")
def test_vcek_extension_layout_matches_real_amd_vceks(
    authorities: dict[Product, SimulatedAmdAuthority],
) -> None:
    real = {
        Product.GENOA: "snp/oak/genoa_oc_vcek.der",
        Product.TURIN: "snp/oak/turin_oc_vcek.der",
        Product.MILAN: "snp/oak/cb_vcek.der",
    }
    for product, rel in real.items():
        tcb = TURIN_TCB if product is Product.TURIN else MILAN_TCB
        chip = TURIN_CHIP if product is Product.TURIN else CHIP
        ours = authorities[product].issue_vcek(chip, tcb, ISSUED_AT).certificate
        theirs = corpus_file(rel).read_bytes()
        assert [oid for oid, _ in _amd_extensions(ours)] == [oid for oid, _ in _amd_extensions(theirs)]


def test_turin_vcek_has_fmc_and_an_eight_byte_hwid(turin: SimulatedAmdAuthority) -> None:
    ext = dict(_amd_extensions(turin.issue_vcek(TURIN_CHIP, TURIN_TCB, ISSUED_AT).certificate))
    assert ext[".2"] == b"\x16\x05Turin"
    assert ext[".3.9"] == bytes.fromhex("020103")
    assert ext[".4"] == b"\x04\x08" + TURIN_CHIP[:8]
    assert ".3.4" not in ext
    with pytest.raises(ValueError, match=r"bytes 8\.\.63 must be zero"):
        turin.issue_vcek(CHIP, TURIN_TCB, ISSUED_AT)
    with pytest.raises(ValueError, match="fmcSPL is required"):
        turin.issue_vcek(TURIN_CHIP, MILAN_TCB, ISSUED_AT)


def test_vlek_names_the_provider_and_no_chip(genoa: SimulatedAmdAuthority) -> None:
    vlek = genoa.issue_vlek(MILAN_TCB, "cc-eu-west-1", not_before=ISSUED_AT)
    cert = _cert(vlek.certificate)
    assert cert.subject.rfc4514_string().startswith("CN=SEV-VLEK,")
    cert.verify_directly_issued_by(_cert(genoa.intermediate_certificate(SigningKey.VLEK)))
    ext = dict(_amd_extensions(vlek.certificate))
    assert ext[".5"] == b"\x16\x0ccc-eu-west-1"
    assert ".4" not in ext
    assert ext[".2"] == b"\x16\x05Genoa"
    assert vlek.kind is SigningKey.VLEK
    assert vlek.chip_id is None


def test_crl_signed_by_the_ark(milan: SimulatedAmdAuthority) -> None:
    serial = milan.intermediate_serial()
    crl = x509.load_der_x509_crl(milan.crl([serial], ISSUED_AT, datetime(2026, 2, 1, tzinfo=UTC)))
    ark = _cert(milan.ark_certificate())
    assert crl.issuer == ark.subject
    assert crl.is_signature_valid(ark.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None


def test_save_load_keeps_the_same_roots(tmp_path: Path, milan: SimulatedAmdAuthority) -> None:
    target = tmp_path / "sim" / "milan"
    milan.save(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    for role in ("ark", "ask", "asvk"):
        assert stat.S_IMODE((target / f"{role}.key.pem").stat().st_mode) == 0o600
    loaded = SimulatedAmdAuthority.load(target, enable_simulation=True)
    assert loaded.product is Product.MILAN
    assert loaded.ark_sha256() == milan.ark_sha256()
    assert loaded.chain_pem(SigningKey.VLEK) == milan.chain_pem(SigningKey.VLEK)
    # The loaded keys still sign: a VCEK issued after the restart chains to the saved ASK.
    vcek = _cert(loaded.issue_vcek(CHIP, MILAN_TCB, ISSUED_AT).certificate)
    vcek.verify_directly_issued_by(_cert(milan.intermediate_certificate()))
    again = SimulatedAmdAuthority.load_or_create(target, Product.MILAN, enable_simulation=True)
    assert again.ark_sha256() == milan.ark_sha256()


def test_load_refuses_without_opt_in_and_on_damage(
    tmp_path: Path, milan: SimulatedAmdAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    milan.save(tmp_path)
    with pytest.raises(ConfigError) as info:
        SimulatedAmdAuthority.load(tmp_path)
    assert info.value.code == "config.simulation_disabled"
    with pytest.raises(ConfigError) as info:
        SimulatedAmdAuthority.load_or_create(tmp_path, Product.GENOA, enable_simulation=True)
    assert info.value.code == "config.simulated_authority_invalid"
    # Swap two keys: each file is fine on its own, but the ASK key no longer matches its certificate.
    (tmp_path / "ask.key.pem").write_bytes((tmp_path / "asvk.key.pem").read_bytes())
    with pytest.raises(ConfigError) as info:
        SimulatedAmdAuthority.load(tmp_path, enable_simulation=True)
    assert info.value.code == "config.simulated_authority_invalid"
    assert "ask.key.pem does not match" in info.value.message
    (tmp_path / "ark.pem").unlink()
    with pytest.raises(ConfigError) as info:
        SimulatedAmdAuthority.load(tmp_path, enable_simulation=True)
    assert info.value.code == "config.simulated_authority_invalid"
    with pytest.raises(ConfigError) as info:
        SimulatedAmdAuthority.load(tmp_path / "missing", enable_simulation=True)
    assert info.value.code == "config.simulated_authority_invalid"
