"""Real Intel TDX / SGX quotes from the shared corpus, verified with the collateral MANIFEST names.

For every quote in MANIFEST.md's "TDX / SGX: quote + complete PCS collateral" section the test
builds the :class:`CollateralBundle` from the separate files named there (TCB info, QE identity,
PCK CRL, root CRL and the issuer chains Intel served them with) and verifies at the middle of the
common validity window:

- TD quotes verify, with the TCB status in :data:`EXPECTED`. Where a source states a status it is
  cited; the others record what Intel's QVL algorithm (formats.md §3.7) yields here, as regression
  values. Quotes whose PCK SGX component 8 (3) is below every TCB level of the named TCB info (5)
  get ``tdx.tcb_level_unsupported``, Intel QVL's TCB_NOT_SUPPORTED: every signature, chain, CRL
  and binding step before it passed (the TCB match is the last step).
- SGX quotes are refused with ``tdx.not_a_td_quote``.
- One day after the window the collateral is expired: ``tdx.collateral_expired``, a
  :class:`CollateralUnavailableError` (CLI exit 3).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from attestgw.errors import CollateralUnavailableError, VerificationError
from attestgw.evidence.tdx import parse_quote
from attestgw.evidence.tdx_collateral import TcbStatus, parse_tcb_info_response
from attestgw.verify.tdx import INTEL_SGX_ROOT_SHA256, TdxVerifyOptions, verify_tdx
from tests.conformance._tdx_manifest import CORPUS, Combination, bundle_for, combinations, read

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not (CORPUS / "MANIFEST.md").is_file(), reason=f"shared corpus not found at {CORPUS}"),
]

_S = TcbStatus
_UNSUPPORTED = "tdx.tcb_level_unsupported"
_OUTDATED_SA = ("INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986")
_OUTDATED_SA_90C = ("INTEL-SA-01036", "INTEL-SA-01079", "INTEL-SA-01099", "INTEL-SA-01103", "INTEL-SA-01111")

#: quote → (TCB status, advisory IDs) or the refusal code.
EXPECTED: dict[str, tuple[TcbStatus, tuple[str, ...]] | str] = {
    # dcap-qvl's sample: UpToDate with its own collateral (MANIFEST: "dcap-qvl UpToDate").
    "tdx/dcap-qvl/tdx_quote.bin": (_S.UP_TO_DATE, ()),
    # dcap-qvl's "outdated" fixture: not UpToDate (MANIFEST); QVL: TCB_NOT_SUPPORTED.
    "tdx/dcap-qvl/tdx_quote_outdated.bin": _UNSUPPORTED,
    # go-tdx-guest: its sample TCB info does not match SPR_E4 as-is (MANIFEST note).
    "tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat": _UNSUPPORTED,
    "tdx/trustee/tdx_quote_4.dat": (_S.UP_TO_DATE, ()),
    # Regression values (no source states a status for these combinations).
    "azure/openpcc/azure_tdx_quote.bin": (_S.UP_TO_DATE, ()),
    "azure/trustee-az-tdx/td-quote.bin": (_S.OUT_OF_DATE, _OUTDATED_SA),
    "tdx/automata/2025-06/alibaba_quote_v5.bin": (_S.OUT_OF_DATE, _OUTDATED_SA_90C),
    "tdx/automata/2025-06/tdx_quote_v4.bin": (_S.OUT_OF_DATE, _OUTDATED_SA),
    "tdx/automata/samples/quotev4.hex": (_S.OUT_OF_DATE, _OUTDATED_SA),
    "tdx/automata/samples/quotev5.bin": (_S.OUT_OF_DATE, _OUTDATED_SA_90C),
    "tdx/automata/solana/quote_tdx.bin": (_S.OUT_OF_DATE, _OUTDATED_SA),
    "tdx/automata/tdx_quote_v5_extra.bin": _UNSUPPORTED,
    "tdx/dcap-qvl/quote-from-tappd.hex": _UNSUPPORTED,
    "tdx/dcap-qvl/tdx-quote.hex": _UNSUPPORTED,
    "tdx/dstack/ra-tls_tdx_quote.bin": _UNSUPPORTED,
    "tdx/go-tdx-guest/ccel/cos-113-tdx-quote.dat": (_S.UP_TO_DATE, ()),
    "tdx/go-tdx-guest/quote_v5_sample.dat": (_S.UP_TO_DATE, ()),
    "tdx/oak/tdx_oc_quote.bin": (_S.UP_TO_DATE, ()),
    "tdx/openpcc/gce_tdx_quote.bin": (_S.UP_TO_DATE, ()),
    "tdx/phala-dstack/simulator_quote.hex": _UNSUPPORTED,
    "tdx/tinfoil/tinfoil_tdx_quote.bin": (_S.UP_TO_DATE, ()),
    "tdx/trustee/tdx_quote_5.dat": _UNSUPPORTED,
    "tdx/trustee/tdx_quote_6.dat": (_S.OUT_OF_DATE, ()),
}

COMBINATIONS = combinations()
TDX = [c for c in COMBINATIONS if c.tdx]
SGX = [c for c in COMBINATIONS if not c.tdx]


def _verify(combo: Combination, at_offset: timedelta = timedelta(0)):  # type: ignore[no-untyped-def]
    quote = parse_quote(read(combo.quote), allow_trailing=True)
    return verify_tdx(quote, bundle_for(combo), TdxVerifyOptions(at=combo.inside + at_offset))


def test_manifest_lists_every_expected_quote() -> None:
    assert {c.quote for c in TDX} == set(EXPECTED)
    assert len(SGX) == 5
    assert not any(c.pck_revoked for c in COMBINATIONS)


@pytest.mark.parametrize("combo", TDX, ids=lambda c: c.quote)
def test_td_quote_verifies_inside_the_window(combo: Combination) -> None:
    expected = EXPECTED[combo.quote]
    if isinstance(expected, str):
        with pytest.raises(VerificationError) as err:
            _verify(combo)
        assert err.value.code == expected
        return
    claims = _verify(combo)
    assert (claims.tcb_status, claims.advisory_ids) == expected
    assert claims.fmspc == combo.fmspc
    assert claims.root_sha256 == INTEL_SGX_ROOT_SHA256
    assert not claims.simulated
    assert claims.verified_at == combo.inside
    assert combo.inside < claims.collateral_valid_until


@pytest.mark.parametrize("combo", SGX, ids=lambda c: c.quote)
def test_sgx_quote_is_not_a_td_quote(combo: Combination) -> None:
    with pytest.raises(VerificationError) as err:
        _verify(combo)
    assert err.value.code == "tdx.not_a_td_quote"


@pytest.mark.parametrize("combo", TDX, ids=lambda c: c.quote)
def test_collateral_after_the_window_is_expired(combo: Combination) -> None:
    after = combo.end - combo.inside + timedelta(days=1)
    with pytest.raises(CollateralUnavailableError) as err:
        _verify(combo, after)
    assert err.value.code == "tdx.collateral_expired"
    assert err.value.exit_code == 3


def test_tampered_quote_signature_is_refused() -> None:
    combo = next(c for c in TDX if c.quote == "tdx/dcap-qvl/tdx_quote.bin")
    raw = bytearray(read(combo.quote))
    raw[0x30] ^= 0x01  # TEE_TCB_SVN[0], inside the signed body
    quote = parse_quote(bytes(raw))
    with pytest.raises(VerificationError) as err:
        verify_tdx(quote, bundle_for(combo), TdxVerifyOptions(at=combo.inside))
    assert err.value.code == "tdx.quote_signature_invalid"


def test_collateral_for_another_platform_is_fmspc_mismatch() -> None:
    # trustee's quote 6 (fmspc 00a06d080000) with go-tdx-guest's TCB info for 90c06f000000,
    # both valid on 2026-02-05.
    combo = next(c for c in TDX if c.quote == "tdx/trustee/tdx_quote_6.dat")
    other = parse_tcb_info_response(read("tdx/go-tdx-guest/collateral/tcbInfo_90c06f000000.json"))
    bundle = dataclasses.replace(bundle_for(combo), tcb_info=other)
    at = datetime(2026, 2, 5, tzinfo=UTC)
    verify_tdx(parse_quote(read(combo.quote)), bundle_for(combo), TdxVerifyOptions(at=at))
    with pytest.raises(VerificationError) as err:
        verify_tdx(parse_quote(read(combo.quote)), bundle, TdxVerifyOptions(at=at))
    assert err.value.code == "tdx.fmspc_mismatch"
