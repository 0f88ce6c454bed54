"""Intel Provisioning Certification Service (PCS v4) client with an on-disk cache (formats.md §3.6).

:class:`PcsFetcher` fetches the collateral a TDX quote needs and assembles a
:class:`~attestgw.evidence.tdx_collateral.CollateralBundle`:

* ``GET /tdx/certification/v4/tcb?fmspc={hex}`` → TDX TCB info, header ``TCB-Info-Issuer-Chain``;
* ``GET /tdx/certification/v4/qe/identity`` → TD QE identity, header ``SGX-Enclave-Identity-Issuer-Chain``;
* ``GET /sgx/certification/v4/pckcrl?ca={platform|processor}&encoding=der`` → PCK CRL (DER),
  header ``SGX-PCK-CRL-Issuer-Chain``;
* ``GET {root_crl_url}`` → the Intel SGX Root CA CRL (DER), no header.

:meth:`PcsFetcher.collateral_for_quote` asks for what a quote names: :func:`quote_platform` reads
the FMSPC and PCK CA kind from its PCK chain (the SDK, for a TDX bundle without collateral, and
``attestgw verify tdx`` without ``--collateral`` both use it).

Bodies are kept byte-exact (Intel signs the raw ``tcbInfo`` / ``enclaveIdentity`` bytes); issuer
chains are URL-decoded PEM.

Caching: one file per request under ``cache_dir`` (path from typed values only: FMSPC hex, CA
enum), holding the issuer-chain header as received (URL-encoded, so it has no newline), a newline,
then the body. Body and chain therefore change together, and the file is written atomically
(temporary file, then ``os.replace``). Freshness rule: an entry whose ``nextUpdate`` has passed
(at ``now()``) is fetched again when the network is allowed; offline it is still returned and
listed in :attr:`FetchedCollateral.expired`, so verification at that time says
``tdx.collateral_expired``. A cache entry that no longer parses counts as a miss.

Network: only when ``allow_network`` is true. A miss without it is ``collateral.unavailable``; a
transport error, a non-200 status (404 unknown FMSPC, 429 rate limited, 500…), a missing
issuer-chain header or a body that is not the expected object is ``collateral.fetch_failed``, and
nothing is cached.

Not done here: verifying the collateral's signatures, chains or CRLs, or the PCK chain's pin, dates
and revocation (``attestgw.verify.tdx`` does that), rollback tracking of ``tcbEvaluationDataNumber``,
the ``update=early`` track, and the PCK certificate itself (TDX quotes carry it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote_to_bytes

from attestgw.clock import require_aware, utcnow
from attestgw.collateral._cache import read_cached, write_atomic
from attestgw.collateral._http import HttpFetcher
from attestgw.crypto.x509 import load_crl
from attestgw.errors import AttestgwError, CollateralUnavailableError, UsageError, VerificationError
from attestgw.evidence.tdx import Quote
from attestgw.evidence.tdx_collateral import (
    CollateralBundle,
    bundle_from_pcs_files,
    parse_qe_identity_response,
    parse_tcb_info_response,
)
from attestgw.verify.tdx.pck_chain import load_pck_chain

__all__ = [
    "DEFAULT_PCS_CACHE",
    "DEFAULT_PCS_URL",
    "DEFAULT_ROOT_CRL_URL",
    "FetchedCollateral",
    "PcsFetcher",
    "PcsResponse",
    "bundle_to_json",
    "quote_platform",
]

DEFAULT_PCS_CACHE = Path("~/.cache/attestgw/pcs")  # the CLI default; expanded by the caller
DEFAULT_PCS_URL = "https://api.trustedservices.intel.com"
DEFAULT_ROOT_CRL_URL = "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
_MAX_BODY = 1024 * 1024  # TCB info is ~5-20 KiB, the platform PCK CRL a few KiB
_FMSPC = re.compile(r"[0-9a-f]{12}")
_CAS = ("platform", "processor")


@dataclass(frozen=True, slots=True)
class PcsResponse:
    """One PCS response: the body byte-exact, the URL-decoded issuer chain (PEM; None for the root
    CRL), its ``nextUpdate`` and whether it came from the cache."""

    url: str
    body: bytes
    issuer_chain: bytes | None
    next_update: datetime
    from_cache: bool


@dataclass(frozen=True, slots=True)
class FetchedCollateral:
    """An assembled bundle (unverified), its JSON, and what was fetched or found expired at ``now()``."""

    fmspc: str
    ca: str
    bundle: CollateralBundle
    bundle_json: bytes
    fetched: tuple[str, ...]
    expired: tuple[str, ...]


def _check_fmspc(fmspc: str) -> str:
    value = fmspc.lower().removeprefix("0x")
    if not _FMSPC.fullmatch(value):
        raise UsageError("usage.invalid", f"FMSPC {fmspc!r}: want 6 bytes of hex (12 digits)")
    return value


def _check_ca(ca: str) -> str:
    if ca not in _CAS:
        raise UsageError("usage.invalid", f"PCK CA {ca!r}: want platform or processor")
    return ca


# Each checker parses the body enough to read its nextUpdate: a 200 that is an HTML error page or a
# truncated body must never be cached. The real checks are verify_tdx's.
def _tcb_next_update(body: bytes) -> datetime:
    return parse_tcb_info_response(body).tcb_info.next_update


def _qe_next_update(body: bytes) -> datetime:
    return parse_qe_identity_response(body).qe_identity.next_update


def _crl_next_update(body: bytes) -> datetime:
    crl = load_crl(body, code="tdx.collateral_malformed")
    if crl.next_update_utc is None:  # RFC 5280 requires it; without it freshness is unknowable
        raise CollateralUnavailableError("collateral.fetch_failed", "the CRL has no nextUpdate")
    return crl.next_update_utc


def quote_platform(quote: Quote) -> tuple[str, str]:
    """The FMSPC (12 lowercase hex digits) and PCK CA kind (``platform`` or ``processor``) that the
    quote's PCK chain names: what to ask PCS for.

    The chain's structure and signatures are checked here (``tdx.pck_chain_invalid``); its root pin,
    dates and revocation are not: ``verify_tdx`` checks the whole chain against whatever collateral
    comes back, so a forged chain only gets its own FMSPC's (public) collateral fetched. A quote
    without a PCK chain (certification data other than type 5) is ``tdx.cert_data_unsupported``.
    """
    pem = quote.pck_chain_pem
    if pem is None:
        raise VerificationError(
            "tdx.cert_data_unsupported", "the quote carries no PCK chain to name its FMSPC"
        )
    chain = load_pck_chain(pem)
    return chain.extension.fmspc.hex(), chain.ca_kind


def bundle_to_json(bundle: CollateralBundle) -> bytes:
    """The bundle in the JSON shape :func:`~attestgw.evidence.tdx_collateral.parse_bundle` reads.

    CRLs as hex DER, chains as PEM, ``tcb_info`` / ``qe_identity`` as the exact signed JSON text
    (JSON string escaping is undone by any reader, so the signed bytes survive).
    """
    obj = {
        "pck_crl_issuer_chain": bundle.pck_crl_issuer_chain.decode("ascii"),
        "root_ca_crl": bundle.root_ca_crl.hex(),
        "pck_crl": bundle.pck_crl.hex(),
        "tcb_info_issuer_chain": bundle.tcb_info_issuer_chain.decode("ascii"),
        "tcb_info": bundle.tcb_info.raw.decode("utf-8"),
        "tcb_info_signature": bundle.tcb_info.signature.hex(),
        "qe_identity_issuer_chain": bundle.qe_identity_issuer_chain.decode("ascii"),
        "qe_identity": bundle.qe_identity.raw.decode("utf-8"),
        "qe_identity_signature": bundle.qe_identity.signature.hex(),
    }
    return json.dumps(obj, indent=2).encode("utf-8") + b"\n"


class PcsFetcher(HttpFetcher):
    """Fetch Intel TDX collateral from PCS (or a PCCS / mirror at ``base_url``) through a disk cache.

    ``now`` is the clock for the freshness rule (an edge: the CLI passes the wall clock).
    ``trust_env`` is passed to httpx. Use as a context manager, or call :meth:`close`.
    """

    service = "Intel PCS"

    def __init__(
        self,
        cache_dir: Path,
        base_url: str = DEFAULT_PCS_URL,
        root_crl_url: str = DEFAULT_ROOT_CRL_URL,
        allow_network: bool = False,
        timeout: float = 10.0,
        *,
        now: Callable[[], datetime] = utcnow,
        trust_env: bool = True,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.base_url = base_url.rstrip("/")
        self.root_crl_url = root_crl_url
        self.allow_network = allow_network
        self._now = now
        super().__init__(timeout=timeout, trust_env=trust_env, max_body=_MAX_BODY)

    def __repr__(self) -> str:
        return f"PcsFetcher({self.base_url!r}, cache={str(self.cache_dir)!r}, network={self.allow_network})"

    # -- single requests --------------------------------------------------------------------------

    def tcb_info(self, fmspc: str) -> PcsResponse:
        """TDX TCB info for ``fmspc`` (12 hex digits)."""
        fmspc = _check_fmspc(fmspc)
        return self._get(
            f"{self.base_url}/tdx/certification/v4/tcb?fmspc={fmspc}",
            Path("tdx", "tcb", f"{fmspc}.entry"),
            "TCB info",
            "TCB-Info-Issuer-Chain",
            _tcb_next_update,
        )

    def qe_identity(self) -> PcsResponse:
        """The TD QE identity."""
        return self._get(
            f"{self.base_url}/tdx/certification/v4/qe/identity",
            Path("tdx", "qe_identity.entry"),
            "QE identity",
            "SGX-Enclave-Identity-Issuer-Chain",
            _qe_next_update,
        )

    def pck_crl(self, ca: str = "platform") -> PcsResponse:
        """The PCK CRL (DER) of the ``platform`` or ``processor`` CA."""
        ca = _check_ca(ca)
        return self._get(
            f"{self.base_url}/sgx/certification/v4/pckcrl?ca={ca}&encoding=der",
            Path("sgx", f"pckcrl_{ca}.entry"),
            "PCK CRL",
            "SGX-PCK-CRL-Issuer-Chain",
            _crl_next_update,
        )

    def root_ca_crl(self) -> PcsResponse:
        """The Intel SGX Root CA CRL (DER) from ``root_crl_url``."""
        return self._get(self.root_crl_url, Path("root_ca_crl.entry"), "root CA CRL", None, _crl_next_update)

    # -- the bundle -------------------------------------------------------------------------------

    def collateral(self, fmspc: str, ca: str = "platform") -> FetchedCollateral:
        """Everything a quote with this FMSPC and PCK CA needs, as a bundle (unverified)."""
        fmspc, ca = _check_fmspc(fmspc), _check_ca(ca)
        parts = {
            "tcb_info": self.tcb_info(fmspc),
            "qe_identity": self.qe_identity(),
            "pck_crl": self.pck_crl(ca),
            "root_ca_crl": self.root_ca_crl(),
        }
        files = {
            "tcb_info.json": parts["tcb_info"].body,
            "tcb_info_chain.txt": parts["tcb_info"].issuer_chain or b"",
            "qe_identity.json": parts["qe_identity"].body,
            "qe_identity_chain.txt": parts["qe_identity"].issuer_chain or b"",
            "pck_crl.der": parts["pck_crl"].body,
            "pck_crl_chain.txt": parts["pck_crl"].issuer_chain or b"",
            "root_ca.crl": parts["root_ca_crl"].body,
        }
        bundle = bundle_from_pcs_files(files, fmspc=fmspc, ca=ca)
        now = require_aware(self._now())
        return FetchedCollateral(
            fmspc=fmspc,
            ca=ca,
            bundle=bundle,
            bundle_json=bundle_to_json(bundle),
            fetched=tuple(name for name, part in parts.items() if not part.from_cache),
            expired=tuple(name for name, part in parts.items() if now > part.next_update),
        )

    def collateral_for_quote(self, quote: Quote) -> FetchedCollateral:
        """:meth:`collateral` for the FMSPC and PCK CA kind the quote names (:func:`quote_platform`)."""
        return self.collateral(*quote_platform(quote))

    # -- plumbing ---------------------------------------------------------------------------------

    def _get(
        self,
        url: str,
        relative: Path,
        what: str,
        header: str | None,
        next_update: Callable[[bytes], datetime],
    ) -> PcsResponse:
        cached = self.cache_dir / relative
        entry = read_cached(cached)
        if entry is not None:
            hit = _from_entry(url, entry[0], next_update)
            # Offline, an expired entry is still the best we have: the caller reports it expired.
            if hit is not None and (not self.allow_network or require_aware(self._now()) <= hit.next_update):
                return hit
        if not self.allow_network:
            raise CollateralUnavailableError(
                "collateral.unavailable",
                f"{what} ({url}) is not in the cache {self.cache_dir} and network access is off",
            )
        body, chain_header = self._download(url, header)
        try:
            when = next_update(body)
            chain = _decode_chain(chain_header) if header is not None else None
        except AttestgwError as exc:
            raise CollateralUnavailableError(
                "collateral.fetch_failed", f"GET {url}: the response is not a {what} ({exc.message})"
            ) from None
        write_atomic(cached, chain_header + b"\n" + body)
        return PcsResponse(url, body, chain, when, from_cache=False)

    def _download(self, url: str, header: str | None) -> tuple[bytes, bytes]:
        body, value = self.download("GET", url, header=header)
        # headers are bytes on the wire; httpx decodes them as latin-1
        return body, (value or "").encode("latin-1")


def _decode_chain(header: bytes) -> bytes:
    """The URL-decoded PEM of an issuer-chain header; refuses anything without a certificate."""
    pem = unquote_to_bytes(header)
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        raise CollateralUnavailableError("collateral.fetch_failed", "issuer-chain header holds no PEM")
    return pem


def _from_entry(url: str, data: bytes, next_update: Callable[[bytes], datetime]) -> PcsResponse | None:
    """A cache entry (``chain header \\n body``) as a response, or None when it no longer parses."""
    chain_header, sep, body = data.partition(b"\n")
    if not sep:
        return None
    try:
        when = next_update(body)
        chain = _decode_chain(chain_header) if chain_header else None
    except AttestgwError:
        return None
    return PcsResponse(url, body, chain, when, from_cache=True)
