"""``attestgw verify snp``: verify (and optionally appraise) an AMD SEV-SNP attestation report.

The contract (options, exit codes, JSON shape) is documented in ``attestgw verify snp --help`` and
``docs/cli.md``; scripts depend on it, so it only grows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from attestgw.appraisal import SnpPolicy, appraise_snp, parse_policy
from attestgw.cli.appraise import appraise_and_emit
from attestgw.cli.options import parse_at, parse_report_data, read_input
from attestgw.cli.output import emit, fail
from attestgw.cli.verify_bundle import verify_bundle_command
from attestgw.cli.verify_nvidia import verify_nvidia_command
from attestgw.cli.verify_tdx import verify_tdx_command
from attestgw.collateral.kds import KdsFetcher
from attestgw.errors import AttestgwError, FormatError, UsageError, VerificationError
from attestgw.evidence.snp import (
    AttestationReport,
    Product,
    is_hcl_report,
    parse_cert_table,
    parse_hcl_report,
    parse_report,
)
from attestgw.verify.snp import AMD_TRUST, SnpCollateral, SnpVerifyOptions, TrustStore, verify_snp
from attestgw.verify.snp.export import claims_to_json, report_to_json

__all__ = ["verify"]

_HELP = """Verify an AMD SEV-SNP attestation report, offline by default.

\b
Without --policy only cryptographic verification runs (signature, ARK → ASK/ASVK → VCEK/VLEK chain
to a pinned AMD root, TCB and chip-id cross-checks, CRL when given) and the output says that no
appraisal was made. With --policy the verified claims are also appraised and every failed rule is
listed.

\b
Inputs: --report takes raw bytes, hex or base64 (an Azure HCL report envelope is unwrapped);
--vcek the VCEK or VLEK (DER or PEM); --chain a PEM bundle with ASK/ASVK and ARK; --crl the AMD
CRL (DER or PEM); --cert-table the extended-report certificate table.

\b
Exit codes: 0 verified (and affirming when a policy was given); 1 verification or appraisal failed;
2 usage error or unreadable input; 3 collateral unavailable (e.g. no VCEK given and --online not set).

