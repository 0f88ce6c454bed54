"""TDX policy loading: what is accepted, normalised, and refused (with the key named)."""

from __future__ import annotations

from pathlib import Path

import pytest

from attestgw.appraisal import EventReference, TdxPolicy, XfamRule, load_tdx_policy, parse_tdx_policy
from attestgw.errors import ConfigError, UsageError
from attestgw.evidence.tdx_collateral import TcbStatus

HEAD = "[policy]\nid = 'p'\nversion = 1\n[tdx]\n"
MRTD = "ab" * 48
D48 = "cd" * 48


def load(body: str) -> TdxPolicy:
    return parse_tdx_policy((HEAD + body).encode(), source="t.toml")


def test_minimal_policy_has_strict_defaults() -> None:
    policy = load(f"mrtds = ['{MRTD.upper()}']\n")
    assert policy.mrtds == (bytes.fromhex(MRTD),)
    assert policy.version == "1"
    assert policy.allowed_tcb_statuses == (TcbStatus.UP_TO_DATE,)
    assert policy.require_sept_ve_disable
    assert not policy.allow_debug
    assert policy.rtmrs == (None, None, None, None)
    assert policy.event_references == ()
    assert policy.opt_ins == ()


def test_full_policy_round_trip() -> None:
    policy = load(
        f"""mrtds = ['{MRTD}', '{MRTD}']
rtmr1 = ['{D48}']
mrseams = ['{D48}']
xfam = '00000000000602e7'
xfam_mask = '00000000000fffff'
allowed_td_attributes_mask = '0000000050000000'
allowed_tcb_statuses = ['UpToDate', 'swhardeningneeded']
allowed_advisory_ids = ['INTEL-SA-00837', 'intel-sa-00837']
minimum_tee_tcb_svn = '04010700000000000000000000000000'
[tdx.event_log]
replayed_rtmrs = [2, 0, 1]
[[tdx.event_log.reference]]
rtmr = 2
event_type = 13
description = 'kernel_cmdline: '
digest = '{D48}'
"""
    )
    assert policy.mrtds == (bytes.fromhex(MRTD),)  # duplicates dropped
    assert policy.rtmrs[1] == (bytes.fromhex(D48),)
    assert policy.rtmrs[0] is None
    assert policy.xfam == XfamRule(0x602E7, 0xFFFFF)
    assert policy.allowed_td_attributes_mask == 0x50000000
    assert policy.allowed_tcb_statuses == (TcbStatus.UP_TO_DATE, TcbStatus.SW_HARDENING_NEEDED)
    assert policy.allowed_advisory_ids == ("INTEL-SA-00837",)
    assert policy.replayed_rtmrs == (0, 1, 2)
    assert policy.event_references == (EventReference(2, bytes.fromhex(D48), 13, "kernel_cmdline: "),)
    assert set(policy.opt_ins) == {"allowed_tcb_statuses", "allowed_advisory_ids"}


def test_xfam_alone_is_an_exact_match() -> None:
    rule = load(f"mrtds = ['{MRTD}']\nxfam = '00000000000602e7'\n").xfam
    assert rule is not None
    assert rule.holds(0x602E7)
    assert not rule.holds(0x602E7 | 1 << 40)


