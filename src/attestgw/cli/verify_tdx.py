"""``attestgw verify tdx``: verify (and optionally appraise) an Intel TDX quote with PCS collateral.

Same exit codes and JSON shape as ``attestgw verify snp`` (see its help and ``docs/cli.md``);
scripts depend on them, so they only grow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from attestgw.appraisal import TdxPolicy, appraise_tdx, parse_tdx_policy
from attestgw.cli.appraise import appraise_and_emit
from attestgw.cli.options import parse_at, parse_report_data, read_input
from attestgw.cli.output import emit, fail
from attestgw.collateral.pcs import (
    DEFAULT_PCS_CACHE,
    DEFAULT_PCS_URL,
    DEFAULT_ROOT_CRL_URL,
    PcsFetcher,
    quote_platform,
)
from attestgw.errors import (
    AttestgwError,
    CollateralUnavailableError,
    FormatError,
    UsageError,
    VerificationError,
)
from attestgw.evidence.tdx import Quote, parse_quote
from attestgw.evidence.tdx_collateral import CollateralBundle, bundle_from_pcs_files, parse_bundle
from attestgw.verify.tdx import INTEL_TRUST, IntelTrustStore, TdxVerifyOptions, verify_tdx
from attestgw.verify.tdx.export import claims_to_json, quote_to_json

__all__ = ["verify_tdx_command"]

_HELP = """Verify an Intel TDX DCAP quote (v4/v5) offline with Intel PCS collateral.

\b
Without --policy only verification runs (PCK chain to the pinned Intel SGX Root CA, PCK and root
CRLs, QE report signature and binding, quote signature, signed and fresh TCB info and QE identity,
TCB status and advisories) and the output says that no appraisal was made. With --policy the
verified claims are also appraised (MRTD, RTMRs with --event-log replay, attributes, TCB status)
and every failed rule is listed.

\b
Inputs: --quote raw bytes, hex or base64; --collateral the collateral bundle JSON (the shape Intel's
QVL and dcap-qvl use) or a directory of raw Intel PCS responses (tcb_info.json, qe_identity.json,
pck_crl.der, root_ca.crl and the *_chain.txt issuer chains; see docs/tdx-verification.md);
--event-log the CC event log (CCEL) for RTMR replay during appraisal. Without --collateral the
PCS cache (--cache-dir, filled by `attestgw trust fetch tdx`) is used for the quote's FMSPC and PCK
CA; --online fetches what is missing or past nextUpdate from Intel PCS.

\b
Exit codes: 0 verified (and affirming when a policy was given); 1 verification or appraisal failed
(an SGX quote: tdx.not_a_td_quote); 2 usage error, invalid policy or unreadable input; 3 collateral
unavailable or expired at the verification time (tdx.collateral_expired, collateral.unavailable).

\b
--json prints one object: status (affirming | warning | contraindicated | verified | none), tee,
simulated, appraisal, claims (byte strings as lowercase hex), failures [{rule, code, got, want}],
opt_ins, and error {code, message} when verification did not complete.
"""


def load_collateral(path: Path, quote: Quote) -> CollateralBundle:
    """A bundle JSON file, or a directory of raw PCS responses named for the quote's FMSPC and CA.

    For a directory the FMSPC and PCK CA kind are read from the quote's PCK chain, which is checked
    for structure and signatures here and fully verified later.
    """
    if not path.is_dir():
        return parse_bundle(read_input(path, "collateral"))
    fmspc, ca = quote_platform(quote)
    files = {p.name: read_input(p, "PCS response") for p in sorted(path.iterdir()) if p.is_file()}
    return bundle_from_pcs_files(files, fmspc=fmspc, ca=ca)


def fetch_collateral(fetcher: PcsFetcher, quote: Quote) -> CollateralBundle:
    """The bundle for the quote's FMSPC and PCK CA kind, from the cache or (if allowed) Intel PCS.

    Offline with nothing cached is ``collateral.unavailable`` (exit 3). Expired cached collateral is
    returned as is, so verification at that time reports ``tdx.collateral_expired``.
    """
    try:
        return fetcher.collateral_for_quote(quote).bundle
    except CollateralUnavailableError as err:
        if err.code == "collateral.unavailable":
            raise CollateralUnavailableError(
                err.code, f"{err.message}; pass --collateral, run `attestgw trust fetch tdx`, or --online"
            ) from None
        raise


def _trust(policy: TdxPolicy | None, simulated_roots: tuple[str, ...]) -> IntelTrustStore:
    """Intel's pinned root, plus simulated roots named on the command line or trusted by the policy."""
    trust = INTEL_TRUST
    for root in (*simulated_roots, *(policy.trust_simulated_roots if policy is not None else ())):
        trust = trust.with_simulated(root.lower())
    return trust


