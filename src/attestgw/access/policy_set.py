"""Load and validate a directory of Cedar access policies and their schema, once, at start.

Layout: every ``*.cedar`` file directly in the directory (read in name order), and exactly one schema,
``schema.cedarschema`` (Cedar schema syntax) or ``schema.cedarschema.json`` (Cedar JSON schema).
Other files (a README) are ignored.

Checks, in order; each failure is ``ConfigError("config.access_policy_invalid")`` naming the file:

1. sizes, nesting and statement length are bounded (:mod:`attestgw.access._limits`) before cedarpy
   sees any text;
2. the schema parses and declares attestgw's entity model (:mod:`attestgw.access.entities`): every
   action applies to ``User`` and its resource types, and the entity shapes attestgw builds conform;
3. each policy file parses, holds no templates, and every policy carries a unique ``@id("…")``
   (letters, digits, ``. _ : / -``; at most 128 characters);
4. each policy file validates against the schema (Cedar's strict validator);
5. the directory holds at least one policy.

Not checked: what the policies *mean* (a set of only ``forbid`` policies denies everything, which is
legal); that group names exist at any issuer.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cedarpy

from attestgw.access import entities as model
from attestgw.access._limits import MAX_FILE_BYTES, MAX_FILES, check_policy_text, check_schema_text
from attestgw.access.decision import Action
from attestgw.errors import ConfigError

__all__ = ["SCHEMA_FILES", "AccessPolicies", "compile_access_policies", "load_access_policies"]

#: Schema file names, Cedar syntax first; a directory must hold exactly one of them.
SCHEMA_FILES = ("schema.cedarschema", "schema.cedarschema.json")
_POLICY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")
_CODE = "config.access_policy_invalid"

#: The resource types each action must apply to (with ``User`` as principal).
_ACTION_RESOURCES: dict[Action, tuple[str, ...]] = {
    Action.INFER: (model.MODEL_TYPE,),
    Action.ATTEST: (model.MODEL_TYPE,),
    Action.LIST_MODELS: (model.MODEL_TYPE, model.GATEWAY_TYPE),
    Action.READ_LOG: (model.LOG_TYPE,),
    Action.ADMIN: (model.GATEWAY_TYPE,),
}


class _ProbeCaller:
    """A synthetic caller, to check the schema's ``User`` shape with and without a tenant."""

    issuer = "https://issuer.invalid"
    groups = ("probe-group",)
    roles = ("probe-role",)
    scopes = frozenset({"probe-scope"})
    tenant_key = "tenant:probe"

    def __init__(self, digest: str, tenant: str | None) -> None:
        self.digest = digest
        self.tenant = tenant


@dataclass(frozen=True, slots=True, eq=False)
class AccessPolicies:
    """A validated policy set. Build it with :func:`load_access_policies`.

    ``policy_ids``: every ``@id``, in load order; ``sources``: ``@id`` → file name;
    ``cedar_ids``: Cedar's positional policy id (``policy0`` …) → ``@id``.
    """

    policy_set: cedarpy.PolicySet
    schema: cedarpy.Schema
    policy_ids: tuple[str, ...]
    sources: Mapping[str, str]
    cedar_ids: Mapping[str, str]