# (case, [tdx] body, key the message must name)
REFUSED = [
    ("no mrtd decision", "allow_debug = false\n", "tdx.mrtds"),
    ("both mrtd forms", f"mrtds = ['{MRTD}']\nallow_any_mrtd = true\n", "tdx.allow_any_mrtd"),
    ("empty mrtds", "mrtds = []\n", "tdx.mrtds"),
    ("short mrtd", f"mrtds = ['{MRTD[:-2]}']\n", "tdx.mrtds[0]"),
    ("0x prefix", f"allow_any_mrtd = true\nrtmr0 = ['0x{D48[2:]}']\n", "tdx.rtmr0[0]"),
    ("unknown key", "allow_any_mrtd = true\nrtmr4 = []\n", "tdx.rtmr4"),
    ("bool as string", "allow_any_mrtd = 'yes'\n", "tdx.allow_any_mrtd"),
    (
        "out of date allowed",
        "allow_any_mrtd = true\nallowed_tcb_statuses = ['OutOfDate']\n",
        "allowed_tcb_statuses[0]",
    ),
    (
        "revoked allowed",
        "allow_any_mrtd = true\nallowed_tcb_statuses = ['Revoked']\n",
        "allowed_tcb_statuses[0]",
    ),
    ("unknown status", "allow_any_mrtd = true\nallowed_tcb_statuses = ['Fine']\n", "allowed_tcb_statuses[0]"),
    (
        "advisories without status",
        "allow_any_mrtd = true\nallowed_advisory_ids = ['INTEL-SA-1']\n",
        "allowed_advisory_ids",
    ),
    (
        "bad advisory id",
        "allow_any_mrtd = true\nallowed_tcb_statuses = ['SWHardeningNeeded']\n"
        "allowed_advisory_ids = ['a b']\n",
        "allowed_advisory_ids[0]",
    ),
    (
        "advisories not a list",
        "allow_any_mrtd = true\nallowed_advisory_ids = 'INTEL-SA-1'\n",
        "allowed_advisory_ids",
    ),
    (
        "mask clears sept bit",
        "allow_any_mrtd = true\nallowed_td_attributes_mask = '0000000000000000'\n",
        "mask",
    ),
    ("xfam_mask without xfam", "allow_any_mrtd = true\nxfam_mask = 'ffffffffffffffff'\n", "tdx.xfam_mask"),
    (
        "xfam outside its mask",
        "allow_any_mrtd = true\nxfam = '00000000000000ff'\nxfam_mask = '000000000000000f'\n",
        "tdx.xfam",
    ),
    ("tee tcb svn length", "allow_any_mrtd = true\nminimum_tee_tcb_svn = '0401'\n", "minimum_tee_tcb_svn"),
    (
        "report data length",
        f"allow_any_mrtd = true\nexpected_report_data = '{D48}'\n",
        "expected_report_data",
    ),
    (
        "reference without selector",
        f"allow_any_mrtd = true\n[[tdx.event_log.reference]]\nrtmr = 1\ndigest = '{D48}'\n",
        "reference[0].event_type",
    ),
    (
        "reference rtmr out of range",
        f"allow_any_mrtd = true\n[[tdx.event_log.reference]]\nrtmr = 4\nevent_type = 1\ndigest = '{D48}'\n",
        "reference[0].rtmr",
    ),
    (
        "reference without digest",
        "allow_any_mrtd = true\n[[tdx.event_log.reference]]\nrtmr = 1\nevent_type = 1\n",
        "reference[0].digest",
    ),
    (
        "reference with unknown key",
        f"allow_any_mrtd = true\n[[tdx.event_log.reference]]\nrtmr = 1\nevent_type = 1\n"
        f"digest = '{D48}'\npcr = 1\n",
        "reference[0].pcr",
    ),
    (
        "reference to an unreplayed rtmr",
        f"allow_any_mrtd = true\n[tdx.event_log]\nreplayed_rtmrs = [0]\n"
        f"[[tdx.event_log.reference]]\nrtmr = 1\nevent_type = 1\ndigest = '{D48}'\n",
        "reference[0].rtmr",
    ),
    (
        "unknown event_log key",
        "allow_any_mrtd = true\n[tdx.event_log]\nrequire = true\n",
        "tdx.event_log.require",
    ),
    (
        "simulated root length",
        "allow_any_mrtd = true\ntrust_simulated_roots = ['abcd']\n",
        "trust_simulated_roots[0]",
    ),
]


@pytest.mark.parametrize(("case", "body", "key"), REFUSED, ids=[r[0] for r in REFUSED])
def test_invalid_policies_are_refused_naming_the_key(case: str, body: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(body)
    assert info.value.code == "config.policy_invalid"
    assert key in info.value.message, case
    assert info.value.message.startswith("t.toml: ")


@pytest.mark.parametrize(
    "data",
    [b"[policy]\nid='p'\nversion='1'\n", b"[tdx]\nallow_any_mrtd = true\n", b"\xff\xfe", b"[policy\n"],
    ids=["no tdx table", "no policy table", "not utf-8", "not toml"],
)
def test_structurally_broken_files_are_refused(data: bytes) -> None:
    with pytest.raises(ConfigError):
        parse_tdx_policy(data)


def test_an_snp_policy_is_not_a_tdx_policy() -> None:
    with pytest.raises(ConfigError, match="tdx: required table"):
        parse_tdx_policy(b"[policy]\nid='p'\nversion='1'\n[snp]\nallow_any_measurement = true\n")


def test_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        load_tdx_policy(tmp_path / "missing.toml")


def test_digest_is_of_the_exact_bytes(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_bytes((HEAD + "allow_any_mrtd = true\n").encode())
    first = load_tdx_policy(path)
    path.write_bytes((HEAD + "allow_any_mrtd = true\n\n").encode())
    assert load_tdx_policy(path).digest != first.digest
    assert first.source == str(path)
