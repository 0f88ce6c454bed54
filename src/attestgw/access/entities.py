"""The Cedar entity model of attestgw: who asks (``User``, ``Group``), what for (actions), on what.

=========================  ===========================================================================
``Attestgw::User``         uid = the principal digest; ``tenant`` (optional), ``roles``, ``scopes``,
                           ``issuer``; parents = one ``Attestgw::Group`` per group claim
``Attestgw::Group``        uid = the group name as the issuer spells it; no attributes
``Attestgw::Model``        uid = the model id; ``tenants`` (empty = every tenant), ``tier``
``Attestgw::Log``          the evidence log, one entity: ``Attestgw::Log::"log"``
``Attestgw::Gateway``      the gateway itself, one entity: ``Attestgw::Gateway::"gateway"``
=========================  ===========================================================================

Entities are built as Cedar JSON (``{"type": …, "id": …}`` uids), so ids never pass through Cedar's
surface syntax and any string the issuer sends is inert data. The shipped schema
(``policies/access/schema.cedarschema``) declares exactly these shapes; the authorizer checks a custom
schema against them at start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from attestgw.access.caller import Caller
from attestgw.access.decision import Action

__all__ = [
    "ACTION_TYPE",
    "GATEWAY_ID",
    "GATEWAY_TYPE",
    "GROUP_TYPE",
    "LOG_ID",
    "LOG_TYPE",
    "MODEL_TYPE",
    "USER_TYPE",
    "ModelAttributes",
    "action_uid",
    "fixed_entities",
    "model_entity",
    "resource_uid",
    "user_entities",
]

NAMESPACE = "Attestgw"
USER_TYPE = f"{NAMESPACE}::User"
GROUP_TYPE = f"{NAMESPACE}::Group"
MODEL_TYPE = f"{NAMESPACE}::Model"
LOG_TYPE = f"{NAMESPACE}::Log"
GATEWAY_TYPE = f"{NAMESPACE}::Gateway"
ACTION_TYPE = f"{NAMESPACE}::Action"
LOG_ID = "log"
GATEWAY_ID = "gateway"

Uid = dict[str, str]
Entity = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModelAttributes:
    """What the model registry says about one model, as policies see it.

    ``tenants``: the tenants that may use the model; empty means the model is not tenant-restricted.
    ``tier``: a free-form service tier (``"standard"``, ``"premium"`` …) policies may test.
    """

    tenants: frozenset[str] = field(default_factory=frozenset)
    tier: str = "standard"


def _uid(entity_type: str, entity_id: str) -> Uid:
    return {"type": entity_type, "id": entity_id}


def action_uid(action: Action) -> Uid:
    """``Attestgw::Action::"<action>"``."""
    return _uid(ACTION_TYPE, action.value)


def user_entities(caller: Caller) -> list[Entity]:
    """The caller's ``User`` entity and one ``Group`` entity per distinct group (sorted).

    ``tenant`` is absent, not empty, when the caller has none, so policies must test
    ``principal has tenant``.
    """
    groups = sorted(set(caller.groups))
    attrs: dict[str, Any] = {
        "issuer": caller.issuer,
        "roles": sorted(set(caller.roles)),
        "scopes": sorted(caller.scopes),
    }
    if caller.tenant is not None:
        attrs["tenant"] = caller.tenant
    user: Entity = {
        "uid": _uid(USER_TYPE, caller.digest),
        "attrs": attrs,
        "parents": [_uid(GROUP_TYPE, g) for g in groups],
    }
    return [user, *({"uid": _uid(GROUP_TYPE, g), "attrs": {}, "parents": []} for g in groups)]


def model_entity(model_id: str, attributes: ModelAttributes) -> Entity:
    """One ``Model`` entity."""
    return {
        "uid": _uid(MODEL_TYPE, model_id),
        "attrs": {"tenants": sorted(attributes.tenants), "tier": attributes.tier},
        "parents": [],
    }


def fixed_entities() -> list[Entity]:
    """The singletons: ``Log::"log"`` and ``Gateway::"gateway"``."""
    return [
        {"uid": _uid(LOG_TYPE, LOG_ID), "attrs": {}, "parents": []},
        {"uid": _uid(GATEWAY_TYPE, GATEWAY_ID), "attrs": {}, "parents": []},
    ]


def resource_uid(action: Action, resource: str, known_models: frozenset[str] | set[str]) -> Uid | None:
    """The entity an action applies to, or ``None`` when the pair makes no sense (then: deny).

    ``read_log`` takes ``"log"``; ``admin`` takes ``"gateway"``; ``list_models`` takes ``"gateway"``
    (the whole list) or a registered model id (one entry of it); ``infer`` and ``attest`` take a
    registered model id. A model the registry does not know is refused here, before Cedar runs:
    Cedar skips a ``forbid`` that errors on a missing entity, which would let a ``permit`` through.
    """
    if action is Action.READ_LOG:
        return _uid(LOG_TYPE, LOG_ID) if resource == LOG_ID else None
    if action is Action.ADMIN:
        return _uid(GATEWAY_TYPE, GATEWAY_ID) if resource == GATEWAY_ID else None
    if action is Action.LIST_MODELS and resource == GATEWAY_ID:
        return _uid(GATEWAY_TYPE, GATEWAY_ID)
    return _uid(MODEL_TYPE, resource) if resource in known_models else None
