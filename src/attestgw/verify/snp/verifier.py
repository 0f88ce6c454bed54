"""SEV-SNP verification: report + AMD collateral → :class:`VerifiedSnpClaims` (formats.md §2.6).

``verify_snp`` either returns claims for which **every** check below passed, or raises the first
failure as an :class:`~attestgw.errors.AttestgwError` with a stable code. Comments carry the §2.6
step numbers. Step 1 (length, version, reserved bytes, POLICY bit 17, SIGNATURE_ALGO) is the
parser's; step 8 (policy) is appraisal's. The remaining steps run cheapest first — structure and
cross-checks, then chain signatures, then the report signature — so the execution order is
2, 3, 4 (leaf structure), 7, 4 (chain), 5, 6:

2. SIGNING_KEY 7 or an all-zero signature → ``snp.signature_missing``. SIGNING_KEY picks the chain:
   VCEK → ARK → ASK → VCEK, VLEK → ARK → ASVK → VLEK. The other chain is never tried.
3. Product: the report's CPUID (v3+), else the certificate's productName, else
   ``options.product``, else ``snp.unknown_product``. CPUID and productName disagreeing →
   ``snp.wrong_product``.
4. Leaf: CN ``SEV-VCEK``/``SEV-VLEK`` of the *other* kind, or hwID/cspId of the other kind →
   ``snp.key_kind_mismatch``; X.509 v3, the AMD O/OU/L/ST/C subject, an EC P-384 key and
   well-formed AMD extensions, else ``snp.cert_malformed``.
7. Each SPL in the certificate equals REPORTED_TCB in the product's layout (fmcSPL on Turin) else
   ``snp.tcb_mismatch``; VCEK hwID equals CHIP_ID (Turin: 8-byte hwID = first 8 bytes, rest zero)
   else ``snp.chip_id_mismatch``. A masked (all-zero) CHIP_ID skips the hwID comparison and the
   claims say so (``chip_id_checked``). VLEK cspId is returned for policy, not judged here.
4. Chain: ARK and ASK/ASVK CNs name the product (``ARK-Milan``, ``SEV-Milan``/``SEV-VLEK-Milan``)
   else ``snp.wrong_product``; the ARK's SHA-256 is pinned in ``options.trust`` for that product
   else ``snp.root_not_pinned``; v3 and AMD names else ``snp.cert_malformed``; every certificate
   valid at ``options.at`` else ``snp.cert_expired``; issuer names link and every signature is
   RSASSA-PSS/SHA-384/MGF1-SHA-384/salt 48 by the next certificate up, else ``snp.chain_invalid``.
5. CRL (supplied, or fetched when a fetcher is given): issuer is the ARK and signed by it, else
   ``snp.crl_invalid``; ``thisUpdate ≤ at < nextUpdate`` else ``snp.crl_stale``; neither the
   ASK/ASVK nor the leaf serial listed, else ``snp.cert_revoked``. No CRL with
   ``options.require_crl`` → ``snp.crl_required`` (or the fetcher's own collateral error).
6. ECDSA P-384/SHA-384 signature over ``report[0x000:0x2A0]`` with the leaf key, else
   ``snp.signature_invalid``.

Collateral comes from, in order: the explicit fields of :class:`SnpCollateral`, its certificate
table, then ``options.fetcher``. A needed certificate that none of them has is
``collateral.unavailable`` (:class:`~attestgw.errors.CollateralUnavailableError`); there is no
vendored fallback chain.

Caching (see :mod:`.cache`): certificate parsing and the chain/CRL signature results are cached per
exact bytes; validity at ``at``, the pin, the CRL window and revocation, the TCB and chip
cross-checks and the report signature run on every call. :func:`clear_caches` empties the caches.

Not checked here: anything a policy decides (debug, measurement, VMPL, TCB minimums, REPORT_DATA
binding, which CSP a VLEK names) — that is :mod:`attestgw.appraisal`.
"""

from __future__ import annotations

from attestgw.clock import require_aware
from attestgw.crypto.ecdsa import P384PublicKey, verify_p384_sha384
from attestgw.crypto.x509 import p384_public_key
from attestgw.errors import CollateralUnavailableError, UsageError, VerificationError
from attestgw.evidence.snp import (
    ARK_GUID,
    ASK_GUID,
    VCEK_GUID,
    VLEK_GUID,
    AttestationReport,
    Product,
    SigningKey,
    product_from_name,
)
from attestgw.verify._seal import SEAL
from attestgw.verify.cache import clear_all
from attestgw.verify.snp.chain import (
    CertRecord,
    amd_extensions,
    check_amd_name,
    check_validity,
    leaf_cn,
    load_bundle,
    load_record,
    select_chain,
    verify_chain_signatures,
)
from attestgw.verify.snp.claims import (
    SnpCollateral,
    SnpCollateralFetcher,
    SnpVerifyOptions,
    VerifiedSnpClaims,
)
from attestgw.verify.snp.crl import CrlRecord, check_crl, load_crl_record
from attestgw.verify.snp.vcek_ext import AmdExtensions, hwid_matches_chip_id, tcb_differences

