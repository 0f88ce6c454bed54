"""Coverage-guided fuzzing of the gateway's parsers with atheris.

Run: ``.venv/bin/python tests/fuzz/atheris_gateway.py -runs=100000``. Targets, chosen by the first
input byte: the settings parser (TOML bytes, with the rest split into ``ATTESTGW_*`` overrides), the
request-id filter, and the worker-refusal re-issuer. Any exception other than ConfigError from the
settings parser, or any exception at all from the other two, is a crash.
"""

from __future__ import annotations

from _atheris import instrumented, run  # this folder: the harnesses run as scripts

with instrumented():
    from attestgw.errors import ConfigError
    from attestgw.gateway.observability import request_id
    from attestgw.gateway.problems import worker_refusal
    from attestgw.gateway.settings import parse_settings

_NAMES = ("ATTESTGW_LISTEN", "ATTESTGW_WORKERS", "ATTESTGW_RELAY__READ_TIMEOUT_S", "ATTESTGW_POOL__POLICY")


def one_input(data: bytes) -> None:
    if not data:
        return
    selector, payload = data[0] % 3, data[1:]
    if selector == 0:
        head, _, tail = payload.partition(b"\x00")
        env = {}
        for i, value in enumerate(tail.split(b"\x01")[: len(_NAMES)]):
            env[_NAMES[i]] = value.decode("utf-8", "replace")
        try:
            parse_settings(head, environ=env)
        except ConfigError:
            return
    elif selector == 1:
        request_id(payload.decode("utf-8", "replace"))
    else:
        status = 400 + (payload[0] if payload else 0) % 30
        worker_refusal(status, "application/problem+json", payload[1:], "r")


def main() -> None:
    run(one_input)


if __name__ == "__main__":
    main()
