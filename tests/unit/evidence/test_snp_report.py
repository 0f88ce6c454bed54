"""The SEV-SNP report parser on real corpus reports and on synthetic edge cases."""

from __future__ import annotations

import base64
import dataclasses
import struct

import pytest

from attestgw.errors import FormatError
from attestgw.evidence.snp import (
    REPORT_SIZE,
    Product,
    SigningKey,
    TcbParts,
    TcbVersion,
    parse_hcl_report,
    parse_report,
    serialize_report,
)
from tests.conftest import corpus_file

# (corpus path, version, product from CPUID or None for v2, signing key, reported TCB as printed by AMD tools)
REAL_REPORTS = [
    ("snp/oak/milan_oc_release_report.bin", 3, Product.MILAN, SigningKey.VCEK, "db18000000000004"),
    ("snp/oak/genoa_oc_report.bin", 5, Product.GENOA, SigningKey.VCEK, "541900000000000a"),
    ("snp/oak/turin_oc_report.bin", 5, Product.TURIN, SigningKey.VCEK, "4700000002000100"),
    ("snp/openpcc/gce_sevsnp_report.bin", 4, Product.MILAN, SigningKey.VCEK, "db19000000000004"),
    ("snp/trustee/test-report.bin", 2, None, SigningKey.VCEK, "7308000000000003"),
    ("snp/trustee/test-vlek-report.bin", 3, Product.MILAN, SigningKey.VLEK, "d918000000000004"),
    ("snp/trustee/e2e-evidence-genoa.report.bin", 3, Product.GENOA, SigningKey.VCEK, "191700000000000a"),
    ("snp/virtee-sev/report_milan.hex", 2, None, SigningKey.VCEK, "7308000000000003"),
    ("snp/constellation/aws_vlek_report.b64", 3, Product.MILAN, SigningKey.VLEK, "d918000000000004"),
]


def _load(rel: str) -> bytes:
    return corpus_file(rel).read_bytes()


def _synthetic(version: int = 3) -> bytes:
    """A minimal structurally valid report (unsigned content, non-zero signature)."""
    out = bytearray(REPORT_SIZE)
    struct.pack_into("<I", out, 0x000, version)
    struct.pack_into("<Q", out, 0x008, 0x30000)
    struct.pack_into("<I", out, 0x034, 1)
    if version >= 3:
        out[0x188:0x18B] = b"\x19\x01\x01"
    out[0x2A0] = 1
    out[0x2A0 + 72] = 1
    return bytes(out)


@pytest.mark.parametrize(("rel", "version", "product", "key", "tcb"), REAL_REPORTS)
def test_real_reports_parse_and_round_trip(
    rel: str, version: int, product: Product | None, key: SigningKey, tcb: str
) -> None:
    report = parse_report(_load(rel))
    assert report.version == version
    assert report.cpuid_product is product
    assert report.signer_info.signing_key is key
    assert report.reported_tcb.hex() == tcb
    assert serialize_report(report) == report.raw
    assert len(report.raw) == REPORT_SIZE
    assert not report.policy.debug_allowed


def test_turin_tcb_layout_differs_from_milan() -> None:
    report = parse_report(_load("snp/oak/turin_oc_report.bin"))
    # Turin VCEK for this report (oak turin_oc_vcek.der) says fmc 0, bl 1, tee 0, snp 2, ucode 0x47.
    assert report.reported_tcb.parts(Product.TURIN) == TcbParts(
        fmc=0, bootloader=1, tee=0, snp=2, microcode=0x47
    )
    milan = parse_report(_load("snp/oak/milan_oc_release_report.bin"))
    assert milan.reported_tcb.parts(Product.MILAN) == TcbParts(bootloader=4, tee=0, snp=0x18, microcode=0xDB)


def test_v5_mitigation_vectors_and_v3_has_none() -> None:
    v5 = parse_report(_load("snp/oak/genoa_oc_report.bin"))
    assert v5.launch_mit_vector is not None
    assert v5.current_mit_vector is not None
    v3 = parse_report(_load("snp/oak/milan_oc_release_report.bin"))
    assert v3.launch_mit_vector is None


def test_hcl_envelope_yields_the_snp_report() -> None:
    hcl = parse_hcl_report(_load("azure/openpcc/azure_sevsnp_hcl_report.bin"))
    report = parse_report(hcl.snp_report)
    assert report.version == 3
    assert report.cpuid_product is Product.GENOA
    assert hcl.runtime_data.startswith(b"{")


