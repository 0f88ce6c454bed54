"""Verified TDX claims for appraisal tests, built from real corpus quotes.

Appraisal accepts only ``VerifiedTdxClaims``, which only ``attestgw.verify`` may build. These tests
build them directly with ``SEAL`` from the private ``attestgw.verify._seal`` module: that explicit
reach is acceptable in tests only (review rule), and it keeps appraisal tests independent of
certificates, collateral and signatures, which the verify tests cover. The quote bytes are real
(``../shared/corpus``); the TCB fields are set per test, since computing them is verification's job.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from attestgw.appraisal import TdxPolicy, parse_tdx_policy
from attestgw.evidence.tdx import TdQuoteBody, parse_quote
from attestgw.evidence.tdx_collateral import TcbStatus
from attestgw.verify._seal import SEAL  # tests only: see the module docstring
from attestgw.verify.tdx import INTEL_SGX_ROOT_SHA256
from attestgw.verify.tdx.claims import VerifiedTdxClaims
from tests.conftest import corpus_file

VERIFIED_AT = datetime(2025, 11, 1, 12, 0, tzinfo=UTC)
#: A GCE COS TDX quote with its own CC event log next to it (MANIFEST: the CCEL replays to it).
COS_QUOTE = "tdx/go-tdx-guest/ccel/cos-113-tdx-quote.dat"
COS_CCEL = "tdx/go-tdx-guest/ccel/ccel_data.dat"
#: trustee's tdx_quote_4.dat: a real TD with TDATTRIBUTES.DEBUG set.
DEBUG_QUOTE = "tdx/trustee/tdx_quote_4.dat"
#: trustee's Azure capture: TDATTRIBUTES all zero (SEPT_VE_DISABLE clear).
NO_SEPT_QUOTE = "azure/trustee-az-tdx/td-quote.bin"
ZERO48 = "00" * 48


def claims_from(
    rel: str,
    *,
    status: TcbStatus = TcbStatus.UP_TO_DATE,
    advisories: tuple[str, ...] = (),
    simulated: bool = False,
    root_sha256: str = INTEL_SGX_ROOT_SHA256,
    **body_overrides: Any,
) -> VerifiedTdxClaims:
    """Claims for the corpus quote ``rel`` (skips when absent); ``body_overrides`` replace body fields."""
    quote = parse_quote(corpus_file(rel).read_bytes(), allow_trailing=True)
    body = quote.td_body
    assert body is not None, f"{rel} is not a TD quote"
    if body_overrides:
        body = dataclasses.replace(body, **body_overrides)
    return VerifiedTdxClaims(
        quote=quote,
        body=body,
        tcb_status=status,
        advisory_ids=advisories,
        tcb_date=None,
        qe_status=TcbStatus.UP_TO_DATE,
        fmspc="00806f050000",
        pce_id="0000",
        tcb_evaluation_data_number=17,
        root_sha256=root_sha256,
        pck_sha256="ab" * 32,
        simulated=simulated,
        collateral_valid_until=datetime(2025, 11, 12, tzinfo=UTC),
        verified_at=VERIFIED_AT,
        seal=SEAL,
    )


def exact_policy(body: TdQuoteBody, extra: str = "", *, rtmrs: bool = True) -> TdxPolicy:
    """A policy that pins every value of ``body`` (so it affirms exactly that body), plus ``extra``."""
    lines = [
        "[policy]",
        'id = "exact"',
        'version = "1"',
        "[tdx]",
        f'mrtds = ["{body.mr_td.hex()}"]',
        f'mrconfigids = ["{body.mr_config_id.hex()}"]',
        f'mrowners = ["{body.mr_owner.hex()}"]',
        f'mrownerconfigs = ["{body.mr_owner_config.hex()}"]',
        f'mrseams = ["{body.mr_seam.hex()}"]',
        f'mrsignerseams = ["{body.mr_signer_seam.hex()}"]',
        f'xfam = "{body.xfam:016x}"',
        f'allowed_td_attributes_mask = "{body.td_attributes:016x}"',
        f'minimum_tee_tcb_svn = "{body.tee_tcb_svn.hex()}"',
        f'expected_report_data = "{body.report_data.hex()}"',
    ]
    if rtmrs:
        lines += [f'rtmr{i} = ["{r.hex()}"]' for i, r in enumerate(body.rtmrs)]
    return parse_tdx_policy(("\n".join(lines) + "\n" + extra).encode(), source="exact.toml")
