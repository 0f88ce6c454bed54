"""``attestgw demo``: the embedded default, explained step by step, on a simulated TEE.

First version (issue 2): a simulated enclave worker's SEV-SNP report is verified and appraised, then
refused when tampered with, when the policy does not trust the simulated root, and when the guest
allows debugging. Later issues extend this to the whole confidential request path.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from attestgw.appraisal import appraise_snp, parse_policy
from attestgw.attester.simulated_amd import SimulatedAmdAuthority
from attestgw.attester.simulated_snp import SimulatedEvidence, SimulatedSnpAttester
from attestgw.cli.output import render_summary
from attestgw.clock import utcnow
from attestgw.encoding import to_hex
from attestgw.errors import AttestgwError
from attestgw.evidence.snp import Product, parse_report
from attestgw.verify.snp import AMD_TRUST, SnpCollateral, SnpVerifyOptions, VerifiedSnpClaims, verify_snp
from attestgw.verify.snp.export import claims_to_json

__all__ = ["demo"]

_T = TypeVar("_T")
_STEPS = 5


@contextmanager
def _step(n: int, title: str) -> Iterator[None]:
    click.echo(click.style(f"[{n}/{_STEPS}] ", bold=True) + title)
    yield
    click.echo()


def _timed(label: str, fn: Callable[[], _T]) -> _T:
    """Run a slow step with a visible progress line and its duration."""
    click.echo(f"      {label} …", nl=False)
    t0 = time.perf_counter()
    result = fn()
    click.echo(f" done ({time.perf_counter() - t0:.1f} s)")
    return result


def _verify(evidence: SimulatedEvidence, trust_simulated: bool) -> VerifiedSnpClaims:
    trust = AMD_TRUST.with_simulated(evidence.product, evidence.ark_sha256) if trust_simulated else AMD_TRUST
    return verify_snp(
        parse_report(evidence.report),
        SnpCollateral(signing_cert=evidence.signing_cert, chain=evidence.chain),
        SnpVerifyOptions(at=utcnow(), trust=trust),
    )


def _policy_text(evidence: SimulatedEvidence, worker: SimulatedSnpAttester) -> str:
    tcb = "\n".join(f"{name} = {spl}" for name, spl in worker.tcb.items())
    return f"""
[policy]
id = "demo-simulated-worker"
version = 1
description = "Trusts exactly the demo's simulated AMD root and the demo worker's measurement"

[snp]
measurements = ["{to_hex(worker.measurement)}"]
trust_simulated_roots = ["{evidence.ark_sha256}"]
allowed_products = ["{evidence.product.value}"]

[snp.minimum_tcb]
{tcb}
"""


def _outcome(status: str, claims: dict[str, Any] | None, failures: list[dict[str, str]], **extra: Any) -> str:
    out: dict[str, Any] = {"status": status, "tee": "snp", "claims": claims or {}, "failures": failures}
    out.update(extra)
    return "\n".join("      " + line for line in render_summary(out).splitlines())


def _refusal(err: AttestgwError) -> str:
    return _outcome(
        "contraindicated", None, [{"rule": "verify", "code": err.code, "got": err.message, "want": ""}]
    )


@click.command(name="demo")
@click.option("--product", type=click.Choice([p.value for p in Product]), default="Genoa", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the affirming EAR claims as JSON at the end.")
def demo(product: str, as_json: bool) -> None:
    """Show SEV-SNP evidence from a simulated worker being verified, appraised and refused."""
    os.environ.setdefault("ATTESTGW_DEMO", "1")
    click.echo(
        click.style("attestgw demo", bold=True) + " — SEV-SNP evidence from a simulated enclave worker"
    )
    click.echo(
        click.style("SIMULATED", fg="magenta", bold=True)
        + ": the AMD roots below are generated on this machine; no real hardware is involved.\n"
    )
    line = Product(product)
    nonce = os.urandom(64)

    with _step(1, "Create a simulated AMD key hierarchy and a worker on a simulated chip"):
        authority = SimulatedAmdAuthority(line, enable_simulation=True)
        worker = _timed(
            "generating ARK and ASK (RSA-4096) and the worker's VCEK (P-384)",
            lambda: SimulatedSnpAttester(authority, enable_simulation=True),
        )
        click.echo(f"      simulated ARK sha256 {authority.ark_sha256()}")
        click.echo(f"      worker measurement  {to_hex(worker.measurement)[:48]}…")

    with _step(2, "The verifier sends a fresh nonce; the worker returns a report binding it"):
        evidence = worker.report(nonce)
        click.echo(f"      nonce (REPORT_DATA) {to_hex(nonce)[:48]}…")
        click.echo(f"      report              {len(evidence.report)} bytes, signed by the worker's VCEK")

    policy = parse_policy(_policy_text(evidence, worker).encode(), source="demo policy")
    with _step(3, "Verify the chain and signature, then appraise against a policy that trusts this root"):
        claims = _verify(evidence, trust_simulated=True)
        result = appraise_snp(claims, policy, expected_report_data=nonce)
        click.echo(
            _outcome(
                result.status.value,
                claims_to_json(claims),
                [f.as_dict() for f in result.failures],
                simulated=True,
                appraisal=result.policy_ref,
                opt_ins=list(result.opt_ins),
            )
        )

    with _step(4, "The same report with one byte of its measurement changed"):
        tampered = bytearray(evidence.report)
        tampered[0x90] ^= 0x01
        forged = SimulatedEvidence(**{**_fields(evidence), "report": bytes(tampered)})
        try:
            _verify(forged, trust_simulated=True)
            click.echo(click.style("      UNEXPECTED: the tampered report verified", fg="red", bold=True))
            raise SystemExit(1)
        except AttestgwError as err:
            click.echo(_refusal(err))

    with _step(5, "Two more refusals: production trust roots, and a guest that allows debugging"):
        click.echo("      a) the genuine report, verified against the pinned AMD roots only:")
        try:
            _verify(evidence, trust_simulated=False)
            click.echo(click.style("      UNEXPECTED: a simulated root was trusted", fg="red", bold=True))
            raise SystemExit(1)
        except AttestgwError as err:
            click.echo(_refusal(err))
        click.echo("      b) a validly signed report whose guest policy allows debugging:")
        debug = worker.report(nonce, debug=True)
        debug_claims = _verify(debug, trust_simulated=True)
        debug_result = appraise_snp(debug_claims, policy, expected_report_data=nonce)
        click.echo(
            _outcome(
                debug_result.status.value,
                None,
                [f.as_dict() for f in debug_result.failures],
                appraisal=debug_result.policy_ref,
            )
        )
        if debug_result.affirming:
            raise SystemExit(1)

    click.echo(
        "The worker was trusted only for the one report that is genuine, fresh and acceptable.\n"
        "Try it on real evidence: attestgw verify snp --help"
    )
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, sort_keys=True, default=str))


def _fields(evidence: SimulatedEvidence) -> dict[str, Any]:
    return {name: getattr(evidence, name) for name in SimulatedEvidence.__dataclass_fields__}
