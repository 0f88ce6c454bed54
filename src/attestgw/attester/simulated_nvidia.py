"""A simulated NVIDIA GPU: device PKI, SPDM reports, signed RIMs and OCSP responses (opt-in only).

Shaped like NVIDIA's (formats.md §4): a P-384 device chain ``GH100 A01 GSP FMC LF`` (leaf, with the
DICE FWID extension) ← ``GH100 A01 GSP BROM`` ← ``NVIDIA GH100 Identity`` ← ``NVIDIA Device Identity
CA``; a RIM chain ``HCC RIM L4 Signer`` ← ``NVIDIA Reference Value GH100 CA`` ← ``NVIDIA CoRIM
signing Root CA``; SPDM 1.1 GET_MEASUREMENTS transcripts signed by the leaf key with NVIDIA's opaque
TLVs; driver and VBIOS RIMs signed like NVIDIA's; OCSP responses signed by each certificate's issuer.
Only the root fingerprints tell it apart; a verifier trusts them only through
``NVIDIA_TRUST.with_simulated(...)`` and marks the results simulated.

Every piece takes overrides for negative tests: another nonce, opaque TLVs, measurement values, a
broken signature; revoked, on-hold, stale or unknown OCSP answers. Constructing a GPU is refused
(``config.simulation_disabled``) unless simulation is enabled (:mod:`._simulation_gate`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509

from attestgw.attester._nvidia_rim import build_signed_rim
from attestgw.attester._simulation_gate import require_simulation_enabled
from attestgw.crypto.ocsp import build_ocsp_response
from attestgw.crypto.signing import (
    P384PrivateKey,
    build_certificate,
    generate_p384_key,
    pem_bundle,
    sign_p384_sha384,
)
from attestgw.crypto.x509 import cert_sha256, load_certificate
from attestgw.evidence.nvidia import OpaqueType

__all__ = ["DRIVER_INDICES", "VBIOS_INDICES", "SimulatedNvidiaGpu"]

_START = datetime(2022, 1, 1, tzinfo=UTC)
_FAR = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
_NV = (("O", "NVIDIA Corporation"), ("C", "US"))
DRIVER_INDICES = (7, *range(21, 41))
VBIOS_INDICES = (*range(0, 7), *range(8, 12))
_BLOCKS = 64


@dataclass(frozen=True, slots=True)
class _Node:
    key: P384PrivateKey
    der: bytes
    subject: tuple[tuple[str, str], ...]

    @property
    def cert(self) -> x509.Certificate:
        return load_certificate(self.der)


def _node(
    cn: str,
    issuer: _Node | None,
    *,
    ca: bool,
    end: datetime,
    serial: int,
    ext: Sequence[tuple[str, bytes]] = (),
) -> _Node:
    key = generate_p384_key()
    subject = (("CN", cn), *_NV)
    der = build_certificate(
        subject=subject,
        issuer=issuer.subject if issuer else subject,
        public_key=key.public_key(),
        issuer_key=issuer.key if issuer else key,
        serial=serial,
        not_before=_START,
        not_after=end,
        ca=ca,
        extensions=ext,
    )
    return _Node(key, der, subject)


def _fwid_extension(fwid: bytes) -> bytes:
    """DER of the Hopper-style DICE value: SEQUENCE { INTEGER 1, SEQUENCE {} (no SPKI), FWID }."""
    alg = bytes.fromhex("0609608648016503040202")
    fw = b"\x30" + bytes((len(alg) + 2 + len(fwid),)) + alg + b"\x04" + bytes((len(fwid),)) + fwid
    spki = b"\x30\x00"
    inner = b"\x02\x01\x01" + spki + fw
    return b"\x30" + bytes((len(inner),)) + inner


@dataclass
class SimulatedNvidiaGpu:
    """One simulated Hopper GPU with its own device chain, RIM signer and measurements."""

    enable_simulation: bool = False
    driver_version: str = "570.124.06"
    vbios_version: str = "96.00.9F.00.01"
    rim_valid_until: datetime = datetime(2030, 1, 1, tzinfo=UTC)
    measurements: dict[int, bytes] = field(default_factory=dict)
    fwid: bytes = b""

    def __post_init__(self) -> None:
        require_simulation_enabled(self.enable_simulation, "SimulatedNvidiaGpu")
        if not self.measurements:
            self.measurements = {i: hashlib.sha384(os.urandom(16)).digest() for i in range(_BLOCKS)}
        self.fwid = self.fwid or hashlib.sha384(os.urandom(16)).digest()
        root = _node("NVIDIA Device Identity CA", None, ca=True, end=_FAR, serial=0x100)
        identity = _node("NVIDIA GH100 Identity", root, ca=True, end=_FAR, serial=0x101)
        brom = _node("GH100 A01 GSP BROM", identity, ca=True, end=_FAR, serial=0x102)
        leaf = _node(
            "GH100 A01 GSP FMC LF",
            brom,
            ca=False,
            end=_FAR,
            serial=0x103,
            ext=(("2.23.133.5.4.1", _fwid_extension(self.fwid)),),
        )
        self._device = (leaf, brom, identity, root)
        rim_root = _node("NVIDIA CoRIM signing Root CA", None, ca=True, end=_FAR, serial=0x200)
        rim_ca = _node("NVIDIA Reference Value GH100 CA", rim_root, ca=True, end=_FAR, serial=0x201)
        signer = _node("HCC RIM L4 Signer", rim_ca, ca=False, end=self.rim_valid_until, serial=0x202)
        self._rim = (signer, rim_ca, rim_root)

    # -- trust ---------------------------------------------------------------------------------
    @property
    def device_root_sha256(self) -> str:
        return cert_sha256(self._device[-1].cert)

    @property
    def rim_root_sha256(self) -> str:
        return cert_sha256(self._rim[-1].cert)

    @property
    def certificate_chain_pem(self) -> bytes:
        return pem_bundle(n.der for n in self._device)

    # -- evidence ------------------------------------------------------------------------------
    def opaque(self, nonce_unused: bytes = b"", overrides: Mapping[int, bytes | None] | None = None) -> bytes:
        vb = [int(p, 16) for p in self.vbios_version.split(".")]
        fields: dict[int, bytes | None] = {
            OpaqueType.DRIVER_VERSION: self.driver_version.encode() + b"\x00",
            OpaqueType.VBIOS_VERSION: bytes((vb[3], vb[2], vb[1], vb[0], vb[4], 0, 0, 0)),
            OpaqueType.NVDEC0_STATUS: b"\x55",
            OpaqueType.CHIP_SKU: b"882\x00",
            OpaqueType.PROJECT: b"1010\x00",
            OpaqueType.PROJECT_SKU: b"0200\x00",
            OpaqueType.FWID: self.fwid,
            OpaqueType.FEATURE_FLAG: b"\x00\x00",
        }
        fields.update(overrides or {})
        out = bytearray()
        for kind, value in fields.items():
            if value is not None:
                out += int(kind).to_bytes(2, "little") + len(value).to_bytes(2, "little") + value
        return bytes(out)

    def evidence(
        self,
        nonce: bytes,
        *,
        opaque: Mapping[int, bytes | None] | None = None,
        measurements: Mapping[int, bytes] | None = None,
        break_signature: bool = False,
    ) -> bytes:
        """Request ‖ signed response for ``nonce``; ``measurements`` overrides RIM-indexed values."""
        values = {**self.measurements, **(measurements or {})}
        request = bytes((0x11, 0xE0, 0x01, 0xFF)) + nonce + b"\x00"
        record = bytearray()
        for index in range(_BLOCKS):
            value = values[index]
            record += bytes((index + 1, 0x01)) + (len(value) + 3).to_bytes(2, "little")
            record += b"\x01" + len(value).to_bytes(2, "little") + value
        data = self.opaque(overrides=opaque)
        response = bytes((0x11, 0x60, 0x00, 0x00, _BLOCKS)) + len(record).to_bytes(3, "little") + record
        response += os.urandom(32) + len(data).to_bytes(2, "little") + data
        r, s = sign_p384_sha384(self._device[0].key, request + response)
        signature = r.to_bytes(48, "big") + s.to_bytes(48, "big")
        if break_signature:
            signature = signature[:-1] + bytes((signature[-1] ^ 1,))
        return request + response + signature

    def serialized(self, nonce: bytes, *, cc_mode: str | None = "on", **kwargs: object) -> bytes:
        """NVIDIA's serialized evidence JSON (one device), with the NVML-reported ``cc_mode``."""
        item: dict[str, str] = {
            "arch": "HOPPER",
            "evidence": base64.b64encode(self.evidence(nonce, **kwargs)).decode(),  # type: ignore[arg-type]
            "certificate": base64.b64encode(self.certificate_chain_pem).decode(),
            "nonce": nonce.hex(),
            "driver_version": self.driver_version,
            "vbios_version": self.vbios_version,
        }
        if cc_mode is not None:
            item["cc_mode"] = cc_mode
        return json.dumps([item]).encode()

    # -- RIMs ----------------------------------------------------------------------------------
    def _signed_rim(
        self, version: str, indices: Sequence[int], golden: Mapping[int, Sequence[bytes]] | None
    ) -> bytes:
        values: dict[int, Sequence[bytes]] = {i: (self.measurements[i],) for i in indices}
        values.update(golden or {})
        return build_signed_rim(
            name="GH100",
            version=version,
            golden=values,
            count=_BLOCKS,
            signer_key=self._rim[0].key,
            chain_ders=[n.der for n in self._rim],
        )

    def driver_rim(
        self, *, version: str | None = None, golden: Mapping[int, Sequence[bytes]] | None = None
    ) -> bytes:
        return self._signed_rim(version or self.driver_version, DRIVER_INDICES, golden)

    def vbios_rim(
        self, *, version: str | None = None, golden: Mapping[int, Sequence[bytes]] | None = None
    ) -> bytes:
        return self._signed_rim(version or self.vbios_version, VBIOS_INDICES, golden)

    # -- OCSP ----------------------------------------------------------------------------------
    def ocsp_responses(
        self,
        at: datetime,
        *,
        revoked: Sequence[str] = (),
        hold: Sequence[str] = (),
        stale: Sequence[str] = (),
        unknown: Sequence[str] = (),
        validity: timedelta = timedelta(days=7),
    ) -> tuple[bytes, ...]:
        """Responses for device certificates 1..n-2 and RIM certificates 0..n-2, by common name."""
        pairs = [(self._device[i], self._device[i + 1]) for i in (1, 2)]
        pairs += [(self._rim[i], self._rim[i + 1]) for i in (0, 1)]
        out = []
        for cert, issuer in pairs:
            cn = cert.subject[0][1]
            this = at - (validity * 2 if cn in stale else timedelta(hours=1))
            reason = x509.ReasonFlags.certificate_hold if cn in hold else x509.ReasonFlags.key_compromise
            out.append(
                build_ocsp_response(
                    cert=cert.cert,
                    issuer=issuer.cert,
                    responder_cert=issuer.cert,
                    responder_key=issuer.key,
                    this_update=this,
                    next_update=this + validity,
                    revoked_at=this if cn in (*revoked, *hold) else None,
                    reason=reason,
                    unknown=cn in unknown,
                )
            )
        return tuple(out)
