"""One name per worker route, whichever of its two shapes a request used (docs/worker-protocol.md §0).

The client speaks the gateway-shaped routes (``/v1/attestation``, ``/v1/models/{m}/ohttp``…), which
the worker serves beside its own (``/attestation``, ``/ohttp``…). Test doubles that count or tamper
with requests by route use :func:`route_of` so they see one route, not two spellings of it.
"""

from __future__ import annotations

import re

_MODEL_ROUTE = re.compile(r"\A/v1/models/[^/]+/(ohttp|ohttp-chunked)\Z")


def route_of(path: str) -> str:
    """``/v1/attestation`` → ``/attestation``; ``/v1/models/tiny/ohttp`` → ``/ohttp``; others as is."""
    match = _MODEL_ROUTE.match(path)
    if match:
        return "/" + match.group(1)
    if path in ("/v1/attestation", "/v1/ohttp-keys"):
        return path[3:]
    return path
