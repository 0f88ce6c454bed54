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
    "AuthenticationError",
    "AuthorizationError",
    "CollateralUnavailableError",
    "ConfigError",
    "DecryptionError",
    "FormatError",
    "RateLimitedError",
    "ServiceUnavailableError",
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
    # -- Intel TDX collateral (PCS TCB info, QE identity, CRLs, PCK SGX extension) --
    "tdx.collateral_malformed": "Intel collateral (bundle, TCB info, QE identity, CRL, chain) is invalid",
    "tdx.pck_extension_malformed": "the PCK certificate's SGX extension (1.2.840.113741.1.13.1) is malformed",
    "tdx.root_not_pinned": "a collateral issuer chain does not end in the pinned Intel SGX Root CA",
    "tdx.collateral_chain_invalid": "the TCB Signing or PCK CRL issuer chain does not verify to the root",
    "tdx.collateral_signature_invalid": "a TCB info / QE identity signature fails over its raw JSON bytes",
    "tdx.crl_invalid": "an Intel root or PCK CRL is not signed by its issuer",
    "tdx.collateral_revoked": "a collateral signing certificate is listed in the Intel root CA CRL",
    "tdx.collateral_expired": "collateral or a CRL is past nextUpdate (or not yet issued) at that time",
    "tdx.tcb_info_mismatch": "the TCB info is for another FMSPC, PCE ID or TEE type than the platform",
    "tdx.tcb_level_unsupported": "no TCB level in the TCB info matches the platform (TCB_NOT_SUPPORTED)",
    "tdx.module_identity_mismatch": "no TDX module identity matches the module version, signer or attributes",
    "tdx.qe_identity_mismatch": "QE report MRSIGNER/ISVPRODID/MISCSELECT/ATTRIBUTES differ from QE identity",
    # -- Intel TDX quote verification --
    "tdx.not_a_td_quote": "the quote is an SGX enclave quote (tee_type 0x00), not a TD quote",
    "tdx.cert_data_unsupported": "the quote's certification data is not type 6 wrapping a type-5 PCK chain",
    "tdx.attestation_key_invalid": "the quote's attestation key is not a valid P-256 point",
    "tdx.pck_chain_invalid": "the PCK chain (leaf, PCK CA, root) is malformed or a signature fails",
    "tdx.cert_expired": "a certificate of the PCK chain is not valid at the verification time",
    "tdx.pck_revoked": "the PCK certificate or its PCK CA is listed in the verified PCK / root CRL",
    "tdx.qe_report_signature_invalid": "the QE report signature does not verify with the PCK key",
    "tdx.qe_report_data_mismatch": "QE REPORTDATA is not SHA-256(attestation key ‖ QE auth data) ‖ zeros",
    "tdx.quote_signature_invalid": "the quote signature does not verify with the attestation key",
    "tdx.fmspc_mismatch": "the PCK certificate's FMSPC or PCE-ID differs from the TCB info's",
    "tdx.tcb_revoked": "the platform, TDX module or QE TCB status is Revoked",
    # -- Intel TDX / SGX DCAP quote format --
    "tdx.truncated": "the quote ends before a structure its header or sizes announce",
    "tdx.oversized": "the quote is larger than allowed or carries non-zero bytes after its signature data",
    "tdx.unknown_version": "the quote version is not one this parser supports (3, 4, 5)",
    "tdx.unsupported_key_type": "the attestation key type is not 2 (ECDSA-256 with P-256)",
    "tdx.unknown_tee_type": "tee_type is neither 0x00 (SGX) nor 0x81 (TDX), or does not fit the version",
    "tdx.body_type_invalid": "the v5 body type is unknown, its size is wrong, or it does not match tee_type",
    "tdx.cert_data_invalid": "the signature or certification data sizes, types or PEM chain are malformed",
    "tdx.reserved_nonzero": "a reserved / must-be-zero field of an SGX report body is not zero",
    # -- CC / TCG crypto-agile event log format --
    "eventlog.malformed": "the event log is truncated or not a TCG crypto-agile (Spec ID Event03) log",
    "eventlog.limit_exceeded": "the event log exceeds a parser bound (size, events, digests, event data)",
    "eventlog.digest_missing": "an event to replay carries no digest for the algorithm the replay needs",
    "eventlog.mr_index_invalid": "an event names a CC measurement register index that cannot be replayed",
    # -- evidence log: Merkle proofs (format, then verification) --
    "log.hash_malformed": "a leaf or proof hash is not 32 bytes (SHA-256)",
    "log.index_out_of_range": "the leaf index is not inside the tree or subtree (index >= size)",
    "log.tree_size_invalid": "tree sizes are out of order or range (old > new, old = 0, bad subtree, ≥ 2^64)",
    "log.proof_malformed": "the proof has the wrong number of hashes for the claimed index and sizes",
    "log.proof_invalid": "the proof does not reproduce the expected root hash",
    # -- evidence log: signed notes and checkpoints --
    "log.note_malformed": "the signed note is not well-formed C2SP signed-note text",
    "log.note_too_large": "the signed note exceeds the size or signature-count cap",
    "log.checkpoint_malformed": "the checkpoint text is not a well-formed C2SP tlog-checkpoint",
    "log.key_invalid": "a note verifier or signer key is malformed, unsupported, or has the wrong key id",
    "log.signature_invalid": "a signature on the note from a known key does not verify",
    "log.unknown_key": "no signature on the note is from a known key, so nothing vouches for it",
    "log.origin_mismatch": "the checkpoint origin is not the log the caller expects",
    # -- evidence log: records, storage and audit --
    "log.record_malformed": "a log record is not canonical JSON, is too large, or has an ill-shaped field",
    "log.record_unsupported": "the record version or type is not one this log knows",
    "log.record_field_not_allowed": "the record holds a field its type's allow-list does not name",
    "log.store_unavailable": "the log database cannot be opened, read or written",
    "log.store_inconsistent": "the stored entries do not match the latest stored checkpoint",
    "log.store_read_only": "the log was opened without a signing key, so nothing can be appended",
    "log.store_closed": "the log is closed or shutting down; the append was not made",
    "log.signer_unavailable": "the PKCS#11 token or its log key cannot be found, opened or used",
    "log.key_retired": "the log key was rotated out; a writer holding it may no longer sign checkpoints",
    "log.evidence_missing": "an attestation entry has no stored evidence beside its leaf",
    "log.evidence_mismatch": "the stored bundle, nonce or policy bytes do not match the entry's digests",
    "log.attestation_mismatch": "re-verifying stored evidence at its recorded time gives another outcome",
    "log.reference_invalid": "an entry refers to an entry that is missing, not earlier, or of the wrong type",
    "log.relay_unattested": "a relayed request relied on an attestation not affirming or expired then",
    "log.checkpoint_mismatch": "a stored checkpoint does not match the tree recomputed from the entries",
    # -- evidence log: what a client checks (SDK, log API) --
    "log.proof_missing": "a log key is pinned but the answer carries no log entry, checkpoint or proof",
    "log.response_malformed": "a log header or a /v1/log answer is not in the documented format",
    "log.entry_mismatch": "the logged entry is not the record of the bundle and nonce the client received",
    "log.split_view": "a checkpoint does not extend one seen earlier: the log shows inconsistent views",
    # -- binary HTTP (RFC 9292) --
    "bhttp.malformed": "the Binary HTTP message is truncated, has a bad framing indicator, length or padding",
    "bhttp.field_invalid": "a field line or request control data value is not allowed (RFC 9292 §3.4, §3.6)",
    "bhttp.limit_exceeded": "the Binary HTTP message exceeds a decoder limit (field lines, 1xx responses)",
    # -- HPKE (RFC 9180) --
    "hpke.suite_unsupported": "the KEM, KDF or AEAD identifier is not implemented or not offered",
    "hpke.key_invalid": "an HPKE public or private key has the wrong length or is not valid for its KEM",
    "hpke.length_invalid": "an HPKE export length or injected test value has the wrong size",
    "hpke.decap_failed": "the encapsulated key was rejected (wrong length or a degenerate DH result)",
    "hpke.open_failed": "an HPKE ciphertext did not authenticate",
    "hpke.message_limit": "the HPKE context has sealed or opened the maximum number of messages",
    # -- Oblivious HTTP (RFC 9458) and chunked OHTTP --
    "ohttp.key_config_invalid": "an OHTTP key configuration or application/ohttp-keys body is malformed",
    "ohttp.malformed": "an encapsulated OHTTP request or response is too short or badly framed",
    "ohttp.unknown_key_id": "the request names a key id (and KEM) the gateway does not hold",
    "ohttp.decrypt_failed": "an encapsulated OHTTP request or response did not decrypt",
    "ohttp.replay": "the encapsulated key of this request was already accepted within the replay window",
    "ohttp.truncated": "a chunked OHTTP message ended without its final chunk",
    "ohttp.chunk_invalid": "a chunk of a chunked OHTTP message did not authenticate or is empty",
    "ohttp.already_used": "a one-shot request/response object was used a second time",
    # -- attestation binding (REPORT_DATA, GPU nonce) --
    "binding.invalid_input": "a binding input has the wrong length (nonce and digests are 32 bytes)",
    # -- attester (collecting evidence inside the worker) --
    "attester.unavailable": "the TEE attestation interface (configfs-tsm) is missing or refuses access",
    "attester.request_failed": "the kernel or TEE firmware refused to produce a report (I/O error)",
    "attester.race": "the configfs-tsm report inputs changed under a concurrent writer on every attempt",
    "attester.invalid_output": "the attestation interface returned empty or malformed output",
    "attester.unsupported_provider": "the attestation provider is unknown or not supported here yet",
    # -- worker (outer HTTP requests to the enclave worker) --
    "worker.request_too_large": "an outer request body exceeds the worker's size limit",
    "worker.unsupported_media_type": "an outer request has the wrong Content-Type for its route",
    "worker.model_mismatch": "the sealed request names a model this worker does not serve",
    "worker.stale_request": "the sealed request's Date is outside the replay window (RFC 9458 §6.5)",
    "worker.inner_error": "the inner API failed while answering a sealed request",
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
    "policy.chip_id_masked": "CHIP_ID is masked, so the VCEK could not be tied to the chip",
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
    "policy.no_tcb_minimum": "the policy sets TCB minimums per product but none for this product line",
    "policy.tcb_below_recommended": "warning: a REPORTED_TCB component is below the recommended TCB",
    "policy.no_affirmation": "the appraisal affirmed nothing (no rule was evaluated)",
    # -- appraisal (policy), Intel TDX --
    "policy.mrtd_mismatch": "TDX MRTD is not one of the allowed values",
    "policy.rtmr_mismatch": "a TDX RTMR is not one of the values its allow-list names",
    "policy.rtmr_replay_mismatch": "the event log does not replay to the quote's RTMRs (tampered or foreign)",
    "policy.event_digest_mismatch": "a reference event is missing from the event log or has another digest",
    "policy.event_log_missing": "the policy names reference events but no event log was supplied",
    "policy.event_log_invalid": "the event log does not parse or cannot be replayed (no SHA-384 digests)",
    "policy.mrconfigid_mismatch": "TDX MRCONFIGID is not one of the allowed values",
    "policy.mrowner_mismatch": "TDX MROWNER is not one of the allowed values",
    "policy.mrownerconfig_mismatch": "TDX MROWNERCONFIG is not one of the allowed values",
    "policy.mrseam_mismatch": "TDX MRSEAM (TDX module measurement) is not one of the allowed values",
    "policy.mrsignerseam_mismatch": "TDX MRSIGNERSEAM (TDX module signer) is not one of the allowed values",
    "policy.xfam_mismatch": "TDX XFAM does not match the policy value under its mask",
    "policy.sept_ve_disable_required": "TDATTRIBUTES.SEPT_VE_DISABLE (bit 28) is clear but required",
    "policy.td_attributes_not_allowed": "TDATTRIBUTES has bits set outside allowed_td_attributes_mask",
    "policy.tcb_status_not_allowed": "the Intel TCB status is not one the policy allows",
    "policy.tcb_status_warning": "warning: an allowed but not UpToDate Intel TCB status (known advisories)",
    "policy.advisory_not_allowed": "the TCB status carries an Intel advisory id the policy does not list",
    "policy.tee_tcb_svn_below_minimum": "a TDX TEE_TCB_SVN component is below the policy minimum",
    "policy.tee_policy_missing": "the policy has no section ([snp] / [tdx]) for the bundle's TEE",
    # -- receipts --
    "receipt.malformed": "a receipt is not valid base64url canonical JSON with the receipt fields",
    "receipt.signature_invalid": "a receipt's signature does not verify with the attested receipt key",
    "receipt.mismatch": "a receipt's digests do not match the request, response or attested instance",
    "receipt.missing": "a sealed response carries no receipt (no header, or no final-chunk trailer)",
    # -- client SDK: attestation bundle and worker answers --
    "bundle.malformed": "the attestation bundle is not the JSON object of docs/worker-protocol.md §1",
    "bundle.unsupported": "the bundle names a version, TEE, binding or key algorithm the client lacks",
    "bundle.nonce_mismatch": "the bundle echoes a nonce other than the one the client sent",
    "worker.refused": "the worker answered with an HTTP error or a body that is not a sealed response",
    "worker.unreachable": "the worker could not be reached (connection refused, reset or timed out)",
    # -- EAR output --
    "ear.key_invalid": "the EAR signing key is unreadable or not an EC P-256/P-384 key",
    "ear.malformed": "the EAR is not a well-formed JWT or lacks a mandatory claim",
    "ear.alg_not_allowed": "the EAR JWT alg is not the one bound to the verifier key (none/HS* refused)",
    "ear.signature_invalid": "the EAR JWT signature does not verify with the pinned verifier key",
    "ear.profile_mismatch": "the EAR eat_profile is not the profile attestgw pins",
    "ear.status_inconsistent": "an EAR status is better than the worst claim or submod under it",
    "ear.submod_missing": "a required EAR submodule (e.g. snp) is absent",
    "ear.nonce_mismatch": "the EAR eat_nonce is absent or differs from the relying party's nonce",
    "ear.stale": "the EAR is expired, older than the allowed age, or issued in the future",
    # -- inference engine and the inner OpenAI-compatible API (inside the seal) --
    "engine.request_invalid": "an inference request is malformed, or a parameter is invalid or unsupported",
    "engine.model_not_found": "the inference request names a model this worker does not serve",
    "engine.prompt_too_long": "the prompt, plus max_tokens, does not fit the engine's token limits",
    "engine.max_tokens_too_large": "max_tokens exceeds the engine's per-request cap",
    "engine.body_too_large": "the inference request body exceeds the inner API's size limit",
    "engine.queue_full": "the inference queue is full; retry later",
    "engine.timeout": "the inference request did not finish within the per-request timeout",
    "engine.closed": "the inference engine is shut down",
    "engine.failed": "the inference engine failed while running the request",
    # -- identity: OIDC access tokens (RFC 9068) and API keys (gateway) --
    "auth.token_missing": "the request carries no bearer token (Authorization: Bearer …)",
    "auth.token_malformed": "the bearer token is not a well-formed JWS compact JWT",
    "auth.token_expired": "the access token's exp is in the past (beyond the allowed leeway)",
    "auth.token_not_yet_valid": "the access token's nbf or iat is in the future (beyond the leeway)",
    "auth.wrong_issuer": "the access token's iss is not a configured issuer",
    "auth.wrong_audience": "the access token's aud does not name this gateway",
    "auth.token_unsigned": "the token is unsigned (alg none); never accepted",
    "auth.alg_not_allowed": "the token's alg is not on the issuer's allow-list (none and HS* are never)",
    "auth.wrong_token_type": "the token's typ header is not at+jwt (RFC 9068)",
    "auth.unknown_kid": "no key of the issuer's JWKS (even after a bounded refresh) has the token's kid",
    "auth.signature_invalid": "the token's signature does not verify with the issuer's key",
    "auth.claim_missing": "a claim the issuer configuration requires is missing or has the wrong type",
    "auth.scope_missing": "the token lacks a scope the gateway requires",
    "auth.issuer_unavailable": "the issuer's discovery document or JWKS could not be fetched",
    "auth.api_key_invalid": "the API key is unknown, revoked or malformed",
    "config.api_keys_invalid": "the API key file is unreadable or invalid (fields, scrypt parameters, ids)",
    # -- authorization (Cedar) and quotas (gateway) --
    "access.denied": "the access policies do not permit this principal this action on this resource",
    "quota.rate_exceeded": "the principal or tenant exceeded its request rate; retry after Retry-After",
    "quota.concurrency_exceeded": "the principal or tenant has too many concurrent streams open",
    # -- gateway relay and routes --
    "gateway.request_invalid": "a gateway request has a missing or malformed parameter",
    "gateway.not_found": "no such route, model or log entry",
    "gateway.request_too_large": "the sealed request body exceeds the gateway's size limit",
    "gateway.unsupported_media_type": "the request has the wrong Content-Type for its route",
    "gateway.no_worker": "no admitted, healthy worker serves the model right now",
    "gateway.upstream_failed": "the worker failed or closed the connection while relaying",
    "gateway.upstream_timeout": "the worker did not answer within the relay timeout",
    "gateway.shutting_down": "the gateway is draining and takes no new requests",
    "gateway.method_not_allowed": "the route exists but not with this HTTP method",
    "gateway.internal_error": "the gateway failed unexpectedly (its log has the request id)",
    "gateway.worker_model_mismatch": "the worker's attested bundle does not list a model configured for it",
    "gateway.worker_keys_changed": "the worker serves OHTTP keys other than the ones it attested (restarted)",
    "gateway.log_unavailable": "this gateway serves no evidence log",
    "gateway.log_range_invalid": "a log index, tree size or entry range is outside the log",
    # -- NVIDIA GPU (format, verification, appraisal) --
    "nvidia.truncated": "the GPU evidence ends before a field its SPDM header or lengths announce",
    "nvidia.oversized": "the GPU evidence is too large or has non-zero bytes after its signature",
    "nvidia.spdm_invalid": "the SPDM GET_MEASUREMENTS request or MEASUREMENTS response is invalid",
    "nvidia.opaque_invalid": "the SPDM opaque data TLVs are malformed, duplicated or badly encoded",
    "nvidia.evidence_invalid": "the GPU evidence envelope (hex, base64 or serialized JSON) is malformed",
    "nvidia.rim_malformed": "a RIM is not safe, well-formed SWID XML with exactly one enveloped signature",
    "nvidia.chain_invalid": "the GPU device chain is malformed, misordered, too long or a signature fails",
    "nvidia.root_not_pinned": "the device chain does not end in the pinned NVIDIA Device Identity CA",
    "nvidia.cert_expired": "a device certificate is not valid at the verification time",
    "nvidia.fwid_mismatch": "the leaf certificate FWID is missing or differs from the evidence's FWID",
    "nvidia.arch_mismatch": "the envelope names another architecture than the device certificate",
    "nvidia.signature_invalid": "the SPDM signature does not verify with the device leaf key",
    "nvidia.version_mismatch": "the envelope's driver or VBIOS version differs from the signed one",
    "nvidia.nonce_mismatch": "the SPDM request nonce differs from the verifier's (or bound) nonce",
    "nvidia.rim_signature_unsupported": "the RIM signature is not the ECDSA-P384/SHA-384/C14N 1.1 profile",
    "nvidia.rim_digest_mismatch": "the RIM's signed digest does not match its content (it was changed)",
    "nvidia.rim_signature_invalid": "the RIM XML signature does not verify with the RIM signing key",
    "nvidia.rim_chain_invalid": "the RIM certificate chain is malformed or a signature fails",
    "nvidia.rim_root_not_pinned": "the RIM chain does not end in the pinned NVIDIA RIM signing root",
    "nvidia.rim_expired": "a RIM chain certificate is not valid at the verification time",
    "nvidia.rim_conflict": "a measurement index is active in both the driver and the VBIOS RIM",
    "nvidia.ocsp_missing": "no OCSP response covers a certificate that needs one (fail closed)",
    "nvidia.ocsp_invalid": "an OCSP response is malformed, unsuccessful or not from an authorized responder",
    "nvidia.ocsp_stale": "an OCSP response is not yet valid or past nextUpdate (beyond the grace)",
    "nvidia.ocsp_unknown": "the OCSP responder does not know the certificate (status unknown)",
    "nvidia.cert_revoked": "OCSP reports a device or RIM certificate revoked (or on hold)",
    "policy.gpu_arch_not_allowed": "the GPU architecture is not one the policy allows",
    "policy.gpu_cc_mode_off": "the GPU is not in confidential-computing mode, or its mode is unknown",
    "policy.gpu_devtools_on": "the GPU is in developer-tools mode, or its mode is unknown",
    "policy.gpu_driver_below_minimum": "the GPU driver version is below the policy minimum",
    "policy.gpu_vbios_below_minimum": "the GPU VBIOS version is below the policy minimum",
    "policy.gpu_rim_missing": "a driver or VBIOS RIM needed to compare measurements was not supplied",
    "policy.gpu_rim_version_mismatch": "a RIM is for another driver or VBIOS version than the evidence",
    "policy.gpu_measurement_mismatch": "GPU measurements differ from the RIM values (indices listed)",
    "policy.gpu_nonce_unchecked": "the GPU evidence nonce was not checked against the verifier's nonce",
    "policy.gpu_ocsp_unchecked": "the policy requires OCSP revocation checks that were not made",
    "policy.gpu_evidence_too_old": "the GPU evidence is older than the policy allows, or its age is unknown",
    "policy.gpu_count_mismatch": "the number of GPUs differs from the policy's expected count",
    "policy.gpu_policy_missing": "the bundle carries GPU evidence but the policy has no [nvidia] section",
    "attester.gpu_unavailable": "NVML is missing, finds no GPU, or the GPUs are not in CC mode",
    "attester.gpu_request_failed": "NVML refused to produce a GPU attestation report or certificate chain",
    # -- the demo --
    "demo.start_failed": "a process of the demo stack (worker, gateway, issuer) did not start; see its log",
    # -- configuration --
    "config.policy_invalid": "the policy file is invalid (unknown field, bad hex, wrong length)",
    "config.simulation_disabled": "a simulated attester was used without being explicitly enabled",
    "config.simulated_authority_invalid": "a saved simulated AMD/Intel authority is incomplete or invalid",
    "config.model_invalid": "the model directory is incomplete, not safetensors-only, or does not load",
    "config.engine_invalid": "an inference engine or inner-API limit is out of range",
    "config.gateway_invalid": "the gateway settings (file or ATTESTGW_* environment) are invalid",
    "config.access_policy_invalid": "the Cedar access policies or their schema do not validate",
    "config.issuer_invalid": "an OIDC issuer configuration is invalid (URL, algorithms, claims)",
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