def test_hcl_envelope_with_a_tdx_report_is_refused() -> None:
    with pytest.raises(FormatError) as err:
        parse_hcl_report(_load("azure/openpcc/azure_tdx_hcl_report.bin"))
    assert err.value.code == "snp.hcl_invalid"


def test_hex_and_base64_inputs_are_detected() -> None:
    raw = _synthetic()
    assert parse_report(raw.hex().encode()).raw == raw
    assert parse_report((raw.hex().upper() + "\n").encode()).raw == raw
    assert parse_report(base64.b64encode(raw)).raw == raw
    assert parse_report(base64.urlsafe_b64encode(raw).rstrip(b"=")).raw == raw


@pytest.mark.parametrize(
    ("case", "mutate", "code"),
    [
        ("truncated", lambda b: b[:-1], "snp.truncated"),
        ("empty", lambda b: b"", "snp.truncated"),
        ("oversized", lambda b: b + b"\x00", "snp.oversized"),
        ("version 1", lambda b: struct.pack("<I", 1) + b[4:], "snp.unknown_version"),
        ("version 6", lambda b: struct.pack("<I", 6) + b[4:], "snp.unknown_version"),
        ("reserved 0x4c", lambda b: b[:0x4C] + b"\x01" + b[0x4D:], "snp.reserved_nonzero"),
        ("reserved 0x208", lambda b: b[:0x208] + b"\x01" + b[0x209:], "snp.reserved_nonzero"),
        ("signature padding", lambda b: b[: 0x2A0 + 50] + b"\x01" + b[0x2A0 + 51 :], "snp.reserved_nonzero"),
        ("policy bit 17 clear", lambda b: b[:8] + struct.pack("<Q", 0x10000) + b[16:], "snp.policy_invalid"),
        (
            "policy MBZ bit",
            lambda b: b[:8] + struct.pack("<Q", 0x30000 | 1 << 40) + b[16:],
            "snp.policy_invalid",
        ),
        (
            "sig algo 2",
            lambda b: b[:0x34] + struct.pack("<I", 2) + b[0x38:],
            "snp.signature_algo_unsupported",
        ),
        (
            "signing key 3",
            lambda b: b[:0x48] + struct.pack("<I", 3 << 2) + b[0x4C:],
            "snp.signer_info_invalid",
        ),
        ("signer MBZ", lambda b: b[:0x48] + struct.pack("<I", 1 << 5) + b[0x4C:], "snp.signer_info_invalid"),
    ],
)
def test_malformed_reports_give_distinct_codes(case: str, mutate: object, code: str) -> None:
    assert callable(mutate)
    with pytest.raises(FormatError) as err:
        parse_report(mutate(_synthetic()))
    assert err.value.code == code, case


def test_v2_cpuid_bytes_are_reserved_but_v3_fields() -> None:
    v2 = bytearray(_synthetic(2))
    v2[0x188] = 0x19
    with pytest.raises(FormatError) as err:
        parse_report(bytes(v2))
    assert err.value.code == "snp.reserved_nonzero"
    assert parse_report(_synthetic(3)).cpuid_fam_id == 0x19


def test_mitigation_vector_bytes_reserved_before_v5() -> None:
    v4 = bytearray(_synthetic(4))
    v4[0x1F8] = 1
    with pytest.raises(FormatError):
        parse_report(bytes(v4))
    v5 = bytearray(_synthetic(5))
    v5[0x1F8] = 1
    assert parse_report(bytes(v5)).launch_mit_vector == 1


def test_serialize_uses_field_values() -> None:
    report = parse_report(_synthetic())
    changed = dataclasses.replace(report, vmpl=2, measurement=b"\xaa" * 48)
    again = parse_report(serialize_report(changed))
    assert again.vmpl == 2
    assert again.measurement == b"\xaa" * 48


def test_tcb_from_parts_round_trips_per_product() -> None:
    parts = TcbParts(fmc=1, bootloader=2, tee=3, snp=4, microcode=5)
    for product in Product:
        encoded = TcbVersion.from_parts(parts, product)
        decoded = encoded.parts(product)
        assert decoded.bootloader == 2
        assert decoded.microcode == 5
        assert (decoded.fmc == 1) is product.has_fmc


def test_tcb_comparison_is_component_wise() -> None:
    got = TcbParts(bootloader=9, tee=0, snp=30, microcode=200)
    want = TcbParts(bootloader=3, tee=0, snp=8, microcode=209)
    # As one integer got > want, but microcode is below the minimum.
    assert got.below(want) == ["microcode"]
