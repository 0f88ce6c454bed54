"""Authorization decisions: principal × action × resource → a :class:`Decision` with an id."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from attestgw.errors import AuthorizationError

__all__ = ["Action", "Decision"]


class Action(StrEnum):
    """What a caller asks to do. The Cedar schema names the same actions (``Action::"infer"`` …)."""

    INFER = "infer"
    ATTEST = "attest"
    LIST_MODELS = "list_models"
    READ_LOG = "read_log"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Decision:
    """One authorization decision. ``decision_id`` is unique and is what logs, records and a 403 carry.

    ``policy_ids`` are the ids of the policies that determined the outcome (the permitting ones, or the
    forbidding one); never the policy text.
    """

    decision_id: str
    allowed: bool
    principal_digest: str
    action: Action
    resource: str
    policy_ids: tuple[str, ...] = ()

    def raise_for_denial(self) -> None:
        """Raise :class:`AuthorizationError` (``access.denied``) unless the decision allows."""
        if self.allowed:
            return
        which = ", ".join(self.policy_ids) if self.policy_ids else "no policy permits it (default deny)"
        raise AuthorizationError(
            "access.denied",
            f"{self.action.value} on {self.resource} is not permitted ({which}); decision {self.decision_id}",
            decision_id=self.decision_id,
        )
