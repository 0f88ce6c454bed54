"""``attestgw trust``: manage the collateral the verifiers trust; ``trust fetch tdx`` fetches Intel PCS.

Exit codes: 0 fetched; 2 usage error; 3 collateral unavailable (network error, HTTP error, bad
response, cache unwritable). Fetching is the point of this command, so it may use the network;
``verify tdx`` stays offline unless given ``--online``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from attestgw.collateral.pcs import DEFAULT_PCS_CACHE, DEFAULT_PCS_URL, DEFAULT_ROOT_CRL_URL, PcsFetcher
from attestgw.errors import AttestgwError, UsageError

__all__ = ["trust"]


@click.group()
def trust() -> None:
    """Fetch and cache vendor collateral (Intel PCS) for offline verification."""


@trust.group(name="fetch")
def fetch() -> None:
    """Fetch collateral from a vendor service into the cache."""


@fetch.command(name="tdx")
@click.option("--fmspc", required=True, help="FMSPC of the platform, 12 hex digits (see verify tdx claims).")
@click.option("--ca", type=click.Choice(["platform", "processor"]), default="platform", show_default=True)
@click.option("--out", "out_path", type=click.Path(path_type=Path), help="Write the bundle JSON here.")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=DEFAULT_PCS_CACHE, show_default=True)
@click.option("--base-url", default=DEFAULT_PCS_URL, show_default=True, help="Intel PCS or a PCCS.")
@click.option("--root-crl-url", default=DEFAULT_ROOT_CRL_URL, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary instead of the bundle.")
def fetch_tdx(
    fmspc: str,
    ca: str,
    out_path: Path | None,
    cache_dir: Path,
    base_url: str,
    root_crl_url: str,
    as_json: bool,
) -> None:
    """Fetch TDX TCB info, QE identity, PCK CRL and root CA CRL; write the collateral bundle JSON.

    \b
    The bundle goes to --out, or to stdout when --out is absent (and --json is not given). It is
    not verified here: `attestgw verify tdx --collateral FILE` does that. Exit 0, 2 (usage) or 3.
    """
    summary: dict[str, object] = {"fmspc": fmspc, "ca": ca}
    try:
        with PcsFetcher(
            cache_dir.expanduser(), base_url=base_url, root_crl_url=root_crl_url, allow_network=True
        ) as fetcher:
            got = fetcher.collateral(fmspc, ca)
        if out_path is not None:
            try:
                out_path.write_bytes(got.bundle_json)
            except OSError as exc:
                raise UsageError("usage.invalid", f"cannot write {out_path}: {exc.strerror}") from None
    except AttestgwError as err:
        summary["error"] = {"code": err.code, "message": err.message}
        if as_json:
            click.echo(json.dumps(summary, indent=2, sort_keys=True))
        else:
            click.echo(f"error: {err.code}: {err.message}", err=True)
        sys.exit(err.exit_code)
    summary.update(
        fmspc=got.fmspc,
        out=str(out_path) if out_path is not None else None,
        fetched=list(got.fetched),
        expired=list(got.expired),
        tcb_info_next_update=got.bundle.tcb_info.tcb_info.next_update.isoformat(),
        qe_identity_next_update=got.bundle.qe_identity.qe_identity.next_update.isoformat(),
    )
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
    elif out_path is None:
        click.echo(got.bundle_json.decode("utf-8"), nl=False)
    else:
        click.echo(f"wrote {out_path} (fetched: {', '.join(got.fetched) or 'none, all cached'})")
