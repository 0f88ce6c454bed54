"""TCB level matching and status convergence for TDX and SGX, as Intel's QVL does it (formats.md §3.7).

:func:`evaluate_tcb` (QVL ``TcbLevelCheck`` / ``TdxModuleCheck``):

1. The TCB info is for the platform: FMSPC and PCE-ID equal the PCK certificate's, and a TDX TCB
   info comes with a 16-byte TEE_TCB_SVN, an SGX one without (``tdx.tcb_info_mismatch``).
2. Walk ``tcbLevels`` in the order given (Intel sorts them descending): the first level whose 16
   SGX components and PCESVN are all ≤ the PCK certificate's and, for TDX, whose TDX components
   are all ≤ TEE_TCB_SVN — skipping indices 0 and 1 when TEE_TCB_SVN[1] > 0, because those then
   describe the module, checked in step 3. None → ``tdx.tcb_level_unsupported``.
3. TDX with TEE_TCB_SVN[1] (module major version) > 0: the ``tdxModuleIdentities`` entry with id
   ``TDX_%02X`` (case-insensitive) must exist (``tdx.module_identity_mismatch``); its first level
   with ``isvsvn ≤ TEE_TCB_SVN[0]`` gives the module status (none → ``tdx.tcb_level_unsupported``).
   Convergence: module OutOfDate turns UpToDate/SWHardeningNeeded into OutOfDate and the
   configuration variants into OutOfDateConfigurationNeeded; module Revoked → Revoked; otherwise
   the platform status stands. (go-tdx-guest returns the module status directly; we follow QVL.)
4. If the caller passes MRSIGNERSEAM / SEAMATTRIBUTES, they must equal the module identity's (or,
   for version 0, ``tdxModule``'s) mrsigner and masked attributes (``tdx.module_identity_mismatch``).

:func:`combine_with_qe` folds a QE identity result in (QVL ``convergeTcbStatusWithQeTcbStatus``):
QE OutOfDate downgrades as in step 3, QE Revoked → Revoked; advisory IDs are the union (as
dcap-qvl and QVL's supplemental data report them) and ``tcb_date`` the earlier of the two.

Not implemented: the TDX 1.5 ``TDRelaunchAdvised`` statuses QVL derives from TEE_TCB_SVN2 and TCB
evaluation-number history. Not checked: collateral signatures and freshness (:mod:`.collateral`).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from datetime import datetime

from attestgw.errors import VerificationError
from attestgw.evidence.tdx_collateral import (
    ModuleTcbLevel,
    SgxExtension,
    TcbInfo,
    TcbLevel,
    TcbStatus,
    TdxModule,
)
from attestgw.verify.tdx.qe import QeEvaluation

__all__ = ["TcbEvaluation", "combine_with_qe", "evaluate_tcb"]

_S = TcbStatus
_CONFIG = {_S.CONFIGURATION_NEEDED, _S.CONFIGURATION_AND_SW_HARDENING_NEEDED}
_CURRENT = {_S.UP_TO_DATE, _S.SW_HARDENING_NEEDED}


@dataclass(frozen=True, slots=True)
class TcbEvaluation:
    """The converged status, its advisory IDs and date, and the levels that produced it."""

    status: TcbStatus
    advisory_ids: tuple[str, ...]
    tcb_date: datetime
    level: TcbLevel
    module_level: ModuleTcbLevel | None
    qe_status: TcbStatus | None = None


def _downgrade(platform: TcbStatus, other: TcbStatus) -> TcbStatus:
    """QVL's convergence of the platform status with a module or QE status."""
    if other is _S.REVOKED:
        return _S.REVOKED
    if other is _S.OUT_OF_DATE:
        if platform in _CURRENT:
            return _S.OUT_OF_DATE
        if platform in _CONFIG:
            return _S.OUT_OF_DATE_CONFIGURATION_NEEDED
    return platform


def _platform_level(info: TcbInfo, pck: SgxExtension, tee_tcb_svn: bytes | None) -> TcbLevel:
    skip = 2 if tee_tcb_svn is not None and tee_tcb_svn[1] > 0 else 0
    for level in info.tcb_levels:
        if level.pcesvn > pck.pcesvn:
            continue
        if any(want > have for want, have in zip(level.sgx_components, pck.sgx_tcb_components, strict=True)):
            continue
        if tee_tcb_svn is not None and level.tdx_components is not None:
            pairs = zip(level.tdx_components[skip:], tee_tcb_svn[skip:], strict=True)
            if any(want > have for want, have in pairs):
                continue
        return level
    raise VerificationError(
        "tdx.tcb_level_unsupported",
        f"no TCB level matches SGX components {list(pck.sgx_tcb_components)} pcesvn {pck.pcesvn}"
        + (f" TEE_TCB_SVN {tee_tcb_svn.hex()}" if tee_tcb_svn is not None else ""),
    )


