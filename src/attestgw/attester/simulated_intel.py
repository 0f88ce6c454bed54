"""A simulated Intel SGX/TDX provisioning PKI and PCS collateral signer.

Shaped like Intel's (formats.md §3.5-3.6): a self-signed P-256 "Intel SGX Root CA" (O=Intel
Corporation, L=Santa Clara, ST=CA, C=US; CA, pathlen 1, valid to 2049-12-31), an "Intel SGX PCK
Platform CA" (pathlen 0) and an "Intel SGX TCB Signing" certificate issued by it, all signed
ecdsa-with-SHA256; PCK leaf certificates ("Intel SGX PCK Certificate") carrying the SGX extension;
a root CRL and a PCK CRL; TCB info and QE identity JSON signed (hex ``r‖s``) over their exact bytes
by the TCB Signing key; and the collateral bundle JSON Intel's QVL and dcap-qvl pass around.

The *only* thing telling it apart from Intel's is the root fingerprint, which is never in
``INTEL_TRUST``: a verifier trusts it only through ``INTEL_TRUST.with_simulated(root_sha256())``,
and then marks its results simulated.

Differences from Intel, on purpose: keys are generated locally and lazily (P-256, fast); serial
numbers are small fixed values for the CAs (Intel's are random 20-byte) and random for PCK leaves;
the CA certificates are valid from ``not_before`` (default: Intel's root start, 2018-05-21) to
2049-12-31; the leaf carries no KeyUsage extension. A new authority is a new root, unless it is kept with
:meth:`~SimulatedIntelAuthority.save` and read back with :meth:`~SimulatedIntelAuthority.load` (see
:mod:`._simulated_intel_store`): a simulated TDX worker keeps its roots across restarts that way.

Constructing an authority is refused (``config.simulation_disabled``) unless simulation is
explicitly enabled; see :mod:`attestgw.attester._simulation_gate`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from attestgw.attester._simulated_intel_store import (
    INTEL_ROLES,
    has_intel_authority,
    read_intel_authority,
    write_intel_authority,
)
from attestgw.attester._simulation_gate import require_simulation_enabled
from attestgw.attester._tdx_sgx_extension import encode_sgx_extension
from attestgw.clock import require_aware
from attestgw.crypto.signing import (
    P256PrivateKey,
    build_certificate,
    build_crl,
    generate_p256_key,
    pem_bundle,
    sign_p256_sha256_raw,
)
from attestgw.evidence.tdx_collateral import SGX_EXTENSION_OID

__all__ = [
    "INTEL_SUBJECT_ATTRIBUTES",
    "SimulatedIntelAuthority",
    "SimulatedPck",
    "tamper_der_signature",
]

#: Intel's PCS certificates name Intel Corporation in Santa Clara, in this order after the CN.
INTEL_SUBJECT_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("O", "Intel Corporation"),
    ("L", "Santa Clara"),
    ("ST", "CA"),
    ("C", "US"),
)
ROOT_CN = "Intel SGX Root CA"
PCK_CA_CN = "Intel SGX PCK Platform CA"
TCB_SIGNING_CN = "Intel SGX TCB Signing"
PCK_CN = "Intel SGX PCK Certificate"

_ROOT_SERIAL = 0x1001
_PCK_CA_SERIAL = 0x1002
_TCB_SIGNING_SERIAL = 0x1003
_DEFAULT_START = datetime(2018, 5, 21, 10, 45, 10, tzinfo=UTC)
_ROOT_END = datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)
_PCK_YEARS = 7  # Intel's PCK certificates are valid seven years
_ROOT_CRL_URL = "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
_PCK_CRL_URL = "https://api.trustedservices.intel.com/sgx/certification/v4/pckcrl?ca=platform&encoding=der"

#: Knobs that break one piece of a bundle: the TCB info / QE identity signatures, a CRL signature.
_TAMPER_KNOBS = frozenset({"tcb_info_signature", "qe_identity_signature", "root_crl", "pck_crl"})


@dataclass(frozen=True, slots=True)
class _KeyAndCert:
    private_key: P256PrivateKey = field(repr=False)
    certificate: bytes


def _name(cn: str) -> list[tuple[str, str]]:
    return [("CN", cn), *INTEL_SUBJECT_ATTRIBUTES]


def _years_later(start: datetime, years: int) -> datetime:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February in a non-leap target year
        return start.replace(year=start.year + years, day=28)


def tamper_der_signature(der: bytes) -> bytes:
    """Flip one bit of the last byte of a certificate's or CRL's DER: the low byte of the ECDSA
    ``s`` value, so the DER still parses but the signature no longer verifies."""
    out = bytearray(der)
    out[-1] ^= 0x01
    return bytes(out)


def _flip_hex(signature: bytes) -> bytes:
    out = bytearray(signature)
    out[-1] ^= 0x01
    return bytes(out)


@dataclass(frozen=True, slots=True)
class SimulatedPck:
    """A simulated PCK certificate (DER) with its P-256 private key and what its SGX extension says.

    The private key never appears in ``repr``.
    """

    certificate: bytes
    serial: int
    fmspc: bytes
    pce_id: bytes
    sgx_tcb_components: tuple[int, ...]
    pcesvn: int
    cpusvn: bytes
    private_key: P256PrivateKey = field(repr=False)

    @property
    def certificate_sha256(self) -> str:
        return hashlib.sha256(self.certificate).hexdigest()


class SimulatedIntelAuthority:
    """Simulated Intel SGX Root CA, PCK Platform CA and TCB Signing key. Thread-safe, lazy.

    Refused unless ``enable_simulation=True`` or ``ATTESTGW_ALLOW_SIMULATED=1``.
    """

    __slots__ = ("_lock", "_not_before", "_roots")

    def __init__(self, *, enable_simulation: bool = False, not_before: datetime | None = None) -> None:
        require_simulation_enabled(enable_simulation, "SimulatedIntelAuthority")
        self._not_before = require_aware(not_before if not_before is not None else _DEFAULT_START)
        self._lock = threading.Lock()
        self._roots: dict[str, _KeyAndCert] = {}

    def __repr__(self) -> str:
        root = self._roots.get("root")
        shown = hashlib.sha256(root.certificate).hexdigest()[:16] if root else "not generated"
        return f"<SimulatedIntelAuthority root={shown}>"

    # -- the CAs, generated lazily ---------------------------------------------------------------

    def _role(self, role: str) -> _KeyAndCert:
        with self._lock:
            return self._role_locked(role)

    def _role_locked(self, role: str) -> _KeyAndCert:
        if role in self._roots:
            return self._roots[role]
        key = generate_p256_key()
        if role == "root":
            cert = build_certificate(
                subject=_name(ROOT_CN),
                issuer=_name(ROOT_CN),
                public_key=key.public_key(),
                issuer_key=key,
                serial=_ROOT_SERIAL,
                not_before=self._not_before,
                not_after=_ROOT_END,
                ca=True,
                path_length=1,
                crl_sign=True,
                authority_key_id=True,
                crl_distribution_url=_ROOT_CRL_URL,
                digest="sha256",
            )
        else:
            root = self._role_locked("root")
            ca = role == "pck_ca"
            cert = build_certificate(
                subject=_name(PCK_CA_CN if ca else TCB_SIGNING_CN),
                issuer=_name(ROOT_CN),
                public_key=key.public_key(),
                issuer_key=root.private_key,
                serial=_PCK_CA_SERIAL if ca else _TCB_SIGNING_SERIAL,
                not_before=self._not_before,
                not_after=_ROOT_END,
                ca=ca,
                path_length=0 if ca else None,
                crl_sign=ca,
                authority_key_id=True,
                crl_distribution_url=_ROOT_CRL_URL,
                digest="sha256",
            )
        self._roots[role] = _KeyAndCert(key, cert)
        return self._roots[role]

    def root_certificate(self) -> bytes:
        """The self-signed root (DER)."""
        return self._role("root").certificate

    def pck_ca_certificate(self) -> bytes:
        """The PCK Platform CA (DER): issuer of PCK certificates and of the PCK CRL."""
        return self._role("pck_ca").certificate

    def tcb_signing_certificate(self) -> bytes:
        """The TCB Signing certificate (DER): signer of TCB info and QE identity."""
        return self._role("tcb_signing").certificate

    def root_sha256(self) -> str:
        """SHA-256 of the root's DER, lowercase hex: pass it to ``INTEL_TRUST.with_simulated``."""
        return hashlib.sha256(self.root_certificate()).hexdigest()

    # -- persistence -------------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write the root, PCK Platform CA and TCB Signing key (generating any not yet made).

        Private keys are unencrypted PEM files with mode 0600 in a directory created with mode 0700;
        existing files are replaced. The caller chooses a private location.
        """
        with self._lock:
            roots = {role: self._role_locked(role) for role in INTEL_ROLES}
        write_intel_authority(
            Path(directory), self._not_before, {r: (k.private_key, k.certificate) for r, k in roots.items()}
        )

    @classmethod
    def load(cls, directory: Path, *, enable_simulation: bool = False) -> SimulatedIntelAuthority:
        """Read an authority written by :meth:`save`: the same root fingerprint as before.

        Raises ``ConfigError("config.simulation_disabled")`` unless enabled, and
        ``ConfigError("config.simulated_authority_invalid")`` if files are missing, unreadable, or a
        key does not match its certificate. Not checked: that the certificates are validly signed.
        """
        require_simulation_enabled(enable_simulation, "SimulatedIntelAuthority")
        not_before, roots = read_intel_authority(Path(directory))
        authority = cls(enable_simulation=True, not_before=not_before)
        authority._roots.update({role: _KeyAndCert(key, cert) for role, (key, cert) in roots.items()})
        return authority

    @classmethod
    def load_or_create(cls, directory: Path, *, enable_simulation: bool = False) -> SimulatedIntelAuthority:
        """:meth:`load` ``directory`` if it holds an authority, else create one and :meth:`save` it."""
        require_simulation_enabled(enable_simulation, "SimulatedIntelAuthority")
        if has_intel_authority(Path(directory)):
            return cls.load(directory, enable_simulation=True)
        authority = cls(enable_simulation=True)
        authority.save(directory)
        return authority

    @property
    def pck_ca_serial(self) -> int:
        return _PCK_CA_SERIAL

    @property
    def tcb_signing_serial(self) -> int:
        return _TCB_SIGNING_SERIAL

    # -- issuing ---------------------------------------------------------------------------------

    def issue_pck(
        self,
        *,
        fmspc: bytes,
        sgx_tcb_components: Sequence[int],
        pcesvn: int,
        not_before: datetime,
        pce_id: bytes = b"\x00\x00",
        cpusvn: bytes | None = None,
        ppid: bytes | None = None,
        sgx_type: int = 0,
        key: P256PrivateKey | None = None,
        years: int = _PCK_YEARS,
    ) -> SimulatedPck:
        """A PCK certificate signed by the PCK Platform CA with the SGX extension for this TCB.

        ``cpusvn`` defaults to the 16 component SVNs as bytes (as Intel's certificates show),
        ``ppid`` to random bytes, ``key`` to a fresh P-256 key; the serial is random.
        """
        components = tuple(sgx_tcb_components)
        cpusvn = bytes(components) if cpusvn is None else bytes(cpusvn)
        extension = encode_sgx_extension(
            ppid=os.urandom(16) if ppid is None else bytes(ppid),
            sgx_tcb_components=components,
            pcesvn=pcesvn,
            cpusvn=cpusvn,
            pce_id=bytes(pce_id),
            fmspc=bytes(fmspc),
            sgx_type=sgx_type,
        )
        key = key if key is not None else generate_p256_key()
        ca = self._role("pck_ca")
        serial = int.from_bytes(os.urandom(16), "big") | 1 << 127  # positive, 16 bytes
        start = require_aware(not_before)
        cert = build_certificate(
            subject=_name(PCK_CN),
            issuer=_name(PCK_CA_CN),
            public_key=key.public_key(),
            issuer_key=ca.private_key,
            serial=serial,
            not_before=start,
            not_after=_years_later(start, years),
            authority_key_id=True,
            crl_distribution_url=_PCK_CRL_URL,
            extensions=[(SGX_EXTENSION_OID, extension)],
            digest="sha256",
        )
        return SimulatedPck(cert, serial, bytes(fmspc), bytes(pce_id), components, pcesvn, cpusvn, key)

    def pck_chain_pem(self, pck: SimulatedPck, *, tamper: Collection[str] = ()) -> bytes:
        """The PEM chain a quote carries: PCK leaf, PCK Platform CA, root (Intel's order).

        ``tamper`` may name ``"pck"`` and/or ``"intermediate"``: that certificate's signature is
        broken (see :func:`tamper_der_signature`) in this copy only.
        """
        leaf = tamper_der_signature(pck.certificate) if "pck" in tamper else pck.certificate
        ca = self.pck_ca_certificate()
        ca = tamper_der_signature(ca) if "intermediate" in tamper else ca
        return pem_bundle([leaf, ca, self.root_certificate()])

    def root_crl(
        self, revoked: Iterable[int], this_update: datetime, next_update: datetime, *, tamper: bool = False
    ) -> bytes:
        """The root CA CRL (DER) listing ``revoked`` CA serials (e.g. :attr:`pck_ca_serial`)."""
        root = self._role("root")
        der = build_crl(
            root.certificate, root.private_key, revoked, this_update, next_update, digest="sha256"
        )
        return tamper_der_signature(der) if tamper else der

    def pck_crl(
        self, revoked: Iterable[int], this_update: datetime, next_update: datetime, *, tamper: bool = False
    ) -> bytes:
        """The PCK Platform CA CRL (DER) listing ``revoked`` PCK serials."""
        ca = self._role("pck_ca")
        der = build_crl(ca.certificate, ca.private_key, revoked, this_update, next_update, digest="sha256")
        return tamper_der_signature(der) if tamper else der

    def sign_collateral(self, raw: bytes) -> bytes:
        """The TCB Signing key's 64-byte ``r‖s`` ECDSA P-256/SHA-256 signature over ``raw``."""
        return sign_p256_sha256_raw(self._role("tcb_signing").private_key, raw)

    def collateral_bundle(
        self,
        *,
        tcb_info: bytes,
        qe_identity: bytes,
        crl_this_update: datetime,
        crl_next_update: datetime,
        revoked_pck_serials: Iterable[int] = (),
        revoked_ca_serials: Iterable[int] = (),
        tamper: Collection[str] = (),
    ) -> bytes:
        """The collateral bundle JSON (dcap-qvl / QVL shape) for signed ``tcb_info`` and
        ``qe_identity`` documents (exact bytes, see :mod:`._tdx_collateral`).

        CRLs are hex DER, chains PEM (signer then root). ``tamper`` may name
        ``tcb_info_signature``, ``qe_identity_signature``, ``root_crl`` and ``pck_crl``: that
        signature is broken. Raises ``ValueError`` for an unknown tamper knob.
        """
        unknown = set(tamper) - _TAMPER_KNOBS
        if unknown:
            raise ValueError(f"unknown bundle tamper knobs {sorted(unknown)}, want {sorted(_TAMPER_KNOBS)}")
        tcb_sig = self.sign_collateral(tcb_info)
        qe_sig = self.sign_collateral(qe_identity)
        if "tcb_info_signature" in tamper:
            tcb_sig = _flip_hex(tcb_sig)
        if "qe_identity_signature" in tamper:
            qe_sig = _flip_hex(qe_sig)
        root = self.root_certificate()
        signer_chain = pem_bundle([self.tcb_signing_certificate(), root]).decode("ascii")
        bundle = {
            "pck_crl_issuer_chain": pem_bundle([self.pck_ca_certificate(), root]).decode("ascii"),
            "root_ca_crl": self.root_crl(
                revoked_ca_serials, crl_this_update, crl_next_update, tamper="root_crl" in tamper
            ).hex(),
            "pck_crl": self.pck_crl(
                revoked_pck_serials, crl_this_update, crl_next_update, tamper="pck_crl" in tamper
            ).hex(),
            "tcb_info_issuer_chain": signer_chain,
            "tcb_info": tcb_info.decode("utf-8"),
            "tcb_info_signature": tcb_sig.hex(),
            "qe_identity_issuer_chain": signer_chain,
            "qe_identity": qe_identity.decode("utf-8"),
            "qe_identity_signature": qe_sig.hex(),
        }
        return json.dumps(bundle, indent=2).encode("utf-8")
