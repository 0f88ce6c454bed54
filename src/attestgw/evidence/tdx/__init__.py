"""Intel TDX / SGX DCAP quote formats (v3, v4, v5) and the CC / TCG crypto-agile event log.

Pure format layer (L1): parse bytes into frozen dataclasses and serialize them back byte for byte.
No signature, certificate, collateral or policy check happens here; see docs/tdx-format.md.
"""

from attestgw.evidence.tdx.body import (
    BODY_SIZES,
    TD10_BODY_SIZE,
    TD15_BODY_SIZE,
    BodyType,
    TdQuoteBody,
    body_type_of,
    parse_body,
    serialize_body,
)
from attestgw.evidence.tdx.eventlog import (
    EV_NO_ACTION,
    TPM_ALG_SHA1,
    TPM_ALG_SHA256,
    TPM_ALG_SHA384,
    TPM_ALG_SHA512,
    DigestAlgorithm,
    EventLog,
    LogEvent,
    SpecIdEvent,
    parse_event_log,
    replay_rtmrs,
    serialize_event_log,
)
from attestgw.evidence.tdx.header import (
    HEADER_SIZE,
    INTEL_QE_VENDOR_ID,
    AttestationKeyType,
    QuoteHeader,
    TeeType,
    parse_header,
    serialize_header,
)
from attestgw.evidence.tdx.qe_report import (
    ENCLAVE_REPORT_SIZE,
    EnclaveReport,
    parse_enclave_report,
    serialize_enclave_report,
)
from attestgw.evidence.tdx.quote import MAX_QUOTE_SIZE, Quote, parse_quote, serialize_quote
from attestgw.evidence.tdx.signature import (
    CertificationData,
    CertType,
    QeReportCertData,
    QuoteSignatureData,
    parse_signature_data,
    serialize_signature_data,
)

__all__ = [
    "BODY_SIZES",
    "ENCLAVE_REPORT_SIZE",
    "EV_NO_ACTION",
    "HEADER_SIZE",
    "INTEL_QE_VENDOR_ID",
    "MAX_QUOTE_SIZE",
    "TD10_BODY_SIZE",
    "TD15_BODY_SIZE",
    "TPM_ALG_SHA1",
    "TPM_ALG_SHA256",
    "TPM_ALG_SHA384",
    "TPM_ALG_SHA512",
    "AttestationKeyType",
    "BodyType",
    "CertType",
    "CertificationData",
    "DigestAlgorithm",
    "EnclaveReport",
    "EventLog",
    "LogEvent",
    "QeReportCertData",
    "Quote",
    "QuoteHeader",
    "QuoteSignatureData",
    "SpecIdEvent",
    "TdQuoteBody",
    "TeeType",
    "body_type_of",
    "parse_body",
    "parse_enclave_report",
    "parse_event_log",
    "parse_header",
    "parse_quote",
    "parse_signature_data",
    "replay_rtmrs",
    "serialize_body",
    "serialize_enclave_report",
    "serialize_event_log",
    "serialize_header",
    "serialize_quote",
    "serialize_signature_data",
]
