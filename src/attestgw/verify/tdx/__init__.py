"""Intel TDX (and SGX) collateral verification and TCB evaluation (formats.md §3.5-3.8).

``verify_collateral`` checks Intel PCS collateral at an injected time against the pinned Intel SGX
Root CA; ``evaluate_tcb`` / ``evaluate_qe_identity`` / ``combine_with_qe`` derive the TCB status the
way Intel's QVL does; ``verify_tdx`` verifies a quote with them into ``VerifiedTdxClaims``. No network
access here.
"""

from attestgw.verify.tdx.claims import TdxVerifyOptions, VerifiedTdxClaims
from attestgw.verify.tdx.collateral import (
    VerifiedCollateral,
    verify_collateral,
    verify_crl,
    verify_signed_json,
)
from attestgw.verify.tdx.pck import pck_sgx_extension
from attestgw.verify.tdx.qe import QeEvaluation, evaluate_qe_identity
from attestgw.verify.tdx.quote_verifier import clear_caches, verify_tdx
from attestgw.verify.tdx.tcb import TcbEvaluation, combine_with_qe, evaluate_tcb
from attestgw.verify.tdx.trust import INTEL_SGX_ROOT_SHA256, INTEL_TRUST, IntelTrustAnchor, IntelTrustStore

__all__ = [
    "INTEL_SGX_ROOT_SHA256",
    "INTEL_TRUST",
    "IntelTrustAnchor",
    "IntelTrustStore",
    "QeEvaluation",
    "TcbEvaluation",
    "TdxVerifyOptions",
    "VerifiedCollateral",
    "VerifiedTdxClaims",
    "clear_caches",
    "combine_with_qe",
    "evaluate_qe_identity",
    "evaluate_tcb",
    "pck_sgx_extension",
    "verify_collateral",
    "verify_crl",
    "verify_signed_json",
    "verify_tdx",
]
