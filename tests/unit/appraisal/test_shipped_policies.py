"""The policy the CLI falls back to is shipped inside the package and is the documented file."""

from __future__ import annotations

from importlib import resources

from attestgw.appraisal import parse_policy
from tests.conftest import REPO


def test_packaged_default_policy_is_the_documented_file() -> None:
    shipped = (resources.files("attestgw") / "data" / "default-snp.toml").read_bytes()
    assert shipped == (REPO / "policies" / "attestation" / "default-snp.toml").read_bytes()
    policy = parse_policy(shipped, source="default-snp.toml")
    assert policy.trust_simulated_roots == ()
    assert not policy.allow_debug
