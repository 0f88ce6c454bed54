"""Intel TDX quote verification: quote + PCS collateral → :class:`VerifiedTdxClaims` (formats.md §3.8).

``verify_tdx`` returns claims only if **every** step below passed, else raises the first failure
with a stable code. Comments carry these step numbers; the parser already did formats.md §3.8
step 1 (structure), and appraisal does step 11 (policy).

1. The quote is a TD quote (tee_type 0x81); an SGX quote → ``tdx.not_a_td_quote``.
2. Attestation key type 2 (ECDSA P-256) → else ``tdx.unsupported_key_type``; the 64-byte key is a
   P-256 point → else ``tdx.attestation_key_invalid``.
3. Certification data is type 6 (QE report) wrapping type 5 (PCK chain) →
   ``tdx.cert_data_unsupported``.
4. PCK chain (leaf, Platform/Processor CA, root; :mod:`.pck_chain`): names and signatures
   (``tdx.pck_chain_invalid``), the root's SHA-256 pinned in ``options.trust``
   (``tdx.root_not_pinned``), every certificate valid at ``options.at`` (``tdx.cert_expired``).
5. ``verify_collateral(bundle, at, trust)`` (its own codes; expired → ``tdx.collateral_expired``,
   a :class:`~attestgw.errors.CollateralUnavailableError`), and the collateral's root is the PCK
   chain's root (``tdx.root_not_pinned``).
6. Revocation: the verified PCK CRL was issued by the PCK's issuer (else ``tdx.crl_invalid``, the
   wrong CA's CRL); the PCK serial is not in it and the PCK CA serial is not in the verified root
   CRL (``tdx.pck_revoked``).
7. QE report signature (raw ``r‖s`` P-256/SHA-256 over the 384 QE report bytes exactly as in the
   quote) by the PCK key → ``tdx.qe_report_signature_invalid``.
8. QE REPORTDATA[0:32] == SHA-256(attestation key ‖ QE auth data) and [32:64] all zero
   (go-tdx-guest's stricter reading; QVL compares only the first half) →
   ``tdx.qe_report_data_mismatch``.
9. Quote signature over ``quote.signed_bytes`` by the attestation key →
   ``tdx.quote_signature_invalid``.
10. The PCK's SGX extension FMSPC and PCE-ID equal the TCB info's → ``tdx.fmspc_mismatch``; the
    QE identity is a ``TD_QE`` identity → ``tdx.qe_identity_mismatch``.
11. ``evaluate_qe_identity`` (QE report MRSIGNER, ISVPRODID, MISCSELECT, ATTRIBUTES, ISVSVN),
    ``evaluate_tcb`` (PCK SGX components, PCESVN, TEE_TCB_SVN, MRSIGNERSEAM, SEAMATTRIBUTES) and
    ``combine_with_qe``, the way Intel's QVL converges them; no matching level →
    ``tdx.tcb_level_unsupported``; a converged ``Revoked`` → ``tdx.tcb_revoked``. Every other
    status is returned as a claim for appraisal to judge.

Caching: the PCK chain's parse and signatures, the attestation key, a valid QE report signature
and a verified collateral bundle (inside its window, :mod:`._collateral_cache`) are reused per
exact bytes. The pin, validity at ``at``, revocation lookups, the QE report binding, the quote
signature and the TCB evaluation run on every call. :func:`clear_caches` empties the caches.

Not checked here: anything a policy decides — debug, MRTD/RTMRs and event-log replay, MRSEAM,
XFAM, REPORTDATA binding, the QE vendor id, which TCB statuses and advisories are acceptable —
nor rollback of ``tcbEvaluationDataNumber`` across calls (no state; the claims carry the number),
nor the TDX 1.5 ``TDRelaunchAdvised`` statuses (see :mod:`.tcb`).
"""

from __future__ import annotations

import hashlib
import hmac

from attestgw.clock import require_aware
from attestgw.crypto.p256 import verify_p256_sha256
from attestgw.errors import UsageError, VerificationError
from attestgw.evidence.tdx import (
    ENCLAVE_REPORT_SIZE,
    AttestationKeyType,
    CertType,
    EnclaveReport,
    QeReportCertData,
    Quote,
    TdQuoteBody,
)
from attestgw.evidence.tdx_collateral import CollateralBundle, QeIdentity, SgxExtension, TcbInfo, TcbStatus
from attestgw.verify._seal import SEAL
from attestgw.verify.cache import BoundedLru, clear_all, digest_key
from attestgw.verify.tdx._attestation_key import attestation_public_key
from attestgw.verify.tdx._collateral_cache import verified_collateral
from attestgw.verify.tdx.claims import TdxVerifyOptions, VerifiedTdxClaims
from attestgw.verify.tdx.pck_chain import PckChain, check_pck_validity, load_pck_chain
from attestgw.verify.tdx.qe import evaluate_qe_identity
from attestgw.verify.tdx.tcb import TcbEvaluation, combine_with_qe, evaluate_tcb

