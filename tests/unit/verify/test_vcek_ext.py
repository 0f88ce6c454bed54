"""The AMD VCEK/VLEK extension reader: DER values, hwID forms, TCB and chip-id cross-checks."""

from __future__ import annotations

import pytest

from attestgw.errors import VerificationError
from attestgw.evidence.snp import Product, TcbParts, TcbVersion
from attestgw.verify.snp.vcek_ext import (
    AMD_OID_PREFIX,
    AmdExtensions,
    hwid_matches_chip_id,
    parse_amd_extensions,
    raw_amd_extensions,
    read_hwid,
    read_ia5,
    read_integer,
    tcb_differences,
)

CHIP = bytes(range(1, 65))


def _malformed(call: object, *args: object) -> str:
    with pytest.raises(VerificationError) as err:
        call(*args)  # type: ignore[operator]
    assert err.value.code == "snp.cert_malformed"
    return err.value.message


@pytest.mark.parametrize(
    ("der", "value"),
    [("020100", 0), ("020173", 115), ("020200d9", 217), ("02017f", 127), ("0202 0100", 256)],
)
def test_integer_values(der: str, value: int) -> None:
    assert read_integer(bytes.fromhex(der.replace(" ", ""))) == value


@pytest.mark.parametrize(
    ("der", "why"),
    [
        ("", "truncated"),
        ("02", "truncated"),
        ("0200", "0 bytes"),
        ("020180", "negative"),
        ("0202ff80", "not minimally"),
        ("02020001", "not minimally"),
        ("020101ff", "trailing"),
        ("160101", "tag"),
        ("028101", "minimally"),  # long-form length for a short value
        ("0280", "indefinite"),
        ("0203 0000", "runs past"),
        ("020a" + "01" * 10, "INTEGER of 10 bytes"),
    ],
)
def test_malformed_integers_are_cert_malformed(der: str, why: str) -> None:
    message = _malformed(read_integer, bytes.fromhex(der.replace(" ", "")))
    assert why in message


def test_integer_above_the_spl_range_is_refused() -> None:
    assert "exceeds 255" in _malformed(read_integer, bytes.fromhex("02020100"), "blSPL", 255)


def test_ia5_strings() -> None:
    assert read_ia5(b"\x16\x08Milan-B0") == "Milan-B0"
    assert read_ia5(b"\x16\x00") == ""
    assert "non-printable" in _malformed(read_ia5, b"\x16\x02M\x00")
    assert "tag" in _malformed(read_ia5, b"\x0c\x05Genoa")  # UTF8String is not IA5String
    assert "limit" in _malformed(read_ia5, b"\x16\x82\x01\x01" + b"A" * 257)


@pytest.mark.parametrize(
    ("value", "hwid"),
    [
        (CHIP, CHIP),  # legacy KDS: the 64 raw bytes
        (b"\x04\x40" + CHIP, CHIP),  # newer KDS: DER OCTET STRING
        (CHIP[:8], CHIP[:8]),  # Turin: 8 raw bytes
        (b"\x04\x08" + CHIP[:8], CHIP[:8]),  # Turin, DER-wrapped
    ],
    ids=["raw-64", "der-64", "raw-8", "der-8"],
)
def test_hwid_forms(value: bytes, hwid: bytes) -> None:
    assert read_hwid(value) == hwid


@pytest.mark.parametrize(
    "value",
    [
        b"",
        CHIP[:63],
        CHIP + b"\x00",
        b"\x04\x41" + CHIP + b"\x00",
        b"\x03\x40" + CHIP,
        b"\x04\x40" + CHIP[:63],
    ],
    ids=["empty", "63", "65", "der-65", "bitstring", "der-short"],
)
def test_malformed_hwid(value: bytes) -> None:
    _malformed(read_hwid, value)


