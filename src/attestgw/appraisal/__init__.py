"""Appraisal (layer L3): verified claims × policy → an attestation result (EAR).

Only appraisal says yes or no, and it reports every failed rule. Policies are data
(``policies/attestation/*.toml``, documented in ``docs/policy.md``); results are IETF RATS EARs.
"""

from attestgw.appraisal._policy_reader import read_policy_file
from attestgw.appraisal.ear import (
    EAR_MEDIA_TYPE,
    EAR_PROFILE,
    VerifiedEar,
    build_ear,
    ear_to_json,
    sign_ear,
    verify_ear_jwt,
)
from attestgw.appraisal.policy import SnpPolicy, TcbMinimum, load_policy, parse_policy
from attestgw.appraisal.policy_tdx import (
    EventReference,
    TdxPolicy,
    XfamRule,
    load_tdx_policy,
    parse_tdx_policy,
)
from attestgw.appraisal.result import AppraisalResult, Failure, Status, TrustVector, tier_of
from attestgw.appraisal.snp import appraise_snp
from attestgw.appraisal.tdx import appraise_tdx

__all__ = [
    "EAR_MEDIA_TYPE",
    "EAR_PROFILE",
    "AppraisalResult",
    "EventReference",
    "Failure",
    "SnpPolicy",
    "Status",
    "TcbMinimum",
    "TdxPolicy",
    "TrustVector",
    "VerifiedEar",
    "XfamRule",
    "appraise_snp",
    "appraise_tdx",
    "build_ear",
    "ear_to_json",
    "load_policy",
    "load_tdx_policy",
    "parse_policy",
    "parse_tdx_policy",
    "read_policy_file",
    "sign_ear",
    "tier_of",
    "verify_ear_jwt",
]
