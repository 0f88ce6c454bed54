"""Loading access policies: everything wrong is refused at start, naming the file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from attestgw.access import CedarAuthorizer, ModelAttributes, load_access_policies
from attestgw.errors import ConfigError
from tests.unit.access.conftest import SCHEMA, SHIPPED

GOOD = '@id("ok") permit(principal, action == Attestgw::Action::"infer", resource);'
ALL = "permit(principal, action, resource)"
DEEP_SET = "entity Log { x: " + "Set<" * 40 + "Long" + ">" * 40 + " };"


def test_shipped_policies_load_and_validate() -> None:
    policies = load_access_policies(SHIPPED)
    assert set(policies.policy_ids) == {
        "admins.admin",
        "auditors.read-log",
        "tenants.isolation",
        "users.infer-attest-list",
    }
    assert policies.sources["tenants.isolation"] == "tenants.cedar"


# (case, files, fragments the error must contain)
REFUSED = [
    ("syntax error", {"broken.cedar": GOOD + '\n@id("b") permit(principal action, resource);'},
     ["broken.cedar", "does not parse"]),
    ("unknown attribute", {"a.cedar": GOOD, "attr.cedar":
        '@id("bad-attr") permit(principal, action, resource) when { principal.department == "x" };'},
     ["attr.cedar", "bad-attr", "department"]),
    ("unknown action",
     {"act.cedar": '@id("bad-act") permit(principal, action == Attestgw::Action::"drop", resource);'},
     ["act.cedar", "bad-act"]),
    ("wrong resource type", {"res.cedar": '@id("bad-res") permit(principal, '
        'action == Attestgw::Action::"read_log", resource is Attestgw::Model);'},
     ["res.cedar", "bad-res"]),
    ("tenant without has-check", {"t.cedar":
        '@id("t") permit(principal, action, resource is Attestgw::Model) when '
        '{ resource.tenants.contains(principal.tenant) };'},
     ["t.cedar", "tenant"]),
    ("missing @id", {"a.cedar": GOOD, "noid.cedar": "permit(principal, action, resource);"},
     ["noid.cedar", "@id"]),
    ("empty @id", {"e.cedar": '@id("") permit(principal, action, resource);'}, ["e.cedar", "@id"]),
    ("odd @id", {"o.cedar": '@id("has space") ' + ALL + ";"}, ["o.cedar", "has space"]),
    ("duplicate @id", {"a.cedar": GOOD, "b.cedar": GOOD.replace("infer", "attest")},
     ["b.cedar", "ok", "a.cedar"]),
    ("template", {"tpl.cedar": '@id("tpl") permit(principal == ?principal, action, resource);'},
     ["tpl.cedar", "template"]),
    ("too deep", {"deep.cedar": '@id("d") permit(principal, action, resource) when { '
                  + "(" * 700 + "true" + ")" * 700 + " };"}, ["deep.cedar", "nesting"]),
    ("if chain", {"ifs.cedar": '@id("i") ' + ALL + " when { "
                  + "if true then " * 5000 + "true" + " else false" * 5000 + " };"},
     ["ifs.cedar", "nesting"]),
    ("too long", {"long.cedar": '@id("l") permit(principal, action, resource) when { '
                  + " && ".join(["true"] * 3000) + " };"}, ["long.cedar", "tokens"]),
    ("oversized", {"big.cedar": GOOD + "\n//" + "x" * 300_000}, ["big.cedar", "larger than"]),
    ("no policies at all", {"empty.cedar": "// nothing here\n"}, ["no access policy"]),
]  # fmt: skip


@pytest.mark.parametrize(("files", "fragments"), [pytest.param(r[1], r[2], id=r[0]) for r in REFUSED])
def test_invalid_policies_are_refused_naming_the_file(
    policy_dir: Callable[..., Path], files: dict[str, str], fragments: list[str]
) -> None:
    directory = policy_dir(files)
    with pytest.raises(ConfigError) as info:
        CedarAuthorizer.from_dir(directory)
    assert info.value.code == "config.access_policy_invalid"
    for fragment in fragments:
        assert fragment in str(info.value)


def test_no_schema_is_refused(policy_dir: Callable[..., Path]) -> None:
    with pytest.raises(ConfigError, match=r"exactly one of schema\.cedarschema"):
        load_access_policies(policy_dir({"a.cedar": GOOD}, schema=None))


def test_two_schemas_are_refused(policy_dir: Callable[..., Path], tmp_path: Path) -> None:
    directory = policy_dir({"a.cedar": GOOD})
    (tmp_path / "schema.cedarschema.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError, match="got 2"):
        load_access_policies(directory)


def test_not_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a directory"):
        load_access_policies(tmp_path / "missing")


def test_non_utf8_policy_is_refused(policy_dir: Callable[..., Path], tmp_path: Path) -> None:
    directory = policy_dir({"a.cedar": GOOD})
    (tmp_path / "b.cedar").write_bytes(b"\xff\xfe permit")
    with pytest.raises(ConfigError, match=r"b\.cedar: not UTF-8"):
        load_access_policies(directory)


SCHEMA_REFUSED = [
    ("schema syntax", SCHEMA.replace("entity Log;", "entity Log"), "does not parse"),
    ("action missing", SCHEMA.replace("action read_log", "action read_logs"), "read_log"),
    ("list_models not on gateway", SCHEMA.replace("resource: [Model, Gateway]", "resource: [Model]"),
     "list_models"),
    ("user shape differs", SCHEMA.replace("issuer: String,", "issuer: Long,"), "entity shapes"),
    ("model shape differs", SCHEMA.replace("tier: String,", "tier: String, zone: String,"), "entity shapes"),
    ("tenant made mandatory", SCHEMA.replace("tenant?: String", "tenant: String"), "entity shapes"),
    ("schema too deep", SCHEMA.replace("entity Log;", DEEP_SET), "nesting"),
]  # fmt: skip


@pytest.mark.parametrize(("schema", "fragment"), [pytest.param(r[1], r[2], id=r[0]) for r in SCHEMA_REFUSED])
def test_schema_that_breaks_the_entity_model_is_refused(
    policy_dir: Callable[..., Path], schema: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_access_policies(policy_dir({"a.cedar": GOOD}, schema=schema))
    assert "schema.cedarschema" in str(info.value)
    assert fragment in str(info.value)


def _json_schema() -> str:
    strings = {"type": "Set", "element": {"type": "String"}}
    record = {"type": "Record", "attributes": {}}

    def applies(*resources: str) -> dict[str, object]:
        return {"appliesTo": {"principalTypes": ["User"], "resourceTypes": list(resources)}}

    return json.dumps(
        {
            "Attestgw": {
                "entityTypes": {
                    "Group": {"shape": record},
                    "User": {
                        "memberOfTypes": ["Group"],
                        "shape": {
                            "type": "Record",
                            "attributes": {
                                "tenant": {"type": "String", "required": False},
                                "roles": strings,
                                "scopes": strings,
                                "issuer": {"type": "String"},
                            },
                        },
                    },
                    "Model": {
                        "shape": {
                            "type": "Record",
                            "attributes": {"tenants": strings, "tier": {"type": "String"}},
                        }
                    },
                    "Log": {"shape": record},
                    "Gateway": {"shape": record},
                },
                "actions": {
                    "infer": applies("Model"),
                    "attest": applies("Model"),
                    "list_models": applies("Model", "Gateway"),
                    "read_log": applies("Log"),
                    "admin": applies("Gateway"),
                },
            }
        }
    )


def test_json_schema_is_accepted(policy_dir: Callable[..., Path]) -> None:
    directory = policy_dir({"a.cedar": GOOD}, schema=_json_schema(), schema_name="schema.cedarschema.json")
    assert load_access_policies(directory).policy_ids == ("ok",)


def test_broken_json_schema_names_the_file(policy_dir: Callable[..., Path]) -> None:
    directory = policy_dir({"a.cedar": GOOD}, schema="{", schema_name="schema.cedarschema.json")
    with pytest.raises(ConfigError, match=r"schema\.cedarschema\.json: schema does not parse"):
        load_access_policies(directory)


def test_model_registry_must_fit_the_schema() -> None:
    with pytest.raises(ConfigError, match="model registry"):
        CedarAuthorizer.from_dir(SHIPPED, {"m": "premium"})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="model registry"):
        CedarAuthorizer.from_dir(SHIPPED, {"m": ModelAttributes(tier=3)})  # type: ignore[arg-type]
