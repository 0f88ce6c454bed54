"""A simulated Intel TDX guest: real DCAP quote bytes (v4, or v5 with a TD 1.0 / TD 1.5 body) and
the signed PCS collateral a verifier needs, all from a :class:`SimulatedIntelAuthority`.

The quote is built field by field from the parser's dataclasses (``attestgw.evidence.tdx``) and
encoded with :func:`~attestgw.evidence.tdx.serialize_quote` (formats.md §3.1-3.4): the body is
signed (ECDSA P-256/SHA-256, raw ``r‖s``) by the attester's attestation key; the QE report carries
REPORTDATA = SHA-256(attestation key ‖ QE auth data) ‖ 32 zero bytes and is signed by the PCK key;
the certification data is type 6 wrapping the type-5 PEM chain (PCK, PCK Platform CA, root, then a
NUL as real quotes end it). The collateral bundle (TCB info v3, TD_QE identity v2, CRLs, issuer
chains) describes this platform: a top TCB level equal to its TCB (status ``UpToDate`` unless told
otherwise), a lower ``OutOfDate`` level, and a ``TDX_%02X`` module identity for its module.

What is simulated, and what is not checked: there is no TDX module, no SEAM, no quoting enclave.
MRTD, RTMRs, TD attributes and every other measurement are what the caller says (RTMRs are not
derived from any event log: compute them with ``replay_rtmrs`` and pass them in). Overrides are
applied verbatim and can produce quotes the parser or verifier rejects — that is the point of the
negative tables. The PCK is issued once per attester: overriding the TCB of one quote does not
reissue it, which gives the mismatch a forged quote would.

Every :class:`SimulatedTdxEvidence` is simulated; a verifier accepts it only with
``INTEL_TRUST.with_simulated(evidence.root_sha256)``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from attestgw.attester._simulation_gate import require_simulation_enabled
from attestgw.attester._tdx_bundle import (
    QE_ISVPRODID,
    QE_ISVSVN,
    QE_MRSIGNER,
    platform_bundle,
)
from attestgw.attester.simulated_intel import SimulatedIntelAuthority, SimulatedPck
from attestgw.clock import require_aware, utcnow
from attestgw.crypto.signing import (
    P256PrivateKey,
    generate_p256_key,
    p256_public_raw,
    sign_p256_sha256_raw,
)
from attestgw.evidence.tdx import (
    BODY_SIZES,
    HEADER_SIZE,
    INTEL_QE_VENDOR_ID,
    AttestationKeyType,
    BodyType,
    CertificationData,
    CertType,
    EnclaveReport,
    QeReportCertData,
    Quote,
    QuoteHeader,
    QuoteSignatureData,
    TdQuoteBody,
    TeeType,
    serialize_enclave_report,
    serialize_quote,
)

__all__ = ["SimulatedIntelAuthority", "SimulatedTdxAttester", "SimulatedTdxEvidence"]

_DEFAULT_MRTD = hashlib.sha384(b"attestgw simulated TDX guest MRTD").digest()
_DEFAULT_RTMRS: tuple[bytes, bytes, bytes, bytes] = (
    hashlib.sha384(b"attestgw simulated RTMR0").digest(),
    hashlib.sha384(b"attestgw simulated RTMR1").digest(),
    hashlib.sha384(b"attestgw simulated RTMR2").digest(),
    hashlib.sha384(b"attestgw simulated RTMR3").digest(),
)
_DEFAULT_MRSEAM = hashlib.sha384(b"attestgw simulated TDX module").digest()
# Real platform values (shared corpus, dcap-qvl tdx_quote.bin): SGX TCB, PCESVN, TEE_TCB_SVN.
_DEFAULT_FMSPC = bytes.fromhex("b0c06f000000")
_DEFAULT_SGX_TCB = (2, 2, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0)
_DEFAULT_PCESVN = 11
_DEFAULT_TEE_TCB_SVN = bytes([6, 1, 3]) + bytes(13)  # module ISVSVN 6, major version 1
_TD_ATTR_DEBUG = 1 << 0
_TD_ATTR_SEPT_VE_DISABLE = 1 << 28
_DEFAULT_XFAM = 0x602E7
# The QE report: MRSIGNER/ISVPRODID/ISVSVN from _tdx_bundle (Intel's TD QE values); ATTRIBUTES as
# a real TD QE reports them (0x15; the QE identity masks bit 2 away); MRENCLAVE is simulated.
_QE_MRENCLAVE = hashlib.sha256(b"attestgw simulated TD quoting enclave").digest()
_QE_ATTRIBUTES = bytes.fromhex("1500000000000000e700000000000000")
_QE_AUTH_DATA = bytes(range(32))

_HEADER_FIELDS = frozenset(f.name for f in dataclasses.fields(QuoteHeader))
_BODY_FIELDS = frozenset(f.name for f in dataclasses.fields(TdQuoteBody)) - {"report_data"}
_KNOBS = frozenset(
    {
        "body_type",
        "sgx",
        "debug",
        "qe_report",
        "qe_auth_data",
        "sign_with",
        "break_quote_signature",
        "break_qe_report_signature",
        "break_pck_certificate",
        "break_intermediate",
        "break_tcb_info_signature",
        "break_qe_identity_signature",
        "break_root_crl",
        "break_pck_crl",
        "wrong_qe_report_data",
        "revoke_pck",
        "revoke_pck_ca",
        "expire_tcb_info",
        "expire_qe_identity",
        "lower_tcb",
        "tcb_status",
        "advisory_ids",
        "qe_tcb_status",
        "collateral_at",
    }
)


@dataclass(frozen=True, slots=True)
class SimulatedTdxEvidence:
    """A simulated quote and its collateral. Always simulated.

    ``quote``: the DCAP quote bytes. ``collateral``: the collateral bundle JSON (``parse_bundle``
    reads it). ``root_sha256``: the simulated root a verifier must explicitly trust.
    """

    quote: bytes
    collateral: bytes
    root_sha256: str

    @property
    def simulated(self) -> bool:
        return True


class SimulatedTdxAttester:
    """A simulated TD on one simulated platform (one PCK, one attestation key).

    Defaults mirror a real Sapphire Rapids platform from the corpus (FMSPC b0c06f000000, SGX TCB
    2,2,2,2,3,1,0,5, PCESVN 11, TEE_TCB_SVN 06 01 03, TD attributes SEPT_VE_DISABLE, XFAM 0x602e7);
    MRTD, RTMRs and MRSEAM default to SHA-384 of fixed labels, MRCONFIGID/MROWNER/MROWNERCONFIG and
    MRSIGNERSEAM (Intel's module signer is zero) to zeros. ``issued_at`` starts the PCK validity
    (default: now); ``collateral_at`` is when collateral is issued (default: the time of each quote).
    Refused unless simulation is explicitly enabled.
    """

    __slots__ = (
        "_attestation_key",
        "_authority",
        "_collateral_at",
        "_measurements",
        "_pck",
        "_tee_tcb_svn",
        "_user_data",
    )

    def __init__(
        self,
        authority: SimulatedIntelAuthority,
        *,
        mrtd: bytes = _DEFAULT_MRTD,
        rtmrs: tuple[bytes, bytes, bytes, bytes] = _DEFAULT_RTMRS,
        mr_seam: bytes = _DEFAULT_MRSEAM,
        mr_config_id: bytes = bytes(48),
        mr_owner: bytes = bytes(48),
        mr_owner_config: bytes = bytes(48),
        td_attributes: int = _TD_ATTR_SEPT_VE_DISABLE,
        xfam: int = _DEFAULT_XFAM,
        tee_tcb_svn: bytes = _DEFAULT_TEE_TCB_SVN,
        fmspc: bytes = _DEFAULT_FMSPC,
        sgx_tcb_components: tuple[int, ...] = _DEFAULT_SGX_TCB,
        pcesvn: int = _DEFAULT_PCESVN,
        issued_at: datetime | None = None,
        collateral_at: datetime | None = None,
        enable_simulation: bool = False,
    ) -> None:
        require_simulation_enabled(enable_simulation, "SimulatedTdxAttester")
        sizes = [mrtd, mr_seam, mr_config_id, mr_owner, mr_owner_config, *rtmrs]
        if len(rtmrs) != 4 or any(len(v) != 48 for v in sizes) or len(tee_tcb_svn) != 16:
            raise ValueError(
                "MRTD, MRSEAM, MRCONFIGID, MROWNER(CONFIG) and 4 RTMRs are 48 bytes; TEE_TCB_SVN 16"
            )
        self._authority = authority
        self._tee_tcb_svn = bytes(tee_tcb_svn)
        self._measurements: dict[str, Any] = {
            "tee_tcb_svn": bytes(tee_tcb_svn),
            "mr_seam": bytes(mr_seam),
            "mr_signer_seam": bytes(48),
            "seam_attributes": 0,
            "td_attributes": td_attributes,
            "xfam": xfam,
            "mr_td": bytes(mrtd),
            "mr_config_id": bytes(mr_config_id),
            "mr_owner": bytes(mr_owner),
            "mr_owner_config": bytes(mr_owner_config),
            "rtmrs": tuple(bytes(r) for r in rtmrs),
        }
        start = require_aware(issued_at) if issued_at is not None else utcnow()
        self._pck = authority.issue_pck(
            fmspc=fmspc, sgx_tcb_components=sgx_tcb_components, pcesvn=pcesvn, not_before=start
        )
        self._collateral_at = require_aware(collateral_at) if collateral_at is not None else None
        self._attestation_key = generate_p256_key()  # the QE's key for this platform
        self._user_data = os.urandom(16) + bytes(4)  # QE-defined: platform QE id, then zeros

    def __repr__(self) -> str:
        return f"<SimulatedTdxAttester fmspc={self._pck.fmspc.hex()} pck={self._pck.certificate_sha256[:16]}>"

    @property
    def authority(self) -> SimulatedIntelAuthority:
        return self._authority

    @property
    def pck(self) -> SimulatedPck:
        """The PCK certificate and key that sign this platform's QE reports."""
        return self._pck

    @property
    def attestation_key(self) -> bytes:
        """The attestation public key as the quote carries it (64 bytes ``x‖y``)."""
        return p256_public_raw(self._attestation_key)

    @property
    def td_measurements(self) -> Mapping[str, Any]:
        """The TD body values every quote carries unless overridden (read-only): ``mr_td``,
        ``rtmrs``, ``mr_seam``, ``mr_config_id``, ``mr_owner``, ``mr_owner_config``,
        ``td_attributes``, ``xfam``, ``tee_tcb_svn``, …"""
        return MappingProxyType(self._measurements)

    # -- the quote ---------------------------------------------------------------------------------

    def _header(self, version: int, tee_type: TeeType, fields: Mapping[str, Any]) -> QuoteHeader:
        header = QuoteHeader(
            version=version,
            attestation_key_type=AttestationKeyType.ECDSA_P256,
            tee_type=tee_type,
            qe_svn=QE_ISVSVN,
            pce_svn=self._pck.pcesvn,
            qe_vendor_id=INTEL_QE_VENDOR_ID,
            user_data=self._user_data,
        )
        return dataclasses.replace(header, **{k: v for k, v in fields.items() if k in _HEADER_FIELDS})

    def _body(self, report_data: bytes, body_type: BodyType, fields: Mapping[str, Any]) -> TdQuoteBody:
        values = {**self._measurements, "report_data": report_data}
        if body_type is BodyType.TD15:
            values.update(tee_tcb_svn2=values["tee_tcb_svn"], mr_service_td=bytes(48))
        values.update({k: v for k, v in fields.items() if k in _BODY_FIELDS})
        if fields.get("debug"):
            values["td_attributes"] |= _TD_ATTR_DEBUG
        return TdQuoteBody(**values)

    def _sgx_body(self, report_data: bytes) -> EnclaveReport:
        """An SGX application enclave report (for the "SGX quote under a TDX policy" case)."""
        return dataclasses.replace(
            self._qe_report(report_data, {}),
            mr_enclave=hashlib.sha256(b"attestgw simulated SGX app").digest(),
        )

    def _qe_report(self, report_data: bytes, fields: Mapping[str, Any]) -> EnclaveReport:
        report = EnclaveReport(
            cpu_svn=self._pck.cpusvn,
            misc_select=0,
            isv_ext_prod_id=bytes(16),
            attributes=_QE_ATTRIBUTES,
            mr_enclave=_QE_MRENCLAVE,
            mr_signer=QE_MRSIGNER,
            config_id=bytes(64),
            isv_prod_id=QE_ISVPRODID,
            isv_svn=QE_ISVSVN,
            config_svn=0,
            isv_family_id=bytes(16),
            report_data=report_data,
        )
        return dataclasses.replace(report, **fields)

    def quote(self, report_data: bytes, **overrides: Any) -> SimulatedTdxEvidence:
        """A signed quote whose REPORTDATA is ``report_data`` (exactly 64 bytes), with collateral.

        Overrides: any :class:`QuoteHeader` field and any :class:`TdQuoteBody` field except
        ``report_data`` (applied verbatim; the signatures cover what was overridden), plus:

        * ``body_type=BodyType.TD10 | TD15`` — a v5 quote with that body (``version=5`` alone
          gives TD 1.0); ``sgx=True`` — an SGX enclave quote (tee_type 0) instead of a TD quote;
        * ``debug=True`` — set TDATTRIBUTES.DEBUG (bit 0);
        * ``qe_report={field: value}`` — :class:`EnclaveReport` fields of the QE report (a
          ``report_data`` given here replaces the computed binding); ``qe_auth_data=bytes``;
        * ``sign_with=key`` — sign the quote with another P-256 key;
        * ``break_quote_signature`` / ``break_qe_report_signature`` / ``break_pck_certificate`` /
          ``break_intermediate`` / ``break_tcb_info_signature`` / ``break_qe_identity_signature``
          / ``break_root_crl`` / ``break_pck_crl`` — flip one bit of that signature;
        * ``wrong_qe_report_data=True`` — the QE report binds another key (its signature is valid);
        * ``revoke_pck`` / ``revoke_pck_ca`` — list the PCK in the PCK CRL / its CA in the root CRL;
        * ``expire_tcb_info`` / ``expire_qe_identity`` — that document's nextUpdate is before
          ``collateral_at``;
        * ``lower_tcb=True`` — Intel knows a newer TCB: the platform matches the lower
          ``OutOfDate`` level (with advisory IDs); ``tcb_status=`` / ``advisory_ids=`` set the
          platform's own level instead; ``qe_tcb_status=`` the QE identity's level;
        * ``collateral_at=datetime`` — when the collateral was issued (CRLs, TCB info, QE identity).

        Unknown overrides raise ``TypeError``.
        """
        if len(report_data) != 64:
            raise ValueError(f"REPORTDATA must be exactly 64 bytes, got {len(report_data)}")
        unknown = set(overrides) - _HEADER_FIELDS - _BODY_FIELDS - _KNOBS
        if unknown:
            raise TypeError(f"unknown quote overrides: {sorted(unknown)}")
        raw = self._encode_quote(bytes(report_data), overrides)
        return SimulatedTdxEvidence(
            quote=raw, collateral=self._collateral(overrides), root_sha256=self._authority.root_sha256()
        )

    def _encode_quote(self, report_data: bytes, o: Mapping[str, Any]) -> bytes:
        sgx = bool(o.get("sgx"))
        body_type = BodyType.SGX if sgx else BodyType(o.get("body_type", BodyType.TD10))
        version = int(o.get("version", 5 if "body_type" in o else 4))
        tee_type = TeeType.SGX if sgx else TeeType.TDX
        header = self._header(version, tee_type, o)
        body: TdQuoteBody | EnclaveReport = (
            self._sgx_body(report_data) if sgx else self._body(report_data, body_type, o)
        )
        auth_data = bytes(o.get("qe_auth_data", _QE_AUTH_DATA))
        ak_raw = self.attestation_key
        binding = hashlib.sha256(ak_raw + auth_data).digest() + bytes(32)
        if o.get("wrong_qe_report_data"):
            binding = hashlib.sha256(b"another attestation key" + auth_data).digest() + bytes(32)
        qe_report = self._qe_report(binding, o.get("qe_report", {}))
        qe_sig = sign_p256_sha256_raw(self._pck.private_key, serialize_enclave_report(qe_report))
        if o.get("break_qe_report_signature"):
            qe_sig = _flip(qe_sig)
        broken = (("pck", "break_pck_certificate"), ("intermediate", "break_intermediate"))
        chain = self._authority.pck_chain_pem(
            self._pck, tamper={name for name, knob in broken if o.get(knob)}
        )
        inner = CertificationData(CertType.PCK_CERT_CHAIN, chain + b"\x00")
        qe_cert = QeReportCertData(qe_report, qe_sig, auth_data, inner)
        sig_data = QuoteSignatureData(bytes(64), ak_raw, CertificationData(CertType.QE_REPORT, qe_cert))
        quote = Quote(header, body_type, body, sig_data, b"", b"")
        unsigned = serialize_quote(quote)
        # What the attestation key signs: header ‖ [v5 body type ‖ size] ‖ body (formats.md §3.4).
        signed_len = HEADER_SIZE + (6 if version == 5 else 0) + BODY_SIZES[body_type]
        key: P256PrivateKey = o.get("sign_with") or self._attestation_key
        signature = sign_p256_sha256_raw(key, unsigned[:signed_len])
        if o.get("break_quote_signature"):
            signature = _flip(signature)
        return serialize_quote(
            dataclasses.replace(quote, signature_data=dataclasses.replace(sig_data, signature=signature))
        )

    # -- the collateral ----------------------------------------------------------------------------

    def _collateral(self, o: Mapping[str, Any]) -> bytes:
        at = require_aware(o.get("collateral_at") or self._collateral_at or utcnow())
        return platform_bundle(
            self._authority, self._pck, self._tee_tcb_svn, self._measurements["mr_signer_seam"], at, o
        )


def _flip(signature: bytes) -> bytes:
    out = bytearray(signature)
    out[-1] ^= 0x01
    return bytes(out)
