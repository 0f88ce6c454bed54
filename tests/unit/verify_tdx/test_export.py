"""TDX claims rendering: TDATTRIBUTES decoded bit by bit, bytes as lowercase hex."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from attestgw.evidence.tdx import parse_quote
from attestgw.evidence.tdx_collateral import parse_bundle
from attestgw.verify.tdx import TdxVerifyOptions, verify_tdx
from attestgw.verify.tdx.export import claims_to_json, td_attributes_to_json
from tests.conftest import corpus_file


@pytest.mark.parametrize(
    ("value", "true_bits"),
    [
        (0, set()),
        (1, {"debug"}),
        (1 << 28, {"sept_ve_disable"}),
        ((1 << 63) | (1 << 30), {"perfmon", "pks"}),
    ],
)
def test_td_attributes_bits(value: int, true_bits: set[str]) -> None:
    out = td_attributes_to_json(value)
    assert out["raw"] == f"{value:016x}"
    assert {k for k, v in out.items() if v is True} == true_bits


def test_claims_json_names_every_field_in_lowercase_hex() -> None:
    quote = parse_quote(corpus_file("tdx/dcap-qvl/tdx_quote.bin").read_bytes())
    bundle = parse_bundle(corpus_file("tdx/dcap-qvl/tdx_quote_collateral.json").read_bytes())
    out = claims_to_json(verify_tdx(quote, bundle, TdxVerifyOptions(at=datetime(2025, 7, 10, tzinfo=UTC))))
    for key in ("mrtd", "mrseam", "mrsignerseam", "mrconfigid", "mrowner", "mrownerconfig"):
        assert len(out[key]) == 96
        assert out[key] == out[key].lower()
    assert len(out["report_data"]) == 128
    assert out["tee_tcb_svn"] == quote.raw[0x30:0x40].hex()
    assert out["tcb_status"] == "UpToDate"
    assert out["qe_status"] == "UpToDate"
    assert out["fmspc"] == "b0c06f000000"
    assert out["xfam"] == f"{int.from_bytes(quote.raw[0xB0:0xB8], 'little'):016x}"
    assert out["chain"]["simulated_root"] is False
