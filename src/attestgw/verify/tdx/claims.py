"""Inputs and outputs of TDX quote verification: options and the verified-claims type.

``verify_tdx(quote, collateral, options)`` (``attestgw.verify.tdx.quote_verifier``) returns
:class:`VerifiedTdxClaims`, which only ``attestgw.verify`` can construct (see ``verify/_seal.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from attestgw.evidence.tdx import Quote, TdQuoteBody
from attestgw.evidence.tdx_collateral import TcbStatus
from attestgw.verify._seal import check_seal
from attestgw.verify.tdx.trust import INTEL_TRUST, IntelTrustStore

__all__ = ["TdxVerifyOptions", "VerifiedTdxClaims"]


@dataclass(frozen=True, slots=True)
class TdxVerifyOptions:
    """How to verify. ``at`` is the verification time (timezone-aware); there is no default clock.

    ``trust``: the pinned Intel SGX Root CA (plus simulated roots a caller explicitly opts into).
    """

    at: datetime
    trust: IntelTrustStore = INTEL_TRUST


@dataclass(frozen=True, slots=True)
class VerifiedTdxClaims:
    """What a successful TDX verification establishes. Only ``attestgw.verify`` can construct it.

    Every field was checked: the PCK chain to the pinned root (not revoked per the verified CRLs),
    the QE report signed by the PCK key, QE REPORTDATA = SHA-256(attestation key ‖ QE auth data) ‖
    zeros, the quote signed by the attestation key, the collateral signed and fresh at
    ``verified_at``, and the TCB status derived from the PCK's SGX extension, TEE_TCB_SVN, the TDX
    module identity and the QE identity. The TCB *status* is a claim for appraisal to judge; a status
    of ``Revoked`` or a TCB level that matches nothing is refused by verification itself.
    """

    quote: Quote
    body: TdQuoteBody
    tcb_status: TcbStatus
    advisory_ids: tuple[str, ...]
    tcb_date: datetime | None
    qe_status: TcbStatus
    fmspc: str
    pce_id: str
    tcb_evaluation_data_number: int
    root_sha256: str
    pck_sha256: str
    simulated: bool
    collateral_valid_until: datetime
    verified_at: datetime
    seal: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_seal(self.seal, "VerifiedTdxClaims")
