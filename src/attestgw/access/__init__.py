"""Access (service layer): Cedar authorization of principal × action × resource, and quotas."""

from attestgw.access.caller import Caller
from attestgw.access.cedar import CedarAuthorizer
from attestgw.access.decision import Action, Decision
from attestgw.access.decision_ids import DecisionIds
from attestgw.access.entities import ModelAttributes
from attestgw.access.policy_set import AccessPolicies, compile_access_policies, load_access_policies
from attestgw.access.quota_settings import Limits, QuotaSettings, load_quota_settings, parse_quota_settings
from attestgw.access.quotas import QuotaManager

__all__ = [
    "AccessPolicies",
    "Action",
    "Caller",
    "CedarAuthorizer",
    "Decision",
    "DecisionIds",
    "Limits",
    "ModelAttributes",
    "QuotaManager",
    "QuotaSettings",
    "compile_access_policies",
    "load_access_policies",
    "load_quota_settings",
    "parse_quota_settings",
]
