"""A simulated AMD SEV-SNP guest: real ATTESTATION_REPORT bytes signed by a simulated VCEK or VLEK.

The report is built field by field as an :class:`~attestgw.evidence.snp.AttestationReport` and encoded
with :func:`~attestgw.evidence.snp.serialize_report` (ABI #56860 Table 23): 1184 bytes, the first
0x2A0 signed with ECDSA P-384/SHA-384, R and S stored as 72-byte little-endian fields. Next to it come
the signing certificate (DER), the KDS-style chain (PEM) and the GHCB certificate table, exactly what
an extended guest request on hardware returns.

What is simulated, and what is not checked: there is no hardware, so nothing here measures a guest,
derives a key from a chip secret, or enforces the guest policy. MEASUREMENT, CHIP_ID, TCB values and
policy bits are whatever the caller (or the per-product defaults) say. Overrides are applied
verbatim — an override can produce a report the parser or verifier rejects, which is the point of
the negative tests. The signing key and its certificate are fixed when the attester is built:
overriding ``reported_tcb`` or ``chip_id`` in one report does **not** reissue the VCEK, so it
produces the mismatch a forged report would.

Every :class:`SimulatedEvidence` says ``simulated``; a verifier accepts it only with a trust store
that explicitly includes the authority's ARK (``AMD_TRUST.with_simulated(...)``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from attestgw.attester._simulated_profiles import PROFILES
from attestgw.attester._simulation_gate import require_simulation_enabled
from attestgw.attester.simulated_amd import SimulatedAmdAuthority, SimulatedSigningKey
from attestgw.clock import utcnow
from attestgw.crypto.signing import P384PrivateKey, sign_p384_sha384
from attestgw.evidence.snp import (
    ARK_GUID,
    ASK_GUID,
    SIGNED_SIZE,
    VCEK_GUID,
    VLEK_GUID,
    AttestationReport,
    GuestPolicy,
    PlatformInfo,
    Product,
    ReportSignature,
    SignerInfo,
    SigningKey,
    TcbParts,
    TcbVersion,
    serialize_cert_table,
    serialize_report,
)

__all__ = ["SimulatedAmdAuthority", "SimulatedEvidence", "SimulatedSigningKey", "SimulatedSnpAttester"]

_SIG_FIELD = 72
_DEFAULT_POLICY = 0x30000  # bit 17 (reserved, must be one) | bit 16 SMT allowed; debug and MA off
_POLICY_MIGRATE_MA = 1 << 18
_POLICY_DEBUG = 1 << 19
_DEFAULT_MEASUREMENT = hashlib.sha384(b"attestgw simulated SEV-SNP guest launch").digest()
_TCB_FIELDS = ("current_tcb", "reported_tcb", "committed_tcb", "launch_tcb")
_REPORT_FIELDS = frozenset(f.name for f in dataclasses.fields(AttestationReport)) - {"raw"}
_EXTRA_OVERRIDES = frozenset(
    {"tcb", "debug", "migration_agent", "tamper_signature", "sign_with", "zero_signature", "patch"}
)


@dataclass(frozen=True, slots=True)
class SimulatedEvidence:
    """What a simulated extended guest request returns. Always simulated.

    ``report``: 1184 bytes. ``signing_cert``: VCEK or VLEK, DER. ``chain``: PEM, ASK/ASVK then ARK.
    ``cert_table``: GHCB certificate table with the VCEK/VLEK, ASK/ASVK and ARK entries.
    ``product``: the product line of the certificates (and of the ARK). ``ark_sha256``: the simulated
    root a verifier must be told to trust, e.g. ``AMD_TRUST.with_simulated(product, ark_sha256)``.
    """

    report: bytes
    signing_cert: bytes
    chain: bytes
    cert_table: bytes
    signing_key: SigningKey
    product: Product
    ark_sha256: str

    @property
    def simulated(self) -> bool:
        return True


class SimulatedSnpAttester:
    """A simulated guest on one simulated chip, with its VCEK (or its provider's VLEK).

    ``product`` (default: the authority's) sets the CPUID fields and the TCB byte layout of reports;
    a product different from the authority's yields a report whose certificates name another product
    line (a ``snp.wrong_product`` case). ``tcb`` (default: the product's realistic levels) is
    reported as REPORTED/CURRENT/COMMITTED/LAUNCH TCB and certified in the VCEK/VLEK. ``chip_id``
    defaults to random bytes (Turin: 8 random bytes then zeros). ``issued_at`` starts the
    VCEK/VLEK validity (default: now). Reports are VERSION 5 unless overridden; policy 0x30000
    (SMT allowed, debug and migration agent off), VMPL 0, REPORT_ID_MA all 0xFF, firmware, CPUID,
    PLATFORM_INFO and mitigation vector as the product's real parts report them. Refused unless
    simulation is explicitly enabled.
    """

    __slots__ = ("_authority", "_chip_id", "_measurement", "_product", "_report_id", "_signing", "_tcb")

    def __init__(
        self,
        authority: SimulatedAmdAuthority,
        *,
        chip_id: bytes | None = None,
        measurement: bytes = _DEFAULT_MEASUREMENT,
        product: Product | None = None,
        signing_key: SigningKey = SigningKey.VCEK,
        tcb: TcbParts | None = None,
        csp_id: str = "cc-us-east-1",
        issued_at: datetime | None = None,
        enable_simulation: bool = False,
    ) -> None:
        require_simulation_enabled(enable_simulation, "SimulatedSnpAttester")
        self._authority = authority
        self._product = product if product is not None else authority.product
        if chip_id is None:
            keep = PROFILES[authority.product].hw_id_len
            chip_id = os.urandom(keep) + bytes(64 - keep)
        if len(chip_id) != 64 or len(measurement) != 48:
            raise ValueError("CHIP_ID must be 64 bytes and MEASUREMENT 48 bytes")
        self._chip_id = bytes(chip_id)
        self._measurement = bytes(measurement)
        self._tcb = tcb if tcb is not None else PROFILES[authority.product].tcb
        self._report_id = os.urandom(32)  # REPORT_ID is per guest, stable across its reports
        start = issued_at if issued_at is not None else utcnow()
        if signing_key is SigningKey.VCEK:
            self._signing = authority.issue_vcek(self._chip_id, self._tcb, start)
        elif signing_key is SigningKey.VLEK:
            self._signing = authority.issue_vlek(self._tcb, csp_id, not_before=start)
        else:
            raise ValueError(f"signing_key must be VCEK or VLEK, got {signing_key.name}")

    def __repr__(self) -> str:
        return (
            f"<SimulatedSnpAttester {self._product.value} {self._signing.kind.name} "
            f"chip={self._chip_id[:8].hex()} cert={self._signing.certificate_sha256[:16]}>"
        )

    @property
    def authority(self) -> SimulatedAmdAuthority:
        return self._authority

    @property
    def product(self) -> Product:
        return self._product

    @property
    def chip_id(self) -> bytes:
        return self._chip_id

    @property
    def measurement(self) -> bytes:
        return self._measurement

    @property
    def tcb(self) -> TcbParts:
        return self._tcb

    @property
    def signing(self) -> SimulatedSigningKey:
        """The VCEK/VLEK this guest's reports are signed with (key and certificate)."""
        return self._signing

    def _base(self, report_data: bytes, version: int) -> AttestationReport:
        profile = PROFILES[self._product]
        tcb = TcbVersion.from_parts(self._tcb, self._product)
        major, minor, build = profile.firmware
        family, model, step = profile.cpuid
        has_cpuid, has_mit = version >= 3, version >= 5
        zero_sig = bytes(_SIG_FIELD)
        return AttestationReport(
            version=version,
            guest_svn=0,
            policy=GuestPolicy(_DEFAULT_POLICY),
            family_id=bytes(16),
            image_id=bytes(16),
            vmpl=0,
            signature_algo=1,
            current_tcb=tcb,
            platform_info=PlatformInfo(profile.platform_info),
            signer_info=SignerInfo(int(self._signing.kind) << 2),
            report_data=report_data,
            measurement=self._measurement,
            host_data=bytes(32),
            id_key_digest=bytes(48),
            author_key_digest=bytes(48),
            report_id=self._report_id,
            report_id_ma=b"\xff" * 32,  # no migration agent bound
            reported_tcb=tcb,
            cpuid_fam_id=family if has_cpuid else None,
            cpuid_mod_id=model if has_cpuid else None,
            cpuid_step=step if has_cpuid else None,
            chip_id=self._chip_id,
            committed_tcb=tcb,
            current_build=build,
            current_minor=minor,
            current_major=major,
            committed_build=build,
            committed_minor=minor,
            committed_major=major,
            launch_tcb=tcb,
            launch_mit_vector=profile.mit_vector if has_mit else None,
            current_mit_vector=profile.mit_vector if has_mit else None,
            signature=ReportSignature(zero_sig, zero_sig),
            raw=b"",
        )

    def _coerce(self, name: str, value: Any) -> Any:
        """Accept plain ints (and TcbParts for TCB fields) where the report holds a value type."""
        if name == "policy" and isinstance(value, int):
            return GuestPolicy(value)
        if name == "platform_info" and isinstance(value, int):
            return PlatformInfo(value)
        if name == "signer_info" and isinstance(value, int):
            return SignerInfo(value)
        if name in _TCB_FIELDS:
            if isinstance(value, TcbParts):
                return TcbVersion.from_parts(value, self._product)
            if isinstance(value, int):
                return TcbVersion(value)
        return value

    def report(self, report_data: bytes, **overrides: Any) -> SimulatedEvidence:
        """A signed report whose REPORT_DATA is ``report_data`` (exactly 64 bytes; never padded).

        Overrides: any :class:`AttestationReport` field except ``raw`` (``version=3`` or ``2`` drops
        the fields that version lacks; ints are accepted for ``policy``, ``platform_info``,
        ``signer_info`` and TCB fields, :class:`TcbParts` for TCB fields; ``signature=`` is stored
        verbatim instead of signing), plus:

        * ``tcb=TcbParts`` — all four report TCB fields (the certificate keeps the attester's TCB);
        * ``debug=True`` / ``migration_agent=True`` — set POLICY bit 19 / bit 18 (the latter also
          binds a random REPORT_ID_MA);
        * ``patch={offset: bytes}`` — raw bytes written over the encoded report before signing (and
          again after, so patches inside the signature area stick), e.g. to set a reserved byte;
        * ``sign_with=key`` — sign with another P-384 key (certificates unchanged);
        * ``tamper_signature=True`` — flip one bit of R after signing;
        * ``zero_signature=True`` — leave R and S all zero.

        Unknown overrides raise ``TypeError``.
        """
        if len(report_data) != 64:
            raise ValueError(f"REPORT_DATA must be exactly 64 bytes, got {len(report_data)}")
        unknown = set(overrides) - _REPORT_FIELDS - _EXTRA_OVERRIDES
        if unknown:
            raise TypeError(f"unknown report overrides: {sorted(unknown)}")
        extra = {k: overrides.pop(k) for k in _EXTRA_OVERRIDES & set(overrides)}
        base = self._base(bytes(report_data), int(overrides.get("version", 5)))
        tcb = extra.get("tcb")
        if tcb is not None:
            for name in _TCB_FIELDS:
                overrides.setdefault(name, tcb)
        fields = {name: self._coerce(name, value) for name, value in overrides.items()}
        report = dataclasses.replace(base, **fields)
        policy = report.policy.raw
        if extra.get("debug"):
            policy |= _POLICY_DEBUG
        if extra.get("migration_agent"):
            policy |= _POLICY_MIGRATE_MA
            if "report_id_ma" not in overrides:
                report = dataclasses.replace(report, report_id_ma=os.urandom(32))
        report = dataclasses.replace(report, policy=GuestPolicy(policy))
        raw = self._encode_and_sign(report, "signature" in overrides, extra)
        return SimulatedEvidence(
            report=raw,
            signing_cert=self._signing.certificate,
            chain=self._authority.chain_pem(self._signing.kind),
            cert_table=self.cert_table(),
            signing_key=self._signing.kind,
            product=self._authority.product,
            ark_sha256=self._authority.ark_sha256(),
        )

    def _encode_and_sign(self, report: AttestationReport, verbatim: bool, extra: Mapping[str, Any]) -> bytes:
        patch: Mapping[int, bytes] = extra.get("patch") or {}
        out = bytearray(serialize_report(report))

        def apply_patch() -> None:
            for offset, data in patch.items():
                if offset < 0 or offset + len(data) > len(out):
                    raise ValueError(f"patch at {offset:#x} (+{len(data)}) is outside the report")
                out[offset : offset + len(data)] = data

        apply_patch()
        if not verbatim and not extra.get("zero_signature"):
            key: P384PrivateKey = extra.get("sign_with") or self._signing.private_key
            r, s = sign_p384_sha384(key, bytes(out[:SIGNED_SIZE]))
            if extra.get("tamper_signature"):
                r ^= 1
            out[SIGNED_SIZE : SIGNED_SIZE + _SIG_FIELD] = r.to_bytes(_SIG_FIELD, "little")
            out[SIGNED_SIZE + _SIG_FIELD : SIGNED_SIZE + 2 * _SIG_FIELD] = s.to_bytes(_SIG_FIELD, "little")
        apply_patch()
        return bytes(out)

    def cert_table(self) -> bytes:
        """The GHCB certificate table the host would return: VCEK/VLEK, ASK/ASVK, ARK."""
        kind = self._signing.kind
        return serialize_cert_table(
            [
                (VCEK_GUID if kind is SigningKey.VCEK else VLEK_GUID, self._signing.certificate),
                (ASK_GUID, self._authority.intermediate_certificate(kind)),
                (ARK_GUID, self._authority.ark_certificate()),
            ]
        )
