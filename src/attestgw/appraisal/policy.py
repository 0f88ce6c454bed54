"""SEV-SNP appraisal policy: a TOML file → a validated, frozen :class:`SnpPolicy`.

A policy file has a ``[policy]`` table (``id``, ``version``, optional ``description``) and an
``[snp]`` table of rules; ``docs/policy.md`` lists every key, its default and the code it produces.
Validation happens here, at load, so appraisal never meets a malformed rule: unknown keys, bad hex,
wrong lengths, out-of-range numbers, empty allow-lists and contradictory settings are all refused
with ``ConfigError("config.policy_invalid")`` naming the key.

Deny by default:

* the launch measurement must be addressed explicitly — a non-empty ``measurements`` list, or
  ``allow_any_measurement = true`` (recorded as an opt-in in every result);
* ``minimum_tcb`` (the floor for REPORTED_TCB, the only TCB the signing key is bound to) is required;
* unsafe guest settings (debug, migration agent, VMPL > 0, VLEK) are refused unless allowed;
* an optional rule the policy does not set is not evaluated and affirms nothing.

The policy digest is SHA-256 of the file's exact bytes. Not checked here: whether the reference
values are the right ones for a deployment — that is the operator's decision, recorded by the digest.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from attestgw.appraisal._policy_reader import Table, parse_toml_document, read_policy_file
from attestgw.errors import ConfigError
from attestgw.evidence.snp import Product, SigningKey, TcbParts
from attestgw.evidence.snp.report import SUPPORTED_VERSIONS

__all__ = ["SnpPolicy", "TcbMinimum", "load_policy", "parse_policy"]

_ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_PRODUCTS = {p.value.lower(): p for p in Product}
_SIGNING_KEYS = {"vcek": SigningKey.VCEK, "vlek": SigningKey.VLEK}
_SPL_COMPONENTS = ("bootloader", "tee", "snp", "microcode")


@dataclass(frozen=True, slots=True)
class TcbMinimum:
    """A component-wise TCB floor: one for every product (``common``) or one per product line.

    In the common form ``fmc`` applies to Turin only (it defaults to 0). In the per-product form a
    product without an entry has no floor, which appraisal treats as a failure, never as a pass.
    """

    common: TcbParts | None = None
    per_product: tuple[tuple[Product, TcbParts], ...] = ()

    def for_product(self, product: Product) -> TcbParts | None:
        for candidate, parts in self.per_product:
            if candidate is product:
                return parts
        return self.common


@dataclass(frozen=True, slots=True)
class SnpPolicy:
    """A validated SEV-SNP appraisal policy. Build it with :func:`load_policy` / :func:`parse_policy`.

    Byte-valued rules hold raw bytes; ``None`` means "not set" (not evaluated). Constructing one
    directly skips the per-key validation of the loader; only the measurement decision is rechecked.
    """

    id: str
    version: str
    digest: str
    minimum_tcb: TcbMinimum
    description: str = ""
    source: str = "<policy>"
    measurements: tuple[bytes, ...] = ()
    allow_any_measurement: bool = False
    host_data: tuple[bytes, ...] | None = None
    id_key_digests: tuple[bytes, ...] | None = None
    author_key_digests: tuple[bytes, ...] | None = None
    family_ids: tuple[bytes, ...] | None = None
    image_ids: tuple[bytes, ...] | None = None
    chip_ids: tuple[bytes, ...] | None = None
    recommended_tcb: TcbMinimum | None = None
    minimum_current_tcb: TcbMinimum | None = None
    minimum_committed_tcb: TcbMinimum | None = None
    minimum_launch_tcb: TcbMinimum | None = None
    require_committed_equals_current: bool = False
    minimum_firmware: tuple[int, int, int] | None = None
    minimum_abi: tuple[int, int] | None = None
    allow_debug: bool = False
    allow_migration_agent: bool = False
    allow_masked_chip_id: bool = False
    require_smt_disabled: bool = False
    require_single_socket: bool = False
    require_ciphertext_hiding: bool = False
    require_rapl_disabled: bool = False
    require_page_swap_disabled: bool = False
    require_tsme: bool = False
    require_alias_check: bool = False
    required_mitigations: tuple[int, ...] = ()
    minimum_guest_svn: int | None = None
    minimum_report_version: int | None = None
    allowed_vmpls: tuple[int, ...] = (0,)
    allowed_signing_keys: tuple[SigningKey, ...] = (SigningKey.VCEK,)
    allowed_products: tuple[Product, ...] | None = None
    expected_report_data: bytes | None = None
    require_crl: bool = False
    trust_simulated_roots: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if bool(self.measurements) == self.allow_any_measurement:
            raise ConfigError(
                "config.policy_invalid",
                f"{self.source}: snp.measurements: list allowed measurements, or set "
                "allow_any_measurement = true (exactly one of the two)",
            )

    @property
    def opt_ins(self) -> tuple[str, ...]:
        """Settings that weaken a strict default, by key name (recorded in every result)."""
        out = []
        if self.allow_any_measurement:
            out.append("allow_any_measurement")
        if self.allow_debug:
            out.append("allow_debug")
        if self.allow_migration_agent:
            out.append("allow_migration_agent")
        if self.allow_masked_chip_id:
            out.append("allow_masked_chip_id")
        if self.allowed_vmpls != (0,):
            out.append("allowed_vmpls")
        if SigningKey.VLEK in self.allowed_signing_keys:
            out.append("allowed_signing_keys")
        if self.trust_simulated_roots:
            out.append("trust_simulated_roots")
        return tuple(out)


def load_policy(path: str | os.PathLike[str]) -> SnpPolicy:
    """Read and validate a policy file. Unreadable → ``UsageError("input.unreadable")``."""
    return parse_policy(read_policy_file(path), source=os.fspath(path))


def parse_policy(data: bytes, *, source: str = "<policy>") -> SnpPolicy:
    """Validate policy bytes (UTF-8 TOML). ``source`` only labels error messages."""
    digest = hashlib.sha256(data).hexdigest()
    doc = parse_toml_document(data, source)
    root = Table(doc, "", source)
    meta = root.table("policy", required=True)
    snp = root.table("snp", required=True)
    root.finish()
    assert meta is not None  # required=True never returns None
    assert snp is not None

    policy_id = meta.label("id", _ID)
    version = meta.label("version", _ID)
    description = meta.string("description") or ""
    meta.finish()

    measurements = snp.hex_list(
        "measurements",
        48,
        empty_hint="set allow_any_measurement = true instead to skip the check explicitly",
    )
    allow_any = snp.boolean("allow_any_measurement", False)
    if allow_any and measurements is not None:
        raise snp.error("allow_any_measurement", "contradicts the measurements list; keep one of the two")
    if not allow_any and measurements is None:
        raise snp.error(
            "measurements",
            "required: list the allowed launch measurements, or set allow_any_measurement = true",
        )
    minimum_tcb = _tcb_minimum(snp, "minimum_tcb")
    if minimum_tcb is None:
        raise snp.error(
            "minimum_tcb",
            "required: the floor for REPORTED_TCB (write explicit zeros to accept any TCB; "
            "see docs/policy.md)",
        )
    recommended = _tcb_minimum(snp, "recommended_tcb")
    if recommended is not None:
        _check_not_below(snp, recommended, minimum_tcb)
    firmware = snp.dotted_version("minimum_firmware", 2, 3)
    abi = snp.dotted_version("minimum_abi", 2, 2)
    roots = snp.hex_list("trust_simulated_roots", 32, allow_empty=True)

    policy = SnpPolicy(
        id=policy_id,
        version=version,
        digest=digest,
        description=description,
        source=source,
        measurements=measurements or (),
        allow_any_measurement=allow_any,
        host_data=snp.hex_list("host_data", 32),
        id_key_digests=snp.hex_list("id_key_digests", 48),
        author_key_digests=snp.hex_list("author_key_digests", 48),
        family_ids=snp.hex_list("family_ids", 16),
        image_ids=snp.hex_list("image_ids", 16),
        chip_ids=snp.hex_list("chip_ids", 64),
        minimum_tcb=minimum_tcb,
        recommended_tcb=recommended,
        minimum_current_tcb=_tcb_minimum(snp, "minimum_current_tcb"),
        minimum_committed_tcb=_tcb_minimum(snp, "minimum_committed_tcb"),
        minimum_launch_tcb=_tcb_minimum(snp, "minimum_launch_tcb"),
        require_committed_equals_current=snp.boolean("require_committed_equals_current", False),
        minimum_firmware=(firmware[0], firmware[1], firmware[2] if len(firmware) == 3 else 0)
        if firmware
        else None,
        minimum_abi=(abi[0], abi[1]) if abi else None,
        allow_debug=snp.boolean("allow_debug", False),
        allow_migration_agent=snp.boolean("allow_migration_agent", False),
        allow_masked_chip_id=snp.boolean("allow_masked_chip_id", False),
        require_smt_disabled=snp.boolean("require_smt_disabled", False),
        require_single_socket=snp.boolean("require_single_socket", False),
        require_ciphertext_hiding=snp.boolean("require_ciphertext_hiding", False),
        require_rapl_disabled=snp.boolean("require_rapl_disabled", False),
        require_page_swap_disabled=snp.boolean("require_page_swap_disabled", False),
        require_tsme=snp.boolean("require_tsme", False),
        require_alias_check=snp.boolean("require_alias_check", False),
        required_mitigations=snp.int_list("required_mitigations", 0, 63) or (),
        minimum_guest_svn=snp.integer("minimum_guest_svn", 0, 0xFFFF_FFFF),
        minimum_report_version=snp.integer(
            "minimum_report_version", min(SUPPORTED_VERSIONS), max(SUPPORTED_VERSIONS)
        ),
        allowed_vmpls=snp.int_list("allowed_vmpls", 0, 3) or (0,),
        allowed_signing_keys=snp.choice_list("allowed_signing_keys", _SIGNING_KEYS) or (SigningKey.VCEK,),
        allowed_products=snp.choice_list("allowed_products", _PRODUCTS),
        expected_report_data=snp.hex_value("expected_report_data", 64),
        require_crl=snp.boolean("require_crl", False),
        trust_simulated_roots=tuple(r.hex() for r in roots or ()),
    )
    snp.finish()
    return policy


#: The same as :func:`parse_policy` (bytes in), under the name the CLI imports.


def _tcb_parts(table: Table, product: Product | None) -> TcbParts:
    """One component table; ``product`` is ``None`` for the common (all products) form."""
    table.only((*_SPL_COMPONENTS, "fmc"))
    spl = {name: table.integer(name, 0, 255) for name in _SPL_COMPONENTS}
    for name, value in spl.items():
        if value is None:
            raise table.error(name, "required TCB component is missing")
    fmc = table.integer("fmc", 0, 255)
    if product is not None and product.has_fmc and fmc is None:
        raise table.error("fmc", f"required: {product.value} has an FMC SPL")
    if product is not None and not product.has_fmc and fmc is not None:
        raise table.error("fmc", f"{product.value} has no FMC SPL")
    table.finish()
    return TcbParts(
        bootloader=spl["bootloader"] or 0,
        tee=spl["tee"] or 0,
        snp=spl["snp"] or 0,
        microcode=spl["microcode"] or 0,
        fmc=fmc if fmc is not None else (0 if product is None else None),
    )


def _tcb_minimum(snp: Table, key: str) -> TcbMinimum | None:
    """Either ``{bootloader, tee, snp, microcode[, fmc]}`` or ``{milan = {...}, genoa = {...}, ...}``."""
    table = snp.table(key)
    if table is None:
        return None
    names = set(table.keys())
    if not names & set(_PRODUCTS):
        return TcbMinimum(common=_tcb_parts(table, None))
    per_product = []
    for name, product in _PRODUCTS.items():
        if name in names:
            sub = table.table(name)
            assert sub is not None  # present, so never None
            per_product.append((product, _tcb_parts(sub, product)))
    # a component mixed in with product tables is an unknown key here, refused by finish()
    table.finish()
    return TcbMinimum(per_product=tuple(per_product))


def _check_not_below(snp: Table, recommended: TcbMinimum, minimum: TcbMinimum) -> None:
    for product in Product:
        rec, floor = recommended.for_product(product), minimum.for_product(product)
        if rec is not None and floor is not None and rec.below(floor):
            raise snp.error(
                "recommended_tcb",
                f"{product.value}: {', '.join(rec.below(floor))} below minimum_tcb (a warning tier "
                "below the failure floor could never fire)",
            )
