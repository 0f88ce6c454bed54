"""Read the TDX quote + collateral combinations that ``../shared/corpus/MANIFEST.md`` lists.

The MANIFEST section "TDX / SGX: quote + complete PCS collateral" names, per quote, files for TCB
info, QE identity, PCK CRL and root CRL whose validity windows overlap, and that window. This
module turns one such line into a :class:`~attestgw.evidence.tdx_collateral.CollateralBundle`
(adding the issuer chains those files were served with) and a time inside the window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote_to_bytes

from attestgw.clock import parse_instant
from attestgw.evidence.tdx_collateral import (
    CollateralBundle,
    parse_bundle,
    parse_qe_identity_response,
    parse_tcb_info_response,
)
from tests.conftest import CORPUS

__all__ = ["CORPUS", "SECTION", "Combination", "bundle_for", "combinations", "read"]

SECTION = "### TDX / SGX: quote + complete PCS collateral"
_LINE = re.compile(
    r"^- (?P<quote>\S+) \((?P<tee>TDX|SGX), fmspc (?P<fmspc>[0-9a-f]{12}), Intel SGX PCK (?P<ca>\w+) CA\):"
    r".*latest window (?P<start>\S+)\.\.(?P<end>\S+) using tcbInfo=(?P<tcb>[^,]+), qeIdentity=(?P<qe>[^,]+), "
    r"pckCrl=(?P<pck>[^,]+), rootCrl=(?P<root>[^;]+); PCK revoked=(?P<revoked>\w+)"
)
# The issuer chains Intel PCS sent with these responses (URL-encoded PEM headers). go-tdx-guest's
# 2023 collateral was signed by a TCB Signing certificate that expired 2025-05-21.
_GO_TCB_CHAIN = "tdx/go-tdx-guest/collateral/tcb_signing_issuer_chain.pem"
_GO_PCK_CHAIN = "tdx/go-tdx-guest/collateral/pck_crl_issuer_chain.pem"
_TCB_CHAIN = "tdx/tinfoil/collateral/tcb_info_90c06f000000_chain.txt"
_PCK_CHAINS = {
    "platform": "tdx/tinfoil/collateral/pck_crl_platform_chain.txt",
    "processor": "tdx/tinfoil/collateral/pck_crl_processor_chain.txt",
}


@dataclass(frozen=True, slots=True)
class Combination:
    quote: str
    tdx: bool
    fmspc: str
    ca: str
    start: datetime
    end: datetime
    tcb_info: str
    qe_identity: str
    pck_crl: str
    root_crl: str
    pck_revoked: bool

    @property
    def inside(self) -> datetime:
        """The middle of the window (its ends are rounded to minutes in MANIFEST.md)."""
        return self.start + (self.end - self.start) / 2


def read(rel: str) -> bytes:
    return (CORPUS / rel).read_bytes()


def _chain(rel: str) -> bytes:
    return unquote_to_bytes(read(rel))


def combinations() -> list[Combination]:
    """Every line of the MANIFEST section (empty when the corpus is absent)."""
    manifest = CORPUS / "MANIFEST.md"
    if not manifest.is_file():
        return []
    text = manifest.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :].split("\n### ", 1)[0]
    out = []
    for line in section.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        g = match.groupdict()
        out.append(
            Combination(
                quote=g["quote"],
                tdx=g["tee"] == "TDX",
                fmspc=g["fmspc"],
                ca=g["ca"].lower(),
                start=parse_instant(g["start"]),
                end=parse_instant(g["end"]),
                tcb_info=g["tcb"],
                qe_identity=g["qe"],
                pck_crl=g["pck"],
                root_crl=g["root"].strip(),
                pck_revoked=g["revoked"] == "True",
            )
        )
    return out


def _from_bundle(ref: str) -> CollateralBundle | None:
    path, _, fragment = ref.partition("#")
    return parse_bundle(read(path)) if fragment else None


def bundle_for(combo: Combination) -> CollateralBundle:
    """The bundle MANIFEST names for ``combo``, with the issuer chains its files came with."""
    tcb_src, qe_src, pck_src = (_from_bundle(r) for r in (combo.tcb_info, combo.qe_identity, combo.pck_crl))
    go = "go-tdx-guest/" in combo.tcb_info
    if tcb_src is not None:
        tcb_info, tcb_chain = tcb_src.tcb_info, tcb_src.tcb_info_issuer_chain
    else:
        tcb_info = parse_tcb_info_response(read(combo.tcb_info))
        tcb_chain = _chain(_GO_TCB_CHAIN if go else _TCB_CHAIN)
    if qe_src is not None:
        qe_identity, qe_chain = qe_src.qe_identity, qe_src.qe_identity_issuer_chain
    else:
        qe_identity = parse_qe_identity_response(read(combo.qe_identity))
        qe_chain = _chain(_GO_TCB_CHAIN if "go-tdx-guest/" in combo.qe_identity else _TCB_CHAIN)
    if pck_src is not None:
        pck_crl, pck_chain = pck_src.pck_crl, pck_src.pck_crl_issuer_chain
    else:
        pck_crl = read(combo.pck_crl)
        pck_chain = _chain(_GO_PCK_CHAIN if "go-tdx-guest/" in combo.pck_crl else _PCK_CHAINS[combo.ca])
    return CollateralBundle(
        pck_crl_issuer_chain=pck_chain,
        root_ca_crl=read(combo.root_crl),
        pck_crl=pck_crl,
        tcb_info_issuer_chain=tcb_chain,
        tcb_info=tcb_info,
        qe_identity_issuer_chain=qe_chain,
        qe_identity=qe_identity,
    )
