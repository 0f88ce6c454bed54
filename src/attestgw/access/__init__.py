"""Access (service layer): Cedar authorization of principal × action × resource, and quotas."""

from attestgw.access.decision import Action, Decision

__all__ = ["Action", "Decision"]
