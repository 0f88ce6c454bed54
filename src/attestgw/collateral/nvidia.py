"""NVIDIA RIM service and OCSP responder client with an on-disk cache (formats.md §4.5, §4.6).

:class:`NvidiaCollateralFetcher` gets what ``verify_gpu`` needs beyond the evidence:

* ``GET {rim_url}/v1/rim/{id}`` → JSON whose ``rim`` field is base64 of the SWID XML. Ids come from
  the evidence's opaque data (:func:`rim_ids`): driver ``NV_GPU_DRIVER_GH100_{driver}`` (Hopper) or
  ``NV_GPU_CC_DRIVER_{CHIP_INFO}_{driver}`` (Blackwell); VBIOS
  ``NV_GPU_VBIOS_{PROJECT}_{PROJECT_SKU}_{CHIP_SKU}_{VBIOS without dots}``; NVSwitch BIOS
  ``NV_SWITCH_BIOS_…`` likewise (NVSwitches have no driver RIM, and their evidence carries no
  PROJECT / SKU TLVs, so their RIMs must be named by id).
* ``POST {ocsp_url}`` with a DER ``application/ocsp-request`` (SHA-384 CertID, no nonce, so the
  answer can be cached) → DER ``application/ocsp-response``, for device certificates 1..n-2 and RIM
  certificates 0..n-2 (the certificates ``verify_gpu`` checks).

Caching: the XML of each RIM under ``rims/{id}.xml`` (ids are checked against a strict pattern, so no
caller text reaches the file system as a path) and each OCSP response under
``ocsp/{SHA-256 of the request}.der``, written atomically (:mod:`._cache`). A cache hit needs no
network. RIMs never change for an id and are kept forever; an OCSP response older than
``ocsp_max_age`` is fetched again when the network is allowed (offline, the old copy is returned and
the verifier judges its freshness: ``nvidia.ocsp_stale``).

Network: only when ``allow_network`` is true. A miss without it is ``collateral.unavailable``; a
transport error, a non-200 status or a body of the wrong kind is ``collateral.fetch_failed`` and
nothing is cached. Not done here: verifying anything (the RIM XML signature, the OCSP signature and
freshness are ``verify_gpu``'s). The leaf certificate's CN is read *unverified* to pick the RIM id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path

from attestgw.collateral._cache import read_cached, write_atomic
from attestgw.collateral._http import HttpFetcher
from attestgw.crypto.ocsp import build_ocsp_request, load_ocsp_response
from attestgw.crypto.x509 import load_certificate, pem_certificates
from attestgw.errors import AttestgwError, CollateralUnavailableError
from attestgw.evidence.nvidia import GpuEvidence, parse_rim
from attestgw.verify.nvidia import GpuArch, GpuCollateral
from attestgw.verify.nvidia.chain import common_name
from attestgw.verify.nvidia.verifier import arch_of

__all__ = [
    "DEFAULT_NVIDIA_CACHE",
    "DEFAULT_OCSP_URL",
    "DEFAULT_RIM_URL",
    "NvidiaCollateralFetcher",
    "rim_ids",
]

DEFAULT_RIM_URL = "https://rim.attestation.nvidia.com"
DEFAULT_OCSP_URL = "https://ocsp.ndis.nvidia.com"
DEFAULT_NVIDIA_CACHE = Path("~/.cache/attestgw/nvidia")
_RIM_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
_MAX_BODY = 4 * 1024 * 1024  # a driver RIM is ~40 KiB of XML, base64 in JSON
_DEFAULT_OCSP_MAX_AGE = 3600.0
_UNAVAILABLE = "collateral.unavailable"
_FAILED = "collateral.fetch_failed"


def _part(value: str | None, what: str) -> str:
    if value is None:
        raise CollateralUnavailableError(
            _UNAVAILABLE, f"the evidence carries no {what} to name its RIM (give the RIM id or file)"
        )
    return value


def rim_ids(evidence: GpuEvidence, arch: GpuArch) -> tuple[str, ...]:
    """The RIM ids for one device's signed opaque data: driver (GPUs only), then VBIOS / switch BIOS."""
    opaque = evidence.report.response.opaque
    bios = _part(opaque.vbios_version, "VBIOS version").replace(".", "").upper()
    project = f"{_part(opaque.project, 'PROJECT')}_{_part(opaque.project_sku, 'PROJECT_SKU')}"
    chip = _part(opaque.chip_sku, "CHIP_SKU")
    if arch is GpuArch.LS10:
        return (f"NV_SWITCH_BIOS_{project}_{chip}_{bios}",)
    driver = _part(opaque.driver_version, "driver version")
    if arch is GpuArch.BLACKWELL:
        driver_id = f"NV_GPU_CC_DRIVER_{_part(opaque.chip_info, 'CHIP_INFO')}_{driver}"
    else:
        driver_id = f"NV_GPU_DRIVER_GH100_{driver}"
    return (driver_id, f"NV_GPU_VBIOS_{project}_{chip}_{bios}")


def _pairs(ders: Sequence[bytes], first: int) -> list[tuple[bytes, bytes]]:
    """(certificate, issuer) for chain positions first..n-2 (leaf first, root last)."""
    return [(ders[i], ders[i + 1]) for i in range(first, len(ders) - 1)]


