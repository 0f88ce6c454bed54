"""XML signature verification of RIMs against tampering: every altered RIM is refused with its code.

Built on a RIM the simulated GPU signed exactly like NVIDIA's (and on a real NVIDIA RIM where the
corpus is present): changed digest, changed signature, wrapped and duplicated signature elements,
content hidden inside the signature, external-entity and entity-expansion payloads, other
algorithms or references.
"""

from __future__ import annotations

import re

import pytest

from attestgw.attester.simulated_nvidia import SimulatedNvidiaGpu
from attestgw.errors import AttestgwError, FormatError
from attestgw.evidence.nvidia import parse_rim
from attestgw.verify.nvidia import NVIDIA_TRUST, NvidiaTrustStore
from attestgw.verify.nvidia.rim import verify_rim_signature
from tests.conftest import corpus_file
from tests.unit.nvidia.conftest import AT, trust_for

SIG_START = b"<ds:Signature "


def _verify(gpu: SimulatedNvidiaGpu, data: bytes) -> object:
    return verify_rim_signature(parse_rim(data), at=AT, trust=trust_for(gpu))


def test_untampered_rim_verifies_and_reads_signed_values(gpu: SimulatedNvidiaGpu) -> None:
    checked = _verify(gpu, gpu.vbios_rim())
    assert checked.content.version == gpu.vbios_version  # type: ignore[attr-defined]
    assert {m.index for m in checked.content.active} == {0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11}  # type: ignore[attr-defined]


def _flip_hash(data: bytes) -> bytes:
    match = re.search(rb'ns2:Hash0="([0-9a-f]{96})"', data[data.index(b'active="True"') :])
    assert match is not None
    old = match.group(1)
    return data.replace(old, old[:-1] + (b"0" if old[-1:] != b"0" else b"1"), 1)


def _replace_between(data: bytes, start: bytes, end: bytes, new: bytes) -> bytes:
    i = data.index(start) + len(start)
    return data[:i] + new + data[data.index(end, i) :]


TAMPERS = {
    # a golden value changed after signing: the reference digest no longer matches
    "changed_measurement": (_flip_hash, "nvidia.rim_digest_mismatch"),
    "changed_version": (
        lambda d: d.replace(b'colloquialVersion="96.00.9F.00.01"', b'colloquialVersion="96.00.9F.00.02"'),
        "nvidia.rim_digest_mismatch",
    ),
    # the DigestValue itself changed: it no longer matches the document (checked before SignedInfo)
    "changed_digest_value": (
        lambda d: _replace_between(d, b"<ds:DigestValue>", b"</ds:DigestValue>", b"A" * 64),
        "nvidia.rim_digest_mismatch",
    ),
    "changed_signature": (
        lambda d: _replace_between(d, b"<ds:SignatureValue>", b"</ds:SignatureValue>", b"B" * 128),
        "nvidia.rim_signature_invalid",
    ),
    # a second Signature (duplicated) anywhere
    "duplicated_signature": (
        lambda d: d.replace(
            b"</SoftwareIdentity>",
            d[d.index(SIG_START) : d.index(b"</ds:Signature>") + 15] + b"</SoftwareIdentity>",
        ),
        "nvidia.rim_malformed",
    ),
    # wrapping: attacker content at the top, the signed original moved into a ds:Object
    "wrapped_in_object": (
        lambda d: d.replace(b"</ds:KeyInfo>", b"</ds:KeyInfo><ds:Object>x</ds:Object>"),
        "nvidia.rim_malformed",
    ),
    # the signature nested somewhere other than a child of the root
    "signature_moved_into_payload": (
        lambda d: d.replace(b"</ns0:Payload>\n", b"").replace(
            b"</SoftwareIdentity>", b"</ns0:Payload></SoftwareIdentity>"
        ),
        "nvidia.rim_malformed",
    ),
    "reference_to_id": (lambda d: d.replace(b'URI=""', b'URI="#x"'), "nvidia.rim_signature_unsupported"),
    "sha256_digest": (
        lambda d: d.replace(b"xmldsig-more#sha384", b"xmlenc#sha256"),
        "nvidia.rim_signature_unsupported",
    ),
    "exclusive_c14n": (
        lambda d: d.replace(
            b"http://www.w3.org/2006/12/xml-c14n11", b"http://www.w3.org/2001/10/xml-exc-c14n#"
        ),
        "nvidia.rim_signature_unsupported",
    ),
    "no_enveloped_transform": (
        lambda d: d.replace(
            b'<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>', b""
        ),
        "nvidia.rim_signature_unsupported",
    ),
    "external_entity": (
        lambda d: (
            b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            + d.replace(b'name="Measurement_0"', b'name="&x;"')
        ),
        "nvidia.rim_malformed",
    ),
    "billion_laughs": (
        lambda d: b'<!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>' + d,
        "nvidia.rim_malformed",
    ),
    "xml_base_attribute": (
        lambda d: d.replace(b'corpus="false"', b'corpus="false" xml:base="http://x/"'),
        "nvidia.rim_malformed",
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_tampered_simulated_rim_is_refused(gpu: SimulatedNvidiaGpu, name: str) -> None:
    tamper, code = TAMPERS[name]
    data = tamper(gpu.vbios_rim())
    with pytest.raises(AttestgwError) as err:
        _verify(gpu, data)
    assert err.value.code == code


def test_signature_from_another_signer_is_refused(gpu: SimulatedNvidiaGpu) -> None:
    other = SimulatedNvidiaGpu(enable_simulation=True)
    with pytest.raises(AttestgwError) as err:
        _verify(gpu, other.vbios_rim(version=gpu.vbios_version))
    assert err.value.code == "nvidia.rim_root_not_pinned"


@pytest.mark.parametrize(
    "name", ["changed_measurement", "changed_signature", "duplicated_signature", "external_entity"]
)
def test_tampered_real_nvidia_rim_is_refused(name: str) -> None:
    data = corpus_file("nvidia/nvattest/rims/NV_GPU_DRIVER_GH100_550.144.03.xml").read_bytes()
    tamper, code = TAMPERS[name]
    with pytest.raises(AttestgwError) as err:
        verify_rim_signature(parse_rim(tamper(data)), at=AT.replace(year=2025), trust=trust_for_real())
    assert err.value.code == code


def trust_for_real() -> NvidiaTrustStore:
    return NVIDIA_TRUST


def test_unsigned_text_after_signature_is_not_read(gpu: SimulatedNvidiaGpu) -> None:
    # The enveloped transform keeps the text after the signature in the digest: adding some breaks it.
    data = gpu.vbios_rim().replace(b"</ds:Signature>", b"</ds:Signature>extra")
    with pytest.raises(AttestgwError) as err:
        _verify(gpu, data)
    assert err.value.code == "nvidia.rim_digest_mismatch"


def test_not_xml_is_a_format_error() -> None:
    with pytest.raises(FormatError):
        parse_rim(b"<SoftwareIdentity")
