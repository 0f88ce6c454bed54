"""The whole stack on loopback, wired as ``attestgw gateway serve`` wires it: a real OpenID provider
(``oidc-provider`` on Node), the gateway with its real services (OIDC, Cedar, quotas, the SQLite
evidence log), and the real worker (simulated SEV-SNP, tiny model). The SDK is the client.

Skipped with a reason when the worker extra or Node's provider is missing.
"""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

for _module in ("torch", "transformers", "starlette", "uvicorn", "fastapi", "cedarpy"):
    pytest.importorskip(_module, reason=f"the stack tests run the worker and gateway, which need {_module}")

from attestgw.appraisal import parse_policy  # noqa: E402
from attestgw.gateway import GatewayServer, create_app, parse_settings, server_config  # noqa: E402
from attestgw.gateway.wiring import Wired, build_services  # noqa: E402
from tests.conftest import REPO  # noqa: E402
from tests.integration.client.loopback import LoopbackServer, RunningWorker, build_worker, policy_file  # noqa: E402
from tests.integration.gateway.conftest import GatewayThread  # noqa: E402
from tests.oidc.fixture import AUDIENCE, OidcProvider, oidc_provider  # noqa: E402, F401

#: Test access policy: the provider's "researchers" group may use the models (its other client,
#: tenant "globex" with no groups, may not).
RESEARCHERS = """
@id("test.researchers")
permit (
  principal,
  action in [Attestgw::Action::"infer", Attestgw::Action::"attest", Attestgw::Action::"list_models"],
  resource
)
when { principal in Attestgw::Group::"researchers" };
"""

#: Second test access policy: the provider's "ops" group (client attestgw-test) may read the evidence log.
OPS_AUDITORS = """
@id("test.ops-read-log")
permit (principal, action == Attestgw::Action::"read_log", resource == Attestgw::Log::"log")
when { principal in Attestgw::Group::"ops" };
"""


@dataclass
class Stack:
    url: str
    provider: OidcProvider
    worker: RunningWorker
    wired: Wired
    log: io.StringIO
    state: Path

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(w.routable for w in self.wired.services.pool.workers):
            if time.monotonic() > deadline:
                raise TimeoutError("no worker admitted")
            time.sleep(0.05)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, oidc_provider: OidcProvider) -> Iterator[Stack]:  # noqa: F811
    state = tmp_path_factory.mktemp("stack")
    parts = build_worker(state / "worker")
    policy, policy_path = policy_file(state, parts.policy_toml)
    access = state / "access"
    access.mkdir()
    shutil.copy(REPO / "policies" / "access" / "schema.cedarschema", access)
    (access / "researchers.cedar").write_text(RESEARCHERS)
    (access / "ops.cedar").write_text(OPS_AUDITORS)
    app = parts.app()
    try:
        with LoopbackServer(app) as worker_server:
            worker = RunningWorker(
                worker_server.url, app, policy, policy_path, "tiny", parts.model_digest, parts
            )
            toml = f"""
listen = "127.0.0.1:0"
[pool]
policy = "{policy_path}"
health_interval_s = 0.5
[[workers]]
url = "{worker.url}"
models = ["tiny"]
[identity]
[[identity.issuers]]
issuer = "{oidc_provider.issuer}"
audience = "{AUDIENCE}"
tenant_claim = "tenant"
groups_claim = "groups"
required_scopes = ["infer"]
[access]
policies = "{access}"
[quotas.principal]
rate = 1000
burst = 1000
[log]
db = "{state / "log.db"}"
key = "{state / "log.key"}"
origin = "attestgw.test/stack"
create_key = true
"""
            settings = parse_settings(toml.encode(), environ={})
            log = io.StringIO()
            policy_bytes = settings.pool.policy.read_bytes()
            worker_policy = parse_policy(policy_bytes, source=str(settings.pool.policy))
            wired = build_services(settings, worker_policy, policy_bytes=policy_bytes, log_stream=log)
            gateway_app = create_app(settings, wired.services)
            server = GatewayServer(server_config(gateway_app, settings, port=0), gateway_app.state.lifecycle)
            with GatewayThread(gateway_app, server) as thread:
                running = Stack(thread.url, oidc_provider, worker, wired, log, state)
                running.wait_ready()
                yield running
            wired.store.close()
    finally:
        parts.engine.close()
