"""NVIDIA Reference Integrity Manifests: signed ISO/IEC 19770-2 SWID tags (formats.md §4.6).

Parsing is safe by construction (lxml with ``resolve_entities=False``, ``no_network=True``, no DTD
loading, ``huge_tree`` off, a size cap): a document with a DOCTYPE is refused outright, so external
entities, entity expansion and DTD tricks never reach the XML reader's output. Attributes in the
``xml:`` namespace are refused too, which makes inclusive C14N 1.0 (what lxml implements) produce
exactly the C14N 1.1 bytes the RIM signature names: the two differ only in how ``xml:`` attributes
of omitted ancestors are inherited.

:func:`parse_rim` checks the shape attestgw accepts and nothing more:

- root ``SoftwareIdentity`` (SWID namespace), ``Meta`` with ``colloquialVersion``, ``Payload`` of
  ``Resource type="Measurement"`` entries (``index``, ``active``, ``alternatives``, ``Hash0..``
  in the xmlenc#sha384 namespace, ``size``);
- **exactly one** ``ds:Signature`` in the whole document, a child of the root, holding exactly
  ``SignedInfo`` (one ``CanonicalizationMethod``, ``SignatureMethod`` and ``Reference``),
  ``SignatureValue`` and ``KeyInfo/X509Data/X509Certificate+`` — nothing else, so no content can
  hide inside the signature (e.g. a ``ds:Object``) where the reference digest does not reach.

The content it returns is ``unverified_content``: for choosing which RIM to try, never for
decisions. :func:`canonical_octets` gives the two byte strings the signature covers (the document
without its signature, and ``SignedInfo``), and :func:`content_from_canonical` re-parses the
former: after the verifier has checked digest and signature over exactly those bytes, it reads the
reference values **only** from them (signature wrapping cannot substitute other content).

Errors: ``FormatError("nvidia.rim_malformed")``. Not checked here: algorithms, digests, signatures,
certificates (``attestgw.verify.nvidia.rim``).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from lxml import etree

from attestgw.errors import FormatError

__all__ = [
    "DS_NS",
    "MAX_RIM_SIZE",
    "SWID_NS",
    "RimContent",
    "RimMeasurement",
    "SignatureInfo",
    "UnverifiedRim",
    "canonical_octets",
    "content_from_canonical",
    "parse_rim",
]

SWID_NS = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
_HASH_NS = "http://www.w3.org/2001/04/xmlenc#sha384"
_XML_NS = "http://www.w3.org/XML/1998/namespace"
_CODE = "nvidia.rim_malformed"
MAX_RIM_SIZE = 512 * 1024  # NVIDIA RIMs are ~20-26 KiB
_MAX_MEASUREMENTS = 1024
_MAX_ALTERNATIVES = 16
_MAX_CERTS = 8
_HEX96 = re.compile(r"[0-9a-fA-F]{96}")
_INT = re.compile(r"[0-9]{1,4}")


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


@dataclass(frozen=True, slots=True)
class RimMeasurement:
    """One golden measurement: RIM ``index`` (0-based; SPDM block ``index + 1``) and its alternatives."""

    index: int
    active: bool
    alternatives: tuple[bytes, ...]
    size: int
    name: str


@dataclass(frozen=True, slots=True)
class RimContent:
    tag_id: str
    name: str
    version: str
    product: str
    edition: str
    measurements: tuple[RimMeasurement, ...]

    @property
    def active(self) -> tuple[RimMeasurement, ...]:
        return tuple(m for m in self.measurements if m.active)


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    """The enveloped signature's parameters, as written (checked by the verifier)."""

    canonicalization: str
    signature_method: str
    reference_uri: str
    transforms: tuple[str, ...]
    digest_method: str
    digest_value: bytes
    signature_value: bytes
    certificates: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class UnverifiedRim:
    raw: bytes
    signature: SignatureInfo
    unverified_content: RimContent


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def _safe_root(data: bytes) -> etree._Element:
    data = bytes(data)
    if len(data) > MAX_RIM_SIZE:
        raise FormatError(_CODE, f"RIM is {len(data)} bytes, at most {MAX_RIM_SIZE}")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise FormatError(_CODE, "RIM carries a DOCTYPE or entity declaration (refused, never expanded)")
    try:
        root = etree.fromstring(data, _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise FormatError(_CODE, f"RIM is not well-formed XML ({str(exc)[:120]})") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise FormatError(_CODE, "RIM carries a DOCTYPE (refused)")
    for element in root.iter():
        if not isinstance(element.tag, str):  # comments and processing instructions
            continue
        if any(name.startswith(f"{{{_XML_NS}}}") for name in element.attrib):
            raise FormatError(_CODE, "RIM uses xml: attributes (refused: C14N 1.0 and 1.1 would differ)")
    if root.tag != _q(SWID_NS, "SoftwareIdentity"):
        raise FormatError(_CODE, f"root element {root.tag!r}, want SWID SoftwareIdentity")
    return root


def _one(parent: etree._Element, ns: str, name: str) -> etree._Element:
    found = [c for c in parent if c.tag == _q(ns, name)]
    if len(found) != 1:
        raise FormatError(_CODE, f"{parent.tag.rsplit('}', 1)[-1]} has {len(found)} {name} elements, want 1")
    return found[0]


def _only(parent: etree._Element, names: tuple[str, ...]) -> None:
    for child in parent:
        if not isinstance(child.tag, str):
            continue
        if child.tag not in tuple(_q(DS_NS, n) for n in names):
            raise FormatError(_CODE, f"unexpected {child.tag!r} inside {parent.tag.rsplit('}', 1)[-1]}")


def _b64(text: str | None, what: str) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise FormatError(_CODE, f"{what} is not base64") from None


def _algorithm(element: etree._Element) -> str:
    return str(element.get("Algorithm", ""))


def _signature(root: etree._Element) -> SignatureInfo:
    signatures = list(root.iter(_q(DS_NS, "Signature")))
    if len(signatures) != 1 or signatures[0].getparent() is not root:
        raise FormatError(
            _CODE, f"{len(signatures)} ds:Signature elements, want exactly one child of the root"
        )
    sig = signatures[0]
    _only(sig, ("SignedInfo", "SignatureValue", "KeyInfo"))
    info = _one(sig, DS_NS, "SignedInfo")
    _only(info, ("CanonicalizationMethod", "SignatureMethod", "Reference"))
    ref = _one(info, DS_NS, "Reference")
    _only(ref, ("Transforms", "DigestMethod", "DigestValue"))
    transforms = _one(ref, DS_NS, "Transforms")
    _only(transforms, ("Transform",))
    x509_data = _one(_one(sig, DS_NS, "KeyInfo"), DS_NS, "X509Data")
    _only(x509_data, ("X509Certificate",))
    certs = tuple(_b64(c.text, "X509Certificate") for c in x509_data if c.tag == _q(DS_NS, "X509Certificate"))
    if not 1 <= len(certs) <= _MAX_CERTS:
        raise FormatError(_CODE, f"KeyInfo carries {len(certs)} certificates, want 1..{_MAX_CERTS}")
    for element in sig.iter():
        if (
            isinstance(element.tag, str)
            and len(element)
            and element.tag
            in (
                _q(DS_NS, "CanonicalizationMethod"),
                _q(DS_NS, "SignatureMethod"),
                _q(DS_NS, "DigestMethod"),
                _q(DS_NS, "Transform"),
            )
        ):
            raise FormatError(_CODE, "an algorithm element has children (parameters are not supported)")
    return SignatureInfo(
        canonicalization=_algorithm(_one(info, DS_NS, "CanonicalizationMethod")),
        signature_method=_algorithm(_one(info, DS_NS, "SignatureMethod")),
        reference_uri=str(ref.get("URI")) if ref.get("URI") is not None else "<absent>",
        transforms=tuple(_algorithm(t) for t in transforms if isinstance(t.tag, str)),
        digest_method=_algorithm(_one(ref, DS_NS, "DigestMethod")),
        digest_value=_b64(_one(ref, DS_NS, "DigestValue").text, "DigestValue"),
        signature_value=_b64(_one(sig, DS_NS, "SignatureValue").text, "SignatureValue"),
        certificates=certs,
    )


def _measurement(res: etree._Element) -> RimMeasurement:
    where = f"Resource {res.get('name', '?')!r}"
    index_text, alt_text, size_text = res.get("index", ""), res.get("alternatives", ""), res.get("size", "")
    if not (_INT.fullmatch(index_text) and _INT.fullmatch(alt_text) and _INT.fullmatch(size_text)):
        raise FormatError(_CODE, f"{where}: index, alternatives and size must be decimal numbers")
    count = int(alt_text)
    if not 1 <= count <= _MAX_ALTERNATIVES or int(size_text) != 48:
        raise FormatError(_CODE, f"{where}: alternatives {count} (want 1..16), size {size_text} (want 48)")
    active = res.get("active", "")
    if active not in ("True", "False"):
        raise FormatError(_CODE, f"{where}: active is {active!r}, want True or False")
    hashes = {
        name[len(_HASH_NS) + 2 :]: value
        for name, value in res.attrib.items()
        if name.startswith(f"{{{_HASH_NS}}}")
    }
    if set(hashes) != {f"Hash{i}" for i in range(count)}:
        raise FormatError(
            _CODE, f"{where}: hash attributes {sorted(hashes)} do not match alternatives={count}"
        )
    values = []
    for i in range(count):
        if not _HEX96.fullmatch(hashes[f"Hash{i}"]):
            raise FormatError(_CODE, f"{where}: Hash{i} is not 96 hex digits")
        values.append(bytes.fromhex(hashes[f"Hash{i}"]))
    return RimMeasurement(int(index_text), active == "True", tuple(values), 48, str(res.get("name", "")))


def _content(root: etree._Element) -> RimContent:
    meta = _one(root, SWID_NS, "Meta")
    version = meta.get("colloquialVersion")
    if not version or len(version) > 64:
        raise FormatError(_CODE, "Meta has no colloquialVersion")
    measurements: list[RimMeasurement] = []
    seen: set[int] = set()
    for res in _one(root, SWID_NS, "Payload"):
        if not isinstance(res.tag, str):
            continue
        if res.tag != _q(SWID_NS, "Resource") or res.get("type") != "Measurement":
            raise FormatError(
                _CODE, f"Payload holds {res.tag!r} type {res.get('type')!r}, want Measurement resources"
            )
        m = _measurement(res)
        if m.index in seen or len(measurements) >= _MAX_MEASUREMENTS:
            raise FormatError(
                _CODE, f"measurement index {m.index} repeated, or more than {_MAX_MEASUREMENTS}"
            )
        seen.add(m.index)
        measurements.append(m)
    return RimContent(
        tag_id=str(root.get("tagId", "")),
        name=str(root.get("name", "")),
        version=version,
        product=str(meta.get("product", "")),
        edition=str(meta.get("edition", "")),
        measurements=tuple(measurements),
    )


def parse_rim(data: bytes) -> UnverifiedRim:
    """Parse a RIM's structure and signature parameters (see the module docstring)."""
    root = _safe_root(data)
    return UnverifiedRim(raw=bytes(data), signature=_signature(root), unverified_content=_content(root))


def canonical_octets(rim: UnverifiedRim) -> tuple[bytes, bytes]:
    """``(document, signed_info)``: C14N of the document with its signature removed (the enveloped
    transform, keeping the text that followed it), and C14N of ``SignedInfo`` in context."""
    root = _safe_root(rim.raw)
    sig = _one(root, DS_NS, "Signature")
    signed_info = etree.tostring(_one(sig, DS_NS, "SignedInfo"), method="c14n")
    previous = sig.getprevious()
    if sig.tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + sig.tail
        else:
            root.text = (root.text or "") + sig.tail
    root.remove(sig)
    return etree.tostring(root, method="c14n"), signed_info


def content_from_canonical(document: bytes) -> RimContent:
    """The reference values read from the canonical, signed document bytes only."""
    root = _safe_root(document)
    if list(root.iter(_q(DS_NS, "Signature"))):
        raise FormatError(_CODE, "the signed document still holds a signature")
    return _content(root)