__all__ = ["clear_caches", "verify_snp"]


def clear_caches() -> None:
    """Forget every cached parse and signature result (for cold benchmarks and tests)."""
    clear_all()


def verify_snp(
    report: AttestationReport, collateral: SnpCollateral, options: SnpVerifyOptions
) -> VerifiedSnpClaims:
    """Verify ``report`` with ``collateral`` at ``options.at``; see the module docstring for steps.

    Raises :class:`~attestgw.errors.VerificationError` (a check failed),
    :class:`~attestgw.errors.CollateralUnavailableError` (something needed is missing) or
    :class:`~attestgw.errors.UsageError` (``options.at`` is naive). Never returns partial claims.
    """
    try:
        at = require_aware(options.at)
    except ValueError as exc:
        raise UsageError("usage.invalid", f"SnpVerifyOptions.at: {exc}") from None
    fetched: list[str] = []

    # Step 2: a signature must be present, and SIGNING_KEY alone picks the chain.
    kind = report.signer_info.signing_key
    if kind is None or kind is SigningKey.NONE or report.signature.is_zero:
        raise VerificationError(
            "snp.signature_missing",
            f"SIGNING_KEY {report.signer_info.signing_key_value}, signature all zero: "
            f"{report.signature.is_zero}; the report is not signed",
        )

    # Step 3 (first half): the product the report names itself, used to fetch the leaf if needed.
    cpuid_product = report.cpuid_product
    leaf = _signing_cert(report, kind, cpuid_product or options.product, collateral, options, fetched)

    # Step 4 (leaf structure): kind, names, key type, extensions.
    ext, leaf_key = _check_leaf(leaf, kind)

    # Step 3: settle the product line.
    product = _resolve_product(cpuid_product, ext, options)

    # Step 7 (cheap, so before any signature math): the key is bound to this TCB and this chip.
    reported_tcb = report.reported_tcb.parts(product)
    diffs = tcb_differences(ext, reported_tcb, product)
    if diffs:
        raise VerificationError(
            "snp.tcb_mismatch", f"{kind.name} TCB differs from REPORTED_TCB: " + "; ".join(diffs)
        )
    chip_id_checked = False
    if kind is SigningKey.VCEK and not report.chip_id_masked:
        hwid = ext.hwid or b""
        if not hwid_matches_chip_id(hwid, report.chip_id, product):
            raise VerificationError(
                "snp.chip_id_mismatch", f"VCEK hwID {hwid.hex()}, report CHIP_ID {report.chip_id.hex()}"
            )
        chip_id_checked = True

    # Step 4: the chain to a pinned ARK for this product.
    ark, intermediate = select_chain(
        _chain_records(product, kind, collateral, options, fetched), product, kind
    )
    anchor = options.trust.find(product, ark.sha256)
    if anchor is None:
        raise VerificationError(
            "snp.root_not_pinned", f"{ark.cn} SHA-256 {ark.sha256} is not a trusted {product.value} root"
        )
    check_amd_name(ark, f"ARK-{product.value}", "ARK")
    check_amd_name(intermediate, str(intermediate.cn), "intermediate")
    check_validity((("ARK", ark), ("intermediate", intermediate), (kind.name, leaf)), at)
    verify_chain_signatures(ark, intermediate, leaf)

    # Step 5: revocation.
    crl = _crl_record(product, kind, collateral, options, fetched)
    if crl is not None:
        check_crl(crl, ark, {str(intermediate.cn): intermediate.serial, kind.name: leaf.serial}, at)
    elif options.require_crl:
        raise VerificationError(
            "snp.crl_required", f"no AMD {product.value} CRL was supplied or fetched, and one is required"
        )

    # Step 6: the report signature, last and on every call.
    if not verify_p384_sha384(leaf_key, report.signature.r, report.signature.s, report.signed_bytes):
        raise VerificationError(
            "snp.signature_invalid",
            f"report signature does not verify with the {kind.name} key (SHA-256 {leaf.sha256})",
        )

    return VerifiedSnpClaims(
        report=report,
        product=product,
        signing_key=kind,
        reported_tcb=reported_tcb,
        current_tcb=report.current_tcb.parts(product),
        committed_tcb=report.committed_tcb.parts(product),
        launch_tcb=report.launch_tcb.parts(product),
        product_name=ext.product_name or product.value,
        csp_id=ext.csp_id,
        ark_sha256=ark.sha256,
        intermediate_sha256=intermediate.sha256,
        signing_cert_sha256=leaf.sha256,
        simulated=anchor.simulated,
        crl_checked=crl is not None,
        crl_next_update=crl.next_update if crl is not None else None,
        verified_at=at,
        collateral_fetched=tuple(fetched),
        chip_id_checked=chip_id_checked,
        seal=SEAL,
    )


