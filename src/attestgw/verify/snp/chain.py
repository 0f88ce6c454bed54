"""The AMD certificate chain ARK → ASK/ASVK → VCEK/VLEK (formats.md §2.5, §2.6 step 4).

Certificates are parsed once per exact input bytes into a :class:`CertRecord` (cached; parsing is
pure). The checks that depend on the caller — which product, which trust store, which time — are
separate functions the verifier runs on every call. Chain signature math is cached per exact
``(ARK, intermediate, leaf)`` DER triple, successes only.

Not checked here: the ARK pin (needs the trust store), CRLs (:mod:`.crl`), the report itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from cryptography import x509

from attestgw.crypto.x509 import (
    SignedLayout,
    der_tlv,
    load_certificate,
    looks_like_der,
    pem_certificates,
    signed_layout,
    verify_layout_signed_by,
)
from attestgw.errors import VerificationError
from attestgw.evidence.snp import Product, SigningKey
from attestgw.verify.cache import BoundedLru, digest_key
from attestgw.verify.snp.vcek_ext import AmdExtensions, parse_amd_extensions, raw_amd_extensions

__all__ = [
    "AMD_SUBJECT",
    "CertRecord",
    "amd_extensions",
    "check_amd_name",
    "check_validity",
    "leaf_cn",
    "load_bundle",
    "load_record",
    "name_attributes",
    "select_chain",
    "verify_chain_signatures",
]

#: Attributes every AMD SEV certificate subject carries, each exactly once (go-sev-guest checks
#: them as singletons; formats.md §2.5), keyed by their DER OID content (2.5.4.x).
AMD_SUBJECT: Mapping[bytes, tuple[str, str]] = MappingProxyType(
    {
        b"\x55\x04\x0a": ("O", "Advanced Micro Devices"),
        b"\x55\x04\x0b": ("OU", "Engineering"),
        b"\x55\x04\x07": ("L", "Santa Clara"),
        b"\x55\x04\x08": ("ST", "CA"),
        b"\x55\x04\x06": ("C", "US"),
    }
)
_CN = b"\x55\x04\x03"
_STRING_TAGS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii"}  # UTF8String, PrintableString, IA5String
_MAX_ATTRS = 32

_RECORDS: BoundedLru[bytes, CertRecord] = BoundedLru(256)
_BUNDLES: BoundedLru[bytes, tuple[CertRecord, ...]] = BoundedLru(64)
_EXTENSIONS: BoundedLru[bytes, AmdExtensions] = BoundedLru(256)
_CHAIN_OK: BoundedLru[bytes, bool] = BoundedLru(256)


@dataclass(frozen=True, slots=True)
class CertRecord:
    """A parsed certificate plus the pure facts the verifier needs, computed once."""

    der: bytes
    cert: x509.Certificate
    layout: SignedLayout
    sha256: str
    cn: str | None
    name_problems: tuple[str, ...]
    subject_der: bytes
    issuer_der: bytes
    is_v3: bool
    not_before: datetime
    not_after: datetime
    serial: int

    @property
    def self_issued(self) -> bool:
        return self.subject_der == self.issuer_der


def name_attributes(name_der: bytes) -> dict[bytes, list[str | None]]:
    """``{DER OID content: [values]}`` of an X.501 Name; values of non-string types are ``None``.

    Raises ValueError on malformed DER. Read here rather than through ``cryptography`` because the
    verifier only needs six attributes and this runs on every cold verification.
    """
    out: dict[bytes, list[str | None]] = {}
    tag, pos, end = der_tlv(name_der, 0, len(name_der))
    if tag != 0x30 or end != len(name_der):
        raise ValueError("Name is not one SEQUENCE")
    count = 0
    while pos < end:
        tag, rs, re_ = der_tlv(name_der, pos, end)
        if tag != 0x31:
            raise ValueError("RDN is not a SET")
        pos = re_
        while rs < re_:
            count += 1
            if count > _MAX_ATTRS:
                raise ValueError(f"Name has more than {_MAX_ATTRS} attributes")
            tag, vs, ve = der_tlv(name_der, rs, re_)
            otag, os_, oe = der_tlv(name_der, vs, ve)
            vtag, ts, te = der_tlv(name_der, oe, ve)
            if tag != 0x30 or otag != 0x06 or te != ve:
                raise ValueError("AttributeTypeAndValue is malformed")
            rs = ve
            encoding = _STRING_TAGS.get(vtag)
            try:
                value = name_der[ts:te].decode(encoding) if encoding else None
            except UnicodeDecodeError:
                value = None
            out.setdefault(name_der[os_:oe], []).append(value)
    return out


def _single(attrs: Mapping[bytes, list[str | None]], oid: bytes) -> str | None:
    values = attrs.get(oid, [])
    return values[0] if len(values) == 1 else None


def _build(der: bytes) -> CertRecord:
    cert = load_certificate(der)
    try:
        layout = signed_layout(der)
        attrs = name_attributes(layout.subject)
        problems = tuple(
            f"subject {label}={_single(attrs, oid)!r}, want {want!r}"
            for oid, (label, want) in AMD_SUBJECT.items()
            if _single(attrs, oid) != want
        )
        record = CertRecord(
            der=der,
            cert=cert,
            layout=layout,
            sha256=hashlib.sha256(der).hexdigest(),
            cn=_single(attrs, _CN),
            name_problems=problems,
            subject_der=layout.subject,
            issuer_der=layout.issuer,
            is_v3=cert.version is x509.Version.v3,
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            serial=int.from_bytes(layout.serial, "big", signed=True),
        )
    except (ValueError, x509.InvalidVersion) as exc:
        raise VerificationError("snp.cert_malformed", f"certificate field unreadable: {exc}") from None
    return record


def load_record(data: bytes) -> CertRecord:
    """Parse one certificate (DER or a PEM holding one). Cached by the exact input bytes."""
    data = bytes(data)
    record = _RECORDS.get(data)
    if record is None:
        if not looks_like_der(data):
            ders = pem_certificates(data)
            if len(ders) != 1:
                raise VerificationError(
                    "snp.cert_malformed",
                    f"PEM holds {len(ders)} certificates, want exactly 1 (pass the rest as the chain)",
                )
            record = load_record(ders[0])
        else:
            record = _build(data)
        _RECORDS.put(data, record)
    return record


def load_bundle(data: bytes) -> tuple[CertRecord, ...]:
    """Parse a PEM bundle (a KDS ``cert_chain`` or similar). Cached by the exact input bytes."""
    data = bytes(data)
    records = _BUNDLES.get(data)
    if records is None:
        records = tuple(load_record(der) for der in pem_certificates(data))
        _BUNDLES.put(data, records)
    return records


def amd_extensions(record: CertRecord) -> AmdExtensions:
    """The AMD extensions of a VCEK/VLEK record (decoded once per DER; errors are not cached)."""
    ext = _EXTENSIONS.get(record.der)
    if ext is None:
        ext = parse_amd_extensions(raw_amd_extensions(record.layout.extensions))
        _EXTENSIONS.put(record.der, ext)
    return ext


def leaf_cn(kind: SigningKey) -> str:
    return "SEV-VLEK" if kind is SigningKey.VLEK else "SEV-VCEK"


def _intermediate_cn(kind: SigningKey, product: Product) -> str:
    return f"SEV-VLEK-{product.value}" if kind is SigningKey.VLEK else f"SEV-{product.value}"


def _is_intermediate(cn: str | None, kind: SigningKey) -> bool:
    if cn is None or not cn.startswith("SEV-") or cn in ("SEV-VCEK", "SEV-VLEK"):
        return False
    return cn.startswith("SEV-VLEK-") == (kind is SigningKey.VLEK)


def _pick(candidates: list[CertRecord], want_cn: str, role: str) -> CertRecord:
    distinct = {r.der: r for r in candidates}  # the same certificate twice is harmless
    named = [r for r in distinct.values() if r.cn == want_cn]
    if not named:
        got = sorted({str(r.cn) for r in distinct.values()})
        raise VerificationError("snp.wrong_product", f"{role} CN {', '.join(got)}, want {want_cn}")
    if len(named) > 1:
        raise VerificationError(
            "snp.chain_invalid", f"chain holds {len(named)} different {want_cn} certificates"
        )
    return named[0]


def select_chain(
    records: Iterable[CertRecord], product: Product, kind: SigningKey
) -> tuple[CertRecord, CertRecord]:
    """Pick ``(ARK, ASK or ASVK)`` for ``product`` and ``kind`` out of a bundle (any order).

    An intermediate of the other kind only (ASK for a VLEK report or ASVK for a VCEK one) is
    ``snp.key_kind_mismatch``; certificates naming another product are ``snp.wrong_product``;
    a missing ARK or intermediate is ``snp.chain_invalid``. Other certificates are ignored.
    """
    records = list(records)
    arks = [r for r in records if r.cn is not None and r.cn.startswith("ARK-")]
    inters = [r for r in records if _is_intermediate(r.cn, kind)]
    if not inters:
        other = SigningKey.VCEK if kind is SigningKey.VLEK else SigningKey.VLEK
        if any(_is_intermediate(r.cn, other) for r in records):
            raise VerificationError(
                "snp.key_kind_mismatch",
                f"the chain has only a {other.name} intermediate, the report is signed by a {kind.name}",
            )
        raise VerificationError("snp.chain_invalid", f"the chain has no {_intermediate_cn(kind, product)}")
    if not arks:
        raise VerificationError("snp.chain_invalid", f"the chain has no ARK-{product.value}")
    ark = _pick(arks, f"ARK-{product.value}", "ARK")
    intermediate = _pick(inters, _intermediate_cn(kind, product), "intermediate")
    return ark, intermediate


def check_amd_name(record: CertRecord, want_cn: str, role: str) -> None:
    """Version 3, subject CN ``want_cn`` and the AMD O/OU/L/ST/C attributes, else cert_malformed."""
    if not record.is_v3:
        raise VerificationError("snp.cert_malformed", f"{role} is X.509 {record.cert.version.name}, want v3")
    if record.cn != want_cn:
        raise VerificationError("snp.cert_malformed", f"{role} subject CN {record.cn!r}, want {want_cn!r}")
    if record.name_problems:
        raise VerificationError("snp.cert_malformed", f"{role}: " + "; ".join(record.name_problems))


def check_validity(records: Iterable[tuple[str, CertRecord]], at: datetime) -> None:
    """Every certificate valid at ``at`` (inclusive bounds, RFC 5280 §4.1.2.5), else cert_expired."""
    for role, record in records:
        if not record.not_before <= at <= record.not_after:
            raise VerificationError(
                "snp.cert_expired",
                f"{role} {record.cn} is valid {record.not_before.isoformat()} .. "
                f"{record.not_after.isoformat()}, not at {at.isoformat()}",
            )


def verify_chain_signatures(ark: CertRecord, intermediate: CertRecord, leaf: CertRecord) -> None:
    """Issuer names link up and every signature verifies (RSA-PSS), else ``snp.chain_invalid``.

    The signature result is cached per exact DER triple; name linkage is re-checked every call
    (it is cheap and keeps this function's contract independent of the cache).
    """
    if not ark.self_issued:
        raise VerificationError("snp.chain_invalid", f"ARK {ark.cn} is not self-issued")
    if intermediate.issuer_der != ark.subject_der:
        raise VerificationError("snp.chain_invalid", f"{intermediate.cn} is not issued by {ark.cn}")
    if leaf.issuer_der != intermediate.subject_der:
        raise VerificationError("snp.chain_invalid", f"{leaf.cn} is not issued by {intermediate.cn}")
    key = digest_key(ark.der, intermediate.der, leaf.der)
    if _CHAIN_OK.get(key):
        return
    for subject, issuer, link in (
        (ark, ark, "ARK self-signature"),
        (intermediate, ark, f"{intermediate.cn} signature by {ark.cn}"),
        (leaf, intermediate, f"{leaf.cn} signature by {intermediate.cn}"),
    ):
        if not verify_layout_signed_by(subject.layout, issuer.cert, allow_ecdsa=False):
            raise VerificationError(
                "snp.chain_invalid", f"{link} does not verify (RSASSA-PSS SHA-384, salt 48)"
            )
    _CHAIN_OK.put(key, True)
