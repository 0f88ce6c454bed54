"""Cedar authorization: principal × action × resource → :class:`~attestgw.access.decision.Decision`.

The policies and schema are validated once, at start (:mod:`attestgw.access.policy_set`); a request
never meets a policy error it could have been refused for earlier. Per request:

1. map the resource to an entity (:func:`~attestgw.access.entities.resource_uid`); a pair that makes
   no sense (``read_log`` on a model, an unregistered model) is denied without evaluation;
2. build (or reuse, per caller) the entity set: the fixed and model entities plus the caller's
   ``User`` and ``Group`` entities;
3. ask Cedar, with the schema, so the request itself is type-checked;
4. allow only when Cedar allows **and** no policy failed to evaluate. Cedar ignores a policy whose
   evaluation errors, which for a ``forbid`` would turn a denial into an allow; here any evaluation
   error denies, and the erroring policies' ids are the determining ones.

Not checked here: authentication (the caller's attributes are trusted as given), quotas, and whether a
worker serves the model.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import cedarpy

from attestgw.access import entities as model
from attestgw.access.caller import Caller
from attestgw.access.decision import Action, Decision
from attestgw.access.decision_ids import DecisionIds
from attestgw.access.policy_set import AccessPolicies, load_access_policies
from attestgw.errors import ConfigError

__all__ = ["CedarAuthorizer"]

_CEDAR_POLICY_REF = re.compile(r"policy `([^`]+)`")
_CacheKey = tuple[str, str, str | None, tuple[str, ...], tuple[str, ...], frozenset[str]]


@dataclass(eq=False)
class _Registry:
    """The model registry as Cedar entities, plus the per-caller entity sets built on it."""

    base: cedarpy.Entities
    model_ids: frozenset[str]
    cache_size: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    cache: OrderedDict[_CacheKey, cedarpy.Entities] = field(default_factory=OrderedDict)

    def entities_for(self, caller: Caller, digest: str) -> cedarpy.Entities:
        key: _CacheKey = (
            digest,
            caller.issuer,
            caller.tenant,
            caller.groups,
            caller.roles,
            caller.scopes,
        )
        with self.lock:
            hit = self.cache.get(key)
            if hit is not None:
                self.cache.move_to_end(key)
                return hit
        built = self.base.with_added_json_str(json.dumps(model.user_entities(caller)))
        with self.lock:
            self.cache[key] = built
            while len(self.cache) > self.cache_size:
                self.cache.popitem(last=False)
        return built


class CedarAuthorizer:
    """Implements the gateway's ``Authorizer`` port with Cedar. Thread-safe; never raises for a denial.

    ``models`` is the model registry: model id → :class:`~attestgw.access.entities.ModelAttributes`.
    Replace it with :meth:`update_models`. ``decision_ids`` makes the ids (default: UUIDv7);
    ``cache_size`` bounds how many callers' entity sets are kept.
    """

    def __init__(
        self,
        policies: AccessPolicies,
        models: Mapping[str, model.ModelAttributes] | None = None,
        *,
        decision_ids: Callable[[], str] | None = None,
        cache_size: int = 4096,
    ) -> None:
        if cache_size < 1:
            raise ConfigError("config.access_policy_invalid", f"cache_size: got {cache_size}, want ≥ 1")
        self._policies = policies
        self._ids = decision_ids if decision_ids is not None else DecisionIds()
        self._cache_size = cache_size
        self._registry = self._build_registry(models or {})

    @classmethod
    def from_dir(
        cls,
        directory: str | os.PathLike[str],
        models: Mapping[str, model.ModelAttributes] | None = None,
        *,
        decision_ids: Callable[[], str] | None = None,
        cache_size: int = 4096,
    ) -> CedarAuthorizer:
        """Load and validate ``directory`` (see :mod:`attestgw.access.policy_set`).

        Raises ``ConfigError("config.access_policy_invalid")`` naming the file at fault.
        """
        return cls(load_access_policies(directory), models, decision_ids=decision_ids, cache_size=cache_size)

    @property
    def policy_ids(self) -> tuple[str, ...]:
        """Every loaded policy's ``@id``, in load order."""
        return self._policies.policy_ids

    def _build_registry(self, models: Mapping[str, model.ModelAttributes]) -> _Registry:
        for model_id, attributes in models.items():
            if not isinstance(model_id, str) or not isinstance(attributes, model.ModelAttributes):
                raise ConfigError(
                    "config.access_policy_invalid",
                    f"model registry: got {type(model_id).__name__} → {type(attributes).__name__}, "
                    "want str → ModelAttributes",
                )
        documents = [model.model_entity(k, v) for k, v in sorted(models.items())] + model.fixed_entities()
        try:
            base = cedarpy.Entities.from_json_str(json.dumps(documents), self._policies.schema)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                "config.access_policy_invalid", f"model registry does not conform to the schema: {exc}"
            ) from None
        return _Registry(base, frozenset(models), self._cache_size)

    def update_models(self, models: Mapping[str, model.ModelAttributes]) -> None:
        """Replace the model registry atomically (decisions in flight finish on the old one)."""
        self._registry = self._build_registry(models)

    def authorize(self, principal: Caller, action: Action, resource: str) -> Decision:
        """Decide; see the module docstring for the steps. Default deny."""
        decision_id, digest = self._ids(), principal.digest
        denied = Decision(decision_id, False, digest, action, resource)
        registry = self._registry
        uid = model.resource_uid(action, resource, registry.model_ids)  # step 1
        if uid is None:
            return denied
        try:
            entities = registry.entities_for(principal, digest)  # step 2
            result = cedarpy.is_authorized(  # step 3
                {
                    "principal": {"type": model.USER_TYPE, "id": digest},
                    "action": model.action_uid(action),
                    "resource": uid,
                    "context": {},
                },
                self._policies.policy_set,
                entities,
                self._policies.schema,
            )
        except (ValueError, TypeError, UnicodeError):
            return denied
        errors = result.diagnostics.errors
        if errors:  # step 4: fail closed
            return Decision(decision_id, False, digest, action, resource, self._named(errors))
        reasons = tuple(self._policies.cedar_ids.get(r, r) for r in result.diagnostics.reasons)
        return Decision(decision_id, result.allowed, digest, action, resource, reasons)

    def _named(self, errors: list[str]) -> tuple[str, ...]:
        found: list[str] = []
        for message in errors:
            for cedar_id in _CEDAR_POLICY_REF.findall(message):
                annotated = self._policies.cedar_ids.get(cedar_id)
                if annotated is not None and annotated not in found:
                    found.append(annotated)
        return tuple(found)
