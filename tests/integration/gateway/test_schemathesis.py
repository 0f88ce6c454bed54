"""schemathesis against the gateway's own OpenAPI, over real uvicorn with a real worker behind it:
no 5xx, no status code the document does not list, declared content types. Bounded and
deterministic (``derandomize``, a few examples per operation).

Driven through schemathesis' Python API (one Hypothesis run per operation) rather than its pytest
plugin, which does not support this pytest version.
"""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from attestgw.access import Action
from tests.integration.gateway.conftest import Workers, start_gateway
from tests.unit.gateway.local_services import ALICE_TOKEN

for _media in ("message/ohttp-req", "message/ohttp-chunked-req"):

    @schemathesis.serializer(_media)
    def _raw(ctx: Any, value: Any) -> bytes:
        return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _exercise(operation: Any, url: str, seen: dict[str, set[int]]) -> None:
    """One bounded Hypothesis run over ``operation``: each case as generated, then (when it names a
    model) for the model the worker serves, so requests also reach the worker."""

    @given(case=operation.as_strategy())
    @settings(max_examples=8, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        for served in (False, True):
            if served and case.path_parameters and "model" in case.path_parameters:
                case.path_parameters["model"] = "tiny"
            elif served and case.query and "model" in case.query:
                case.query["model"] = "tiny"
            elif served:
                continue
            response = case.call_and_validate(
                base_url=url,
                headers={"Authorization": f"Bearer {ALICE_TOKEN}"},
                checks=[not_a_server_error, status_code_conformance, content_type_conformance],
                timeout=30,
            )
            seen.setdefault(operation.label, set()).add(response.status_code)

    check()


def test_gateway_conforms_to_its_openapi(workers: Workers, two_workers) -> None:  # type: ignore[no-untyped-def]
    everything = {("alice", action, "*") for action in Action}
    with start_gateway(workers, [two_workers[0].url], allowed=everything) as gw:
        gw.wait_ready()
        doc = httpx.get(f"{gw.url}/openapi.json").json()
        schema = schemathesis.openapi.from_dict(doc)
        seen: dict[str, set[int]] = {}
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == 12  # 8 relay routes + the 4 /v1/log routes
        for operation in operations:
            _exercise(operation, gw.url, seen)
        assert len(seen) == len(operations)  # every operation was exercised
        assert 200 in seen["GET /v1/attestation"]  # requests went all the way to the worker
        assert 400 in seen["POST /v1/models/{model}/ohttp"]  # and its refusals came back documented