@click.command(name="tdx", help=_HELP)
@click.option("--quote", "quote_path", type=click.Path(path_type=Path), required=True)
@click.option(
    "--collateral",
    "collateral_path",
    type=click.Path(path_type=Path),
    help="Collateral bundle JSON, or a directory of raw Intel PCS responses.",
)
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), help="TDX appraisal policy (TOML).")
@click.option("--event-log", "event_log_path", type=click.Path(path_type=Path), help="CC event log (CCEL).")
@click.option("--report-data", "report_data_hex", help="Expected REPORTDATA, hex (≤ 64 bytes, zero-padded).")
@click.option("--at", "at_text", help="Verification time, ISO-8601 (default: now).")
@click.option(
    "--online",
    is_flag=True,
    help="Without --collateral: fetch missing or expired collateral from Intel PCS into the cache.",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_PCS_CACHE,
    show_default=True,
    help="PCS collateral cache, used when --collateral is absent.",
)
@click.option("--pcs-url", default=DEFAULT_PCS_URL, hidden=True)
@click.option("--pcs-root-crl-url", default=DEFAULT_ROOT_CRL_URL, hidden=True)
@click.option(
    "--trust-simulated-root",
    "simulated_roots",
    multiple=True,
    metavar="SHA256",
    help="Also trust this simulated Intel root (development only; results are marked simulated).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--ear-out", type=click.Path(path_type=Path), help="Write the signed EAR (JWT) here.")
@click.option("--ear-key", type=click.Path(path_type=Path), help="EC P-256/P-384 private key (PEM).")
def verify_tdx_command(
    quote_path: Path,
    collateral_path: Path | None,
    policy_path: Path | None,
    event_log_path: Path | None,
    report_data_hex: str | None,
    at_text: str | None,
    online: bool,
    cache_dir: Path,
    pcs_url: str,
    pcs_root_crl_url: str,
    simulated_roots: tuple[str, ...],
    as_json: bool,
    ear_out: Path | None,
    ear_key: Path | None,
) -> None:
    out: dict[str, Any] = {"status": "none", "tee": "tdx", "simulated": False, "appraisal": None}
    try:
        if (ear_out is None) != (ear_key is None):
            raise UsageError("usage.invalid", "--ear-out and --ear-key go together")
        at = parse_at(at_text)
        expected = parse_report_data(report_data_hex)
        policy = (
            parse_tdx_policy(read_input(policy_path, "policy"), source=str(policy_path))
            if policy_path
            else None
        )
        event_log = read_input(event_log_path, "event log") if event_log_path is not None else None
        quote = parse_quote(read_input(quote_path, "quote"))
        out["claims"] = quote_to_json(quote)
        if collateral_path is not None:
            collateral = load_collateral(collateral_path, quote)
        else:
            fetcher = PcsFetcher(
                cache_dir.expanduser(), base_url=pcs_url, root_crl_url=pcs_root_crl_url, allow_network=online
            )
            with fetcher:
                collateral = fetch_collateral(fetcher, quote)
        claims = verify_tdx(quote, collateral, TdxVerifyOptions(at=at, trust=_trust(policy, simulated_roots)))
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
        emit(out, as_json, exit_code=0)
    appraise_and_emit(
        out,
        lambda: appraise_tdx(claims, policy, expected_report_data=expected, event_log=event_log),
        as_json=as_json,
        ear_out=ear_out,
        ear_key=ear_key,
        at=at,
    )
