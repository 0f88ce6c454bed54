"""Verified SNP claims for appraisal tests: from a synthetic report or a real corpus capture.

Appraisal accepts only ``VerifiedSnpClaims``, which only ``attestgw.verify`` may build. Tests build
them directly with ``SEAL`` from the private ``attestgw.verify._seal`` module: that explicit reach
is acceptable in tests only (review rule), and it keeps appraisal tests independent of certificates
and signatures, which the verify tests cover.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from attestgw.appraisal import SnpPolicy, parse_policy
from attestgw.evidence.snp import (
    AttestationReport,
    GuestPolicy,
    PlatformInfo,
    Product,
    ReportSignature,
    SignerInfo,
    SigningKey,
    TcbParts,
    TcbVersion,
    is_hcl_report,
    parse_hcl_report,
    parse_report,
    serialize_report,
)
from attestgw.verify._seal import SEAL  # tests only: see the module docstring
from attestgw.verify.snp import AMD_TRUST, VerifiedSnpClaims
from tests.conftest import corpus_file

VERIFIED_AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
GENOA_TCB = TcbParts(bootloader=10, tee=0, snp=25, microcode=84)

# A value in a tweak table may be a function of the base report (so one table fits every base).
Tweak = Mapping[str, Any]


def synthetic_report() -> AttestationReport:
    """A structurally valid v5 Genoa report with every pinnable field distinct and non-zero.

    Platform: SMT off, TSME on, ECC on, alias check complete; guest policy ABI 0.31, SMT allowed,
    no debug, no migration agent. Unsigned (the signature bytes are filler): appraisal never looks.
    """
    tcb = TcbVersion.from_parts(GENOA_TCB, Product.GENOA)
    report = AttestationReport(
        version=5,
        guest_svn=7,
        policy=GuestPolicy(0x3001F),
        family_id=bytes.fromhex("11" * 16),
        image_id=bytes.fromhex("22" * 16),
        vmpl=0,
        signature_algo=1,
        current_tcb=tcb,
        platform_info=PlatformInfo(0b100110),
        signer_info=SignerInfo(0b1),  # VCEK, AUTHOR_KEY_EN
        report_data=bytes(range(64)),
        measurement=bytes([0xA5]) * 48,
        host_data=bytes([0x33]) * 32,
        id_key_digest=bytes([0x44]) * 48,
        author_key_digest=bytes([0x55]) * 48,
        report_id=bytes([0x66]) * 32,
        report_id_ma=bytes([0xFF]) * 32,
        reported_tcb=tcb,
        cpuid_fam_id=0x19,
        cpuid_mod_id=0x11,
        cpuid_step=0x01,
        chip_id=bytes([0x77]) * 64,
        committed_tcb=tcb,
        current_build=43,
        current_minor=55,
        current_major=1,
        committed_build=43,
        committed_minor=55,
        committed_major=1,
        launch_tcb=tcb,
        launch_mit_vector=0b11,
        current_mit_vector=0b11,
        signature=ReportSignature(r_le=b"\x01" * 48 + bytes(24), s_le=b"\x02" * 48 + bytes(24)),
        raw=b"",
    )
    return parse_report(serialize_report(report))


def load_corpus_report(relative: str) -> AttestationReport:
    """A real report from the corpus (raw, hex, base64, or inside an Azure HCL envelope)."""
    data = corpus_file(relative).read_bytes()
    if is_hcl_report(data):
        data = parse_hcl_report(data).snp_report
    return parse_report(data)


def load_azure_evidence_report(relative: str) -> AttestationReport:
    """The SNP report inside a trustee az-snp-vtpm evidence JSON (base64url HCL report)."""
    doc = json.loads(corpus_file(relative).read_text(encoding="utf-8"))
    hcl = doc.get("hcl_report") or doc["report"]
    blob = bytes(hcl) if isinstance(hcl, list) else base64.urlsafe_b64decode(hcl + "=" * (-len(hcl) % 4))
    return parse_report(parse_hcl_report(blob).snp_report)


def product_of(report: AttestationReport) -> Product:
    # v2 reports have no CPUID; the corpus's v2 captures are all Milan (their VCEKs say Milan-B0)
    return report.cpuid_product or Product.MILAN


def _resolve(value: Any, base: AttestationReport) -> Any:
    return value(base) if callable(value) and not isinstance(value, type) else value


def tweak_report(base: AttestationReport, tweak: Tweak) -> AttestationReport:
    """Apply report-field overrides and re-parse, so every tweaked report is still well-formed."""
    fields = {f.name for f in dataclasses.fields(AttestationReport)}
    overrides = {k: _resolve(v, base) for k, v in tweak.items() if k in fields}
    return parse_report(serialize_report(dataclasses.replace(base, **overrides)))


def make_claims(base: AttestationReport, tweak: Tweak | None = None) -> VerifiedSnpClaims:
    """Claims as ``verify`` would produce them for ``base`` with ``tweak`` applied.

    Keys naming ``AttestationReport`` fields change the report (TCBs in the claims follow it); other
    keys override ``VerifiedSnpClaims`` fields (``simulated``, ``crl_checked``, ``signing_key``…).
    """
    tweak = tweak or {}
    report = tweak_report(base, tweak)
    product = _resolve(tweak.get("product"), base) or product_of(report)
    anchor = next(a for a in AMD_TRUST.anchors if a.product is product)
    fields: dict[str, Any] = {
        "report": report,
        "product": product,
        "signing_key": report.signer_info.signing_key or SigningKey.VCEK,
        "reported_tcb": report.reported_tcb.parts(product),
        "current_tcb": report.current_tcb.parts(product),
        "committed_tcb": report.committed_tcb.parts(product),
        "launch_tcb": report.launch_tcb.parts(product),
        "product_name": product.value,
        "csp_id": None,
        "ark_sha256": anchor.ark_sha256,
        "intermediate_sha256": "ab" * 32,
        "signing_cert_sha256": "cd" * 32,
        "simulated": False,
        "crl_checked": True,
        "crl_next_update": None,
        "verified_at": VERIFIED_AT,
        # as verify sets it: a VCEK's hwID is compared with CHIP_ID unless CHIP_ID is masked
        "chip_id_checked": (report.signer_info.signing_key is SigningKey.VCEK and not report.chip_id_masked),
    }
    claim_names = {f.name for f in dataclasses.fields(VerifiedSnpClaims)}
    report_names = {f.name for f in dataclasses.fields(AttestationReport)}
    for key, value in tweak.items():
        if key in report_names or key == "product":
            continue
        if key not in claim_names:
            raise KeyError(f"unknown tweak {key}")
        fields[key] = _resolve(value, base)
    return VerifiedSnpClaims(**fields, seal=SEAL)


def _tcb_table(name: str, product: Product, parts: TcbParts) -> str:
    lines = [f"[snp.{name}.{product.value.lower()}]"]
    lines += [f"{component} = {value}" for component, value in parts.items()]
    return "\n".join(lines) + "\n"


def strict_policy_text(report: AttestationReport) -> str:
    """A policy that pins every value of ``report`` and evaluates every rule it can (all pass)."""
    product = product_of(report)
    abi = f"{report.policy.abi_major}.{report.policy.abi_minor}"
    firmware = f"{report.current_major}.{report.current_minor}.{report.current_build}"
    mitigations = ""
    if report.current_mit_vector is not None and report.launch_mit_vector is not None:
        bits = [b for b in range(64) if (report.current_mit_vector & report.launch_mit_vector) >> b & 1]
        mitigations = f"required_mitigations = {bits}\n" if bits else ""
    text = f"""