def _ext_der(*entries: tuple[bytes, bytes, bool]) -> bytes:
    """A DER SEQUENCE OF Extension from (OID content, extnValue, critical)."""

    def tlv(tag: int, content: bytes) -> bytes:
        assert len(content) < 0x80 or len(content) < 0x100
        length = bytes([len(content)]) if len(content) < 0x80 else bytes([0x81, len(content)])
        return bytes([tag]) + length + content

    body = b"".join(
        tlv(0x30, tlv(0x06, oid) + (b"\x01\x01\xff" if critical else b"") + tlv(0x04, value))
        for oid, value, critical in entries
    )
    return tlv(0x30, body)


AMD = bytes.fromhex("2b060104019c7801")  # 1.3.6.1.4.1.3704.1


def test_raw_extensions_keep_only_amd_oids_and_decode_multi_level_arcs() -> None:
    der = _ext_der(
        (bytes.fromhex("551d0e"), b"\x04\x02ab", False),  # subjectKeyIdentifier: ignored
        (AMD + b"\x03\x08", b"\x02\x01\x73", False),
        (AMD + b"\x04", b"\x04\x40" + CHIP, True),
    )
    assert raw_amd_extensions(der) == {
        AMD_OID_PREFIX + "3.8": b"\x02\x01\x73",
        AMD_OID_PREFIX + "4": b"\x04\x40" + CHIP,
    }
    assert raw_amd_extensions(b"") == {}


@pytest.mark.parametrize(
    ("der", "why"),
    [
        (_ext_der((AMD + b"\x01", b"\x02\x01\x00", False), (AMD + b"\x01", b"\x02\x01\x01", False)), "twice"),
        (b"\x31\x00", "one SEQUENCE"),
        (b"\x30\x03\x02\x01\x00", "not a SEQUENCE"),
        (b"\x30\x05\x30\x03\x02\x01\x00", "no OID"),
        (b"\x30\x0d\x30\x0b\x06\x09" + AMD + b"\x01", "truncated"),
        (_ext_der((AMD + b"\x83", b"\x02\x01\x00", False)), "inside an arc"),
    ],
)
def test_malformed_extension_lists_are_cert_malformed(der: bytes, why: str) -> None:
    assert why in _malformed(raw_amd_extensions, der)


def _milan_raw(**override: bytes) -> dict[str, bytes]:
    raw = {
        AMD_OID_PREFIX + "1": b"\x02\x01\x00",
        AMD_OID_PREFIX + "2": b"\x16\x08Milan-B0",
        AMD_OID_PREFIX + "3.1": b"\x02\x01\x03",
        AMD_OID_PREFIX + "3.2": b"\x02\x01\x00",
        AMD_OID_PREFIX + "3.3": b"\x02\x01\x08",
        AMD_OID_PREFIX + "3.4": b"\x02\x01\x00",
        AMD_OID_PREFIX + "3.8": b"\x02\x01\x73",
        AMD_OID_PREFIX + "4": CHIP,
    }
    raw.update({AMD_OID_PREFIX + k.replace("_", "."): v for k, v in override.items()})
    return raw


def test_parse_a_milan_vcek_set() -> None:
    ext = parse_amd_extensions(_milan_raw())
    assert ext == AmdExtensions(
        struct_version=0,
        product_name="Milan-B0",
        bl_spl=3,
        tee_spl=0,
        snp_spl=8,
        ucode_spl=115,
        fmc_spl=None,
        hwid=CHIP,
        csp_id=None,
    )


def test_reserved_spl_must_still_be_an_integer() -> None:
    assert "spl_4" in _malformed(parse_amd_extensions, _milan_raw(**{"3_4": b"\x04\x01\x00"}))


def test_spl_above_a_byte_is_refused() -> None:
    assert "ucodeSPL" in _malformed(parse_amd_extensions, _milan_raw(**{"3_8": b"\x02\x02\x01\x00"}))


# -- TCB: REPORTED_TCB decoded with the product's layout ---------------------------------------------

MILAN_TCB = TcbVersion.from_parts(TcbParts(bootloader=3, tee=0, snp=8, microcode=115), Product.MILAN)
TURIN_PARTS = TcbParts(fmc=0, bootloader=1, tee=0, snp=2, microcode=71)
TURIN_TCB = TcbVersion.from_parts(TURIN_PARTS, Product.TURIN)


