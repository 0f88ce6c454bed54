"""Coverage-guided fuzzing of the composite bundle parser and the one-file policy loader with atheris.

Run: ``.venv/bin/python tests/fuzz/atheris_composite.py -runs=100000`` (seed it with saved bundles and
policy files). Any exception other than FormatError (bundles) or ConfigError (policies) is a crash;
committed crashers become tests in tests/unit/composite.
"""

from __future__ import annotations

from _atheris import instrumented, run  # this folder: the harnesses run as scripts

with instrumented():
    from attestgw.attestation import parse_bundle, parse_bundle_policy
    from attestgw.errors import ConfigError, FormatError


def one_input(data: bytes) -> None:
    if not data:
        return
    selector, payload = data[0] % 2, data[1:]
    try:
        if selector == 0:
            parse_bundle(payload)
        else:
            parse_bundle_policy(payload)
    except (FormatError, ConfigError):
        pass


if __name__ == "__main__":
    run(one_input)