class NvidiaCollateralFetcher(HttpFetcher):
    """Fetch NVIDIA RIMs and OCSP responses (or a mirror's) through a disk cache.

    Use as a context manager, or call :meth:`close`, to release the HTTP connection pool.
    """

    service = "NVIDIA's RIM/OCSP service"

    def __init__(
        self,
        cache_dir: Path,
        *,
        rim_url: str = DEFAULT_RIM_URL,
        ocsp_url: str = DEFAULT_OCSP_URL,
        allow_network: bool = False,
        timeout: float = 10.0,
        ocsp_max_age: float = _DEFAULT_OCSP_MAX_AGE,
        trust_env: bool = True,
    ) -> None:
        self.cache_dir = Path(cache_dir).expanduser()
        self.rim_url = rim_url.rstrip("/")
        self.ocsp_url = ocsp_url.rstrip("/")
        self.allow_network = allow_network
        self.ocsp_max_age = ocsp_max_age
        super().__init__(timeout=timeout, trust_env=trust_env, max_body=_MAX_BODY)
        self.fetched: list[str] = []

    def __repr__(self) -> str:
        return (
            f"NvidiaCollateralFetcher({self.rim_url!r}, {self.ocsp_url!r}, "
            f"cache={str(self.cache_dir)!r}, network={self.allow_network})"
        )

    # -- what the verifier needs ------------------------------------------------------------------

    def rim(self, rim_id: str) -> bytes:
        """The RIM XML for ``rim_id`` (cached forever once fetched)."""
        if not _RIM_ID.match(rim_id):
            raise CollateralUnavailableError(_UNAVAILABLE, f"{rim_id[:64]!r} is not a RIM id")
        cached = self.cache_dir / "rims" / f"{rim_id}.xml"
        entry = read_cached(cached)
        if entry is not None:
            return entry[0]
        self._require_network(f"RIM {rim_id}")
        url = f"{self.rim_url}/v1/rim/{rim_id}"
        body = self._request("GET", url, None)
        try:
            doc = json.loads(body)
            xml = base64.b64decode(doc["rim"], validate=True)
            parse_rim(xml)
        except (ValueError, KeyError, TypeError, binascii.Error, AttestgwError) as exc:
            raise CollateralUnavailableError(
                _FAILED, f"GET {url}: not a RIM service answer ({exc})"
            ) from None
        write_atomic(cached, xml)
        self.fetched.append(f"rim:{rim_id}")
        return xml

    def ocsp(self, cert_der: bytes, issuer_der: bytes) -> bytes:
        """The DER OCSP response for ``cert_der`` issued by ``issuer_der``."""
        cert = load_certificate(cert_der, code="nvidia.chain_invalid")
        issuer = load_certificate(issuer_der, code="nvidia.chain_invalid")
        request = build_ocsp_request(cert, issuer)
        cached = self.cache_dir / "ocsp" / f"{hashlib.sha256(request).hexdigest()}.der"
        entry = read_cached(cached)
        if entry is not None:
            data, mtime = entry
            if not self.allow_network or time.time() - mtime < self.ocsp_max_age:
                return data
        name = common_name(cert)
        self._require_network(f"the OCSP response for {name!r}")
        body = self._request("POST", self.ocsp_url, request)
        try:
            load_ocsp_response(body)
        except AttestgwError as exc:
            raise CollateralUnavailableError(
                _FAILED, f"POST {self.ocsp_url}: not an OCSP response ({exc.message})"
            ) from None
        write_atomic(cached, body)
        self.fetched.append(f"ocsp:{name}")
        return body

    def collateral_for(
        self, evidence: Sequence[GpuEvidence], base: GpuCollateral | None = None
    ) -> GpuCollateral:
        """``base`` completed for every device: its RIMs (when ``base`` has none) and OCSP responses
        for the device and RIM chains (when ``base`` has none)."""
        base = base or GpuCollateral()
        rims = list(base.rims)
        ocsp: list[bytes] = list(base.ocsp_responses)
        fetch_rims, fetch_ocsp = not base.rims, not base.ocsp_responses
        seen: set[bytes] = set()
        for item in evidence:
            pem = item.certificate_chain if item.certificate_chain is not None else base.certificate_chain
            if pem is None:
                raise CollateralUnavailableError(_UNAVAILABLE, "a device carries no certificate chain")
            chain = pem_certificates(pem, code="nvidia.chain_invalid")
            arch = arch_of(common_name(load_certificate(chain[0], code="nvidia.chain_invalid")))
            pairs = _pairs(chain, 1)
            if fetch_rims:
                for rim_id in rim_ids(item, arch):
                    raw = self.rim(rim_id)
                    if raw not in rims:
                        rims.append(raw)
            for raw in rims:
                pairs += _pairs(parse_rim(raw).signature.certificates, 0)
            if fetch_ocsp:
                for cert, issuer in pairs:
                    if cert not in seen:
                        seen.add(cert)
                        ocsp.append(self.ocsp(cert, issuer))
        return GpuCollateral(
            certificate_chain=base.certificate_chain, rims=tuple(rims), ocsp_responses=tuple(ocsp)
        )

    # -- plumbing ---------------------------------------------------------------------------------

    def _require_network(self, what: str) -> None:
        if not self.allow_network:
            raise CollateralUnavailableError(
                _UNAVAILABLE, f"{what} is not in the cache {self.cache_dir} and network access is off"
            )

    def _request(self, method: str, url: str, body: bytes | None) -> bytes:
        headers = {"content-type": "application/ocsp-request"} if body is not None else None
        return self.download(method, url, content=body, headers=headers)[0]
