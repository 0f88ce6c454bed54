"""Interop with an independent OHTTP client: ``ohttpy`` (Python over Microsoft's fork of the Rust
``ohttp`` crate) seals a request that the real worker opens.

What ohttpy speaks (observed with 0.1a13): it fetches nothing when given the key configs, POSTs to the
fixed path ``/score`` with ``Content-Type: message/ohttp-chunked-req``, but the body is an ordinary
RFC 9458 encapsulated request (HPKE info ``message/bhttp request``), and it expects the response in
Microsoft's pre-draft chunked encoding. So the *request* side interoperates byte for byte — a relay
only has to route and relabel it to ``POST /ohttp`` — while ohttpy cannot read an RFC 9458 response
nor a draft-ietf-ohai-chunked-ohttp one. The test shows the first and records the second.

ohttpy blocks in Rust without releasing the GIL, which would freeze the in-process loopback servers,
so it runs in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.client.loopback import LoopbackServer, RunningWorker

pytest.importorskip("ohttpy", reason="the interop test needs the ohttpy package (linux x86_64 wheel)")


class ScoreShim:
    """Routes ohttpy's ``POST /score`` to the worker's ``POST /ohttp``, relabelled; keeps each body."""

    def __init__(self, worker_url: str) -> None:
        self.worker_url = worker_url
        self.bodies: list[bytes] = []
        self.answers: list[tuple[int, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                kind = (await receive())["type"]  # lifespan.startup, then lifespan.shutdown
                await send({"type": kind + ".complete"})
                if kind == "lifespan.shutdown":
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                self.worker_url + "/ohttp", content=body, headers={"content-type": "message/ohttp-req"}
            )
        media = answer.headers.get("content-type", "")
        self.answers.append((answer.status_code, media))
        await send(
            {
                "type": "http.response.start",
                "status": answer.status_code,
                "headers": [(b"content-type", media.encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer.content})


@pytest.fixture
def shim(worker: RunningWorker) -> Iterator[tuple[ScoreShim, str]]:
    app = ScoreShim(worker.url)
    with LoopbackServer(app) as server:
        yield app, server.url


def _ohttpy_get(url: str, key_configs: bytes) -> subprocess.CompletedProcess[str]:
    code = (
        "import httpx, ohttpy\n"
        f"keys = bytes.fromhex('{key_configs.hex()}')\n"
        "client = httpx.Client(transport=ohttpy.Transport(key_config=keys))\n"
        "try:\n"
        f"    r = client.get('{url}/v1/models')\n"
        "    print(r.status_code, len(r.read()))\n"
        "except Exception as e:\n"
        "    print('error', e)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_worker_opens_a_request_sealed_by_ohttpy(
    shim: tuple[ScoreShim, str], worker: RunningWorker
) -> None:
    app, url = shim
    key_configs = httpx.get(worker.url + "/ohttp-keys").content  # application/ohttp-keys, as ohttpy wants
    opened_before = worker.app.counts["/ohttp"]
    _ohttpy_get(url, key_configs)
    assert len(app.bodies) == 1
    # Outer 200 with a sealed response means the worker found the key, decrypted the request, decoded
    # its Binary HTTP and served it (docs/worker-protocol.md §3); anything else is a problem+json.
    assert app.answers == [(200, "message/ohttp-res")]
    assert worker.app.counts["/ohttp"] == opened_before + 1
    # The request authenticated, so its encapsulated key entered the worker's replay window.
    again = httpx.post(
        worker.url + "/ohttp", content=app.bodies[0], headers={"content-type": "message/ohttp-req"}
    )
    assert again.status_code == 400
    assert again.json()["code"] == "ohttp.replay"
