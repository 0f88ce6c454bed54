"""AMD SEV-SNP verification: report signature, ARK → ASK/ASVK → VCEK/VLEK chain, CRL, cross-checks."""

from attestgw.verify.snp.claims import (
    SnpCollateral,
    SnpCollateralFetcher,
    SnpVerifyOptions,
    VerifiedSnpClaims,
)
from attestgw.verify.snp.trust import AMD_TRUST, TrustAnchor, TrustStore
from attestgw.verify.snp.verifier import clear_caches, verify_snp

__all__ = [
    "AMD_TRUST",
    "SnpCollateral",
    "SnpCollateralFetcher",
    "SnpVerifyOptions",
    "TrustAnchor",
    "TrustStore",
    "VerifiedSnpClaims",
    "clear_caches",
    "verify_snp",
]
