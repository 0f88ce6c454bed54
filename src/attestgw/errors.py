"""One exception tree for attestgw, ordered by stage, each refusal carrying a stable code.

The stages follow the order in which evidence is handled: format (parse) → collateral → verification
→ appraisal → decryption → key release → auth → config → usage. Tests and callers match the class;
the API and CLI report ``code``, a stable string listed in :data:`CODES` and in ``docs/errors.md``.

Constructing an error with a code that is not registered raises :class:`ValueError`: an unregistered
code is a programming error, never something a user should see.

Messages say "got X, want Y" with bytes in lowercase hex. Decryption errors say nothing about the
plaintext or the key.
"""

from __future__ import annotations

__all__ = [
    "CODES",
    "AppraisalError",
    "AttestgwError",
    "CollateralUnavailableError",
    "ConfigError",
    "FormatError",
    "UsageError",
    "VerificationError",
]

#: Every stable error code, with a one-line description. ``docs/errors.md`` lists the same codes;
#: a test checks that the two agree.
CODES: dict[str, str] = {
    # -- input (any format) --
    "input.unreadable": "the input file could not be read",
    "input.bad_encoding": "the input is neither raw bytes, hex nor base64 of the expected structure",
    # -- SEV-SNP report format --
    "snp.truncated": "the attestation report is shorter than 1184 bytes",
    "snp.oversized": "the attestation report is longer than 1184 bytes",
    "snp.unknown_version": "the report VERSION is not one this parser supports (2, 3, 4, 5)",
    "snp.reserved_nonzero": "a reserved / must-be-zero field of the report is not zero",
    "snp.policy_invalid": "guest POLICY bit 17 is not set or a must-be-zero bit is set",
    "snp.signature_algo_unsupported": "SIGNATURE_ALGO is not 1 (ECDSA P-384 with SHA-384)",
    "snp.signer_info_invalid": "the signer-info SIGNING_KEY value is reserved or MBZ bits are set",
    "snp.cert_table_invalid": "the extended-report certificate table is malformed",
    "snp.hcl_invalid": "the Azure HCL report envelope is malformed or carries no SNP report",
    "snp.unknown_product": "the processor product line could not be determined or is not supported",
    # -- SEV-SNP verification --
    "snp.signature_missing": "the report is not signed (SIGNING_KEY none or an all-zero signature)",
    "snp.signature_invalid": "the report signature does not verify with the VCEK/VLEK public key",
    "snp.chain_invalid": "a certificate in the ARK → ASK/ASVK → VCEK/VLEK chain does not verify",
    "snp.root_not_pinned": "the ARK does not match a pinned AMD root fingerprint for the product",
    "snp.wrong_product": "the product named by the certificates differs from the report's product",
    "snp.cert_malformed": "a certificate has the wrong version, names, key type or extensions",
    "snp.cert_expired": "a certificate is not valid at the verification time",
    "snp.key_kind_mismatch": "the report's SIGNING_KEY (VCEK/VLEK) does not match the certificate",
    "snp.tcb_mismatch": "a TCB SPL in the VCEK/VLEK differs from the report's REPORTED_TCB",
    "snp.chip_id_mismatch": "the VCEK hwID differs from the report's CHIP_ID",
    "snp.crl_invalid": "the AMD CRL is malformed, not signed by the ARK, or for another product",
    "snp.crl_stale": "the AMD CRL is past its nextUpdate (or not yet valid) at the verification time",
    "snp.crl_required": "the policy requires an AMD CRL and none was supplied",
    "snp.cert_revoked": "a certificate in the chain is listed in the AMD CRL",
    # -- collateral --
    "collateral.unavailable": "required collateral is missing and fetching it is not allowed",
    "collateral.fetch_failed": "fetching collateral from the vendor service failed",
    # -- appraisal (policy) --
    "policy.simulated_root": "the evidence chains to a simulated root the policy does not trust",
    "policy.measurement_mismatch": "MEASUREMENT is not one of the allowed values",
    "policy.host_data_mismatch": "HOST_DATA is not one of the allowed values",
    "policy.id_key_mismatch": "ID_KEY_DIGEST is not one of the allowed values",
    "policy.author_key_mismatch": "AUTHOR_KEY_DIGEST is not one of the allowed values",
    "policy.family_id_mismatch": "FAMILY_ID is not one of the allowed values",
    "policy.image_id_mismatch": "IMAGE_ID is not one of the allowed values",
    "policy.chip_id_not_allowed": "CHIP_ID is not one of the allowed values",
    "policy.report_data_mismatch": "REPORT_DATA differs from the expected value",
    "policy.tcb_below_minimum": "a REPORTED_TCB component is below the policy minimum",
    "policy.current_tcb_below_minimum": "a CURRENT_TCB component is below the policy minimum",
    "policy.committed_tcb_below_minimum": "a COMMITTED_TCB component is below the policy minimum",
    "policy.launch_tcb_below_minimum": "a LAUNCH_TCB component is below the policy minimum",
    "policy.tcb_not_committed": "COMMITTED_TCB differs from CURRENT_TCB (provisional firmware)",
    "policy.firmware_below_minimum": "the SNP firmware build/version is below the policy minimum",
    "policy.debug_allowed": "the guest policy allows debugging (host can read guest memory)",
    "policy.migration_agent_allowed": "the guest policy allows a migration agent",
    "policy.smt_enabled": "SMT is enabled on the platform but the policy forbids it",
    "policy.smt_policy": "the guest policy SMT-allowed bit differs from the policy requirement",
    "policy.single_socket_required": "the guest policy does not require a single socket",
    "policy.ciphertext_hiding_required": "ciphertext hiding is not enabled/required",
    "policy.rapl_disable_required": "RAPL is not disabled",
    "policy.page_swap_disable_required": "the guest policy does not disable page swapping",
    "policy.tsme_required": "TSME is not enabled on the platform",
    "policy.alias_check_required": "the BadRAM alias check is not complete on the platform",
    "policy.mitigation_missing": "a required mitigation-vector bit is not set",
    "policy.guest_svn_below_minimum": "GUEST_SVN is below the policy minimum",
    "policy.report_version_below_minimum": "the report VERSION is below the policy minimum",
    "policy.vmpl_not_allowed": "the report was requested from a VMPL the policy does not allow",
    "policy.signing_key_not_allowed": "the signing key kind (VCEK/VLEK) is not allowed",
    "policy.product_not_allowed": "the product line is not allowed",
    "policy.abi_below_minimum": "the guest policy ABI version is below the policy minimum",
    "policy.crl_not_checked": "the policy requires a revocation check that was not made",
    # -- EAR output --
    "ear.key_invalid": "the EAR signing key is unreadable or not an EC P-256/P-384 key",
    # -- configuration --
    "config.policy_invalid": "the policy file is invalid (unknown field, bad hex, wrong length)",
    "config.simulation_disabled": "a simulated attester was used without being explicitly enabled",
    # -- usage --
    "usage.invalid": "the command line or arguments are invalid",
}


class AttestgwError(Exception):
    """Base of every attestgw refusal. ``code`` is stable; ``str(err)`` is for humans only."""

    exit_code: int = 1

    def __init__(self, code: str, message: str) -> None:
        if code not in CODES:
            raise ValueError(f"unregistered error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class FormatError(AttestgwError):
    """Bytes do not have the structure the specification requires (parse stage)."""

    exit_code = 1


class CollateralUnavailableError(AttestgwError):
    """Collateral (a VCEK, a chain, a CRL) is needed but missing, and fetching it is not allowed."""

    exit_code = 3


class VerificationError(AttestgwError):
    """A signature, certificate chain, revocation list or cross-check failed (verify stage)."""

    exit_code = 1


class AppraisalError(AttestgwError):
    """Raised only where a caller asks for a yes/no and the appraisal said no.

    Appraisal itself returns a result listing every failed rule; this wraps it for callers that
    want an exception.
    """

    exit_code = 1


class ConfigError(AttestgwError):
    """A policy or settings file is invalid, or an unsafe feature was used without opting in."""

    exit_code = 2


class UsageError(AttestgwError):
    """Invalid command-line usage or unreadable input."""

    exit_code = 2
