"""AMD Key Distribution Service (KDS) client with an on-disk cache (AMD #57230; formats.md §2.5).

:class:`KdsFetcher` implements :class:`~attestgw.verify.snp.SnpCollateralFetcher`:

* ``GET /vcek/v1/{product}/{hwid}?blSPL=&teeSPL=&snpSPL=&ucodeSPL=`` (Turin adds ``fmcSPL``;
  ``hwid`` is lowercase hex of CHIP_ID, only its first 8 bytes on Turin) → VCEK, DER;
* ``GET /{vcek|vlek}/v1/{product}/cert_chain`` → PEM, ASK/ASVK then ARK;
* ``GET /{vcek|vlek}/v1/{product}/crl`` → CRL, DER.

Caching: every response is stored under ``cache_dir`` at a path derived from the request (typed
values only — product enum, hex, integers — so no caller text reaches the file system), written
atomically (temporary file in the same directory, then ``os.replace``), so a crash or a concurrent
writer never leaves a half-written entry. A cache hit needs no network. VCEKs and chains never change
for a given request and are kept forever; a CRL older than ``crl_max_age`` is fetched again when the
network is allowed (offline, the old copy is returned and the verifier judges its freshness).

Network: only when ``allow_network`` is true. A miss without it is ``collateral.unavailable``; a
transport error, a non-200 status (404 unknown chip/TCB, 429 rate limited, …) or a body that is not
the expected kind of object is ``collateral.fetch_failed`` with the status, and nothing is cached.

Not done here: verifying anything. Everything returned is untrusted until ``verify_snp`` checks it.
VLEK certificates are not public (the cloud provider loads them into firmware), so a VLEK
signing-certificate request always fails with ``collateral.unavailable``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from attestgw.collateral._cache import read_cached, write_atomic
from attestgw.collateral._http import HttpFetcher
from attestgw.crypto.x509 import load_certificate, load_crl, load_pem_bundle
from attestgw.errors import AttestgwError, CollateralUnavailableError
from attestgw.evidence.snp import Product, SigningKey, TcbParts

__all__ = ["DEFAULT_KDS_URL", "KdsFetcher", "vcek_request_path"]

DEFAULT_KDS_URL = "https://kdsintf.amd.com"
_MAX_BODY = 1024 * 1024  # a VCEK is ~1.3 KiB, a chain ~5 KiB, a CRL ~1 KiB
_DEFAULT_CRL_MAX_AGE = 24 * 3600.0


def _kind_path(kind: SigningKey) -> str:
    return "vlek" if kind is SigningKey.VLEK else "vcek"


def vcek_request_path(product: Product, chip_id: bytes, tcb: TcbParts) -> str:
    """The KDS path and query for a VCEK: hwID from CHIP_ID, SPLs from REPORTED_TCB."""
    if len(chip_id) != 64:
        raise CollateralUnavailableError(
            "collateral.unavailable", f"CHIP_ID is {len(chip_id)} bytes, want 64"
        )
    if not any(chip_id):
        raise CollateralUnavailableError(
            "collateral.unavailable", "CHIP_ID is masked (all zero): AMD KDS cannot look up the VCEK"
        )
    hwid = chip_id[:8] if product.has_fmc else chip_id
    query = f"blSPL={tcb.bootloader}&teeSPL={tcb.tee}&snpSPL={tcb.snp}&ucodeSPL={tcb.microcode}"
    if product.has_fmc:
        if tcb.fmc is None:
            raise CollateralUnavailableError(
                "collateral.unavailable", f"a {product.value} VCEK request needs the FMC SPL"
            )
        query += f"&fmcSPL={tcb.fmc}"
    return f"/vcek/v1/{product.value}/{hwid.hex()}?{query}"


class KdsFetcher(HttpFetcher):
    """Fetch AMD SEV-SNP collateral from KDS (or a mirror at ``base_url``), through a disk cache.

    ``trust_env`` is passed to httpx (proxy and CA settings from the environment).
    Use as a context manager, or call :meth:`close`, to release the HTTP connection pool.
    """

    service = "AMD KDS"

    def __init__(
        self,
        cache_dir: Path,
        base_url: str = DEFAULT_KDS_URL,
        allow_network: bool = False,
        timeout: float = 10.0,
        *,
        crl_max_age: float = _DEFAULT_CRL_MAX_AGE,
        trust_env: bool = True,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.base_url = base_url.rstrip("/")
        self.allow_network = allow_network
        self.crl_max_age = crl_max_age
        super().__init__(timeout=timeout, trust_env=trust_env, max_body=_MAX_BODY)

    def __repr__(self) -> str:
        return f"KdsFetcher({self.base_url!r}, cache={str(self.cache_dir)!r}, network={self.allow_network})"

    # -- SnpCollateralFetcher ---------------------------------------------------------------------

    def signing_cert(self, product: Product, kind: SigningKey, chip_id: bytes, tcb: TcbParts) -> bytes:
        """The VCEK (DER) for this chip and REPORTED_TCB. VLEKs are never available from KDS."""
        if kind is not SigningKey.VCEK:
            raise CollateralUnavailableError(
                "collateral.unavailable",
                "VLEK certificates are not public: AMD KDS serves them only to the cloud provider; "
                "take the VLEK from the extended report's certificate table or the provider",
            )
        path = vcek_request_path(product, chip_id, tcb)
        hwid, _, query = path.removeprefix(f"/vcek/v1/{product.value}/").partition("?")
        spls = "_".join(part.replace("=", "") for part in query.split("&"))
        relative = Path("vcek", product.value, hwid, f"{spls}.der")
        return self._get(path, relative, "VCEK", _is_certificate, max_age=None)

    def chain(self, product: Product, kind: SigningKey) -> bytes:
        """The PEM ``cert_chain`` (ASK or ASVK, then ARK) for ``product``."""
        path = f"/{_kind_path(kind)}/v1/{product.value}/cert_chain"
        relative = Path(_kind_path(kind), product.value, "cert_chain.pem")
        return self._get(path, relative, "certificate chain", _is_chain, max_age=None)

    def crl(self, product: Product, kind: SigningKey) -> bytes:
        """The DER CRL for ``product`` and key kind; refreshed after ``crl_max_age`` seconds when online."""
        path = f"/{_kind_path(kind)}/v1/{product.value}/crl"
        relative = Path(_kind_path(kind), product.value, "crl.der")
        return self._get(path, relative, "CRL", _is_crl, max_age=self.crl_max_age)

    # -- plumbing ---------------------------------------------------------------------------------

    def _get(
        self, path: str, relative: Path, what: str, check: Callable[[bytes], None], max_age: float | None
    ) -> bytes:
        cached = self.cache_dir / relative
        entry = read_cached(cached)
        if entry is not None:
            data, mtime = entry
            if not self.allow_network or max_age is None or time.time() - mtime < max_age:
                return data
        if not self.allow_network:
            raise CollateralUnavailableError(
                "collateral.unavailable",
                f"{what} for {path} is not in the cache {self.cache_dir} and network access is off",
            )
        body = self._download(path)
        try:
            check(body)
        except AttestgwError as exc:
            raise CollateralUnavailableError(
                "collateral.fetch_failed",
                f"GET {self.base_url}{path}: the response is not a {what} ({exc.message})",
            ) from None
        write_atomic(cached, body)
        return body

    def _download(self, path: str) -> bytes:
        return self.download("GET", self.base_url + path)[0]


# A 200 response that is not the expected object (an HTML error page, a truncated body) must not be
# cached, or every later verification would read the same garbage. These only check the shape;
# verify_snp does the real checking.
def _is_certificate(body: bytes) -> None:
    load_certificate(body)


def _is_chain(body: bytes) -> None:
    count = len(load_pem_bundle(body))
    if count < 2:
        raise CollateralUnavailableError(
            "collateral.fetch_failed", f"{count} certificate(s), want ASK/ASVK and ARK"
        )


def _is_crl(body: bytes) -> None:
    load_crl(body)