def _fetcher(options: SnpVerifyOptions, what: str) -> SnpCollateralFetcher:
    if options.fetcher is None:
        raise CollateralUnavailableError(
            "collateral.unavailable",
            f"no {what}: not in the collateral or the certificate table, and no fetcher is configured "
            "(offline)",
        )
    return options.fetcher


def _signing_cert(
    report: AttestationReport,
    kind: SigningKey,
    product_hint: Product | None,
    collateral: SnpCollateral,
    options: SnpVerifyOptions,
    fetched: list[str],
) -> CertRecord:
    if collateral.signing_cert is not None:
        return load_record(collateral.signing_cert)
    if collateral.cert_table is not None:
        data = collateral.cert_table.get(VLEK_GUID if kind is SigningKey.VLEK else VCEK_GUID)
        if data is not None:
            return load_record(data)
    fetcher = _fetcher(options, f"{kind.name} certificate")
    if product_hint is None:
        raise VerificationError(
            "snp.unknown_product",
            f"cannot fetch the {kind.name}: the v{report.version} report names no product line; "
            "set SnpVerifyOptions.product",
        )
    data = fetcher.signing_cert(product_hint, kind, report.chip_id, report.reported_tcb.parts(product_hint))
    fetched.append("signing_cert")
    return load_record(data)


def _check_leaf(leaf: CertRecord, kind: SigningKey) -> tuple[AmdExtensions, P384PublicKey]:
    other = SigningKey.VLEK if kind is SigningKey.VCEK else SigningKey.VCEK
    if leaf.cn == leaf_cn(other):
        raise VerificationError(
            "snp.key_kind_mismatch", f"report SIGNING_KEY is {kind.name} but the certificate is {leaf.cn}"
        )
    check_amd_name(leaf, leaf_cn(kind), kind.name)
    key = p384_public_key(leaf.cert)
    ext = amd_extensions(leaf)
    if ext.hwid is not None and ext.csp_id is not None:
        raise VerificationError("snp.cert_malformed", f"{kind.name} carries both hwID and cspId")
    own, foreign = (ext.hwid, ext.csp_id) if kind is SigningKey.VCEK else (ext.csp_id, ext.hwid)
    if foreign is not None:
        raise VerificationError(
            "snp.key_kind_mismatch",
            f"report SIGNING_KEY is {kind.name} but the certificate carries {other.name}'s "
            f"{'hwID' if kind is SigningKey.VLEK else 'cspId'} extension",
        )
    if own is None:
        raise VerificationError(
            "snp.cert_malformed",
            f"{kind.name} has no {'hwID' if kind is SigningKey.VCEK else 'cspId'} extension",
        )
    return ext, key


def _resolve_product(cpuid_product: Product | None, ext: AmdExtensions, options: SnpVerifyOptions) -> Product:
    named = product_from_name(ext.product_name) if ext.product_name is not None else None
    if cpuid_product is not None:
        if ext.product_name is not None and named is not cpuid_product:
            raise VerificationError(
                "snp.wrong_product",
                f"report CPUID says {cpuid_product.value}, certificate productName {ext.product_name!r}",
            )
        return cpuid_product
    if named is not None:
        return named
    if ext.product_name is not None:
        raise VerificationError(
            "snp.unknown_product", f"certificate productName {ext.product_name!r} is not a supported line"
        )
    if options.product is not None:
        return options.product
    raise VerificationError(
        "snp.unknown_product",
        "neither the report (v2, no CPUID) nor the certificate names a product line; "
        "set SnpVerifyOptions.product",
    )


def _chain_records(
    product: Product,
    kind: SigningKey,
    collateral: SnpCollateral,
    options: SnpVerifyOptions,
    fetched: list[str],
) -> tuple[CertRecord, ...]:
    if collateral.chain is not None:
        return load_bundle(collateral.chain)
    if collateral.cert_table is not None:
        ask = collateral.cert_table.get(ASK_GUID)
        ark = collateral.cert_table.get(ARK_GUID)
        if ask is not None and ark is not None:
            return (load_record(ask), load_record(ark))
    fetcher = _fetcher(options, f"{product.value} {kind.name} certificate chain (ARK, ASK/ASVK)")
    data = fetcher.chain(product, kind)
    fetched.append("chain")
    return load_bundle(data)


def _crl_record(
    product: Product,
    kind: SigningKey,
    collateral: SnpCollateral,
    options: SnpVerifyOptions,
    fetched: list[str],
) -> CrlRecord | None:
    if collateral.crl is not None:
        return load_crl_record(collateral.crl)
    if options.fetcher is None:
        return None
    try:
        data = options.fetcher.crl(product, kind)
    except CollateralUnavailableError:
        # Without a CRL requirement, an unreachable CRL is recorded as "not checked" (crl_checked is
        # False in the claims) for the policy to judge; with one, the caller sees why it is missing.
        if options.require_crl:
            raise
        return None
    fetched.append("crl")
    return load_crl_record(data)
