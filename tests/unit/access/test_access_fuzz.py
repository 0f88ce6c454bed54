"""Fuzz properties: on arbitrary input only ConfigError escapes the loaders, and authorize never raises.

The policy loader guards cedarpy's native parsers (which crash the process on deep nesting), so the
generated texts lean towards brackets, ``if`` chains and annotations as well as random text.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attestgw.access import Action, CedarAuthorizer, compile_access_policies, parse_quota_settings
from attestgw.errors import ConfigError
from attestgw.identity import Principal
from tests.unit.access.conftest import MODELS, SCHEMA, SHIPPED

CEDAR_BITS = st.sampled_from(
    [
        '@id("a")', '@id("a")', "@id", "permit", "forbid", "(", ")", "[", "]", "{", "}", ";", ",",
        "principal", "action", "resource", "when", "unless", "if", "then", "else", "true", "&&", "||", "!",
        "-", "==", "in",
        "has", "like", '"*"', '"x"', "Attestgw::Action::\"infer\"", "Attestgw::Model", "is", ".tenants",
        "?principal", "9223372036854775807", "+", "//", "\n", " ",
    ]
)  # fmt: skip
cedar_text = st.one_of(
    st.text(max_size=300),
    st.text(st.characters(exclude_categories=()), max_size=60),
    st.lists(CEDAR_BITS, max_size=200).map(" ".join),
    st.integers(0, 3000).map(
        lambda n: '@id("d") permit(principal,action,resource) when {' + "(" * n + "true"
    ),
    st.integers(0, 3000).map(
        lambda n: '@id("i") permit(principal,action,resource) when {' + "if true then " * n
    ),
)

toml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(allow_nan=True), st.text(max_size=10)
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)
quota_keys = st.sampled_from(
    ["principal", "tenant", "roles", "tenants", "max_tracked_keys", "rate", "burst", "streams", "x"]
)
quota_tables = st.recursive(
    toml_scalars,
    lambda inner: st.dictionaries(st.one_of(quota_keys, st.text(max_size=5)), inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["a.cedar", "b.cedar"]), cedar_text, max_size=2))
def test_policy_loader_raises_only_config_error(files: dict[str, str]) -> None:
    try:
        policies = compile_access_policies(files, SCHEMA, "schema.cedarschema")
    except ConfigError as exc:
        if exc.code != "config.access_policy_invalid":
            raise
        return
    assert policies.policy_ids  # anything accepted has at least one identified policy


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=400), st.lists(CEDAR_BITS, max_size=120).map(" ".join)))
def test_schema_loader_raises_only_config_error(schema: str) -> None:
    try:
        compile_access_policies({"a.cedar": '@id("a") permit(principal, action, resource);'}, schema, "s")
    except ConfigError:
        return


@settings(max_examples=500, deadline=None)
@given(st.one_of(toml_values, quota_tables))
def test_quota_settings_raise_only_config_error(table: object) -> None:
    try:
        parsed, code = parse_quota_settings(table), None
    except ConfigError as exc:
        parsed, code = None, exc.code
    assert code in (None, "config.gateway_invalid")
    assert parsed is None or parsed.principal.rate > 0  # whatever passed is usable


AUTHORIZER = CedarAuthorizer.from_dir(SHIPPED, MODELS, cache_size=8)
# Lone surrogates can come out of a JSON-decoded token; subject and issuer stay clean (Principal.digest
# encodes them), everything else may carry them.
odd = st.text(st.characters(exclude_categories=()), max_size=40)
names = st.text(max_size=40)
GROUPS = ["attestgw-users", "attestgw-auditors", "attestgw-admins"]


@settings(max_examples=300, deadline=None)
@given(
    subject=names,
    issuer=names,
    tenant=st.one_of(st.none(), odd, st.just("acme")),
    groups=st.lists(st.one_of(odd, st.sampled_from(GROUPS)), max_size=4).map(tuple),
    roles=st.lists(st.one_of(odd, st.sampled_from(GROUPS)), max_size=3).map(tuple),
    scopes=st.frozensets(odd, max_size=3),
    action=st.sampled_from(list(Action)),
    resource=st.one_of(odd, st.sampled_from([*MODELS, "log", "gateway"])),
)
def test_authorize_never_raises_and_isolation_holds(
    subject: str,
    issuer: str,
    tenant: str | None,
    groups: tuple[str, ...],
    roles: tuple[str, ...],
    scopes: frozenset[str],
    action: Action,
    resource: str,
) -> None:
    who = Principal(subject, issuer, tenant=tenant, groups=groups, roles=roles, scopes=scopes)
    decision = AUTHORIZER.authorize(who, action, resource)
    assert decision.principal_digest == who.digest
    if decision.allowed and resource == "acme-llm":
        assert tenant == "acme"
    needed = {Action.READ_LOG: "attestgw-auditors", Action.ADMIN: "attestgw-admins"}.get(action)
    if decision.allowed and needed is not None:
        assert needed in groups or needed in roles