def _error(source: str, detail: str) -> ConfigError:
    return ConfigError(_CODE, f"{source}: {detail}")


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _error(path.name, f"cannot read: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise _error(path.name, f"larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _error(path.name, "not UTF-8 text") from None


def load_access_policies(directory: str | os.PathLike[str]) -> AccessPolicies:
    """Read ``directory`` (layout in the module docstring) and :func:`compile_access_policies` it."""
    root = Path(directory)
    if not root.is_dir():
        raise ConfigError(_CODE, f"{os.fspath(directory)}: not a directory of access policies")
    schemas = [root / name for name in SCHEMA_FILES if (root / name).is_file()]
    if len(schemas) != 1:
        raise ConfigError(_CODE, f"{root}: want exactly one of {', '.join(SCHEMA_FILES)}, got {len(schemas)}")
    files = sorted(p for p in root.glob("*.cedar") if p.is_file())
    if len(files) > MAX_FILES:
        raise ConfigError(_CODE, f"{root}: more than {MAX_FILES} policy files")
    texts = {p.name: _read_text(p) for p in files}
    return compile_access_policies(texts, _read_text(schemas[0]), schemas[0].name)


def _parse_schema(text: str, source: str) -> cedarpy.Schema:
    check_schema_text(text, source)
    try:
        if source.endswith(".json"):
            json.loads(text)  # a clear message for broken JSON before Cedar's terse one
            return cedarpy.Schema.from_json_str(text)
        return cedarpy.Schema.from_str(text)
    except (ValueError, RecursionError) as exc:
        raise _error(source, f"schema does not parse: {exc}") from None


def _check_schema_contract(schema: cedarpy.Schema, source: str) -> None:
    for action, resources in _ACTION_RESOURCES.items():
        for resource in resources:
            probe = (
                f'permit(principal is {model.USER_TYPE}, action == {model.ACTION_TYPE}::"{action.value}", '
                f"resource is {resource});"
            )
            if not cedarpy.validate_policies(probe, schema).validation_passed:
                raise _error(
                    source, f"schema must let action {action.value!r} apply to {model.USER_TYPE} × {resource}"
                )
    shapes = [
        *model.user_entities(_ProbeCaller("0" * 64, "probe-tenant")),
        model.user_entities(_ProbeCaller("1" * 64, None))[0],
        model.model_entity("probe-model", model.ModelAttributes(frozenset({"t"}), "standard")),
        *model.fixed_entities(),
    ]
    try:
        cedarpy.Entities.from_json_str(json.dumps(shapes), schema)
    except ValueError as exc:
        raise _error(source, f"schema does not match attestgw's entity shapes: {exc}") from None


def _policy_ids(text: str, source: str, seen: dict[str, str]) -> dict[str, str]:
    """Cedar positional id → ``@id`` for one file; refuses templates and missing or duplicate ids."""
    try:
        tree = cedarpy.policies_to_pst(text)
    except ValueError as exc:
        raise _error(source, f"does not parse: {exc}") from None
    if tree.templates:
        raise _error(source, "templates (policies with ?principal / ?resource slots) are not supported")
    ids: dict[str, str] = {}
    for cedar_id, policy in tree.static_policies.items():
        annotated = policy.annotations.get("id")
        if annotated is None:
            raise _error(source, f'policy {len(ids) + 1} of the file has no @id("…") annotation')
        if not _POLICY_ID.fullmatch(annotated):
            raise _error(source, f"@id {annotated!r} is not 1-128 of [A-Za-z0-9._:/-]")
        if annotated in seen:
            raise _error(source, f"@id {annotated!r} is already used in {seen[annotated]}")
        seen[annotated] = source
        ids[cedar_id] = annotated
    return ids


def _validate(text: str, source: str, schema: cedarpy.Schema, ids: Mapping[str, str]) -> None:
    result = cedarpy.validate_policies(text, schema)
    if result.validation_passed:
        return
    problems = []
    for err in result.errors[:5]:
        which = ids.get(err.policy_id, err.policy_id)
        detail = err.error
        for cedar_id, annotated in ids.items():
            detail = detail.replace(f"`{cedar_id}`", f"`{annotated}`")
        problems.append(f"[{which}] {detail}" if which else detail)
    raise _error(source, "does not validate against the schema: " + "; ".join(problems))


def compile_access_policies(files: Mapping[str, str], schema_text: str, schema_source: str) -> AccessPolicies:
    """Validate policy texts (file name → text) against a schema text; see the module docstring.

    Pure: no file access. ``schema_source`` ending in ``.json`` selects the JSON schema format.
    """
    schema = _parse_schema(schema_text, schema_source)
    _check_schema_contract(schema, schema_source)
    seen: dict[str, str] = {}
    texts = []
    for name in sorted(files):
        text = files[name]
        check_policy_text(text, name)
        ids = _policy_ids(text, name, seen)
        _validate(text, name, schema, ids)
        texts.append(text)
    if not seen:
        raise ConfigError(_CODE, "no access policy found (want *.cedar files with @id-annotated policies)")
    combined = "\n".join(texts)
    try:
        policy_set = cedarpy.PolicySet.from_str(combined)
        tree = cedarpy.policies_to_pst(combined)
        cedar_ids = {cedar_id: p.annotations["id"] for cedar_id, p in tree.static_policies.items()}
    except (ValueError, KeyError) as exc:  # each file passed alone; only a cedarpy change gets here
        raise ConfigError(_CODE, f"the policy files do not combine: {exc}") from None
    return AccessPolicies(policy_set, schema, tuple(seen), dict(seen), cedar_ids)
