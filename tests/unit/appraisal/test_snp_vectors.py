"""Policy vectors: (case, policy tweak, claims tweak, expected codes) for every SEV-SNP rule.

Each case starts from a base report and a strict policy that pins every one of its values (so every
rule is evaluated and passes), changes one thing, and checks exactly which codes come back and the
resulting status. The table runs on a synthetic v5 Genoa report and, when the shared corpus is
present, on a real v5 Genoa capture (project-oak genoa_oc_report.bin).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from attestgw.appraisal import Status, TcbMinimum, appraise_snp
from attestgw.evidence.snp import AttestationReport, Product, SignerInfo, SigningKey, TcbVersion
from tests.unit.appraisal.snp_fixtures import (
    Tweak,
    load_corpus_report,
    make_claims,
    product_of,
    strict_policy,
    synthetic_report,
    tweak_policy,
)

A, W, C = Status.AFFIRMING, Status.WARNING, Status.CONTRAINDICATED


def bit(field: str, n: int, *, on: bool = True) -> Callable[[AttestationReport], Any]:
    """Set (or clear) bit ``n`` of a bitfield of the base report (POLICY, PLATFORM_INFO)."""

    def apply(report: AttestationReport) -> Any:
        current = getattr(report, field)
        raw = current.raw | 1 << n if on else current.raw & ~(1 << n)
        return type(current)(raw)

    return apply


def tcb(field: str, **delta: int) -> Callable[[AttestationReport], TcbVersion]:
    """Change components of one of the report's TCBs by ``delta`` (on the product's layout)."""

    def apply(report: AttestationReport) -> TcbVersion:
        product = product_of(report)
        parts = getattr(report, field).parts(product)
        changed = dataclasses.replace(parts, **{k: getattr(parts, k) + v for k, v in delta.items()})
        return TcbVersion.from_parts(changed, product)

    return apply


def floor(field: str, **delta: int) -> Callable[[AttestationReport], TcbMinimum]:
    """A per-product TCB minimum equal to the report's ``field`` TCB changed by ``delta``."""

    def apply(report: AttestationReport) -> TcbMinimum:
        product = product_of(report)
        parts = getattr(report, field).parts(product)
        changed = dataclasses.replace(parts, **{k: getattr(parts, k) + v for k, v in delta.items()})
        return TcbMinimum(per_product=((product, changed),))

    return apply


def flip(field: str) -> Callable[[AttestationReport], bytes]:
    """The base report's byte field with its first byte inverted."""

    def apply(report: AttestationReport) -> bytes:
        value: bytes = getattr(report, field)
        return bytes([value[0] ^ 0xFF]) + value[1:]

    return apply


def other_products(report: AttestationReport) -> tuple[Product, ...]:
    return tuple(p for p in Product if p is not product_of(report))


class V(NamedTuple):
    case: str
    policy: Tweak
    claims: Tweak
    codes: frozenset[str]
    status: Status


def v(case: str, policy: Tweak, claims: Tweak, codes: set[str], status: Status) -> V:
    return V(case, policy, claims, frozenset(codes), status)


FAKE_ARK = "5a" * 32

