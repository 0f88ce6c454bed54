"""SEV-SNP verification against every genuine AMD report in the shared corpus that can be verified
offline (MANIFEST.md, "Ready-to-use offline verification sets"), and against tampered copies.

Expected product, key kind and REPORTED_TCB come from the MANIFEST; chip ids and productNames are
read from the certificates here with ``cryptography`` directly, not with the verifier's own
extension reader. Verification times lie inside every certificate's validity (the AWS/trustee VLEKs
expire 2025-12-10, the dstack VCEK starts 2026-06-17).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from cryptography import x509

from attestgw.crypto.x509 import pem_certificates
from attestgw.encoding import decode_blob
from attestgw.errors import AttestgwError, CollateralUnavailableError, FormatError, VerificationError
from attestgw.evidence.snp import (
    ARK_GUID,
    ASK_GUID,
    AttestationReport,
    Product,
    SigningKey,
    parse_cert_table,
    parse_hcl_report,
    parse_report,
    serialize_cert_table,
)
from attestgw.verify.snp import AMD_TRUST, SnpCollateral, SnpVerifyOptions, VerifiedSnpClaims, verify_snp
from attestgw.verify.snp.chain import amd_extensions, load_record
from tests.conftest import corpus_file

pytestmark = pytest.mark.corpus

AT = datetime(2025, 10, 1, 8, 0, tzinfo=UTC)
MILAN = "snp/amd-roots/ask_ark_milan.pem"
GENOA = "snp/amd-roots/ask_ark_genoa.pem"
TURIN = "snp/amd-roots/ask_ark_turin_vcek.pem"
MILAN_VLEK = "snp/amd-roots/ask_ark_milan_vlek.pem"
MILAN_CRL = "snp/openpcc/amd_milan_crl.der"
GENOA_CRL = "snp/openpcc/amd_genoa_crl.der"


def _read(rel: str) -> bytes:
    return corpus_file(rel).read_bytes()


def _split_first(rel: str) -> tuple[bytes, bytes]:
    """A THIM-style bundle, VCEK first, then ASK and ARK: (VCEK PEM, chain PEM)."""
    data = _read(rel)
    marker = b"-----END CERTIFICATE-----"
    cut = data.index(marker) + len(marker)
    return data[:cut] + b"\n", data[cut:]


def _evidence_json(rel: str) -> tuple[bytes, bytes]:
    """(SNP report, VCEK) from a trustee az-snp-vtpm evidence JSON (v0: byte list; v1+: base64url)."""
    doc = json.loads(_read(rel))
    hcl = doc.get("report") or doc["hcl_report"]
    hcl_bytes = bytes(hcl) if isinstance(hcl, list) else decode_blob(hcl.encode())
    vcek = doc["vcek"].encode()
    return parse_hcl_report(hcl_bytes).snp_report, vcek if vcek.startswith(b"-----") else decode_blob(vcek)


@dataclass(frozen=True)
class Case:
    """One verifiable report. ``source`` is the corpus file holding it; ``layout`` says how."""

    source: str
    layout: str  # "raw" (bytes, hex or base64), "hcl" (Azure envelope), "json" (trustee), "1184"
    signing_cert: str  # corpus path; "" = the JSON's own VCEK; "bundle:<path>" = first cert of it
    chain: tuple[str, ...]  # corpus paths, concatenated; "bundle:<path>" = all but its first cert
    product: Product
    kind: SigningKey
    reported_tcb: str  # REPORTED_TCB bytes in report order, as the MANIFEST prints them
    at: datetime = AT

    @property
    def name(self) -> str:
        return self.source.removeprefix("snp/")

    def report(self) -> bytes:
        if self.layout == "hcl":
            return parse_hcl_report(_read(self.source)).snp_report
        if self.layout == "json":
            return _evidence_json(self.source)[0]
        if self.layout == "1184":
            return _read(self.source)[:1184]
        return _read(self.source)

    def cert(self) -> bytes:
        if not self.signing_cert:
            return _evidence_json(self.source)[1]
        if self.signing_cert.startswith("bundle:"):
            return _split_first(self.signing_cert.removeprefix("bundle:"))[0]
        return _read(self.signing_cert)

    def chain_pem(self) -> bytes:
        return b"".join(
            _split_first(rel.removeprefix("bundle:"))[1] if rel.startswith("bundle:") else _read(rel)
            for rel in self.chain
        )

    def collateral(self, crl: bytes | None = None) -> SnpCollateral:
        return SnpCollateral(signing_cert=self.cert(), chain=self.chain_pem(), crl=crl)

    def verify(
        self, report: bytes | None = None, at: datetime | None = None, crl: bytes | None = None
    ) -> VerifiedSnpClaims:
        parsed = parse_report(self.report() if report is None else report)
        return verify_snp(parsed, self.collateral(crl), SnpVerifyOptions(at=at or self.at))


V, L = SigningKey.VCEK, SigningKey.VLEK
M, G, T = Product.MILAN, Product.GENOA, Product.TURIN
THIM = "bundle:azure/trustee-az-snp/vcek.pem"
TRUSTEE_MILAN = "snp/amd-roots/trustee_milan_ask_ark_asvk.pem"  # ASK + ARK + ASVK in one bundle

CASES = [
    Case(
        "azure/openpcc/azure_sevsnp_hcl_report.bin",
        "hcl",
        "snp/openpcc/genoa_vcek_azure.pem",
        (GENOA,),
        G,
        V,
        "0a00000000001754",
    ),
    Case("azure/trustee-az-snp/hcl-report.bin", "hcl", THIM, (THIM,), M, V, "0300000000000873"),
    Case(
        "snp/constellation/aws_vlek_report.b64",
        "raw",
        "snp/constellation/aws_vlek.pem",
        ("snp/constellation/aws_certchain.pem",),
        M,
        L,
        "04000000000018d9",
    ),
    Case(
        "snp/constellation/aws_vlek_report.bin",
        "raw",
        "snp/constellation/aws_vlek.pem",
        (MILAN_VLEK,),
        M,
        L,
        "04000000000018d9",
    ),
    Case(
        "snp/constellation/azure_attestation.bin",
        "1184",
        "snp/constellation/amd_kds_vcek.der",
        ("snp/constellation/certchain_milan.pem",),
        M,
        V,
        "020000000000065d",
    ),
    # ASK and ARK from two separate files (the order of a bundle does not matter).
    Case(
        "snp/dstack/sev_snp_report.bin",
        "raw",
        "snp/dstack/sev_snp_vcek.pem",
        ("snp/amd-roots/oak_ark_milan.pem", "snp/dstack/sev_snp_ask.pem"),
        M,
        V,
        "04000000000017d5",
        datetime(2026, 7, 1, tzinfo=UTC),
    ),
    Case(
        "snp/go-sev-guest/attestation.bin",
        "raw",
        "snp/go-sev-guest/vcek.der",
        ("snp/go-sev-guest/milan_cert_chain.pem",),
        M,
        V,
        "0200000000000544",
    ),
    Case("snp/oak/cb_report.bin", "raw", "snp/oak/cb_vcek.der", (MILAN,), M, V, "04000000000018db"),
    Case(
        "snp/oak/genoa_oc_report.bin", "raw", "snp/oak/genoa_oc_vcek.der", (GENOA,), G, V, "0a00000000001954"
    ),
    Case(
        "snp/oak/milan_oc_release_report.bin",
        "raw",
        "snp/oak/milan_oc_release_vcek.der",
        (MILAN,),
        M,
        V,
        "04000000000018db",
    ),
    Case(
        "snp/oak/milan_oc_staging_report.bin",
        "raw",
        "snp/oak/milan_oc_staging_vcek.der",
        (MILAN,),
        M,
        V,
        "04000000000018db",
    ),
    Case(
        "snp/oak/milan_rk_release_report.bin",
        "raw",
        "snp/oak/milan_rk_release_vcek.der",
        (MILAN,),
        M,
        V,
        "04000000000018db",
    ),
    Case(
        "snp/oak/milan_rk_staging_report.bin",
        "raw",
        "snp/oak/milan_rk_staging_vcek.der",
        (MILAN,),
        M,
        V,
        "04000000000018db",
    ),
    Case(
        "snp/oak/turin_oc_report.bin", "raw", "snp/oak/turin_oc_vcek.der", (TURIN,), T, V, "0001000200000047"
    ),
    Case(
        "snp/trustee/e2e-evidence-genoa.report.bin",
        "raw",
        "snp/trustee/e2e-evidence-genoa.vcek.der",
        (GENOA,),
        G,
        V,
        "0a00000000001719",
    ),
    Case(
        "snp/trustee/test-report.bin",
        "raw",
        "snp/trustee/test-vcek.der",
        (TRUSTEE_MILAN,),
        M,
        V,
        "0300000000000873",
    ),
    Case(
        "snp/trustee/test-vlek-report.bin",
        "raw",
        "snp/trustee/test-vlek.der",
        (TRUSTEE_MILAN,),
        M,
        L,
        "04000000000018d9",
    ),
    Case(
        "snp/virtee-sev/report_milan.hex",
        "raw",
        "snp/virtee-sev/vcek_milan.der",
        ("snp/virtee-sev/cert_chain_milan.pem",),
        M,
        V,
        "0300000000000873",
    ),
    Case("azure/trustee-az-snp/evidence-v0.json", "json", "", (MILAN,), M, V, "04000000000018db"),
    Case("azure/trustee-az-snp/evidence-v1.json", "json", "", (MILAN,), M, V, "04000000000018db"),
    Case("azure/trustee-az-snp/evidence-v2.json", "json", "", (MILAN,), M, V, "04000000000018db"),
    Case("azure/trustee-az-snp/evidence-genoa.json", "json", "", (GENOA,), G, V, "0a00000000001754"),
]
BY_NAME = {case.name: case for case in CASES}


def _amd_ext(cert_data: bytes) -> dict[str, bytes]:
    """AMD extension values read with cryptography alone (independent of the verifier's reader)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # serial 0
        if cert_data.startswith(b"-----"):
            cert = x509.load_pem_x509_certificate(cert_data)
        else:
            cert = x509.load_der_x509_certificate(cert_data)
    return {
        ext.oid.dotted_string: ext.value.value
        for ext in cert.extensions
        if isinstance(ext.value, x509.UnrecognizedExtension)
    }


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_genuine_report_verifies_and_matches_its_certificate(case: Case) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the serial-0 warning must not leak out of the verifier
        claims = case.verify()
    ext = _amd_ext(case.cert())
    assert claims.product is case.product
    assert claims.signing_key is case.kind
    assert claims.report.reported_tcb.raw.to_bytes(8, "little").hex() == case.reported_tcb
    assert claims.product_name == ext["1.3.6.1.4.1.3704.1.2"][2:].decode()
    assert claims.ark_sha256 in {a.ark_sha256 for a in AMD_TRUST.anchors if a.product is case.product}
    assert not claims.simulated
    assert not claims.crl_checked
    assert claims.verified_at == case.at
    if case.kind is SigningKey.VCEK:
        hwid = ext["1.3.6.1.4.1.3704.1.4"]
        want = hwid[-8:] + bytes(56) if case.product is Product.TURIN else hwid[-64:]
        assert claims.report.chip_id == want
        assert claims.chip_id_checked
        assert claims.csp_id is None
    else:
        assert claims.csp_id == ext["1.3.6.1.4.1.3704.1.5"][2:].decode()
        assert not claims.chip_id_checked


def test_the_table_covers_every_offline_verifiable_report_in_the_manifest() -> None:
    manifest = corpus_file("MANIFEST.md").read_text()
    section = manifest.split("### SEV-SNP: report -> signing key -> AMD chain", 1)[1].split(
        "\nSNP reports with NO", 1
    )[0]
    listed = {
        line.split("`")[1].split("@")[0].split("#")[0]
        for line in section.splitlines()
        if line.startswith("- `")
    }
    # The JSON is the serde form of e2e-evidence-genoa.report.bin, which the table verifies.
    listed.discard("snp/trustee/e2e-evidence-genoa.json")
    assert len(listed) >= 20
    assert listed <= {case.source for case in CASES}


def test_constellation_attestation_file_is_refused_whole_as_oversized() -> None:
    data = _read("snp/constellation/azure_attestation.bin")
    assert len(data) == 1204  # the 1184-byte report plus 20 trailing bytes (verified in the table)
    with pytest.raises(FormatError) as err:
        parse_report(data)
    assert err.value.code == "snp.oversized"


# -- reports whose signing key is not in the corpus -------------------------------------------------


@pytest.mark.parametrize(
    ("source", "hcl"),
    [
        ("azure/azure-cvm-tooling/hcl-report-snp.bin", True),
        ("snp/constellation/vlek_report.bin", False),
        ("snp/openpcc/gce_sevsnp_report.bin", False),
        ("snp/tinfoil/tinfoil_sev_report.bin", False),
    ],
)
def test_report_without_a_signing_key_needs_collateral_offline(source: str, hcl: bool) -> None:
    data = _read(source)
    report = parse_report(parse_hcl_report(data).snp_report if hcl else data)
    chain = _read(MILAN_VLEK if report.signer_info.signing_key is SigningKey.VLEK else MILAN)
    with pytest.raises(CollateralUnavailableError) as err:
        verify_snp(report, SnpCollateral(chain=chain), SnpVerifyOptions(at=AT))
    assert err.value.code == "collateral.unavailable"
    assert err.value.exit_code == 3


def test_azure_tooling_vcek_belongs_to_another_chip() -> None:
    # MANIFEST: the VCEK shipped next to hcl-report-snp.bin does not verify it.
    report = parse_report(parse_hcl_report(_read("azure/azure-cvm-tooling/hcl-report-snp.bin")).snp_report)
    vcek, chain = _split_first("azure/azure-cvm-tooling/certs.pem")
    with pytest.raises(VerificationError) as err:
        verify_snp(report, SnpCollateral(signing_cert=vcek, chain=chain), SnpVerifyOptions(at=AT))
    assert err.value.code == "snp.chip_id_mismatch"


# -- AMD CRLs ---------------------------------------------------------------------------------------


def test_fresh_milan_crl_is_checked() -> None:
    claims = BY_NAME["oak/milan_oc_release_report.bin"].verify(crl=_read(MILAN_CRL))
    assert claims.crl_checked
    assert claims.crl_next_update == datetime(2026, 5, 12, tzinfo=UTC)


def test_genoa_crl_revokes_an_older_ask_not_the_current_one() -> None:
    crl = x509.load_der_x509_crl(_read(GENOA_CRL))
    assert [entry.serial_number for entry in crl] == [0x20001]
    current_ask = pem_certificates(_read(GENOA))[0]
    assert load_record(current_ask).serial == 0x20002
    claims = BY_NAME["oak/genoa_oc_report.bin"].verify(crl=_read(GENOA_CRL))
    assert claims.crl_checked


@pytest.mark.parametrize(
    ("case", "crl", "at", "code"),
    [
        ("oak/milan_oc_release_report.bin", MILAN_CRL, datetime(2026, 5, 12, tzinfo=UTC), "snp.crl_stale"),
        (
            "oak/milan_oc_release_report.bin",
            MILAN_CRL,
            datetime(2025, 5, 6, 12, 0, tzinfo=UTC),
            "snp.crl_stale",
        ),
        ("oak/genoa_oc_report.bin", GENOA_CRL, datetime(2025, 11, 3, 1, 0, tzinfo=UTC), "snp.crl_stale"),
        ("oak/milan_oc_release_report.bin", GENOA_CRL, AT, "snp.crl_invalid"),  # another product's ARK
        ("oak/genoa_oc_report.bin", MILAN_CRL, AT, "snp.crl_invalid"),
        ("trustee/test-vlek-report.bin", GENOA_CRL, AT, "snp.crl_invalid"),
    ],
)
def test_stale_or_foreign_crl_is_refused(case: str, crl: str, at: datetime, code: str) -> None:
    with pytest.raises(VerificationError) as err:
        BY_NAME[case].verify(at=at, crl=_read(crl))
    assert err.value.code == code


def test_missing_crl_is_refused_only_when_required() -> None:
    case = BY_NAME["oak/milan_oc_release_report.bin"]
    report = parse_report(case.report())
    with pytest.raises(VerificationError) as err:
        verify_snp(report, case.collateral(), SnpVerifyOptions(at=AT, require_crl=True))
    assert err.value.code == "snp.crl_required"
    assert verify_snp(
        report, case.collateral(crl=_read(MILAN_CRL)), SnpVerifyOptions(at=AT, require_crl=True)
    )


# -- tampering ------------------------------------------------------------------------------------

TAMPERED = [
    "oak/milan_oc_release_report.bin",
    "oak/genoa_oc_report.bin",
    "oak/turin_oc_report.bin",
    "trustee/test-report.bin",
    "trustee/test-vlek-report.bin",
]


def _bump(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] = (out[offset] + 1) % 256
    return bytes(out)


@pytest.mark.parametrize("name", TAMPERED)
@pytest.mark.parametrize(
    ("field", "offset", "code"),
    [
        ("report_data", 0x050, "snp.signature_invalid"),
        ("measurement", 0x090, "snp.signature_invalid"),
        ("host_data", 0x0C0, "snp.signature_invalid"),
        ("signature R", 0x2A0, "snp.signature_invalid"),
        ("signature S", 0x2A0 + 72, "snp.signature_invalid"),
        # Byte 384 is REPORTED_TCB[0] (boot loader SPL; FMC SPL on Turin). The cheap cross-check
        # against the certificate runs before the signature, so this is the code users see.
        ("REPORTED_TCB", 384, "snp.tcb_mismatch"),
    ],
)
def test_tampered_report_is_refused(name: str, field: str, offset: int, code: str) -> None:
    case = BY_NAME[name]
    with pytest.raises(VerificationError) as err:
        case.verify(report=_bump(case.report(), offset))
    assert err.value.code == code, field


def test_vcek_of_another_machine_is_refused_by_chip_id() -> None:
    # Same product and TCB, different chip: the oak "oc" report with the "rk" machine's VCEK.
    case = BY_NAME["oak/milan_oc_release_report.bin"]
    other = SnpCollateral(signing_cert=_read("snp/oak/milan_rk_release_vcek.der"), chain=_read(MILAN))
    with pytest.raises(VerificationError) as err:
        verify_snp(parse_report(case.report()), other, SnpVerifyOptions(at=AT))
    assert err.value.code == "snp.chip_id_mismatch"


@pytest.mark.parametrize(("offset", "origin"), [(40, "virtee/sev milan_chain_invalid"), (42, "trustee")])
def test_vcek_byte_change_breaks_the_chain(offset: int, origin: str) -> None:
    case = BY_NAME["trustee/test-report.bin"]
    tampered = _bump(_read("snp/trustee/test-vcek.der"), offset)
    collateral = SnpCollateral(signing_cert=tampered, chain=case.chain_pem())
    with pytest.raises(VerificationError) as err:
        verify_snp(parse_report(case.report()), collateral, SnpVerifyOptions(at=AT))
    assert err.value.code == "snp.chain_invalid", origin


def _xor(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 0x01
    return bytes(out)


def _sweep(report: AttestationReport, size: int, build: Callable[[int], SnpCollateral]) -> set[str]:
    """Flip bit 0 of each byte in turn; every variant must be refused with a stable code."""
    codes: set[str] = set()
    for offset in range(size):
        with pytest.raises(AttestgwError) as err:
            verify_snp(report, build(offset), SnpVerifyOptions(at=AT))
        codes.add(err.value.code)
    return codes


def test_every_single_bit_change_in_the_collateral_is_refused_with_a_code() -> None:
    report = parse_report(_read("snp/oak/milan_oc_release_report.bin"))
    vcek, chain, crl = _read("snp/oak/milan_oc_release_vcek.der"), _read(MILAN), _read(MILAN_CRL)
    ask, ark = pem_certificates(chain)

    def table(ask_der: bytes, ark_der: bytes) -> SnpCollateral:
        entries = [(ASK_GUID, ask_der), (ARK_GUID, ark_der)]
        return SnpCollateral(signing_cert=vcek, cert_table=parse_cert_table(serialize_cert_table(entries)))

    leaf = _sweep(report, len(vcek), lambda i: SnpCollateral(signing_cert=_xor(vcek, i), chain=chain))
    assert {"snp.chain_invalid", "snp.chip_id_mismatch", "snp.tcb_mismatch", "snp.cert_malformed"} <= leaf
    assert "snp.chain_invalid" in _sweep(report, len(ask), lambda i: table(_xor(ask, i), ark))
    assert "snp.root_not_pinned" in _sweep(report, len(ark), lambda i: table(ask, _xor(ark, i)))
    with_crl = _sweep(
        report, len(crl), lambda i: SnpCollateral(signing_cert=vcek, chain=chain, crl=_xor(crl, i))
    )
    assert with_crl == {"snp.crl_invalid"}


# -- the trustee parser-robustness certificates ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "bl", "tee", "snp", "ucode"),
    [("test-vcek-invalid-legacy.der", 3, 0, 10, 169), ("test-vcek-invalid-new.der", 0, 0, 0, 30)],
)
def test_trustee_hwid_encodings_are_read(name: str, bl: int, tee: int, snp: int, ucode: int) -> None:
    # legacy: hwID stored as 64 raw bytes; new: DER OCTET STRING 04 40 ‖ 64 bytes. Same ID either way.
    ext = amd_extensions(load_record(_read(f"snp/trustee/{name}")))
    assert ext.hwid == bytes(range(64))
    assert (ext.bl_spl, ext.tee_spl, ext.snp_spl, ext.ucode_spl, ext.fmc_spl) == (bl, tee, snp, ucode, None)
    assert ext.product_name == "Milan-B0"
    # Their TCB is not test-report.bin's, and nothing about them is trusted.
    with pytest.raises(VerificationError) as err:
        verify_snp(
            parse_report(_read("snp/trustee/test-report.bin")),
            SnpCollateral(signing_cert=_read(f"snp/trustee/{name}"), chain=_read(MILAN)),
            SnpVerifyOptions(at=AT),
        )
    assert err.value.code == "snp.tcb_mismatch"
