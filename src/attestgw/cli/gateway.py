"""``attestgw gateway serve``: run the authenticating OHTTP relay (FastAPI under uvicorn).

What happens at start, in order:

1. the settings file is read and validated with the ``ATTESTGW_*`` environment overrides
   (:func:`attestgw.gateway.load_settings`); ``--listen`` overrides ``listen``;
2. the worker appraisal policy (``[pool] policy``) is loaded with the SEV-SNP policy loader;
3. the services behind the gateway's ports (identity, access, quotas, evidence log) are built from the
   ``[identity]``, ``[access]``, ``[quotas]`` and ``[log]`` tables
   (:func:`attestgw.gateway.wiring.build_services`);
4. the socket is bound, a summary printed (``--json``: one JSON line on stdout), and uvicorn serves;
   workers are attested in the background (``/readyz`` is 200 once one is admitted). Ctrl-C / SIGTERM
   drains streams in flight for up to ``relay.drain_timeout_s``.

Exit codes: 0 stopped normally; 2 invalid settings, policy or ``--listen`` (``config.*``, printed
without a traceback). The gateway extra (FastAPI, uvicorn, aiohttp…) is imported only when the command
runs, so the rest of the CLI works without it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from attestgw.cli.serving import bind, listen_address, socket_url
from attestgw.errors import AttestgwError

if TYPE_CHECKING:
    pass

__all__ = ["gateway"]


@click.group(name="gateway")
def gateway() -> None:
    """The gateway: identity, authorization, quotas and an OHTTP relay to attested workers."""


@gateway.command(name="serve")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Gateway settings (TOML); ATTESTGW_* variables override it.",
)
@click.option("--listen", metavar="HOST:PORT", help="Overrides the settings' listen address.")
@click.option("--json", "as_json", is_flag=True, help="Print the startup summary as one JSON line on stdout.")
def serve(config_path: Path, listen: str | None, as_json: bool) -> None:
    """Serve /v1/attestation, /v1/ohttp-keys, /v1/models/{model}/ohttp[-chunked], /v1/models.

    \b
    Exit codes: 0 stopped normally; 2 invalid settings, policy or listen address.
    """
    try:
        _serve(config_path, listen, as_json)
    except AttestgwError as err:
        if as_json:
            click.echo(json.dumps({"status": "error", "error": {"code": err.code, "message": err.message}}))
        click.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)


def _serve(config_path: Path, listen: str | None, as_json: bool) -> None:
    # The gateway extra is imported here, not at module level: see the module docstring.
    from attestgw.appraisal import read_policy_file  # noqa: PLC0415
    from attestgw.attestation import parse_bundle_policy  # noqa: PLC0415
    from attestgw.gateway import GatewayServer, create_app, load_settings, server_config  # noqa: PLC0415
    from attestgw.gateway.wiring import build_services  # noqa: PLC0415

    settings = load_settings(config_path)
    if listen is not None:
        settings = settings.model_copy(update={"listen": listen})
    host, port = listen_address(settings.listen)
    policy_bytes = read_policy_file(settings.pool.policy)
    policy = parse_bundle_policy(policy_bytes, source=str(settings.pool.policy))
    wired = build_services(settings, policy, policy_bytes=policy_bytes)
    app = create_app(settings, wired.services)
    sock = bind(host, port)
    summary = {
        "status": "serving",
        "url": socket_url(sock),
        "workers": [w.worker_id for w in settings.workers],
        "policy": str(settings.pool.policy),
    }
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True))
    click.echo(f"attestgw gateway serving on {summary['url']}", err=as_json)
    click.echo(f"  workers  {', '.join(summary['workers'])}", err=as_json)
    click.echo(f"  policy   {summary['policy']}", err=as_json)
    sys.stdout.flush()
    server = GatewayServer(server_config(app, settings), app.state.lifecycle)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        click.echo("attestgw gateway stopped", err=as_json)
    finally:
        wired.store.close()  # every acknowledged append is already durable; this stops the sequencer
