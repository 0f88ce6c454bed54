"""``attestgw proxy``: an OpenAI-compatible plaintext endpoint on loopback that attests, seals, relays.

Thin over :mod:`attestgw.client.proxy`. Needs starlette and uvicorn (the ``gateway`` or ``worker``
extra). Exit codes: 0 stopped normally; 2 usage error (a non-loopback ``--listen``, an invalid
policy, a missing dependency).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import click

from attestgw.cli.attest import load_policy_option, online_option, token_option
from attestgw.cli.serving import bind, listen_address, socket_url
from attestgw.errors import AttestgwError

__all__ = ["proxy_command"]


@click.command(name="proxy")
@click.option("--gateway", "gateway_url", required=True, help="The gateway's (or a worker's) base URL.")
@click.option(
    "--listen", default="127.0.0.1:8088", show_default=True, metavar="HOST:PORT", help="Loopback only."
)
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), help="Appraisal policy (TOML).")
@token_option
@click.option("--model", "models", multiple=True, help="A model GET /v1/models lists (repeatable).")
@online_option
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Upstream timeout, seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the startup summary as one JSON line.")
def proxy_command(
    gateway_url: str,
    listen: str,
    policy_path: Path | None,
    token: str | None,
    models: tuple[str, ...],
    online: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Serve an OpenAI-compatible API on loopback; every request is attested, sealed and relayed.

    Point any OpenAI client at http://HOST:PORT/v1. The caller's bearer token (an OpenAI client's
    api_key) is forwarded to the gateway as its access token unless --token (or ATTESTGW_TOKEN) is
    given. Nothing is forwarded when attestation fails.
    """
    host, port = listen_address(listen)
    try:
        import uvicorn  # noqa: PLC0415 - optional dependency of this command only

        from attestgw.client.proxy import ProxySettings, check_loopback, create_proxy_app  # noqa: PLC0415
    except ImportError as exc:
        raise click.UsageError(
            f"attestgw proxy needs starlette and uvicorn (pip install 'attestgw[gateway]'): {exc}"
        ) from None
    try:
        check_loopback(host)
        policy, source, _ = load_policy_option(policy_path)
    except AttestgwError as err:
        click.echo(f"error: [{err.code}] {err.message}", err=True)
        raise SystemExit(err.exit_code) from None
    settings = ProxySettings(
        gateway=gateway_url, policy=policy, token=token, models=models, online=online, timeout=timeout
    )
    app = create_proxy_app(settings)
    with bind(host, port) as sock:
        url = socket_url(sock)
        summary = {
            "status": "serving",
            "url": url,
            "openai_base_url": f"{url}/v1",
            "gateway": gateway_url,
            "policy": source,
            "token": "fixed" if token else "forwarded from callers",
        }
        if as_json:
            click.echo(json.dumps(summary, sort_keys=True), nl=True)
        else:
            click.echo(f"attestgw proxy on {url}/v1 -> {gateway_url} (policy {source})", err=True)
        config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how the proxy is stopped
            uvicorn.Server(config).run(sockets=[sock])