VECTORS = [
    v("baseline: every rule evaluated and passing", {}, {}, set(), A),
    # --- guest policy ---
    v("debug bit set", {}, {"policy": bit("policy", 19)}, {"policy.debug_allowed"}, C),
    v(
        "debug bit set, allow_debug opt-in: warning, never affirming",
        {"allow_debug": True},
        {"policy": bit("policy", 19)},
        {"policy.debug_allowed"},
        W,
    ),
    v("allow_debug opt-in without a debug guest", {"allow_debug": True}, {}, set(), A),
    v(
        "migration agent allowed by guest",
        {},
        {"policy": bit("policy", 18)},
        {"policy.migration_agent_allowed"},
        C,
    ),
    v("migration agent opt-in", {"allow_migration_agent": True}, {"policy": bit("policy", 18)}, set(), A),
    v("VMPL 1 refused", {}, {"vmpl": 1}, {"policy.vmpl_not_allowed"}, C),
    v("VMPL 3 refused", {}, {"vmpl": 3}, {"policy.vmpl_not_allowed"}, C),
    v("VMPL 1 explicitly allowed", {"allowed_vmpls": (0, 1)}, {"vmpl": 1}, set(), A),
    v("guest ABI below minimum", {"minimum_abi": (9, 0)}, {}, {"policy.abi_below_minimum"}, C),
    v(
        "single socket required, bit clear",
        {"require_single_socket": True},
        {"policy": bit("policy", 20, on=False)},
        {"policy.single_socket_required"},
        C,
    ),
    v(
        "single socket required, bit set",
        {"require_single_socket": True},
        {"policy": bit("policy", 20)},
        set(),
        A,
    ),
    v(
        "page swap disable required, bit clear",
        {"require_page_swap_disabled": True},
        {"policy": bit("policy", 25, on=False)},
        {"policy.page_swap_disable_required"},
        C,
    ),
    # --- platform info ---
    v(
        "SMT must be off, platform has SMT",
        {"require_smt_disabled": True},
        {"platform_info": bit("platform_info", 0)},
        {"policy.smt_enabled"},
        C,
    ),
    v(
        "SMT must be off, platform has none",
        {"require_smt_disabled": True},
        {"platform_info": bit("platform_info", 0, on=False)},
        set(),
        A,
    ),
    v(
        "TSME required, off",
        {"require_tsme": True},
        {"platform_info": bit("platform_info", 1, on=False)},
        {"policy.tsme_required"},
        C,
    ),
    v(
        "ciphertext hiding required, neither bit",
        {"require_ciphertext_hiding": True},
        {"platform_info": bit("platform_info", 4, on=False), "policy": bit("policy", 24, on=False)},
        {"policy.ciphertext_hiding_required"},
        C,
    ),
    v(
        "ciphertext hiding via platform bit",
        {"require_ciphertext_hiding": True},
        {"platform_info": bit("platform_info", 4)},
        set(),
        A,
    ),
    v(
        "ciphertext hiding via guest policy bit",
        {"require_ciphertext_hiding": True},
        {"policy": bit("policy", 24), "platform_info": bit("platform_info", 4, on=False)},
        set(),
        A,
    ),
    v(
        "RAPL disable required, neither bit",
        {"require_rapl_disabled": True},
        {"platform_info": bit("platform_info", 3, on=False), "policy": bit("policy", 23, on=False)},
        {"policy.rapl_disable_required"},
        C,
    ),
    v(
        "RAPL disabled via platform bit",
        {"require_rapl_disabled": True},
        {"platform_info": bit("platform_info", 3)},
        set(),
        A,
    ),
    v(
        "BadRAM alias check required, incomplete",
        {"require_alias_check": True},
        {"platform_info": bit("platform_info", 5, on=False)},
        {"policy.alias_check_required"},
        C,
    ),
    # --- reference values and identity ---
    v(
        "measurement not allowed",
        {},
        {"measurement": flip("measurement")},
        {"policy.measurement_mismatch"},
        C,
    ),
    v(
        "allow_any_measurement opt-in",
        {"allow_any_measurement": True, "measurements": ()},
        {"measurement": flip("measurement")},
        set(),
        A,
    ),
    v("HOST_DATA not allowed", {}, {"host_data": flip("host_data")}, {"policy.host_data_mismatch"}, C),
    v(
        "ID key digest not allowed",
        {},
        {"id_key_digest": flip("id_key_digest")},
        {"policy.id_key_mismatch"},
        C,
    ),
    v(
        "author key digest not allowed",
        {},
        {"author_key_digest": flip("author_key_digest")},
        {"policy.author_key_mismatch"},
        C,
    ),
    v("FAMILY_ID not allowed", {}, {"family_id": flip("family_id")}, {"policy.family_id_mismatch"}, C),
    v("IMAGE_ID not allowed", {}, {"image_id": flip("image_id")}, {"policy.image_id_mismatch"}, C),
    v("CHIP_ID of another chip", {}, {"chip_id": flip("chip_id")}, {"policy.chip_id_not_allowed"}, C),
    v(
        "CHIP_ID masked (all zero)",
        {},
        {"chip_id": bytes(64)},
        {"policy.chip_id_not_allowed", "policy.chip_id_masked"},
        C,
    ),
    v(
        "CHIP_ID masked, policy opts in and pins no chip",
        {"allow_masked_chip_id": True, "chip_ids": None},
        {"chip_id": bytes(64)},
        set(),
        A,
    ),
    v(
        "CHIP_ID masked, no chip pinned",
        {"chip_ids": None},
        {"chip_id": bytes(64)},
        {"policy.chip_id_masked"},
        C,
    ),
    v(
        "REPORT_DATA not the expected binding",
        {},
        {"report_data": flip("report_data")},
        {"policy.report_data_mismatch"},
        C,
    ),
    v(
        "GUEST_SVN below minimum",
        {"minimum_guest_svn": lambda r: r.guest_svn + 1},
        {},
        {"policy.guest_svn_below_minimum"},
        C,
    ),
    v(
        "VLEK-signed report under a VCEK-only policy",
        {},
        {"signer_info": SignerInfo(0b101), "signing_key": SigningKey.VLEK},
        {"policy.signing_key_not_allowed"},
        C,
    ),
    v(
        "VLEK explicitly allowed",
        {"allowed_signing_keys": (SigningKey.VCEK, SigningKey.VLEK)},
        {"signer_info": SignerInfo(0b101), "signing_key": SigningKey.VLEK},
        set(),
        A,
    ),
    v(
        "product line not allowed",
        {"allowed_products": other_products},
        {},
        {"policy.product_not_allowed"},
        C,
    ),
    # --- trust root and revocation ---
    v(
        "simulated root the policy does not trust",
        {},
        {"simulated": True, "ark_sha256": FAKE_ARK},
        {"policy.simulated_root"},
        C,
    ),
    v(
        "simulated root the policy trusts",
        {"trust_simulated_roots": (FAKE_ARK,)},
        {"simulated": True, "ark_sha256": FAKE_ARK},
        set(),
        A,
    ),
    v("CRL required but not checked", {}, {"crl_checked": False}, {"policy.crl_not_checked"}, C),
    v("CRL not checked, not required", {"require_crl": False}, {"crl_checked": False}, set(), A),
    # --- TCB: component-wise on REPORTED_TCB, then the self-reported TCBs ---
    v(
        "REPORTED_TCB snp SPL below minimum",
        {},
        {"reported_tcb": tcb("reported_tcb", snp=-1)},
        {"policy.tcb_below_minimum"},
        C,
    ),
    v(
        "REPORTED_TCB microcode below minimum",
        {},
        {"reported_tcb": tcb("reported_tcb", microcode=-1)},
        {"policy.tcb_below_minimum"},
        C,
    ),
    v(
        "REPORTED_TCB bootloader below minimum",
        {},
        {"reported_tcb": tcb("reported_tcb", bootloader=-1)},
        {"policy.tcb_below_minimum"},
        C,
    ),
    v(
        "higher microcode does not make up for a lower snp SPL (no integer compare)",
        {},
        {"reported_tcb": tcb("reported_tcb", snp=-1, microcode=+5)},
        {"policy.tcb_below_minimum"},
        C,
    ),
    v(
        "REPORTED_TCB above minimum but below recommended: warning",
        {"recommended_tcb": floor("reported_tcb", snp=1)},
        {},
        {"policy.tcb_below_recommended"},
        W,
    ),
    v(
        "no minimum for this product line",
        {
            "minimum_tcb": lambda r: TcbMinimum(
                per_product=((other_products(r)[0], r.reported_tcb.parts(other_products(r)[0])),)
            )
        },
        {},
        {"policy.no_tcb_minimum"},
        C,
    ),
    v(
        "CURRENT_TCB below minimum (and so not committed)",
        {},
        {"current_tcb": tcb("current_tcb", snp=-1)},
        {"policy.current_tcb_below_minimum", "policy.tcb_not_committed"},
        C,
    ),
    v(
        "COMMITTED_TCB below minimum (and so not committed)",
        {},
        {"committed_tcb": tcb("committed_tcb", snp=-1)},
        {"policy.committed_tcb_below_minimum", "policy.tcb_not_committed"},
        C,
    ),
    v(
        "LAUNCH_TCB below minimum",
        {},
        {"launch_tcb": tcb("launch_tcb", microcode=-1)},
        {"policy.launch_tcb_below_minimum"},
        C,
    ),
    v(
        "provisional firmware: CURRENT above COMMITTED",
        {},
        {"current_tcb": tcb("current_tcb", microcode=1)},
        {"policy.tcb_not_committed"},
        C,
    ),
    v(
        "provisional firmware accepted when not required",
        {"require_committed_equals_current": False},
        {"current_tcb": tcb("current_tcb", microcode=1)},
        set(),
        A,
    ),
    # --- firmware, report version, mitigations ---
    v(
        "current firmware build below minimum",
        {},
        {"current_build": lambda r: r.current_build - 1},
        {"policy.firmware_below_minimum"},
        C,
    ),
    v(
        "committed firmware below minimum",
        {},
        {"committed_minor": lambda r: r.committed_minor - 1},
        {"policy.firmware_below_minimum"},
        C,
    ),
    v(
        "report version 3 has no mitigation vectors",
        {},
        {"version": 3, "launch_mit_vector": None, "current_mit_vector": None},
        {"policy.report_version_below_minimum", "policy.mitigation_missing"},
        C,
    ),
    v("required mitigation not applied now", {}, {"current_mit_vector": 0}, {"policy.mitigation_missing"}, C),
    v(
        "required mitigation applied only after launch",
        {},
        {"launch_mit_vector": 0},
        {"policy.mitigation_missing"},
        C,
    ),
]


def _synthetic() -> AttestationReport:
    return synthetic_report()


def _oak_genoa() -> AttestationReport:
    return load_corpus_report("snp/oak/genoa_oc_report.bin")


BASES = [pytest.param(_synthetic, id="synthetic-v5-genoa"), pytest.param(_oak_genoa, id="oak-genoa-v5")]


@pytest.mark.parametrize("base_fn", BASES)
@pytest.mark.parametrize("vector", VECTORS, ids=[x.case for x in VECTORS])
def test_policy_vector(base_fn: Callable[[], AttestationReport], vector: V) -> None:
    base = base_fn()
    if not base.current_mit_vector and any("mitigation" in c for c in vector.codes):
        pytest.skip("base report requires no mitigation bits, so there is nothing to remove")
    policy = tweak_policy(strict_policy(base), vector.policy, base)
    result = appraise_snp(make_claims(base, vector.claims), policy)

    assert set(result.codes) == vector.codes, [f.as_dict() for f in (*result.failures, *result.warnings)]
    assert result.status is vector.status
    # the status is never better than the worst trustworthiness claim, and here equals it
    assert result.vector.status is result.status
    assert {f.code for f in result.warnings} <= vector.codes
    if vector.status is W:
        assert not result.failures
