"""One policy file for CPU and GPU: [policy] + [snp] + optional [nvidia], each validated strictly,
both decisions named by the digest of the whole file."""

from __future__ import annotations

import hashlib

import pytest

from attestgw.attestation import parse_bundle_policy
from attestgw.errors import ConfigError
from tests.conftest import REPO
from tests.unit.composite.conftest import CompositeWorker


def test_a_file_with_an_nvidia_section_yields_both_policies(worker: CompositeWorker) -> None:
    text = worker.policy_text().encode()
    policy = parse_bundle_policy(text, source="p.toml")
    assert policy.gpu is not None
    digest = hashlib.sha256(text).hexdigest()
    assert policy.digest == policy.snp.digest == policy.gpu.digest == digest
    assert policy.gpu.id == policy.snp.id == "attestgw-simulated-worker"
    assert set(policy.gpu.trust_simulated_roots) == set(worker.gpus.root_sha256s)
    assert policy.gpu.expected_device_count == 1


def test_an_snp_only_file_is_read_exactly_as_before() -> None:
    data = (REPO / "policies" / "attestation" / "default-snp.toml").read_bytes()
    policy = parse_bundle_policy(data)
    assert policy.gpu is None
    assert policy.snp.digest == hashlib.sha256(data).hexdigest()


def test_the_packaged_nvidia_policy_embeds_unchanged(worker: CompositeWorker) -> None:
    nvidia = (REPO / "policies" / "attestation" / "default-nvidia.toml").read_text()
    section = nvidia[nvidia.index("[nvidia]") :]
    policy = parse_bundle_policy((worker.cpu.policy_toml() + section).encode())
    assert policy.gpu is not None
    assert policy.gpu.minimum_driver_version == "550.54.14"
    assert policy.gpu.ocsp.required


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ("\n[nvidia]\nrequire_cc_mod = true\n", "nvidia.require_cc_mod"),
        ("\n[nvidia]\nallowed_architectures = []\n", "nvidia.allowed_architectures"),
        ("\n[nvidia]\nrequire_cc_mode = true\n[tdx]\nx = 1\n", "tdx"),
        (
            "\n[nvidia]\nrequire_cc_mode = true\n[nvidia.ocsp]\ngrace_seconds = -1\n",
            "nvidia.ocsp.grace_seconds",
        ),
        ("\n[nvidia]\nrequire_cc_mode = 2026-01-01\n", "require_cc_mode"),
    ],
    ids=["typo", "empty list", "unknown table", "bad ocsp knob", "datetime value"],
)
def test_invalid_gpu_sections_are_refused_naming_the_key(
    worker: CompositeWorker, extra: str, where: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse_bundle_policy((worker.cpu.policy_toml() + extra).encode(), source="p.toml")
    assert err.value.code == "config.policy_invalid"
    assert where in err.value.message


def test_the_snp_section_is_still_validated_when_a_gpu_section_is_present(worker: CompositeWorker) -> None:
    text = worker.policy_text().replace("[snp]", "[snp]\nallow_debugg = true", 1)
    with pytest.raises(ConfigError) as err:
        parse_bundle_policy(text.encode())
    assert "snp.allow_debugg" in err.value.message