\b
--json prints one object: status (affirming | warning | contraindicated | verified | none), tee,
simulated, appraisal, claims (byte strings as lowercase hex), failures [{rule, code, got, want}],
opt_ins, and error {code, message} when verification did not complete.
"""


def _read(path: Path | None, what: str) -> bytes | None:
    return None if path is None else read_input(path, what)


def load_report(data: bytes) -> AttestationReport:
    """A raw/hex/base64 report, or the SNP report inside an Azure HCL envelope."""
    if is_hcl_report(data):
        return parse_report(parse_hcl_report(data).snp_report)
    return parse_report(data)


@click.group(name="verify")
def verify() -> None:
    """Verify attestation evidence: SEV-SNP, TDX, NVIDIA GPUs, and composite bundles."""


verify.add_command(verify_tdx_command)
verify.add_command(verify_nvidia_command)
verify.add_command(verify_bundle_command)


@verify.command(name="snp", help=_HELP)
@click.option("--report", "report_path", type=click.Path(path_type=Path), required=True)
@click.option("--vcek", "vcek_path", type=click.Path(path_type=Path), help="VCEK or VLEK, DER or PEM.")
@click.option("--chain", "chain_path", type=click.Path(path_type=Path), help="PEM: ASK/ASVK and ARK.")
@click.option("--crl", "crl_path", type=click.Path(path_type=Path), help="AMD CRL, DER or PEM.")
@click.option("--cert-table", "table_path", type=click.Path(path_type=Path), help="GHCB cert table.")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), help="Appraisal policy (TOML).")
@click.option("--report-data", "report_data_hex", help="Expected REPORT_DATA, hex (≤ 64 bytes, zero-padded).")
@click.option("--at", "at_text", help="Verification time, ISO-8601 (default: now).")
@click.option("--online", is_flag=True, help="Allow fetching missing collateral from AMD KDS.")
@click.option(
    "--cache-dir", type=click.Path(path_type=Path), help="KDS cache (default ~/.cache/attestgw/kds)."
)
@click.option("--product", type=click.Choice([p.value for p in Product]), help="Product for v2 reports.")
@click.option("--require-crl", is_flag=True, help="Refuse unless an AMD CRL is checked.")
@click.option(
    "--trust-simulated-root",
    "simulated_roots",
    multiple=True,
    metavar="SHA256",
    help="Also trust this simulated ARK (development only; results are marked simulated).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--ear-out", type=click.Path(path_type=Path), help="Write the signed EAR (JWT) here.")
@click.option("--ear-key", type=click.Path(path_type=Path), help="EC P-256/P-384 private key (PEM).")
def verify_snp_command(
    report_path: Path,
    vcek_path: Path | None,
    chain_path: Path | None,
    crl_path: Path | None,
    table_path: Path | None,
    policy_path: Path | None,
    report_data_hex: str | None,
    at_text: str | None,
    online: bool,
    cache_dir: Path | None,
    product: str | None,
    require_crl: bool,
    simulated_roots: tuple[str, ...],
    as_json: bool,
    ear_out: Path | None,
    ear_key: Path | None,
) -> None:
    out: dict[str, Any] = {"status": "none", "tee": "snp", "simulated": False, "appraisal": None}
    try:
        if (ear_out is None) != (ear_key is None):
            raise UsageError("usage.invalid", "--ear-out and --ear-key go together")
        at = parse_at(at_text)
        expected = parse_report_data(report_data_hex)
        policy = _load_policy(policy_path)
        raw = _read(report_path, "report")
        assert raw is not None
        report = load_report(raw)
        out["claims"] = report_to_json(report)
        table = _read(table_path, "certificate table")
        options = SnpVerifyOptions(
            at=at,
            trust=_trust(policy, simulated_roots),
            require_crl=require_crl or _policy_requires_crl(policy),
            product=Product(product) if product else None,
            fetcher=_fetcher(online, cache_dir),
        )
        collateral = SnpCollateral(
            signing_cert=_read(vcek_path, "VCEK"),
            chain=_read(chain_path, "chain"),
            crl=_read(crl_path, "CRL"),
            cert_table=parse_cert_table(table) if table is not None else None,
        )
        claims = verify_snp(report, collateral, options)
    except AttestgwError as err:
        out["failures"] = [{"rule": "verify", "code": err.code, "got": err.message, "want": ""}]
        out["error"] = {"code": err.code, "message": err.message}
        if isinstance(err, FormatError | VerificationError):
            out["status"] = "contraindicated"
        fail(out, err, as_json)
    out["claims"] = claims_to_json(claims)
    out["simulated"] = claims.simulated
    out["failures"] = []
    if policy is None:
        out["status"] = "verified"
        out["appraisal"] = None
        emit(out, as_json, exit_code=0)
    appraise_and_emit(
        out,
        lambda: appraise_snp(claims, policy, expected_report_data=expected),
        as_json=as_json,
        ear_out=ear_out,
        ear_key=ear_key,
        at=at,
    )


def _load_policy(path: Path | None) -> SnpPolicy | None:
    if path is None:
        return None
    data = _read(path, "policy")
    assert data is not None
    return parse_policy(data, source=str(path))


def _policy_requires_crl(policy: SnpPolicy | None) -> bool:
    return policy is not None and policy.require_crl


def _trust(policy: SnpPolicy | None, simulated_roots: tuple[str, ...]) -> TrustStore:
    """AMD pins, plus simulated ARKs named on the command line or trusted by the policy."""
    trust = AMD_TRUST
    roots = list(simulated_roots)
    if policy is not None:
        roots += list(policy.trust_simulated_roots)
    for root in roots:
        for product in Product:
            trust = trust.with_simulated(product, root.lower())
    return trust


def _fetcher(online: bool, cache_dir: Path | None) -> KdsFetcher:
    cache = cache_dir or Path.home() / ".cache" / "attestgw" / "kds"
    return KdsFetcher(cache_dir=cache, allow_network=online)