[policy]
id = "vectors-strict"
version = "1"
description = "pins every field of the base report"

[snp]
measurements = ["{report.measurement.hex()}"]
host_data = ["{report.host_data.hex()}"]
id_key_digests = ["{report.id_key_digest.hex()}"]
author_key_digests = ["{report.author_key_digest.hex()}"]
family_ids = ["{report.family_id.hex()}"]
image_ids = ["{report.image_id.hex()}"]
chip_ids = ["{report.chip_id.hex()}"]
expected_report_data = "{report.report_data.hex()}"
minimum_guest_svn = {report.guest_svn}
minimum_report_version = {report.version}
minimum_abi = "{abi}"
minimum_firmware = "{firmware}"
{mitigations}allowed_products = ["{product.value}"]
allowed_vmpls = [{report.vmpl}]
require_crl = true
require_committed_equals_current = true
"""
    text += _tcb_table("minimum_tcb", product, report.reported_tcb.parts(product))
    text += _tcb_table("recommended_tcb", product, report.reported_tcb.parts(product))
    text += _tcb_table("minimum_current_tcb", product, report.current_tcb.parts(product))
    text += _tcb_table("minimum_committed_tcb", product, report.committed_tcb.parts(product))
    text += _tcb_table("minimum_launch_tcb", product, report.launch_tcb.parts(product))
    return text


def strict_policy(report: AttestationReport) -> SnpPolicy:
    return parse_policy(strict_policy_text(report).encode(), source="strict test policy")


def tweak_policy(policy: SnpPolicy, tweak: Tweak, base: AttestationReport) -> SnpPolicy:
    """``dataclasses.replace`` on a loaded policy; this skips the loader's per-key validation."""
    return dataclasses.replace(policy, **{k: _resolve(v, base) for k, v in tweak.items()})


def repo_policy(name: str) -> Path:
    return Path(__file__).resolve().parents[3] / "policies" / "attestation" / name