def _check_module(module: TdxModule, mr_signer_seam: bytes | None, seam_attributes: bytes | None) -> None:
    if mr_signer_seam is not None and not hmac.compare_digest(mr_signer_seam, module.mrsigner):
        raise VerificationError(
            "tdx.module_identity_mismatch",
            f"MRSIGNERSEAM got {mr_signer_seam.hex()}, want {module.mrsigner.hex()}",
        )
    if seam_attributes is not None:
        masked = bytes(a & m for a, m in zip(seam_attributes, module.attributes_mask, strict=False))
        if len(seam_attributes) != 8 or masked != module.attributes:
            raise VerificationError(
                "tdx.module_identity_mismatch",
                f"SEAMATTRIBUTES got {seam_attributes.hex()} (masked {masked.hex()}), "
                f"want {module.attributes.hex()}",
            )


def evaluate_tcb(
    tcb_info: TcbInfo,
    pck: SgxExtension,
    tee_tcb_svn: bytes | None,
    *,
    mr_signer_seam: bytes | None = None,
    seam_attributes: bytes | None = None,
) -> TcbEvaluation:
    """The platform TCB status for a PCK certificate and (TDX) a quote's TEE_TCB_SVN.

    ``tcb_info`` should come from :class:`~attestgw.verify.tdx.VerifiedCollateral`; ``pck`` from
    a PCK certificate whose chain was verified. Raises ``VerificationError`` (codes above).
    """
    if tcb_info.fmspc != pck.fmspc or tcb_info.pce_id != pck.pce_id:
        raise VerificationError(
            "tdx.tcb_info_mismatch",
            f"TCB info fmspc/pceId {tcb_info.fmspc.hex()}/{tcb_info.pce_id.hex()}, "
            f"PCK certificate {pck.fmspc.hex()}/{pck.pce_id.hex()}",
        )
    tdx = tcb_info.id == "TDX"
    if tdx != (tee_tcb_svn is not None) or (tee_tcb_svn is not None and len(tee_tcb_svn) != 16):
        raise VerificationError(
            "tdx.tcb_info_mismatch",
            f"{tcb_info.id} TCB info needs {'a 16-byte' if tdx else 'no'} TEE_TCB_SVN",
        )
    level = _platform_level(tcb_info, pck, tee_tcb_svn)
    status, module_level = level.tcb_status, None
    if tee_tcb_svn is not None and tcb_info.tdx_module is not None:
        module = tcb_info.tdx_module
        if tee_tcb_svn[1] > 0:
            wanted = f"TDX_{tee_tcb_svn[1]:02X}"
            found = [m for m in tcb_info.tdx_module_identities if m.id.upper() == wanted]
            if not found:
                raise VerificationError(
                    "tdx.module_identity_mismatch", f"TCB info has no {wanted} module identity"
                )
            module = found[0].module
            module_level = next((m for m in found[0].tcb_levels if m.isvsvn <= tee_tcb_svn[0]), None)
            if module_level is None:
                raise VerificationError(
                    "tdx.tcb_level_unsupported", f"no {wanted} level matches module ISVSVN {tee_tcb_svn[0]}"
                )
            status = _downgrade(status, module_level.tcb_status)
        _check_module(module, mr_signer_seam, seam_attributes)
    return TcbEvaluation(status, level.advisory_ids, level.tcb_date, level, module_level)


def combine_with_qe(tcb: TcbEvaluation, qe: QeEvaluation) -> TcbEvaluation:
    """Fold the QE identity status into the platform status (QVL convergence, see module doc)."""
    advisories = tcb.advisory_ids + tuple(a for a in qe.advisory_ids if a not in tcb.advisory_ids)
    tcb_date = min(tcb.tcb_date, qe.tcb_date) if qe.tcb_date is not None else tcb.tcb_date
    return replace(
        tcb,
        status=_downgrade(tcb.status, qe.status),
        advisory_ids=advisories,
        tcb_date=tcb_date,
        qe_status=qe.status,
    )