__all__ = ["clear_caches", "verify_tdx"]

# Offset of the QE report inside the signature data: quote signature (64), attestation key (64),
# certification data type (2) and size (4) — formats.md §3.3.
_QE_REPORT_OFFSET = 4 + 64 + 64 + 2 + 4
_QE_SIGNATURES: BoundedLru[bytes, bool] = BoundedLru(1024)


def clear_caches() -> None:
    """Forget every cached parse and signature result (for cold benchmarks and tests)."""
    clear_all()


def verify_tdx(quote: Quote, collateral: CollateralBundle, options: TdxVerifyOptions) -> VerifiedTdxClaims:
    """Verify ``quote`` with ``collateral`` at ``options.at``; see the module docstring for steps.

    Raises :class:`~attestgw.errors.VerificationError` (a check failed),
    :class:`~attestgw.errors.CollateralUnavailableError` (collateral expired at ``options.at``),
    :class:`~attestgw.errors.FormatError` (malformed PCK extension) or
    :class:`~attestgw.errors.UsageError` (``options.at`` is naive). Never returns partial claims.
    """
    try:
        at = require_aware(options.at)
    except ValueError as exc:
        raise UsageError("usage.invalid", f"TdxVerifyOptions.at: {exc}") from None

    # Step 1: only TD quotes; an SGX enclave quote is refused with its own code.
    body = quote.td_body
    if not quote.is_tdx or body is None:
        raise VerificationError(
            "tdx.not_a_td_quote", f"tee_type {int(quote.header.tee_type):#04x} (SGX enclave quote), want 0x81"
        )

    # Step 2: ECDSA P-256 attestation key.
    if quote.header.attestation_key_type is not AttestationKeyType.ECDSA_P256:
        raise VerificationError(
            "tdx.unsupported_key_type", f"attestation key type {quote.header.attestation_key_type}, want 2"
        )
    attestation_key = attestation_public_key(quote.attestation_key)

    # Step 3: type 6 wrapping type 5.
    qe_cert, pck_pem = _qe_certification(quote)

    # Step 4: the PCK chain, pinned and valid now.
    chain = load_pck_chain(pck_pem)
    anchor = options.trust.find(chain.root_sha256)
    if anchor is None:
        raise VerificationError(
            "tdx.root_not_pinned", f"PCK chain root SHA-256 {chain.root_sha256} is not a pinned Intel root"
        )
    check_pck_validity(chain, at)

    # Step 5: the collateral, against the same root.
    verified = verified_collateral(collateral, at, options.trust)
    if verified.root_sha256 != chain.root_sha256:
        raise VerificationError(
            "tdx.root_not_pinned",
            f"collateral root {verified.root_sha256} differs from the PCK chain root {chain.root_sha256}",
        )

    # Step 6: revocation by the verified CRLs of the right CA.
    _check_revocation(chain, verified.pck_crl_issuer, verified.pck_crl_revoked, verified.root_crl_revoked)

    # Step 7: the QE report is signed by the PCK key.
    _check_qe_report_signature(quote, qe_cert, chain)

    # Step 8: the QE report certifies the attestation key.
    expected = hashlib.sha256(quote.attestation_key + qe_cert.qe_auth_data).digest()
    report_data = qe_cert.qe_report.report_data
    if not hmac.compare_digest(report_data[:32], expected) or any(report_data[32:]):
        raise VerificationError(
            "tdx.qe_report_data_mismatch",
            f"QE REPORTDATA got {report_data.hex()}, want {expected.hex()} followed by 32 zero bytes",
        )

    # Step 9: the quote is signed by the attestation key (every call, never cached).
    if not verify_p256_sha256(attestation_key, quote.signature, quote.signed_bytes):
        raise VerificationError("tdx.quote_signature_invalid", "quote signature does not verify")

    # Step 10: the collateral is for this platform and for the TD quoting enclave.
    ext, info = chain.extension, verified.tcb_info
    if not hmac.compare_digest(ext.fmspc, info.fmspc) or not hmac.compare_digest(ext.pce_id, info.pce_id):
        raise VerificationError(
            "tdx.fmspc_mismatch",
            f"PCK FMSPC/PCE-ID {ext.fmspc.hex()}/{ext.pce_id.hex()}, "
            f"TCB info {info.fmspc.hex()}/{info.pce_id.hex()}",
        )
    if verified.qe_identity.id != "TD_QE":
        raise VerificationError(
            "tdx.qe_identity_mismatch", f"QE identity id {verified.qe_identity.id!r}, want 'TD_QE'"
        )

    # Step 11: TCB status, converged with the TDX module and the QE, as QVL does.
    tcb = _evaluate(body, qe_cert.qe_report, verified.tcb_info, verified.qe_identity, ext)
    if tcb.status is TcbStatus.REVOKED:
        raise VerificationError(
            "tdx.tcb_revoked",
            f"TCB status Revoked (platform level {tcb.level.tcb_status.value}, QE {tcb.qe_status})",
        )
    return VerifiedTdxClaims(
        quote=quote,
        body=body,
        tcb_status=tcb.status,
        advisory_ids=tcb.advisory_ids,
        tcb_date=tcb.tcb_date,
        qe_status=tcb.qe_status if tcb.qe_status is not None else TcbStatus.UP_TO_DATE,
        fmspc=ext.fmspc.hex(),
        pce_id=ext.pce_id.hex(),
        tcb_evaluation_data_number=info.tcb_evaluation_data_number,
        root_sha256=chain.root_sha256,
        pck_sha256=chain.leaf_sha256,
        simulated=anchor.simulated or verified.simulated,
        collateral_valid_until=verified.valid_until,
        verified_at=at,
        seal=SEAL,
    )