def _ext(**spls: int | None) -> AmdExtensions:
    base: dict[str, int | None] = {"bl_spl": 3, "tee_spl": 0, "snp_spl": 8, "ucode_spl": 115, "fmc_spl": None}
    base.update(spls)
    return AmdExtensions(
        struct_version=0,
        product_name=None,
        hwid=CHIP,
        csp_id=None,
        **base,
    )


def test_milan_tcb_matches_component_wise() -> None:
    assert MILAN_TCB.hex() == "7308000000000003"
    assert tcb_differences(_ext(), MILAN_TCB.parts(Product.MILAN), Product.MILAN) == []


@pytest.mark.parametrize(
    ("field", "component"),
    [("bl_spl", "bootloader"), ("tee_spl", "tee"), ("snp_spl", "snp"), ("ucode_spl", "microcode")],
)
def test_each_milan_spl_is_compared(field: str, component: str) -> None:
    wrong = {"bl_spl": 4, "tee_spl": 1, "snp_spl": 9, "ucode_spl": 116}[field]
    diffs = tcb_differences(_ext(**{field: wrong}), MILAN_TCB.parts(Product.MILAN), Product.MILAN)
    assert len(diffs) == 1
    assert diffs[0].startswith(component)


def test_missing_spl_extension_is_a_difference_not_a_match() -> None:
    assert tcb_differences(_ext(snp_spl=None), MILAN_TCB.parts(Product.MILAN), Product.MILAN) == [
        "snp: certificate absent, REPORTED_TCB 8"
    ]


def test_fmc_is_ignored_before_turin() -> None:
    assert tcb_differences(_ext(fmc_spl=9), MILAN_TCB.parts(Product.MILAN), Product.MILAN) == []


def test_turin_uses_its_own_layout_and_compares_fmc() -> None:
    turin = _ext(fmc_spl=0, bl_spl=1, tee_spl=0, snp_spl=2, ucode_spl=71)
    assert tcb_differences(turin, TURIN_TCB.parts(Product.TURIN), Product.TURIN) == []
    assert tcb_differences(
        _ext(fmc_spl=1, bl_spl=1, tee_spl=0, snp_spl=2, ucode_spl=71), TURIN_PARTS, Product.TURIN
    )
    assert tcb_differences(
        _ext(fmc_spl=None, bl_spl=1, tee_spl=0, snp_spl=2, ucode_spl=71), TURIN_PARTS, Product.TURIN
    )
    # The same u64 read with the Milan layout would put the boot loader SPL in byte 0 (= FMC 0).
    assert tcb_differences(turin, TURIN_TCB.parts(Product.MILAN), Product.MILAN)


# -- hwID vs CHIP_ID ------------------------------------------------------------------------------


def test_64_byte_hwid_must_equal_chip_id() -> None:
    assert hwid_matches_chip_id(CHIP, CHIP, Product.MILAN)
    assert hwid_matches_chip_id(CHIP, CHIP, Product.TURIN)
    assert not hwid_matches_chip_id(CHIP, CHIP[:-1] + b"\x00", Product.GENOA)


def test_turin_8_byte_hwid_names_the_first_8_bytes_and_the_rest_is_zero() -> None:
    chip = CHIP[:8] + bytes(56)
    assert hwid_matches_chip_id(CHIP[:8], chip, Product.TURIN)
    assert not hwid_matches_chip_id(CHIP[:8], CHIP, Product.TURIN)  # bytes 8..63 must be zero
    assert not hwid_matches_chip_id(CHIP[1:9], chip, Product.TURIN)


def test_8_byte_hwid_is_only_valid_on_turin() -> None:
    assert not hwid_matches_chip_id(CHIP[:8], CHIP[:8] + bytes(56), Product.MILAN)
    assert not hwid_matches_chip_id(CHIP[:8], CHIP[:8] + bytes(56), Product.GENOA)
