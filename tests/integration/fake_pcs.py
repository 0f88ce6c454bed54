"""A loopback HTTP server playing Intel PCS, and PCS answers made from a collateral bundle.

The server answers as PCS does: bodies byte-exact, issuer chains URL-encoded in the response headers;
an unknown path is a 404. It records every request path, so a test can say exactly what went over
the wire. :func:`pcs_answers` turns a :class:`CollateralBundle` (e.g. the simulated attester's)
back into the four PCS answers; :func:`serve_bundle` serves them and :func:`fill_cache` writes them
where :class:`~attestgw.collateral.pcs.PcsFetcher` keeps its cache (docs/tdx-collateral.md).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from attestgw.clock import utcnow
from attestgw.collateral.pcs import PcsFetcher
from attestgw.evidence.tdx_collateral import CollateralBundle
from tests.integration.fake_http import FakeService, running

__all__ = [
    "ROOT_PATH",
    "FakePcs",
    "PcsAnswer",
    "fill_cache",
    "pcs_answers",
    "running_fake_pcs",
    "serve_bundle",
]

ROOT_PATH = "/IntelSGXRootCA.der"


class FakePcs(FakeService):
    """Intel PCS on loopback: what it serves, and the requests it saw."""

    @property
    def root_crl_url(self) -> str:
        return self.base_url + ROOT_PATH

    def fetcher(self, cache: Path, *, online: bool = True, now: datetime | None = None) -> PcsFetcher:
        """A :class:`PcsFetcher` for this server, caching under ``cache``; ``now`` fixes its clock."""
        # trust_env=False: a proxy configured in the environment must not intercept loopback traffic.
        return PcsFetcher(
            cache,
            base_url=self.base_url,
            root_crl_url=self.root_crl_url,
            allow_network=online,
            timeout=5.0,
            now=utcnow if now is None else (lambda: now),
            trust_env=False,
        )


def running_fake_pcs() -> AbstractContextManager[FakePcs]:
    """A :class:`FakePcs` listening on 127.0.0.1 (an ephemeral port) until the block ends."""
    return running(FakePcs())


@dataclass(frozen=True)
class PcsAnswer:
    """One PCS answer: the request path (root CRL: :data:`ROOT_PATH`), the fetcher's cache entry
    path, the body, and the issuer-chain header (name, URL-encoded value) when PCS sends one."""

    path: str
    cache_entry: Path
    body: bytes
    chain_header: tuple[str, str] | None


def _signed(member: str, raw: bytes, signature: bytes) -> bytes:
    # PCS wraps the signed object verbatim: Intel's signature covers exactly these bytes.
    return b'{"' + member.encode() + b'":' + raw + b',"signature":"' + signature.hex().encode() + b'"}'


def _encoded(pem: bytes) -> str:
    return quote(pem, safe="")


def pcs_answers(bundle: CollateralBundle, fmspc: str, ca: str = "platform") -> tuple[PcsAnswer, ...]:
    """The TCB info, QE identity, PCK CRL and root CA CRL answers that make up ``bundle``."""
    return (
        PcsAnswer(
            f"/tdx/certification/v4/tcb?fmspc={fmspc}",
            Path("tdx", "tcb", f"{fmspc}.entry"),
            _signed("tcbInfo", bundle.tcb_info.raw, bundle.tcb_info.signature),
            ("TCB-Info-Issuer-Chain", _encoded(bundle.tcb_info_issuer_chain)),
        ),
        PcsAnswer(
            "/tdx/certification/v4/qe/identity",
            Path("tdx", "qe_identity.entry"),
            _signed("enclaveIdentity", bundle.qe_identity.raw, bundle.qe_identity.signature),
            ("SGX-Enclave-Identity-Issuer-Chain", _encoded(bundle.qe_identity_issuer_chain)),
        ),
        PcsAnswer(
            f"/sgx/certification/v4/pckcrl?ca={ca}&encoding=der",
            Path("sgx", f"pckcrl_{ca}.entry"),
            bundle.pck_crl,
            ("SGX-PCK-CRL-Issuer-Chain", _encoded(bundle.pck_crl_issuer_chain)),
        ),
        PcsAnswer(ROOT_PATH, Path("root_ca_crl.entry"), bundle.root_ca_crl, None),
    )


def serve_bundle(pcs: FakePcs, bundle: CollateralBundle, fmspc: str, ca: str = "platform") -> None:
    for answer in pcs_answers(bundle, fmspc, ca):
        headers = dict([answer.chain_header]) if answer.chain_header else {}
        pcs.serve(answer.path, answer.body, **headers)


def fill_cache(cache_dir: Path, bundle: CollateralBundle, fmspc: str, ca: str = "platform") -> None:
    """Write ``bundle`` as the PCS fetcher's cache entries: the issuer-chain header as received, a
    newline, the body (docs/tdx-collateral.md §"Fetching from Intel PCS")."""
    for answer in pcs_answers(bundle, fmspc, ca):
        entry = cache_dir / answer.cache_entry
        entry.parent.mkdir(parents=True, exist_ok=True)
        header = answer.chain_header[1].encode("ascii") if answer.chain_header else b""
        entry.write_bytes(header + b"\n" + answer.body)
