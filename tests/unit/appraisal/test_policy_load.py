"""Loading appraisal policies: the shipped files, valid variations, and every kind of invalid input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from attestgw.appraisal import SnpPolicy, TcbMinimum, load_policy, parse_policy
from attestgw.errors import ConfigError, UsageError
from attestgw.evidence.snp import Product, SigningKey, TcbParts
from tests.unit.appraisal.snp_fixtures import repo_policy

M = "ab" * 48  # a 48-byte measurement in hex

MINIMAL = f"""
[policy]
id = "minimal"
version = "1"

[snp]
measurements = ["{M}"]

[snp.minimum_tcb]
bootloader = 1
tee = 0
snp = 2
microcode = 3
"""


def parse(text: str) -> SnpPolicy:
    return parse_policy(text.encode(), source="test.toml")


def test_shipped_policies_load_and_digest_is_sha256_of_the_file_bytes() -> None:
    for name in ("default-snp.toml", "example-azure-milan.toml"):
        path = repo_policy(name)
        policy = load_policy(path)
        assert policy.digest == hashlib.sha256(path.read_bytes()).hexdigest()
        assert policy.source == str(path)


def test_default_policy_is_strict_and_refuses_until_measurements_are_filled_in() -> None:
    policy = load_policy(repo_policy("default-snp.toml"))
    assert policy.opt_ins == ()
    assert policy.measurements == (bytes(48),)  # the documented placeholder
    assert not policy.allow_debug
    assert not policy.allow_migration_agent
    assert policy.allowed_vmpls == (0,)
    assert policy.allowed_signing_keys == (SigningKey.VCEK,)
    assert policy.require_crl
    assert policy.require_alias_check
    assert policy.require_committed_equals_current
    assert policy.trust_simulated_roots == ()
    for product in Product:  # a floor for every supported product line, on its own layout
        floor = policy.minimum_tcb.for_product(product)
        assert floor is not None
        assert (floor.fmc is not None) == product.has_fmc


def test_minimal_policy_defaults() -> None:
    policy = parse(MINIMAL)
    assert policy.id == "minimal"
    assert policy.measurements == (bytes.fromhex(M),)
    assert policy.minimum_tcb == TcbMinimum(common=TcbParts(bootloader=1, tee=0, snp=2, microcode=3, fmc=0))
    assert policy.allowed_vmpls == (0,)
    assert policy.allowed_signing_keys == (SigningKey.VCEK,)
    assert policy.host_data is None
    assert policy.expected_report_data is None
    assert policy.opt_ins == ()


def test_valid_variations_are_normalised() -> None:
    text = MINIMAL.replace('version = "1"', "version = 3").replace(
        f'measurements = ["{M}"]',
        f'measurements = ["{M.upper()}", "{M}"]\nallowed_products = ["genoa", "TURIN"]\n'
        'allowed_signing_keys = ["VLEK"]\nallowed_vmpls = [2, 0, 2]\nminimum_firmware = "1.55"',
    )
    policy = parse(text)
    assert policy.version == "3"
    assert policy.measurements == (bytes.fromhex(M),)  # case-insensitive, deduplicated
    assert policy.allowed_products == (Product.GENOA, Product.TURIN)
    assert policy.allowed_signing_keys == (SigningKey.VLEK,)
    assert policy.allowed_vmpls == (0, 2)
    assert policy.minimum_firmware == (1, 55, 0)
    assert set(policy.opt_ins) == {"allowed_signing_keys", "allowed_vmpls"}


def test_allow_any_measurement_is_an_explicit_recorded_opt_in() -> None:
    policy = parse(MINIMAL.replace(f'measurements = ["{M}"]', "allow_any_measurement = true"))
    assert policy.measurements == ()
    assert "allow_any_measurement" in policy.opt_ins


def test_per_product_minimum_tcb() -> None:
    text = MINIMAL.replace(
        "[snp.minimum_tcb]\nbootloader = 1\ntee = 0\nsnp = 2\nmicrocode = 3\n",
        "[snp.minimum_tcb.milan]\nbootloader = 4\ntee = 0\nsnp = 23\nmicrocode = 213\n"
        "[snp.minimum_tcb.turin]\nfmc = 0\nbootloader = 1\ntee = 0\nsnp = 2\nmicrocode = 71\n",
    )
    minimum = parse(text).minimum_tcb
    assert minimum.for_product(Product.MILAN) == TcbParts(bootloader=4, tee=0, snp=23, microcode=213)
    assert minimum.for_product(Product.TURIN) == TcbParts(fmc=0, bootloader=1, tee=0, snp=2, microcode=71)
    assert minimum.for_product(Product.GENOA) is None


def test_digest_changes_with_any_byte() -> None:
    assert parse(MINIMAL).digest != parse(MINIMAL + "\n").digest


def test_unreadable_policy_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        load_policy(tmp_path / "missing.toml")
    assert info.value.code == "input.unreadable"


def sub(old: str, new: str) -> str:
    assert old in MINIMAL, old
    return MINIMAL.replace(old, new, 1)


MEAS = f'measurements = ["{M}"]'
TCB = "[snp.minimum_tcb]\nbootloader = 1\ntee = 0\nsnp = 2\nmicrocode = 3\n"

# (case, policy text, key path the message must name)
INVALID = [
    ("empty file", "", "policy"),
    ("only a [policy] table", '[policy]\nid = "x"\nversion = "1"\n', "snp"),
    ("empty [snp] table", '[policy]\nid = "x"\nversion = "1"\n[snp]\n', "snp"),
    ("unknown top-level table", MINIMAL + "\n[tdx]\nx = 1\n", "tdx"),
    ("misspelt rule", sub(MEAS, MEAS + "\nmeasurment = []"), "snp.measurment"),
    ("unknown [policy] key", sub('version = "1"', 'version = "1"\nowner = "me"'), "policy.owner"),
    ("missing id", sub('id = "minimal"', ""), "policy.id"),
    ("id with spaces", sub('id = "minimal"', 'id = "a b"'), "policy.id"),
    ("boolean version", sub('version = "1"', "version = true"), "policy.version"),
    ("empty measurement list", sub(MEAS, "measurements = []"), "snp.measurements"),
    ("no measurement decision", sub(MEAS, ""), "snp.measurements"),
    (
        "both measurements and allow_any",
        sub(MEAS, MEAS + "\nallow_any_measurement = true"),
        "snp.allow_any_measurement",
    ),
    ("measurement not hex", sub(MEAS, f'measurements = ["{"zz" * 48}"]'), "snp.measurements[0]"),
    ("measurement too short", sub(MEAS, f'measurements = ["{M[:-2]}"]'), "snp.measurements[0]"),
    ("measurement with 0x", sub(MEAS, f'measurements = ["0x{M[2:]}"]'), "snp.measurements[0]"),
    ("second measurement bad", sub(MEAS, f'measurements = ["{M}", "{M}00"]'), "snp.measurements[1]"),
    ("measurements not a list", sub(MEAS, f'measurements = "{M}"'), "snp.measurements"),
    ("host_data 48 bytes", sub(MEAS, MEAS + f'\nhost_data = ["{M}"]'), "snp.host_data[0]"),
    ("empty host_data list", sub(MEAS, MEAS + "\nhost_data = []"), "snp.host_data"),
    (
        "id key digest 32 bytes",
        sub(MEAS, MEAS + f'\nid_key_digests = ["{"00" * 32}"]'),
        "snp.id_key_digests[0]",
    ),
    (
        "author key 47 bytes",
        sub(MEAS, MEAS + f'\nauthor_key_digests = ["{"00" * 47}"]'),
        "snp.author_key_digests[0]",
    ),
    ("family id 17 bytes", sub(MEAS, MEAS + f'\nfamily_ids = ["{"00" * 17}"]'), "snp.family_ids[0]"),
    ("image id 15 bytes", sub(MEAS, MEAS + f'\nimage_ids = ["{"00" * 15}"]'), "snp.image_ids[0]"),
    ("chip id 32 bytes", sub(MEAS, MEAS + f'\nchip_ids = ["{"00" * 32}"]'), "snp.chip_ids[0]"),
    (
        "report data 32 bytes",
        sub(MEAS, MEAS + f'\nexpected_report_data = "{"00" * 32}"'),
        "snp.expected_report_data",
    ),
    ("no minimum_tcb", sub(TCB, ""), "snp.minimum_tcb"),
    ("TCB component missing", sub("microcode = 3\n", ""), "snp.minimum_tcb.microcode"),
    ("TCB component 256", sub("snp = 2", "snp = 256"), "snp.minimum_tcb.snp"),
    ("TCB component negative", sub("tee = 0", "tee = -1"), "snp.minimum_tcb.tee"),
    ("TCB component boolean", sub("tee = 0", "tee = true"), "snp.minimum_tcb.tee"),
    ("TCB component as string", sub("tee = 0", 'tee = "0"'), "snp.minimum_tcb.tee"),
    ("unknown TCB component", sub("microcode = 3", "ucode = 3"), "snp.minimum_tcb.ucode"),
    ("unknown product line", sub("[snp.minimum_tcb]", "[snp.minimum_tcb.naples]"), "snp.minimum_tcb.naples"),
    (
        "components mixed with products",
        sub(
            "microcode = 3\n",
            "microcode = 3\n[snp.minimum_tcb.milan]\nbootloader = 1\ntee = 0\nsnp = 2\nmicrocode = 3\n",
        ),
        "snp.minimum_tcb.bootloader",
    ),
    (
        "FMC on Milan",
        sub("[snp.minimum_tcb]", "[snp.minimum_tcb.milan]").replace("tee = 0", "tee = 0\nfmc = 1"),
        "snp.minimum_tcb.milan.fmc",
    ),
    ("Turin without FMC", sub("[snp.minimum_tcb]", "[snp.minimum_tcb.turin]"), "snp.minimum_tcb.turin.fmc"),
    (
        "recommended below minimum",
        MINIMAL + "[snp.recommended_tcb]\nbootloader = 1\ntee = 0\nsnp = 1\nmicrocode = 3\n",
        "snp.recommended_tcb",
    ),
    ("firmware without minor", sub(MEAS, MEAS + '\nminimum_firmware = "1"'), "snp.minimum_firmware"),
    ("firmware part 256", sub(MEAS, MEAS + '\nminimum_firmware = "1.256"'), "snp.minimum_firmware"),
    ("firmware not numeric", sub(MEAS, MEAS + '\nminimum_firmware = "1.x"'), "snp.minimum_firmware"),
    ("ABI with a build", sub(MEAS, MEAS + '\nminimum_abi = "1.2.3"'), "snp.minimum_abi"),
    ("debug flag as a string", sub(MEAS, MEAS + '\nallow_debug = "no"'), "snp.allow_debug"),
    ("CRL flag as a number", sub(MEAS, MEAS + "\nrequire_crl = 1"), "snp.require_crl"),
    ("VMPL 4", sub(MEAS, MEAS + "\nallowed_vmpls = [4]"), "snp.allowed_vmpls[0]"),
    ("no VMPL allowed", sub(MEAS, MEAS + "\nallowed_vmpls = []"), "snp.allowed_vmpls"),
    (
        "unknown signing key",
        sub(MEAS, MEAS + '\nallowed_signing_keys = ["ask"]'),
        "snp.allowed_signing_keys[0]",
    ),
    ("unknown product", sub(MEAS, MEAS + '\nallowed_products = ["Naples"]'), "snp.allowed_products[0]"),
    ("mitigation bit 64", sub(MEAS, MEAS + "\nrequired_mitigations = [64]"), "snp.required_mitigations[0]"),
    ("guest SVN negative", sub(MEAS, MEAS + "\nminimum_guest_svn = -1"), "snp.minimum_guest_svn"),
    ("guest SVN beyond u32", sub(MEAS, MEAS + "\nminimum_guest_svn = 4294967296"), "snp.minimum_guest_svn"),
    ("report version 1", sub(MEAS, MEAS + "\nminimum_report_version = 1"), "snp.minimum_report_version"),
    ("report version 6", sub(MEAS, MEAS + "\nminimum_report_version = 6"), "snp.minimum_report_version"),
    (
        "simulated root not SHA-256",
        sub(MEAS, MEAS + '\ntrust_simulated_roots = ["abcd"]'),
        "snp.trust_simulated_roots[0]",
    ),
    ("TOML syntax error", MINIMAL + "\nthis is not toml\n", "(file)"),
]


@pytest.mark.parametrize(("case", "text", "key"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_policy_is_refused_naming_the_key(case: str, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert info.value.code == "config.policy_invalid"
    assert info.value.exit_code == 2
    assert f"test.toml: {key}" in info.value.message, info.value.message


def test_non_utf8_policy_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy(b"\xff\xfe[policy]", source="test.toml")
    assert info.value.code == "config.policy_invalid"
