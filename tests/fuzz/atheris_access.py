"""Coverage-guided fuzzing of the access-policy loader, the quota settings and authorize().

Run: ``.venv/bin/python tests/fuzz/atheris_access.py -runs=10000`` (add a corpus directory to keep
findings). A crash is any exception other than ConfigError from the loaders, any exception at all from
``authorize``, or a process crash (cedarpy's native parsers overflow their stack on deep nesting, which
the lexical guard must stop first). Committed crashers become regression tests in tests/unit/access.

``import atheris`` is guarded so that importing this file never needs atheris (pytest does not collect
it: no ``test_`` prefix).
"""

from __future__ import annotations

import contextlib
import tomllib
from pathlib import Path

from _atheris import atheris, instrumented, run  # this folder: the harnesses run as scripts

with instrumented():
    from attestgw.access import (
        Action,
        CedarAuthorizer,
        ModelAttributes,
        compile_access_policies,
        parse_quota_settings,
    )
    from attestgw.errors import ConfigError
    from attestgw.identity import Principal

SHIPPED = Path(__file__).resolve().parents[2] / "policies" / "access"
SCHEMA = (SHIPPED / "schema.cedarschema").read_text(encoding="utf-8")
AUTHORIZER = CedarAuthorizer.from_dir(SHIPPED, {"m": ModelAttributes(frozenset({"t"}))}, cache_size=16)


def one_input(data: bytes) -> None:
    if not data:
        return
    fdp = atheris.FuzzedDataProvider(data[1:])
    selector = data[0] % 4
    if selector == 0:
        with contextlib.suppress(ConfigError):
            compile_access_policies(
                {"f.cedar": fdp.ConsumeUnicodeNoSurrogates(4096)}, SCHEMA, "s.cedarschema"
            )
    elif selector == 1:
        text = fdp.ConsumeUnicodeNoSurrogates(4096)
        with contextlib.suppress(ConfigError):
            compile_access_policies({"f.cedar": '@id("a") permit(principal, action, resource);'}, text, "s")
    elif selector == 2:
        try:
            table = tomllib.loads(fdp.ConsumeUnicodeNoSurrogates(2048))
        except tomllib.TOMLDecodeError:
            return
        with contextlib.suppress(ConfigError):
            parse_quota_settings(table.get("quotas", table))
    else:
        strings = [fdp.ConsumeUnicodeNoSurrogates(32) for _ in range(5)]
        who = Principal(
            strings[0], strings[1], tenant=strings[2] or None, groups=(strings[3],), roles=(strings[4],)
        )
        action = list(Action)[fdp.ConsumeIntInRange(0, len(Action) - 1)]
        decision = AUTHORIZER.authorize(who, action, fdp.ConsumeUnicodeNoSurrogates(32))
        needed = {Action.READ_LOG: "attestgw-auditors", Action.ADMIN: "attestgw-admins"}.get(action)
        if decision.allowed and needed is not None and needed not in strings[3:]:
            raise AssertionError("a caller outside the group was granted log or admin access")


def main() -> None:
    run(one_input)


if __name__ == "__main__":
    main()