class DecryptionError(AttestgwError):
    """A sealed message could not be opened: unknown key, failed authentication, replay, truncation.

    Messages never carry plaintext, key material or which byte failed: an attacker probing the
    channel learns only the stable code.
    """

    exit_code = 1


class ServiceUnavailableError(AttestgwError):
    """A service could not do the work now (queue full, timed out, shut down, failed); retrying may help."""

    exit_code = 1


class AuthenticationError(AttestgwError):
    """The caller could not be identified: no token, or one no configured issuer vouches for (401).

    Messages name the failed check, never the token or its claims' values beyond issuer and audience.
    """

    exit_code = 1


class AuthorizationError(AttestgwError):
    """The identified caller may not do this (403). ``decision_id`` names the logged decision.

    The message says which policy id denied; it never carries policy text.
    """

    exit_code = 1

    def __init__(self, code: str, message: str, *, decision_id: str = "") -> None:
        super().__init__(code, message)
        self.decision_id = decision_id


class RateLimitedError(ServiceUnavailableError):
    """A quota is exhausted (429); ``retry_after`` is the whole number of seconds to wait (≥ 1)."""

    def __init__(self, code: str, message: str, *, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = max(1, int(retry_after))


class ConfigError(AttestgwError):
    """A policy or settings file is invalid, or an unsafe feature was used without opting in."""

    exit_code = 2


class UsageError(AttestgwError):
    """Invalid command-line usage or unreadable input."""

    exit_code = 2
