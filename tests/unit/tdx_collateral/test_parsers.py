"""Collateral JSON and PCK-extension parsers: exact raw bytes, strictness, and fuzzing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attestgw.errors import FormatError
from attestgw.evidence.tdx_collateral import (
    SgxType,
    TcbStatus,
    parse_bundle,
    parse_qe_identity_response,
    parse_sgx_extension,
    parse_tcb_info_response,
)

SIG = "11" * 64
COMP = [{"svn": 1}] * 16
TCB = {
    "id": "TDX",
    "version": 3,
    "issueDate": "2025-01-01T00:00:00Z",
    "nextUpdate": "2025-02-01T00:00:00Z",
    "fmspc": "00806F050000",
    "pceId": "0000",
    "tcbType": 0,
    "tcbEvaluationDataNumber": 17,
    "tdxModule": {"mrsigner": "00" * 48, "attributes": "00" * 8, "attributesMask": "FF" * 8},
    "tcbLevels": [
        {
            "tcb": {"sgxtcbcomponents": COMP, "pcesvn": 11, "tdxtcbcomponents": COMP},
            "tcbDate": "2024-03-13T00:00:00Z",
            "tcbStatus": "UpToDate",
        }
    ],
}


def test_raw_tcb_info_bytes_are_kept_verbatim() -> None:
    inner = b'{ "id" : "TDX",\n "version":3' + json.dumps(TCB).encode()[len('{"id": "TDX", "version": 3') :]
    body = b'{"signature":"' + SIG.encode() + b'",  "tcbInfo":' + inner + b"  }"
    signed = parse_tcb_info_response(body)
    assert signed.raw == inner
    assert signed.tcb_info.fmspc == bytes.fromhex("00806f050000")
    assert signed.tcb_info.tcb_levels[0].tcb_status is TcbStatus.UP_TO_DATE


def test_duplicate_member_and_bad_values_are_refused() -> None:
    good = json.dumps({"tcbInfo": TCB, "signature": SIG}).encode()
    parse_tcb_info_response(good)
    for body in (
        good[:-1] + b', "signature": "' + SIG.encode() + b'"}',
        good.replace(b'"UpToDate"', b'"Fine"'),
        good.replace(b'"version": 3', b'"version": 4'),
        good.replace(SIG.encode(), b"11"),
        good.replace(b"2025-01-01T00:00:00Z", b"2025-01-01"),
    ):
        with pytest.raises(FormatError) as err:
            parse_tcb_info_response(body)
        assert err.value.code == "tdx.collateral_malformed"


def test_qe_identity_id_must_be_a_quoting_enclave() -> None:
    ident = {
        "id": "QVE",
        "version": 2,
        "issueDate": "2025-01-01T00:00:00Z",
        "nextUpdate": "2025-02-01T00:00:00Z",
        "tcbEvaluationDataNumber": 1,
        "miscselect": "00000000",
        "miscselectMask": "FFFFFFFF",
        "attributes": "11" + "00" * 15,
        "attributesMask": "FB" + "FF" * 7 + "00" * 8,
        "mrsigner": "dc" * 32,
        "isvprodid": 2,
        "tcbLevels": [{"tcb": {"isvsvn": 4}, "tcbDate": "2024-03-13T00:00:00Z", "tcbStatus": "UpToDate"}],
    }
    with pytest.raises(FormatError):
        parse_qe_identity_response(json.dumps({"enclaveIdentity": ident, "signature": SIG}).encode())
    ident["id"] = "TD_QE"
    parsed = parse_qe_identity_response(json.dumps({"enclaveIdentity": ident, "signature": SIG}).encode())
    assert parsed.qe_identity.isvprodid == 2


def test_bundle_missing_member_is_refused() -> None:
    with pytest.raises(FormatError) as err:
        parse_bundle(b'{"tcb_info": "{}"}')
    assert err.value.code == "tdx.collateral_malformed"


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    head = (
        bytes([n]) if n < 0x80 else (bytes([0x81, n]) if n < 0x100 else bytes([0x82]) + n.to_bytes(2, "big"))
    )
    return bytes([tag]) + head + body


def _oid(*arcs: int) -> bytes:
    return _tlv(0x06, bytes.fromhex("2a864886f84d010d01") + bytes(arcs))


def _ext(pcesvn: int = 11, extra: bytes = b"") -> bytes:
    comps = b"".join(_tlv(0x30, _oid(2, i) + _tlv(0x02, bytes([i]))) for i in range(1, 17))
    tcb = (
        comps
        + _tlv(0x30, _oid(2, 17) + _tlv(0x02, bytes([pcesvn])))
        + _tlv(0x30, _oid(2, 18) + _tlv(0x04, b"\x07" * 16))
    )
    body = (
        _tlv(0x30, _oid(1) + _tlv(0x04, b"\x01" * 16))
        + _tlv(0x30, _oid(2) + _tlv(0x30, tcb))
        + _tlv(0x30, _oid(3) + _tlv(0x04, b"\x00\x00"))
        + _tlv(0x30, _oid(4) + _tlv(0x04, bytes.fromhex("00806f050000")))
        + _tlv(0x30, _oid(5) + _tlv(0x0A, b"\x01"))
        + extra
    )
    return _tlv(0x30, body)


def test_sgx_extension_fields() -> None:
    ext = parse_sgx_extension(_ext())
    assert ext.sgx_tcb_components == tuple(range(1, 17))
    assert ext.pcesvn == 11
    assert ext.cpusvn == b"\x07" * 16
    assert ext.fmspc.hex() == "00806f050000"
    assert ext.sgx_type is SgxType.SCALABLE
    assert ext.configuration is None


def test_sgx_extension_duplicate_entry_is_refused() -> None:
    with pytest.raises(FormatError) as err:
        parse_sgx_extension(_ext(extra=_tlv(0x30, _oid(3) + _tlv(0x04, b"\x00\x00"))))
    assert err.value.code == "tdx.pck_extension_malformed"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=700), st.integers(min_value=0, max_value=600))
def test_fuzz_sgx_extension_only_format_error(noise: bytes, cut: int) -> None:
    data = _ext()
    for candidate in (noise, data[:cut], data[:cut] + noise):
        try:
            parse_sgx_extension(candidate)
        except FormatError as err:
            assert err.code == "tdx.pck_extension_malformed"  # noqa: PT017 - fuzz loop, not one raise


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=0, max_value=2000))
def test_fuzz_json_parsers_only_format_error(noise: bytes, cut: int) -> None:
    good = json.dumps({"tcbInfo": TCB, "signature": SIG}).encode()
    for candidate in (noise, good[:cut], good[:cut] + noise):
        for parse in (parse_tcb_info_response, parse_qe_identity_response, parse_bundle):
            try:
                parse(candidate)
            except FormatError as err:
                assert err.code == "tdx.collateral_malformed"  # noqa: PT017 - fuzz loop, not one raise