def _qe_certification(quote: Quote) -> tuple[QeReportCertData, bytes]:
    cert = quote.signature_data.certification
    qe_cert = quote.qe_report_cert
    if cert.cert_type is not CertType.QE_REPORT or qe_cert is None:
        raise VerificationError(
            "tdx.cert_data_unsupported", f"certification data type {int(cert.cert_type)}, want 6 (QE report)"
        )
    pem = quote.pck_chain_pem
    if pem is None:
        inner = int(qe_cert.certification.cert_type)
        raise VerificationError(
            "tdx.cert_data_unsupported",
            f"QE report certification data wraps type {inner}, want 5 (PCK chain)",
        )
    return qe_cert, pem


def _check_revocation(
    chain: PckChain, pck_crl_issuer: bytes, pck_revoked: frozenset[int], root_revoked: frozenset[int]
) -> None:
    if chain.leaf.issuer.public_bytes() != pck_crl_issuer:
        raise VerificationError(
            "tdx.crl_invalid",
            f"the PCK CRL is not from the PCK's issuer ({chain.leaf.issuer.rfc4514_string()}); "
            f"supply the {chain.ca_kind} CA's CRL",
        )
    if chain.leaf.serial_number in pck_revoked:
        raise VerificationError(
            "tdx.pck_revoked", f"PCK certificate serial {chain.leaf.serial_number:x} is revoked"
        )
    if chain.ca.serial_number in root_revoked:
        raise VerificationError("tdx.pck_revoked", f"PCK CA serial {chain.ca.serial_number:x} is revoked")


def _check_qe_report_signature(quote: Quote, qe_cert: QeReportCertData, chain: PckChain) -> None:
    start = quote.signed_length + _QE_REPORT_OFFSET
    qe_report = quote.raw[start : start + ENCLAVE_REPORT_SIZE]
    signature = qe_cert.qe_report_signature
    # The PCK certificate's fingerprint stands for its key: the cached verdict is pure in these bytes.
    key = digest_key(chain.leaf_sha256.encode(), qe_report, signature)
    if _QE_SIGNATURES.get(key):
        return
    if len(qe_report) != ENCLAVE_REPORT_SIZE or not verify_p256_sha256(chain.leaf_key, signature, qe_report):
        raise VerificationError(
            "tdx.qe_report_signature_invalid",
            f"QE report signature does not verify with PCK {chain.leaf_sha256}",
        )
    _QE_SIGNATURES.put(key, True)


def _evaluate(
    body: TdQuoteBody, qe_report: EnclaveReport, tcb_info: TcbInfo, qe_identity: QeIdentity, ext: SgxExtension
) -> TcbEvaluation:
    qe = evaluate_qe_identity(
        qe_identity,
        mrsigner=qe_report.mr_signer,
        isvprodid=qe_report.isv_prod_id,
        isvsvn=qe_report.isv_svn,
        miscselect=qe_report.misc_select,
        attributes=qe_report.attributes,
    )
    platform = evaluate_tcb(
        tcb_info,
        ext,
        body.tee_tcb_svn,
        mr_signer_seam=body.mr_signer_seam,
        seam_attributes=body.seam_attributes.to_bytes(8, "little"),
    )
    return combine_with_qe(platform, qe)
