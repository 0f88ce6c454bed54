"""Intel PCS collateral for TDX and SGX quotes (formats.md §3.5-3.6): parse only, no crypto.

TCB info (TDX v3, SGX v2/v3), QE identity v2 (TD_QE, QE), the collateral bundle JSON and raw PCS
responses, and the PCK certificate's SGX extension. Everything here is unverified until
``attestgw.verify.tdx`` has checked it.
"""

from attestgw.evidence.tdx_collateral._fields import TcbStatus
from attestgw.evidence.tdx_collateral.bundle import CollateralBundle, bundle_from_pcs_files, parse_bundle
from attestgw.evidence.tdx_collateral.pck_ext import (
    SGX_EXTENSION_OID,
    PlatformConfiguration,
    SgxExtension,
    SgxType,
    parse_sgx_extension,
)
from attestgw.evidence.tdx_collateral.qe_identity import (
    QeIdentity,
    QeTcbLevel,
    SignedQeIdentity,
    parse_qe_identity,
    parse_qe_identity_response,
)
from attestgw.evidence.tdx_collateral.tcb_info import (
    ModuleTcbLevel,
    SignedTcbInfo,
    TcbInfo,
    TcbLevel,
    TdxModule,
    TdxModuleIdentity,
    parse_tcb_info,
    parse_tcb_info_response,
)

__all__ = [
    "SGX_EXTENSION_OID",
    "CollateralBundle",
    "ModuleTcbLevel",
    "PlatformConfiguration",
    "QeIdentity",
    "QeTcbLevel",
    "SgxExtension",
    "SgxType",
    "SignedQeIdentity",
    "SignedTcbInfo",
    "TcbInfo",
    "TcbLevel",
    "TcbStatus",
    "TdxModule",
    "TdxModuleIdentity",
    "bundle_from_pcs_files",
    "parse_bundle",
    "parse_qe_identity",
    "parse_qe_identity_response",
    "parse_sgx_extension",
    "parse_tcb_info",
    "parse_tcb_info_response",
]
