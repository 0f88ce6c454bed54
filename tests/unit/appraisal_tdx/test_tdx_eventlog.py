"""RTMR replay and reference events with go-tdx-guest's real CCEL and its matching COS quote."""

from __future__ import annotations

import dataclasses

import pytest

from attestgw.appraisal import Status, appraise_tdx, parse_tdx_policy
from attestgw.evidence.tdx import TPM_ALG_SHA384, parse_event_log
from tests.conftest import corpus_file
from tests.unit.appraisal_tdx.tdx_fixtures import COS_CCEL, COS_QUOTE, claims_from

pytestmark = pytest.mark.corpus

EV_IPL = 0x0D
EV_EFI_VARIABLE_DRIVER_CONFIG = 0x80000001


def _policy(references: str = "", replayed: str = "") -> str:
    text = "[policy]\nid = 'r'\nversion = '1'\n[tdx]\nallow_any_mrtd = true\n"
    if replayed:
        text += f"[tdx.event_log]\nreplayed_rtmrs = {replayed}\n"
    return text + references


def _reference(
    rtmr: int, digest: bytes, *, event_type: int | None = None, description: str | None = None
) -> str:
    out = f"[[tdx.event_log.reference]]\nrtmr = {rtmr}\ndigest = '{digest.hex()}'\n"
    if event_type is not None:
        out += f"event_type = {event_type}\n"
    if description is not None:
        out += f"description = '{description}'\n"
    return out


def _digest_of(log_bytes: bytes, text: bytes) -> bytes:
    event = next(e for e in parse_event_log(log_bytes).events if text in e.data)
    digest = event.digest(TPM_ALG_SHA384)
    assert digest is not None
    return digest


def _ccel() -> bytes:
    return corpus_file(COS_CCEL).read_bytes()


def test_real_log_replays_and_reference_events_match() -> None:
    log = _ccel()
    kernel = _digest_of(log, b"kernel_cmdline: ")
    secure_boot = _digest_of(log, "SecureBoot".encode("utf-16-le"))
    references = _reference(2, kernel, event_type=EV_IPL, description="kernel_cmdline: /syslinux/vmlinuz.A")
    # EFI variable names are UTF-16LE in the event data; the description is matched in either encoding
    references += _reference(
        0, secure_boot, event_type=EV_EFI_VARIABLE_DRIVER_CONFIG, description="SecureBoot"
    )
    result = appraise_tdx(
        claims_from(COS_QUOTE), parse_tdx_policy(_policy(references).encode()), event_log=log
    )
    assert result.affirming, result.as_dict()
    assert result.vector.executables == 2
    assert result.evidence["event_log"] == "replayed"
    assert result.evidence["event_log_events"] == 43


def test_log_without_references_is_still_replayed() -> None:
    result = appraise_tdx(claims_from(COS_QUOTE), parse_tdx_policy(_policy().encode()), event_log=_ccel())
    assert result.affirming
    assert "event_log" not in result.not_evaluated


def test_tampered_log_fails_the_replay() -> None:
    log = bytearray(_ccel())
    event = next(e for e in parse_event_log(bytes(log)).events if b"grub_cmd: set timeout=0" in e.data)
    # the digest follows u32 index, u32 type, u32 count, u16 alg
    log[event.offset + 14] ^= 0x01
    result = appraise_tdx(claims_from(COS_QUOTE), parse_tdx_policy(_policy().encode()), event_log=bytes(log))
    assert result.codes == ("policy.rtmr_replay_mismatch",)
    assert "RTMR2" in result.failures[0].got
    assert "RTMR0" not in result.failures[0].got
    assert result.vector.executables == 96


def test_a_log_from_another_td_fails_the_replay() -> None:
    other = claims_from("tdx/openpcc/gce_tdx_quote.bin")
    result = appraise_tdx(other, parse_tdx_policy(_policy().encode()), event_log=_ccel())
    assert "policy.rtmr_replay_mismatch" in result.codes


def test_reference_with_another_digest_or_no_such_event_fails() -> None:
    log = _ccel()
    kernel = _digest_of(log, b"kernel_cmdline: ")
    wrong = bytes([kernel[0] ^ 0xFF]) + kernel[1:]
    references = _reference(2, wrong, description="kernel_cmdline: ")
    references += _reference(1, kernel, description="no such event text")
    result = appraise_tdx(
        claims_from(COS_QUOTE), parse_tdx_policy(_policy(references).encode()), event_log=log
    )
    assert result.codes == ("policy.event_digest_mismatch", "policy.event_digest_mismatch")
    assert kernel.hex() in result.failures[0].got
    assert wrong.hex() in result.failures[0].want
    assert "no such event" in result.failures[1].got


def test_reference_in_the_wrong_rtmr_does_not_match() -> None:
    log = _ccel()
    kernel = _digest_of(log, b"kernel_cmdline: ")
    references = _reference(1, kernel, event_type=EV_IPL)
    result = appraise_tdx(
        claims_from(COS_QUOTE), parse_tdx_policy(_policy(references).encode()), event_log=log
    )
    assert result.codes == ("policy.event_digest_mismatch",)


def test_references_need_a_log() -> None:
    policy = parse_tdx_policy(_policy(_reference(2, bytes(48), event_type=EV_IPL)).encode())
    result = appraise_tdx(claims_from(COS_QUOTE), policy)
    assert result.codes == ("policy.event_log_missing",)
    assert result.status is Status.CONTRAINDICATED


def test_unparseable_log_is_a_failure_not_an_exception() -> None:
    result = appraise_tdx(
        claims_from(COS_QUOTE), parse_tdx_policy(_policy().encode()), event_log=b"\x00" * 40
    )
    assert result.codes == ("policy.event_log_invalid",)
    assert "eventlog." in result.failures[0].got


def test_replayed_rtmrs_limits_the_comparison() -> None:
    base = claims_from(COS_QUOTE)
    rtmrs = list(base.body.rtmrs)
    rtmrs[3] = b"\x42" * 48  # e.g. extended at runtime by events that are not in the CCEL
    claims = dataclasses.replace(base, body=dataclasses.replace(base.body, rtmrs=tuple(rtmrs)))
    strict = appraise_tdx(claims, parse_tdx_policy(_policy().encode()), event_log=_ccel())
    assert strict.codes == ("policy.rtmr_replay_mismatch",)
    boot_only = appraise_tdx(
        claims, parse_tdx_policy(_policy(replayed="[0, 1, 2]").encode()), event_log=_ccel()
    )
    assert boot_only.affirming
