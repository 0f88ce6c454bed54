"""Every DCAP quote in the shared corpus parses, round-trips byte for byte and shows the fields that
MANIFEST.json's builder checks state (version, tee type, body type, used length, FMSPC, PCESVN,
TEE_TCB_SVN, MRTD and REPORTDATA prefixes)."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

import pytest

from attestgw.errors import FormatError
from attestgw.evidence.tdx import (
    INTEL_QE_VENDOR_ID,
    BodyType,
    CertType,
    TeeType,
    parse_quote,
    serialize_quote,
)
from tests.conftest import CORPUS, corpus_file

pytestmark = pytest.mark.corpus

# The one corpus quote whose trailing bytes are not zero padding: go-tdx-guest appended
# "\nextra bytes (only for testing purpose)\n" to test exactly this refusal.
NONZERO_TRAILING = {"tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat"}

_CHECK = re.compile(
    r"\[dcap-quote\] v(?P<version>\d) tee=(?P<tee>\w+) body_type=(?P<body_type>\d) "
    r"len=(?P<len>\d+) \(used (?P<used>\d+)\).*?fmspc=(?P<fmspc>[0-9a-f]{12}) pcesvn=(?P<pcesvn>\d+) "
    r"(?P<fields>\{.*\})"
)
_BODY = {0: BodyType.SGX, 1: BodyType.SGX, 2: BodyType.TD10, 3: BodyType.TD15}
# DER of the SGX extension OIDs 1.2.840.113741.1.13.1.4 (FMSPC) and .1.13.1.2.17 (PCESVN).
_FMSPC_OID = bytes.fromhex("060a2a864886f84d010d0104")
_PCESVN_OID = bytes.fromhex("060b2a864886f84d010d010211")


@dataclass(frozen=True)
class Expected:
    path: str
    version: int
    tee: str
    body_type: BodyType
    length: int
    used: int
    fmspc: str
    pcesvn: int
    fields: dict[str, str]


def _manifest_quotes() -> list[Expected]:
    manifest = CORPUS / "MANIFEST.json"
    if not manifest.is_file():
        return []
    out = []
    for entry in json.loads(manifest.read_text())["files"]:
        path = entry["file"]
        if not path.startswith(("tdx/", "azure/")):
            continue
        for check in entry.get("builder_checks", []):
            match = _CHECK.search(check)
            if match and check.startswith("PASS [dcap-quote]"):
                out.append(
                    Expected(
                        path=path,
                        version=int(match["version"]),
                        tee=match["tee"],
                        body_type=_BODY[int(match["body_type"])],
                        length=int(match["len"]),
                        used=int(match["used"]),
                        fmspc=match["fmspc"],
                        pcesvn=int(match["pcesvn"]),
                        fields=json.loads(match["fields"].replace("'", '"')),
                    )
                )
    return out


QUOTES = _manifest_quotes()


def _leaf_der(pem_blocks: tuple[bytes, ...]) -> bytes:
    body = pem_blocks[0].split(b"-----")[2]
    return base64.b64decode(b"".join(body.split()))


def _sgx_ext(der: bytes, oid: bytes, tag: int) -> bytes:
    at = der.index(oid) + len(oid)
    assert der[at] == tag, f"unexpected DER tag {der[at]:#x}"
    return der[at + 2 : at + 2 + der[at + 1]]


def test_manifest_lists_the_corpus_quotes() -> None:
    if not QUOTES:
        pytest.skip(f"corpus MANIFEST.json not found under {CORPUS}")
    paths = {q.path for q in QUOTES}
    # Both Azure TDX quotes are TD quotes; the Azure quote.bin files are TPM quotes and not listed.
    assert {"azure/openpcc/azure_tdx_quote.bin", "azure/trustee-az-tdx/td-quote.bin"} <= paths
    assert not any(p.endswith("/quote.bin") and p.startswith("azure/") for p in paths)
    assert len(paths) >= 25


@pytest.mark.parametrize("exp", QUOTES, ids=[f"{q.path}" for q in QUOTES])
def test_corpus_quote_fields_match_manifest(exp: Expected) -> None:
    raw = corpus_file(exp.path).read_bytes()
    if exp.path.endswith(".json"):  # dstack verifier fixtures: {"quote": "<hex>", "event_log": ...}
        raw = json.loads(raw)["quote"].encode()
    if exp.path in NONZERO_TRAILING:
        with pytest.raises(FormatError) as refused:
            parse_quote(raw)
        assert refused.value.code == "tdx.oversized"
        quote = parse_quote(raw, allow_trailing=True)
    else:
        quote = parse_quote(raw)

    assert serialize_quote(quote) == quote.raw
    assert len(quote.raw) == exp.length
    assert len(quote.raw) - len(quote.padding) == exp.used
    if exp.path not in NONZERO_TRAILING:
        assert not any(quote.padding)
    assert quote.version == exp.version
    assert quote.header.tee_type is (TeeType.TDX if exp.tee == "TDX" else TeeType.SGX)
    assert quote.is_tdx is (exp.tee == "TDX")
    assert quote.body_type is exp.body_type
    assert quote.header.qe_vendor_id == INTEL_QE_VENDOR_ID
    assert len(quote.attestation_key) == 64
    assert len(quote.signature) == 64

    qe = quote.qe_report_cert
    assert qe is not None
    assert qe.certification.cert_type is CertType.PCK_CERT_CHAIN
    assert len(qe.qe_report_signature) == 64
    blocks = qe.certification.pem_certificates
    assert len(blocks) == 3  # PCK leaf, PCK Platform/Processor CA, Intel SGX Root CA
    assert quote.pck_chain_pem is not None
    assert quote.pck_chain_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    leaf = _leaf_der(blocks)
    assert _sgx_ext(leaf, _FMSPC_OID, 0x04).hex() == exp.fmspc
    assert int.from_bytes(_sgx_ext(leaf, _PCESVN_OID, 0x02), "big") == exp.pcesvn

    td = quote.td_body
    if exp.tee == "SGX":
        assert td is None
        # v3 header: qe_svn (0x08) is the QE's own ISVSVN, confirming Intel QVL's field order.
        assert quote.header.qe_svn == qe.qe_report.isv_svn
        return
    assert td is not None
    assert td.tee_tcb_svn.hex() == exp.fields["tee_tcb_svn"]
    assert td.mr_td.hex().startswith(exp.fields["mrtd"].rstrip("."))
    assert td.report_data.hex().startswith(exp.fields["report_data"].rstrip("."))
    assert (td.tee_tcb_svn2 is not None) is (exp.body_type is BodyType.TD15)
    assert td.seam_attributes == 0
    descriptor = 6 if exp.version == 5 else 0
    assert quote.signed_bytes == quote.raw[: 48 + descriptor + (648 if td.tee_tcb_svn2 else 584)]


def test_hex_quote_parses_like_its_binary() -> None:
    hex_quote = parse_quote(corpus_file("tdx/automata/samples/quotev4.hex").read_bytes())
    binary = parse_quote(corpus_file("tdx/automata/2025-06/tdx_quote_v4.bin").read_bytes())
    assert hex_quote == binary


def test_sgx_quote_is_recognised_as_sgx() -> None:
    quote = parse_quote(corpus_file("tdx/dcap-qvl/sgx_quote.bin").read_bytes())
    assert not quote.is_tdx
    assert quote.body_type is BodyType.SGX
    assert quote.td_body is None
    assert quote.signed_bytes == quote.raw[:432]


def test_v5_signed_bytes_include_the_body_descriptor() -> None:
    quote = parse_quote(corpus_file("tdx/go-tdx-guest/quote_v5_sample.dat").read_bytes())
    assert quote.signed_bytes[48:54] == bytes.fromhex("0300") + (648).to_bytes(4, "little")
    assert len(quote.signed_bytes) == 48 + 6 + 648
