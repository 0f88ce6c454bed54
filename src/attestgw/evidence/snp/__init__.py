"""AMD SEV-SNP evidence formats: the attestation report, its fields and the certificate table."""

from attestgw.evidence.snp.certtable import (
    ARK_GUID,
    ASK_GUID,
    VCEK_GUID,
    VLEK_GUID,
    CertTable,
    CertTableEntry,
    parse_cert_table,
    serialize_cert_table,
)
from attestgw.evidence.snp.fields import (
    GuestPolicy,
    PlatformInfo,
    Product,
    SignerInfo,
    SigningKey,
    TcbParts,
    TcbVersion,
    product_from_cpuid,
    product_from_name,
)
from attestgw.evidence.snp.hcl import HclReport, is_hcl_report, parse_hcl_report
from attestgw.evidence.snp.report import (
    REPORT_SIZE,
    SIGNED_SIZE,
    AttestationReport,
    ReportSignature,
    parse_report,
    serialize_report,
)

__all__ = [
    "ARK_GUID",
    "ASK_GUID",
    "REPORT_SIZE",
    "SIGNED_SIZE",
    "VCEK_GUID",
    "VLEK_GUID",
    "AttestationReport",
    "CertTable",
    "CertTableEntry",
    "GuestPolicy",
    "HclReport",
    "PlatformInfo",
    "Product",
    "ReportSignature",
    "SignerInfo",
    "SigningKey",
    "TcbParts",
    "TcbVersion",
    "is_hcl_report",
    "parse_cert_table",
    "parse_hcl_report",
    "parse_report",
    "product_from_cpuid",
    "product_from_name",
    "serialize_cert_table",
    "serialize_report",
]
