"""Intel DCAP quotes v3 (SGX), v4 and v5 (SGX or TDX): parse and serialize (formats.md §3).

Layout::

    v3 / v4:  header (48) ‖ body ‖ u32 signature_data_len ‖ signature data
    v5:       header (48) ‖ u16 body_type ‖ u32 body_size ‖ body ‖ u32 signature_data_len ‖ signature data

v3 bodies are SGX enclave reports (384 B). v4 bodies follow tee_type: SGX enclave report for 0x00,
TD 1.0 body (584 B) for 0x81. v5 bodies follow body_type (1 SGX, 2 TD 1.0, 3 TD 1.5) and must agree
with tee_type and carry exactly the size of their type.

**Trailing bytes.** Quote producers hand out fixed-size buffers: in the shared corpus 5006-byte and
8000-byte quotes carry 70 and ~3065 zero bytes after the signature data (configfs-tsm / ioctl
buffers), and one go-tdx-guest sample appends ASCII text. Zero padding is accepted and reported in
:attr:`Quote.padding`; any non-zero trailing byte is refused (``tdx.oversized``) unless the caller
passes ``allow_trailing=True``, in which case the bytes are reported there too. Trailing bytes are
never covered by any signature.

The parser checks structure only: version, key type, tee/body consistency, exact sizes, reserved
bytes of SGX report bodies, certification-data shape. It checks **no** signature, no PCK chain, no
QE report binding and no TCB — that is ``attestgw.verify``. Only :class:`FormatError` escapes.
:func:`serialize_quote` of a parsed quote reproduces the input byte for byte.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from attestgw.encoding import decode_blob
from attestgw.errors import FormatError
from attestgw.evidence.tdx.body import (
    BODY_SIZES,
    BodyType,
    TdQuoteBody,
    body_type_of,
    parse_body,
    serialize_body,
)
from attestgw.evidence.tdx.header import (
    HEADER_SIZE,
    QuoteHeader,
    TeeType,
    parse_header,
    serialize_header,
)
from attestgw.evidence.tdx.qe_report import EnclaveReport
from attestgw.evidence.tdx.signature import (
    QeReportCertData,
    QuoteSignatureData,
    parse_signature_data,
    serialize_signature_data,
)

__all__ = ["MAX_QUOTE_SIZE", "Quote", "parse_quote", "serialize_quote"]

#: Upper bound on an input quote (real ones are 4.6–8 KB); bigger input is refused before parsing.
MAX_QUOTE_SIZE = 1 << 20
_V5_BODY_DESCRIPTOR = 6


@dataclass(frozen=True, slots=True)
class Quote:
    """A parsed, **unverified** DCAP quote. ``raw`` holds the exact (decoded) input bytes."""

    header: QuoteHeader
    body_type: BodyType
    body: TdQuoteBody | EnclaveReport
    signature_data: QuoteSignatureData
    padding: bytes
    raw: bytes

    @property
    def version(self) -> int:
        return self.header.version

    @property
    def is_tdx(self) -> bool:
        """True for a TD quote (tee_type 0x81); an SGX quote must be refused by a TDX policy."""
        return self.header.tee_type is TeeType.TDX

    @property
    def td_body(self) -> TdQuoteBody | None:
        """The TD quote body, or ``None`` for an SGX quote."""
        return self.body if isinstance(self.body, TdQuoteBody) else None

    @property
    def signed_length(self) -> int:
        """Length of the prefix the attestation key signs."""
        descriptor = _V5_BODY_DESCRIPTOR if self.header.version == 5 else 0
        return HEADER_SIZE + descriptor + BODY_SIZES[self.body_type]

    @property
    def signed_bytes(self) -> bytes:
        """Exactly what the attestation key signs: header ‖ body (v3/v4), header ‖ body_type ‖
        body_size ‖ body (v5), sliced from the input bytes."""
        return self.raw[: self.signed_length]

    @property
    def signature(self) -> bytes:
        """The quote signature: raw ECDSA P-256 ``r‖s``, 32 + 32 bytes big-endian."""
        return self.signature_data.signature

    @property
    def attestation_key(self) -> bytes:
        """The attestation public key: raw P-256 ``x‖y``, 64 bytes, no 0x04 prefix."""
        return self.signature_data.attestation_key

    @property
    def qe_report_cert(self) -> QeReportCertData | None:
        """QE report, its signature, QE auth data and PCK chain; ``None`` for other cert types."""
        return self.signature_data.qe_report_cert

    @property
    def pck_chain_pem(self) -> bytes | None:
        """The raw PCK chain (PEM, possibly NUL-terminated) from certification data type 5."""
        return self.signature_data.pck_chain_pem


def parse_quote(data: bytes, *, allow_trailing: bool = False) -> Quote:
    """Parse a quote given as raw bytes, hex or base64 (auto-detected).

    Raises :class:`~attestgw.errors.FormatError` (and nothing else): ``tdx.truncated``,
    ``tdx.oversized``, ``tdx.unknown_version``, ``tdx.unsupported_key_type``,
    ``tdx.unknown_tee_type``, ``tdx.body_type_invalid``, ``tdx.cert_data_invalid``,
    ``tdx.reserved_nonzero``.
    """
    blob = decode_blob(bytes(data))
    if len(blob) > MAX_QUOTE_SIZE:
        raise FormatError("tdx.oversized", f"quote is {len(blob)} bytes, limit {MAX_QUOTE_SIZE}")
    header = parse_header(blob)
    pos = HEADER_SIZE
    if header.version == 5:
        if len(blob) < pos + _V5_BODY_DESCRIPTOR:
            raise FormatError("tdx.truncated", "v5 quote ends inside its body type / size")
        raw_type, body_size = struct.unpack_from("<HI", blob, pos)
        pos += _V5_BODY_DESCRIPTOR
        if raw_type not in BodyType.__members__.values():
            raise FormatError("tdx.body_type_invalid", f"v5 body type {raw_type}, want 1, 2 or 3")
        body_type = BodyType(raw_type)
        if body_size != BODY_SIZES[body_type]:
            raise FormatError(
                "tdx.body_type_invalid",
                f"v5 {body_type.name} body size {body_size}, want {BODY_SIZES[body_type]}",
            )
        if (body_type is BodyType.SGX) != (header.tee_type is TeeType.SGX):
            raise FormatError(
                "tdx.body_type_invalid",
                f"v5 body type {body_type.name} does not match tee_type {header.tee_type.name}",
            )
    else:
        body_type = BodyType.SGX if header.tee_type is TeeType.SGX else BodyType.TD10
    body_end = pos + BODY_SIZES[body_type]
    if len(blob) < body_end + 4:
        raise FormatError(
            "tdx.truncated", f"quote is {len(blob)} bytes, its {body_type.name} body needs {body_end + 4}"
        )
    body = parse_body(body_type, blob[pos:body_end])
    sig_len = int(struct.unpack_from("<I", blob, body_end)[0])
    sig_end = body_end + 4 + sig_len
    if len(blob) < sig_end:
        raise FormatError(
            "tdx.truncated", f"signature data announces {sig_len} bytes, only {len(blob) - body_end - 4} left"
        )
    signature_data = parse_signature_data(blob[body_end + 4 : sig_end], header.version)
    padding = blob[sig_end:]
    if any(padding) and not allow_trailing:
        raise FormatError(
            "tdx.oversized",
            f"{len(padding)} bytes after the signature data are not zero padding "
            "(pass allow_trailing=True to accept and report them)",
        )
    return Quote(header, body_type, body, signature_data, padding, blob)


def serialize_quote(quote: Quote) -> bytes:
    """Encode ``quote`` from its fields, padding included.

    For a quote returned by :func:`parse_quote` the result equals ``quote.raw``. Raises
    ``ValueError`` on wrong-sized fields or a body whose kind disagrees with ``body_type``; use
    :func:`parse_quote` on the output for the format checks.
    """
    header = quote.header
    if body_type_of(quote.body) is not quote.body_type:
        raise ValueError(f"body is {body_type_of(quote.body).name}, body_type says {quote.body_type.name}")
    if header.version != 5 and quote.body_type is BodyType.TD15:
        raise ValueError("a TD 1.5 body needs a v5 quote")
    body = serialize_body(quote.body)
    descriptor = struct.pack("<HI", quote.body_type, len(body)) if header.version == 5 else b""
    sig = serialize_signature_data(quote.signature_data, header.version)
    return serialize_header(header) + descriptor + body + struct.pack("<I", len(sig)) + sig + quote.padding
