"""``attestgw trust``: manage the collateral the verifiers trust; ``trust fetch tdx`` fetches Intel PCS,
``trust fetch nvidia`` NVIDIA RIMs and OCSP responses.

Exit codes: 0 fetched; 2 usage error; 3 collateral unavailable (network error, HTTP error, bad
response, cache unwritable). Fetching is the point of this command, so it may use the network;
``verify tdx`` stays offline unless given ``--online``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from attestgw.collateral.nvidia import (
    DEFAULT_NVIDIA_CACHE,
    DEFAULT_OCSP_URL,
    DEFAULT_RIM_URL,
    NvidiaCollateralFetcher,
)
from attestgw.collateral.pcs import DEFAULT_PCS_CACHE, DEFAULT_PCS_URL, DEFAULT_ROOT_CRL_URL, PcsFetcher
from attestgw.crypto.x509 import pem_certificates
from attestgw.errors import AttestgwError, UsageError
from attestgw.evidence.nvidia import parse_gpu_evidence, parse_rim
from attestgw.verify.nvidia import GpuCollateral

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


def _report(summary: dict[str, object], err: AttestgwError | None, as_json: bool) -> None:
    if err is not None:
        summary["error"] = {"code": err.code, "message": err.message}
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
    elif err is not None:
        click.echo(f"error: {err.code}: {err.message}", err=True)
    else:
        fetched = summary.get("fetched")
        done = ", ".join(str(f) for f in fetched) if isinstance(fetched, list) and fetched else ""
        click.echo(f"cached in {summary['cache']} (fetched: {done or 'none, all cached'})")
    if err is not None:
        sys.exit(err.exit_code)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError("input.unreadable", f"cannot read {what} {path}: {exc.strerror}") from None


@fetch.command(name="nvidia")
@click.option("--evidence", "evidence_path", type=click.Path(path_type=Path), help="GPU evidence (any form).")
@click.option("--certs", "certs_path", type=click.Path(path_type=Path), help="Device chain PEM, leaf first.")
@click.option("--rim-id", "rim_ids", multiple=True, help="A RIM id, e.g. NV_GPU_DRIVER_GH100_550.90.07.")
@click.option("--driver", "drivers", multiple=True, help="A Hopper driver version (its RIM id is derived).")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=DEFAULT_NVIDIA_CACHE, show_default=True)
@click.option("--rim-url", default=DEFAULT_RIM_URL, show_default=True, help="NVIDIA RIM service or a mirror.")
@click.option("--ocsp-url", default=DEFAULT_OCSP_URL, show_default=True, help="NVIDIA OCSP responder.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def fetch_nvidia(
    evidence_path: Path | None,
    certs_path: Path | None,
    rim_ids: tuple[str, ...],
    drivers: tuple[str, ...],
    cache_dir: Path,
    rim_url: str,
    ocsp_url: str,
    as_json: bool,
) -> None:
    """Fetch NVIDIA RIMs and OCSP responses into the cache for `verify nvidia --cache-dir` / `--online`.

    \b
    --evidence: the RIMs its signed driver / VBIOS versions name, and OCSP responses for its device
    chain (embedded or --certs) and the RIM chains. --rim-id / --driver: those RIMs and OCSP for their
    chains; --certs alone: OCSP for that device chain. Nothing is verified here. Exit 0, 2 or 3.
    """
    summary: dict[str, object] = {"cache": str(cache_dir)}
    ids = [*rim_ids, *(f"NV_GPU_DRIVER_GH100_{d}" for d in drivers)]
    try:
        if evidence_path is None and certs_path is None and not ids:
            raise UsageError("usage.invalid", "give --evidence, --certs, --rim-id or --driver")
        chain = _read(certs_path, "certificate chain") if certs_path is not None else None
        with NvidiaCollateralFetcher(
            cache_dir, rim_url=rim_url, ocsp_url=ocsp_url, allow_network=True
        ) as fetcher:
            rims = [fetcher.rim(rim_id) for rim_id in ids]
            ocsp: list[bytes] = []
            if evidence_path is not None:
                evidence = parse_gpu_evidence(_read(evidence_path, "evidence"))
                got = fetcher.collateral_for(evidence, GpuCollateral(certificate_chain=chain))
                rims += got.rims
                ocsp += got.ocsp_responses
            else:
                ders = pem_certificates(chain, code="nvidia.chain_invalid") if chain is not None else []
                pairs = [(ders[i], ders[i + 1]) for i in range(1, len(ders) - 1)]
                for raw in rims:
                    certs = parse_rim(raw).signature.certificates
                    pairs += [(certs[i], certs[i + 1]) for i in range(len(certs) - 1)]
                ocsp += [fetcher.ocsp(cert, issuer) for cert, issuer in pairs]
            summary.update(fetched=list(fetcher.fetched), rims=len(rims), ocsp_responses=len(ocsp))
    except AttestgwError as err:
        _report(summary, err, as_json)
        return
    _report(summary, None, as_json)
