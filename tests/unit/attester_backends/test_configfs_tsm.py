"""configfs-tsm backend against a directory that behaves like the kernel's (see ``fake_configfs``)."""

from __future__ import annotations

import errno
from datetime import UTC, datetime
from pathlib import Path

import pytest

from attestgw.attester.base import CpuAttester, CpuEvidence
from attestgw.attester.configfs_tsm import ConfigfsTsmAttester
from attestgw.attester.simulated_snp import SimulatedSnpAttester
from attestgw.crypto.signing import split_pem_bundle
from attestgw.errors import CollateralUnavailableError, ConfigError, FormatError
from attestgw.evidence.snp import SigningKey, parse_report
from attestgw.verify.snp import AMD_TRUST, SnpCollateral, SnpVerifyOptions, verify_snp
from tests.unit.attester_backends.fake_configfs import FakeTsmKernel

REPORT_DATA = bytes(range(64))


def _backend(kernel: FakeTsmKernel, **kwargs: object) -> ConfigfsTsmAttester:
    return ConfigfsTsmAttester(kernel.root, _kernel=kernel, **kwargs)  # type: ignore[arg-type]


def test_snp_report_for_our_report_data_with_its_collateral(
    kernel: FakeTsmKernel, guest: SimulatedSnpAttester
) -> None:
    backend = _backend(kernel)
    assert isinstance(backend, CpuAttester)
    evidence = backend.collect(REPORT_DATA)

    assert evidence.tee == "snp"
    assert evidence.provider == "sev_guest"
    assert evidence.generation == 1  # our single write to inblob
    assert not evidence.simulated  # the backend does not know, and does not claim, it is simulated
    assert parse_report(evidence.report).report_data == REPORT_DATA
    # auxblob is the GHCB certificate table; the VCEK and the ASK → ARK chain are split out of it.
    assert evidence.cert_table == guest.cert_table()
    assert evidence.auxblob is None
    assert evidence.signing_cert == guest.signing.certificate
    assert evidence.chain is not None
    assert split_pem_bundle(evidence.chain) == [
        guest.authority.intermediate_certificate(SigningKey.VCEK),
        guest.authority.ark_certificate(),
    ]
    # What the backend hands on is enough to verify the report.
    claims = verify_snp(
        parse_report(evidence.report),
        SnpCollateral(signing_cert=evidence.signing_cert, chain=evidence.chain),
        SnpVerifyOptions(
            at=datetime.now(UTC),
            trust=AMD_TRUST.with_simulated(guest.authority.product, guest.authority.ark_sha256()),
        ),
    )
    assert claims.report.report_data == REPORT_DATA
    assert claims.simulated
    # The entry was created, used once and removed.
    assert len(kernel.entries) == 1
    assert kernel.entries[0].startswith("attestgw-")
    assert kernel.leftover_entries() == []


def test_each_collection_uses_a_fresh_entry(kernel: FakeTsmKernel) -> None:
    backend = _backend(kernel)
    first = backend.collect(REPORT_DATA)
    second = backend.collect(bytes(64))
    assert len(set(kernel.entries)) == 2
    assert parse_report(first.report).report_data == REPORT_DATA
    assert parse_report(second.report).report_data == bytes(64)
    assert kernel.leftover_entries() == []


def test_privlevel_is_written_and_counted_in_the_generation(kernel: FakeTsmKernel) -> None:
    evidence = _backend(kernel, privlevel=2).collect(REPORT_DATA)
    assert kernel.privlevels == [2]
    assert evidence.generation == 2


def test_concurrent_writer_is_detected_and_the_request_retried(kernel: FakeTsmKernel) -> None:
    kernel.races = 2
    evidence = _backend(kernel, max_attempts=3).collect(REPORT_DATA)
    # The two reports made for the other writer's inblob were never returned.
    assert parse_report(evidence.report).report_data == REPORT_DATA
    assert len(kernel.entries) == 3
    assert kernel.leftover_entries() == []


def test_a_writer_racing_every_attempt_is_a_typed_error(kernel: FakeTsmKernel) -> None:
    kernel.races = 10
    with pytest.raises(CollateralUnavailableError) as info:
        _backend(kernel, max_attempts=3).collect(REPORT_DATA)
    assert info.value.code == "attester.race"
    assert len(kernel.entries) == 3
    assert kernel.leftover_entries() == []


def test_missing_provider_attribute(kernel: FakeTsmKernel) -> None:
    kernel.provider = None
    with pytest.raises(FormatError) as info:
        _backend(kernel).collect(REPORT_DATA)
    assert info.value.code == "attester.invalid_output"
    assert "provider" in info.value.message
    assert kernel.leftover_entries() == []


@pytest.mark.parametrize("provider", ["arm_cca_guest", ""])
def test_unknown_provider_is_refused(kernel: FakeTsmKernel, provider: str) -> None:
    kernel.provider = provider
    with pytest.raises(ConfigError) as info:
        _backend(kernel).collect(REPORT_DATA)
    assert info.value.code == "attester.unsupported_provider"


