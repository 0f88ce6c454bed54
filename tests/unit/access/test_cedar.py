"""Authorization decisions with the shipped policies: who may do what, and which policy decided."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from attestgw.access import Action, CedarAuthorizer, ModelAttributes
from attestgw.errors import AuthorizationError
from attestgw.identity import Principal
from tests.unit.access.conftest import MODELS, SHIPPED, caller

USER = caller(groups=("attestgw-users",))
USER_BY_ROLE = caller("carol", roles=("attestgw-users",))
OTHER_TENANT = caller("bob", tenant="globex", groups=("attestgw-users",))
NO_TENANT = caller("dave", tenant=None, groups=("attestgw-users",))
AUDITOR = caller("erin", groups=("attestgw-auditors",))
ADMIN = caller("frank", roles=("attestgw-admins",))
NOBODY = caller("mallory", groups=("staff",))

PERMIT_USERS = "users.infer-attest-list"
ISOLATION = "tenants.isolation"

# (case, caller, action, resource, allowed, determining policy ids)
TABLE = [
    ("user infers on own tenant's model", USER, Action.INFER, "acme-llm", True, (PERMIT_USERS,)),
    ("user attests shared model", USER, Action.ATTEST, "shared-llm", True, (PERMIT_USERS,)),
    ("user lists the models", USER, Action.LIST_MODELS, "gateway", True, (PERMIT_USERS,)),
    ("role works like a group", USER_BY_ROLE, Action.INFER, "acme-llm", True, (PERMIT_USERS,)),
    ("other tenant is isolated", OTHER_TENANT, Action.INFER, "acme-llm", False, (ISOLATION,)),
    ("other tenant cannot attest either", OTHER_TENANT, Action.ATTEST, "acme-llm", False, (ISOLATION,)),
    ("other tenant does not see the model listed", OTHER_TENANT, Action.LIST_MODELS, "acme-llm", False,
     (ISOLATION,)),
    ("other tenant uses the shared model", OTHER_TENANT, Action.INFER, "shared-llm", True, (PERMIT_USERS,)),
    ("no tenant is outside every list", NO_TENANT, Action.INFER, "acme-llm", False, (ISOLATION,)),
    ("no tenant uses the shared model", NO_TENANT, Action.INFER, "shared-llm", True, (PERMIT_USERS,)),
    ("user may not read the log", USER, Action.READ_LOG, "log", False, ()),
    ("user is no admin", USER, Action.ADMIN, "gateway", False, ()),
    ("auditor reads the log", AUDITOR, Action.READ_LOG, "log", True, ("auditors.read-log",)),
    ("auditor may not infer", AUDITOR, Action.INFER, "shared-llm", False, ()),
    ("admin administers", ADMIN, Action.ADMIN, "gateway", True, ("admins.admin",)),
    ("admin may not read the log", ADMIN, Action.READ_LOG, "log", False, ()),
    ("stranger is denied by default", NOBODY, Action.INFER, "shared-llm", False, ()),
    ("unknown model is denied before Cedar runs", USER, Action.INFER, "no-such-model", False, ()),
    ("read_log on a model makes no sense", AUDITOR, Action.READ_LOG, "acme-llm", False, ()),
    ("admin on the log makes no sense", ADMIN, Action.ADMIN, "log", False, ()),
    ("infer on the gateway makes no sense", USER, Action.INFER, "gateway", False, ()),
]  # fmt: skip


@pytest.mark.parametrize(
    ("who", "action", "resource", "allowed", "policy_ids"),
    [pytest.param(*row[1:], id=row[0]) for row in TABLE],
)
def test_decision_table(
    shipped: CedarAuthorizer,
    who: object,
    action: Action,
    resource: str,
    allowed: bool,
    policy_ids: tuple[str, ...],
) -> None:
    decision = shipped.authorize(who, action, resource)  # type: ignore[arg-type]
    assert (decision.allowed, decision.policy_ids) == (allowed, policy_ids)
    assert decision.action is action
    assert decision.resource == resource
    assert decision.principal_digest == who.digest  # type: ignore[attr-defined]


def test_group_names_from_another_claim_do_not_grant(shipped: CedarAuthorizer) -> None:
    # A scope that happens to be called like the group is not membership.
    sneaky = Principal("zed", "https://issuer.example", tenant="acme", scopes=frozenset({"attestgw-users"}))
    assert not shipped.authorize(sneaky, Action.INFER, "shared-llm").allowed


def test_denial_raises_with_decision_id_and_policy_id_but_no_policy_text(shipped: CedarAuthorizer) -> None:
    decision = shipped.authorize(OTHER_TENANT, Action.INFER, "acme-llm")
    with pytest.raises(AuthorizationError) as info:
        decision.raise_for_denial()
    err = info.value
    assert err.code == "access.denied"
    assert err.decision_id == decision.decision_id
    assert ISOLATION in str(err)
    policy_text = (SHIPPED / "tenants.cedar").read_text(encoding="utf-8")
    for fragment in ("forbid", "resource.tenants", "contains", "principal has tenant", "isEmpty"):
        assert fragment in policy_text
        assert fragment not in str(err)
    for private in (OTHER_TENANT.subject, "globex", "https://issuer.example"):
        assert private not in str(err)


def test_default_deny_says_so_without_naming_a_policy(shipped: CedarAuthorizer) -> None:
    with pytest.raises(AuthorizationError, match="default deny"):
        shipped.authorize(NOBODY, Action.INFER, "shared-llm").raise_for_denial()


def test_allowed_decision_does_not_raise(shipped: CedarAuthorizer) -> None:
    decision = shipped.authorize(USER, Action.INFER, "acme-llm")
    assert decision.allowed
    assert decision.policy_ids  # an allowance names the policy that permitted it
    decision.raise_for_denial()


def test_decision_ids_are_unique_and_sort_in_issue_order(shipped: CedarAuthorizer) -> None:
    ids = [shipped.authorize(USER, Action.INFER, "acme-llm").decision_id for _ in range(300)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


def test_a_forbid_that_fails_to_evaluate_denies(policy_dir: Callable[..., Path]) -> None:
    # Cedar itself would skip the erroring forbid and let the permit through; attestgw fails closed.
    directory = policy_dir(
        {
            "permit.cedar": '@id("all") permit(principal, action, resource);',
            "forbid.cedar": '@id("overflow") forbid(principal, action, resource) '
            "when { 9223372036854775807 + 1 > 0 };",
        }
    )
    authorizer = CedarAuthorizer.from_dir(directory, MODELS)
    decision = authorizer.authorize(USER, Action.INFER, "shared-llm")
    assert not decision.allowed
    assert decision.policy_ids == ("overflow",)


def test_update_models_changes_what_exists_and_who_may_use_it(policy_dir: Callable[..., Path]) -> None:
    authorizer = CedarAuthorizer.from_dir(SHIPPED, {})
    assert not authorizer.authorize(USER, Action.INFER, "new-llm").allowed
    authorizer.update_models({"new-llm": ModelAttributes()})
    assert authorizer.authorize(OTHER_TENANT, Action.INFER, "new-llm").allowed
    authorizer.update_models({"new-llm": ModelAttributes(tenants=frozenset({"acme"}))})
    assert not authorizer.authorize(OTHER_TENANT, Action.INFER, "new-llm").allowed
    assert authorizer.authorize(USER, Action.INFER, "new-llm").allowed


def test_changed_groups_are_not_served_from_the_cache(shipped: CedarAuthorizer) -> None:
    before = caller("gina", groups=("attestgw-users",))
    after = caller("gina", groups=())  # same subject, the issuer removed the group
    assert before.digest == after.digest
    assert shipped.authorize(before, Action.INFER, "shared-llm").allowed
    assert not shipped.authorize(after, Action.INFER, "shared-llm").allowed


def test_small_cache_still_decides_correctly() -> None:
    authorizer = CedarAuthorizer.from_dir(SHIPPED, MODELS, cache_size=1)
    for _ in range(3):
        assert authorizer.authorize(USER, Action.INFER, "acme-llm").allowed
        assert not authorizer.authorize(OTHER_TENANT, Action.INFER, "acme-llm").allowed


def test_concurrent_decisions_from_threads(shipped: CedarAuthorizer) -> None:
    results: list[tuple[bool, bool]] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(50):
            pair = (
                shipped.authorize(USER, Action.INFER, "acme-llm").allowed,
                shipped.authorize(OTHER_TENANT, Action.INFER, "acme-llm").allowed,
            )
            with lock:
                results.append(pair)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [(True, False)] * 200


def test_strange_identity_strings_are_inert_data(shipped: CedarAuthorizer) -> None:
    odd = caller('x" } permit(principal,action,resource); //', tenant='acme"\n', groups=('attestgw-users"',))
    assert not shipped.authorize(odd, Action.INFER, "acme-llm").allowed  # no group, tenant mismatch
    assert not shipped.authorize(USER, Action.INFER, 'acme-llm" || true').allowed
