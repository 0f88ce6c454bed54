"""SEV-SNP ATTESTATION_REPORT: parse and serialize (SEV-SNP Firmware ABI #56860, Table 23).

The report is exactly 0x4A0 (1184) bytes, little-endian. Versions 2, 3, 4 and 5 are supported:

* v2 has no CPUID fields (0x188–0x1A0 reserved);
* v3 adds CPUID_FAM_ID / CPUID_MOD_ID / CPUID_STEP at 0x188–0x18A;
* v4 has the v3 layout (firmware that emits v4 changed no field this parser reads);
* v5 adds LAUNCH_MIT_VECTOR (0x1F8) and CURRENT_MIT_VECTOR (0x200).

The parser is strict: every reserved / must-be-zero byte for the report's version must be zero,
POLICY bit 17 must be one, POLICY bits 63:26 and signer-info bits 31:5 must be zero, SIGNATURE_ALGO
must be 1, and the signature padding beyond the 48-byte R and S must be zero. It does **not** check
the signature, the signing key or anything that needs collateral: that is ``attestgw.verify``.

Because every byte is either a field or checked zero, :func:`serialize_report` of a parsed report
reproduces the input byte for byte.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from attestgw.encoding import decode_blob
from attestgw.errors import FormatError
from attestgw.evidence.snp.fields import (
    GuestPolicy,
    PlatformInfo,
    Product,
    SignerInfo,
    TcbVersion,
    product_from_cpuid,
)

__all__ = [
    "REPORT_SIZE",
    "SIGNED_SIZE",
    "SUPPORTED_VERSIONS",
    "AttestationReport",
    "ReportSignature",
    "parse_report",
    "serialize_report",
]

REPORT_SIZE = 0x4A0
SIGNED_SIZE = 0x2A0
SUPPORTED_VERSIONS = (2, 3, 4, 5)
_SIG_FIELD = 72  # each of R and S occupies 72 little-endian bytes; only the low 48 are used
_SIG_USED = 48


@dataclass(frozen=True, slots=True)
class ReportSignature:
    """ECDSA P-384 signature as stored in the report: R and S, 72 bytes each, little-endian."""

    r_le: bytes
    s_le: bytes

    @property
    def r(self) -> int:
        return int.from_bytes(self.r_le, "little")

    @property
    def s(self) -> int:
        return int.from_bytes(self.s_le, "little")

    @property
    def is_zero(self) -> bool:
        return not any(self.r_le) and not any(self.s_le)


@dataclass(frozen=True, slots=True)
class AttestationReport:
    """A parsed, **unverified** SEV-SNP attestation report. ``raw`` holds the exact input bytes."""

    version: int
    guest_svn: int
    policy: GuestPolicy
    family_id: bytes
    image_id: bytes
    vmpl: int
    signature_algo: int
    current_tcb: TcbVersion
    platform_info: PlatformInfo
    signer_info: SignerInfo
    report_data: bytes
    measurement: bytes
    host_data: bytes
    id_key_digest: bytes
    author_key_digest: bytes
    report_id: bytes
    report_id_ma: bytes
    reported_tcb: TcbVersion
    cpuid_fam_id: int | None
    cpuid_mod_id: int | None
    cpuid_step: int | None
    chip_id: bytes
    committed_tcb: TcbVersion
    current_build: int
    current_minor: int
    current_major: int
    committed_build: int
    committed_minor: int
    committed_major: int
    launch_tcb: TcbVersion
    launch_mit_vector: int | None
    current_mit_vector: int | None
    signature: ReportSignature
    raw: bytes

    @property
    def signed_bytes(self) -> bytes:
        """The bytes the signature covers: ``report[0x000:0x2A0]``."""
        return self.raw[:SIGNED_SIZE]

    @property
    def cpuid_product(self) -> Product | None:
        """Product line from the CPUID fields (v3+); ``None`` for v2 or an unknown part."""
        if self.cpuid_fam_id is None or self.cpuid_mod_id is None:
            return None
        return product_from_cpuid(self.cpuid_fam_id, self.cpuid_mod_id)

    @property
    def chip_id_masked(self) -> bool:
        return not any(self.chip_id)


def _reserved(version: int) -> list[tuple[int, int]]:
    """Half-open byte ranges that must be zero for ``version`` (signature padding included)."""
    ranges = [(0x04C, 0x050), (0x1EB, 0x1EC), (0x1EF, 0x1F0), (0x208, 0x2A0)]
    ranges.append((0x188, 0x1A0) if version == 2 else (0x18B, 0x1A0))
    if version < 5:
        ranges.append((0x1F8, 0x208))
    sig = SIGNED_SIZE
    ranges += [
        (sig + _SIG_USED, sig + _SIG_FIELD),
        (sig + _SIG_FIELD + _SIG_USED, sig + 2 * _SIG_FIELD),
        (sig + 2 * _SIG_FIELD, REPORT_SIZE),
    ]
    return ranges


def parse_report(data: bytes) -> AttestationReport:
    """Parse a report given as raw bytes, hex or base64 (auto-detected).

    Raises :class:`~attestgw.errors.FormatError` (and nothing else) for any malformed input.
    """
    blob = decode_blob(bytes(data), (REPORT_SIZE,))
    if len(blob) < REPORT_SIZE:
        raise FormatError("snp.truncated", f"report is {len(blob)} bytes, want {REPORT_SIZE}")
    if len(blob) > REPORT_SIZE:
        raise FormatError("snp.oversized", f"report is {len(blob)} bytes, want {REPORT_SIZE}")

    def u32(off: int) -> int:
        return int(struct.unpack_from("<I", blob, off)[0])

    def u64(off: int) -> int:
        return int(struct.unpack_from("<Q", blob, off)[0])

    version = u32(0x000)
    if version not in SUPPORTED_VERSIONS:
        raise FormatError(
            "snp.unknown_version", f"report version {version}, want one of {SUPPORTED_VERSIONS}"
        )
    for start, end in _reserved(version):
        if any(blob[start:end]):
            raise FormatError(
                "snp.reserved_nonzero",
                f"reserved bytes {start:#05x}..{end:#05x} are {blob[start:end].hex()}, want zeros",
            )
    policy = GuestPolicy(u64(0x008))
    if not policy.raw & GuestPolicy.RESERVED_ONE or policy.raw & GuestPolicy.MBZ_MASK:
        raise FormatError(
            "snp.policy_invalid",
            f"guest policy {policy.raw:#018x}: bit 17 must be 1 and bits 63:26 must be 0",
        )
    signature_algo = u32(0x034)
    if signature_algo != 1:
        raise FormatError("snp.signature_algo_unsupported", f"SIGNATURE_ALGO {signature_algo}, want 1")
    signer = SignerInfo(u32(0x048))
    if signer.raw >> 5 or signer.signing_key is None:
        raise FormatError(
            "snp.signer_info_invalid",
            f"signer info {signer.raw:#010x}: SIGNING_KEY must be 0, 1 or 7 and bits 31:5 zero",
        )
    has_cpuid = version >= 3
    has_mit = version >= 5
    sig = SIGNED_SIZE
    return AttestationReport(
        version=version,
        guest_svn=u32(0x004),
        policy=policy,
        family_id=blob[0x010:0x020],
        image_id=blob[0x020:0x030],
        vmpl=u32(0x030),
        signature_algo=signature_algo,
        current_tcb=TcbVersion(u64(0x038)),
        platform_info=PlatformInfo(u64(0x040)),
        signer_info=signer,
        report_data=blob[0x050:0x090],
        measurement=blob[0x090:0x0C0],
        host_data=blob[0x0C0:0x0E0],
        id_key_digest=blob[0x0E0:0x110],
        author_key_digest=blob[0x110:0x140],
        report_id=blob[0x140:0x160],
        report_id_ma=blob[0x160:0x180],
        reported_tcb=TcbVersion(u64(0x180)),
        cpuid_fam_id=blob[0x188] if has_cpuid else None,
        cpuid_mod_id=blob[0x189] if has_cpuid else None,
        cpuid_step=blob[0x18A] if has_cpuid else None,
        chip_id=blob[0x1A0:0x1E0],
        committed_tcb=TcbVersion(u64(0x1E0)),
        current_build=blob[0x1E8],
        current_minor=blob[0x1E9],
        current_major=blob[0x1EA],
        committed_build=blob[0x1EC],
        committed_minor=blob[0x1ED],
        committed_major=blob[0x1EE],
        launch_tcb=TcbVersion(u64(0x1F0)),
        launch_mit_vector=u64(0x1F8) if has_mit else None,
        current_mit_vector=u64(0x200) if has_mit else None,
        signature=ReportSignature(
            r_le=blob[sig : sig + _SIG_FIELD], s_le=blob[sig + _SIG_FIELD : sig + 2 * _SIG_FIELD]
        ),
        raw=blob,
    )


def serialize_report(report: AttestationReport) -> bytes:
    """Encode ``report``'s fields into 1184 bytes (reserved bytes zero).

    For a report returned by :func:`parse_report` the result equals ``report.raw``. Field values
    are not re-validated beyond their widths; use :func:`parse_report` on the output for that.
    """
    out = bytearray(REPORT_SIZE)

    def put(fmt: str, off: int, value: int) -> None:
        struct.pack_into(fmt, out, off, value)

    def put_bytes(off: int, value: bytes, size: int) -> None:
        if len(value) != size:
            raise ValueError(f"field at {off:#05x} needs {size} bytes, got {len(value)}")
        out[off : off + size] = value

    put("<I", 0x000, report.version)
    put("<I", 0x004, report.guest_svn)
    put("<Q", 0x008, report.policy.raw)
    put_bytes(0x010, report.family_id, 16)
    put_bytes(0x020, report.image_id, 16)
    put("<I", 0x030, report.vmpl)
    put("<I", 0x034, report.signature_algo)
    put("<Q", 0x038, report.current_tcb.raw)
    put("<Q", 0x040, report.platform_info.raw)
    put("<I", 0x048, report.signer_info.raw)
    put_bytes(0x050, report.report_data, 64)
    put_bytes(0x090, report.measurement, 48)
    put_bytes(0x0C0, report.host_data, 32)
    put_bytes(0x0E0, report.id_key_digest, 48)
    put_bytes(0x110, report.author_key_digest, 48)
    put_bytes(0x140, report.report_id, 32)
    put_bytes(0x160, report.report_id_ma, 32)
    put("<Q", 0x180, report.reported_tcb.raw)
    if report.cpuid_fam_id is not None:
        out[0x188] = report.cpuid_fam_id
        out[0x189] = report.cpuid_mod_id or 0
        out[0x18A] = report.cpuid_step or 0
    put_bytes(0x1A0, report.chip_id, 64)
    put("<Q", 0x1E0, report.committed_tcb.raw)
    out[0x1E8:0x1EB] = bytes((report.current_build, report.current_minor, report.current_major))
    out[0x1EC:0x1EF] = bytes((report.committed_build, report.committed_minor, report.committed_major))
    put("<Q", 0x1F0, report.launch_tcb.raw)
    if report.launch_mit_vector is not None:
        put("<Q", 0x1F8, report.launch_mit_vector)
    if report.current_mit_vector is not None:
        put("<Q", 0x200, report.current_mit_vector)
    put_bytes(SIGNED_SIZE, report.signature.r_le, _SIG_FIELD)
    put_bytes(SIGNED_SIZE + _SIG_FIELD, report.signature.s_le, _SIG_FIELD)
    return bytes(out)