def test_expected_provider_is_enforced(kernel: FakeTsmKernel) -> None:
    with pytest.raises(ConfigError) as info:
        _backend(kernel, provider="tdx_guest").collect(REPORT_DATA)
    assert info.value.code == "attester.unsupported_provider"


def test_tdx_quote_is_passed_through_with_its_auxblob(kernel: FakeTsmKernel) -> None:
    kernel.provider = "tdx_guest"
    kernel.outblob_override = b"\x04\x00\x02\x00" + b"q" * 5000
    kernel.auxblob_override = b"aux"
    evidence = _backend(kernel).collect(REPORT_DATA)
    assert evidence == CpuEvidence(
        tee="tdx", report=kernel.outblob_override, provider="tdx_guest", generation=1, auxblob=b"aux"
    )


def test_missing_interface_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        ConfigfsTsmAttester(tmp_path / "no" / "tsm").collect(REPORT_DATA)
    assert info.value.code == "attester.unavailable"


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.ENXIO])
def test_access_refused_at_mkdir_is_unavailable(kernel: FakeTsmKernel, code: int) -> None:
    kernel.fail[("mkdir", "mkdir")] = code
    with pytest.raises(ConfigError) as info:
        _backend(kernel).collect(REPORT_DATA)
    assert info.value.code == "attester.unavailable"
    assert kernel.leftover_entries() == []


@pytest.mark.parametrize(
    ("step", "code"),
    [
        (("read", "outblob"), errno.EIO),
        (("read", "outblob"), errno.EBUSY),
        (("write", "inblob"), errno.EINVAL),
        (("read", "auxblob"), errno.EIO),
    ],
)
def test_kernel_errors_are_typed_and_the_entry_is_removed(
    kernel: FakeTsmKernel, step: tuple[str, str], code: int
) -> None:
    kernel.fail[step] = code
    with pytest.raises(CollateralUnavailableError) as info:
        _backend(kernel).collect(REPORT_DATA)
    assert info.value.code == "attester.request_failed"
    assert errno.errorcode[code] in info.value.message
    assert kernel.leftover_entries() == []


def test_privlevel_below_the_floor_is_refused_by_the_kernel(kernel: FakeTsmKernel) -> None:
    kernel.privlevel_floor = 1
    with pytest.raises(CollateralUnavailableError) as info:
        _backend(kernel, privlevel=0).collect(REPORT_DATA)
    assert info.value.code == "attester.request_failed"
    assert kernel.leftover_entries() == []


def test_failed_rmdir_is_reported(kernel: FakeTsmKernel) -> None:
    kernel.fail[("rmdir", "rmdir")] = errno.EBUSY
    with pytest.raises(CollateralUnavailableError) as info:
        _backend(kernel).collect(REPORT_DATA)
    assert info.value.code == "attester.request_failed"


@pytest.mark.parametrize("outblob", [b"\x00" * 100, b"\x00" * 1185])
def test_snp_outblob_of_the_wrong_size(kernel: FakeTsmKernel, outblob: bytes) -> None:
    kernel.outblob_override = outblob
    with pytest.raises(FormatError) as info:
        _backend(kernel).collect(REPORT_DATA)
    assert info.value.code == "attester.invalid_output"


def test_unreadable_generation(kernel: FakeTsmKernel) -> None:
    kernel.generation_text = "many\n"
    with pytest.raises(FormatError) as info:
        _backend(kernel).collect(REPORT_DATA)
    assert info.value.code == "attester.invalid_output"
    assert kernel.leftover_entries() == []


@pytest.mark.parametrize("auxblob", [None, b""])
def test_absent_or_empty_auxblob_means_no_certificate_table(
    kernel: FakeTsmKernel, auxblob: bytes | None
) -> None:
    kernel.auxblob_override = auxblob
    evidence = _backend(kernel).collect(REPORT_DATA)
    assert evidence.cert_table is None
    assert evidence.signing_cert is None
    assert evidence.chain is None


def test_malformed_certificate_table_is_passed_on_untouched(kernel: FakeTsmKernel) -> None:
    kernel.auxblob_override = b"\x01" * 40
    evidence = _backend(kernel).collect(REPORT_DATA)
    assert evidence.cert_table == b"\x01" * 40
    assert evidence.signing_cert is None
    assert evidence.chain is None


@pytest.mark.parametrize("size", [0, 32, 63, 65])
def test_report_data_must_be_exactly_64_bytes(kernel: FakeTsmKernel, size: int) -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        _backend(kernel).collect(bytes(size))
    assert kernel.entries == []


@pytest.mark.parametrize(
    "kwargs", [{"privlevel": 4}, {"privlevel": -1}, {"max_attempts": 0}, {"provider": "x"}]
)
def test_invalid_construction(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        ConfigfsTsmAttester(Path("/nonexistent"), **kwargs)  # type: ignore[arg-type]
