"""The collateral bundle a simulated TDX platform's quotes come with, and the knobs that break it.

:func:`platform_bundle` describes one platform the way Intel's PCS would: TCB info whose top level
equals the platform's TCB (PCK SGX components and PCESVN, TEE_TCB_SVN) with status ``UpToDate``
and a lower ``OutOfDate`` level with advisory IDs; a ``TDX_%02X`` module identity for the
module's major version (ISVSVN ≥ TEE_TCB_SVN[0] UpToDate, else OutOfDate); a TD_QE identity for
the simulated QE (ISVSVN 4 UpToDate, else OutOfDate); CRLs and documents issued at ``at`` and
valid 30 days, as Intel's are. Knobs (from the attester's quote overrides) change one thing each.

Not checked: that knob combinations make sense; whatever they say is signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from attestgw.attester._tdx_collateral import (
    ModuleLevelSpec,
    PlatformLevelSpec,
    qe_identity_json,
    tcb_info_json,
)
from attestgw.attester.simulated_intel import SimulatedIntelAuthority, SimulatedPck
from attestgw.evidence.tdx_collateral import TcbStatus

__all__ = ["QE_ISVPRODID", "QE_ISVSVN", "QE_MRSIGNER", "platform_bundle"]

# Intel's TD quoting enclave as the corpus shows it: MRSIGNER, ISVPRODID 2, attributes under mask.
QE_MRSIGNER = bytes.fromhex("dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5")
QE_ISVPRODID = 2
QE_ISVSVN = 4
_QE_ID_ATTRIBUTES = bytes.fromhex("11000000000000000000000000000000")
_QE_ID_ATTRIBUTES_MASK = bytes.fromhex("fbffffffffffffff0000000000000000")
_VALIDITY = timedelta(days=30)  # Intel's TCB info, QE identity and PCK CRL
_EVALUATION_NUMBER = 17
_ADVISORIES = ("INTEL-SA-00837", "INTEL-SA-00960")
_TCB_DATE = datetime.fromisoformat("2024-03-13T00:00:00+00:00")
_OLD_TCB_DATE = datetime.fromisoformat("2018-01-04T00:00:00+00:00")
_BUNDLE_KNOBS = (
    ("tcb_info_signature", "break_tcb_info_signature"),
    ("qe_identity_signature", "break_qe_identity_signature"),
    ("root_crl", "break_root_crl"),
    ("pck_crl", "break_pck_crl"),
)


def _window(at: datetime, expired: bool) -> tuple[datetime, datetime]:
    # An expired document was issued two windows ago, so its nextUpdate is already past at ``at``.
    start = at - 2 * _VALIDITY if expired else at
    return start, start + _VALIDITY


def platform_bundle(
    authority: SimulatedIntelAuthority,
    pck: SimulatedPck,
    tee_tcb_svn: bytes,
    module_mrsigner: bytes,
    at: datetime,
    knobs: Mapping[str, Any],
) -> bytes:
    """The signed bundle JSON for this platform at ``at`` (see the module docstring). Knobs:
    ``lower_tcb``, ``tcb_status``, ``advisory_ids``, ``qe_tcb_status``, ``expire_tcb_info``,
    ``expire_qe_identity``, ``revoke_pck``, ``revoke_pck_ca`` and the four ``break_*`` ones."""
    at = at.replace(microsecond=0)  # Intel's instants have whole seconds
    own = PlatformLevelSpec(
        sgx_components=pck.sgx_tcb_components,
        # Intel knowing a newer PCESVN than the platform's makes the platform match the lower level.
        pcesvn=pck.pcesvn + (1 if knobs.get("lower_tcb") else 0),
        tdx_components=tuple(tee_tcb_svn),
        tcb_date=_TCB_DATE,
        status=TcbStatus(knobs.get("tcb_status", TcbStatus.UP_TO_DATE)),
        advisory_ids=tuple(knobs.get("advisory_ids", ())),
    )
    lower = PlatformLevelSpec((0,) * 16, 0, (0,) * 16, _OLD_TCB_DATE, TcbStatus.OUT_OF_DATE, _ADVISORIES)
    module_levels = [
        ModuleLevelSpec(tee_tcb_svn[0], _TCB_DATE, TcbStatus.UP_TO_DATE),
        ModuleLevelSpec(0, _OLD_TCB_DATE, TcbStatus.OUT_OF_DATE),
    ]
    tcb_issue, tcb_next = _window(at, bool(knobs.get("expire_tcb_info")))
    tcb_info = tcb_info_json(
        fmspc=pck.fmspc,
        pce_id=pck.pce_id,
        issue_date=tcb_issue,
        next_update=tcb_next,
        evaluation_number=_EVALUATION_NUMBER,
        module_mrsigner=module_mrsigner,
        module_identities=[(tee_tcb_svn[1], module_levels)],
        levels=[own, lower],
    )
    qe_issue, qe_next = _window(at, bool(knobs.get("expire_qe_identity")))
    qe_status = TcbStatus(knobs.get("qe_tcb_status", TcbStatus.UP_TO_DATE))
    qe_identity = qe_identity_json(
        issue_date=qe_issue,
        next_update=qe_next,
        evaluation_number=_EVALUATION_NUMBER,
        miscselect=0,
        miscselect_mask=0xFFFFFFFF,
        attributes=_QE_ID_ATTRIBUTES,
        attributes_mask=_QE_ID_ATTRIBUTES_MASK,
        mrsigner=QE_MRSIGNER,
        isvprodid=QE_ISVPRODID,
        levels=[
            ModuleLevelSpec(QE_ISVSVN, _TCB_DATE, qe_status),
            ModuleLevelSpec(0, _OLD_TCB_DATE, TcbStatus.OUT_OF_DATE),
        ],
    )
    return authority.collateral_bundle(
        tcb_info=tcb_info,
        qe_identity=qe_identity,
        crl_this_update=at,
        crl_next_update=at + _VALIDITY,
        revoked_pck_serials=[pck.serial] if knobs.get("revoke_pck") else [],
        revoked_ca_serials=[authority.pck_ca_serial] if knobs.get("revoke_pck_ca") else [],
        tamper={name for name, knob in _BUNDLE_KNOBS if knobs.get(knob)},
    )
