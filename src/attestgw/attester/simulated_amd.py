"""A simulated AMD key distribution PKI for one product line: ARK → ASK/ASVK → VCEK/VLEK.

The certificates have the shape of AMD's (formats.md §2.5): RSA-4096 ARK (self-signed, ``ARK-<Product>``),
ASK (``SEV-<Product>``) and ASVK (``SEV-VLEK-<Product>``) signed by it, P-384 VCEKs and VLEKs with
AMD's extensions, AMD's subject attributes, RSASSA-PSS SHA-384 signatures and a CRL signed by the ARK.
The *only* thing that tells them apart from AMD's is the ARK fingerprint, which is never in
``AMD_TRUST``: a verifier trusts it only through an explicit ``TrustStore.with_simulated`` opt-in, and
then marks every result simulated.

Differences from AMD, on purpose or forced:

* VCEK/VLEK serial numbers are 1, not AMD's 0: ``cryptography`` refuses to build a certificate with
  serial 0 (RFC 5280 requires a positive serial) and we do not work around the library.
* The CRL distribution points name AMD's real KDS URLs, because verifiers check the shape; nothing here
  fetches them.
* Keys are generated locally and lazily (RSA-4096 takes a noticeable fraction of a second to seconds):
  nothing is generated until a certificate is first needed. :meth:`SimulatedAmdAuthority.save` and
  :meth:`~SimulatedAmdAuthority.load` keep the same roots across restarts.

Constructing or loading an authority is refused (``config.simulation_disabled``) unless simulation is
explicitly enabled; see :mod:`attestgw.attester._simulation_gate`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from attestgw.attester._amd_extensions import signing_key_extensions
from attestgw.attester._simulated_profiles import PROFILES
from attestgw.attester._simulated_store import KeyAndCert, has_authority, read_authority, write_authority
from attestgw.attester._simulation_gate import require_simulation_enabled
from attestgw.clock import require_aware
from attestgw.crypto.signing import (
    P384PrivateKey,
    build_certificate,
    build_crl,
    generate_p384_key,
    generate_rsa_key,
    pem_bundle,
)
from attestgw.errors import ConfigError
from attestgw.evidence.snp import Product, SigningKey, TcbParts

__all__ = ["AMD_SUBJECT_ATTRIBUTES", "SimulatedAmdAuthority", "SimulatedSigningKey"]

#: Every AMD KDS certificate names AMD Engineering in Santa Clara, in this order, then the CN.
AMD_SUBJECT_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("OU", "Engineering"),
    ("C", "US"),
    ("L", "Santa Clara"),
    ("ST", "CA"),
    ("O", "Advanced Micro Devices"),
)

# AMD's own serials for ARK-Milan / SEV-Milan are 0x10000 / 0x10001; the ASVK gets the next one.
_ARK_SERIAL = 0x10000
_ASK_SERIAL = 0x10001
_ASVK_SERIAL = 0x10002
_SIGNING_KEY_SERIAL = 1  # AMD uses 0, which cryptography refuses (see module docstring)
_ROOT_YEARS = 25
_VCEK_YEARS = 7
_VLEK_YEARS = 1  # AMD's VLEKs in the corpus are valid one year


def _name(cn: str) -> list[tuple[str, str]]:
    return [*AMD_SUBJECT_ATTRIBUTES, ("CN", cn)]


def _years_later(start: datetime, years: int) -> datetime:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February in a non-leap target year
        return start.replace(year=start.year + years, day=28)


@dataclass(frozen=True, slots=True)
class SimulatedSigningKey:
    """A simulated VCEK or VLEK: its P-384 private key and its certificate (DER).

    ``chip_id`` is set for a VCEK (the CHIP_ID whose hwID the certificate carries), ``csp_id`` for a
    VLEK. The private key never appears in ``repr``.
    """

    kind: SigningKey
    product: Product
    certificate: bytes
    tcb: TcbParts
    chip_id: bytes | None
    csp_id: str | None
    private_key: P384PrivateKey = field(repr=False)

    @property
    def certificate_sha256(self) -> str:
        return hashlib.sha256(self.certificate).hexdigest()


class SimulatedAmdAuthority:
    """Simulated AMD roots for one product line. Thread-safe; keys are generated on first use.

    ``not_before`` starts the 25-year validity of ARK, ASK and ASVK (default: the date AMD's real ARK
    for the product starts). Refused unless ``enable_simulation=True`` or ``ATTESTGW_ALLOW_SIMULATED=1``.
    """

    __slots__ = ("_lock", "_not_before", "_product", "_roots")

    def __init__(
        self,
        product: Product,
        *,
        enable_simulation: bool = False,
        not_before: datetime | None = None,
    ) -> None:
        require_simulation_enabled(enable_simulation, "SimulatedAmdAuthority")
        self._product = product
        start = not_before if not_before is not None else PROFILES[product].ark_not_before
        self._not_before = require_aware(start)
        self._lock = threading.Lock()
        self._roots: dict[str, KeyAndCert] = {}

    def __repr__(self) -> str:
        ark = self._roots.get("ark")
        shown = hashlib.sha256(ark.certificate).hexdigest()[:16] if ark else "not generated"
        return f"<SimulatedAmdAuthority {self._product.value} ark={shown}>"

    @property
    def product(self) -> Product:
        return self._product

    @property
    def not_before(self) -> datetime:
        return self._not_before

    # -- the roots, generated lazily ---------------------------------------------------------------

    def _root(self, role: str) -> KeyAndCert:
        with self._lock:
            return self._root_locked(role)

    def _root_locked(self, role: str) -> KeyAndCert:
        if role in self._roots:
            return self._roots[role]
        product = self._product.value
        start, end = self._not_before, _years_later(self._not_before, _ROOT_YEARS)
        key = generate_rsa_key(4096)
        if role == "ark":
            cert = build_certificate(
                subject=_name(f"ARK-{product}"),
                issuer=_name(f"ARK-{product}"),
                public_key=key.public_key(),
                issuer_key=key,
                serial=_ARK_SERIAL,
                not_before=start,
                not_after=end,
                ca=True,
                crl_sign=True,
                crl_distribution_url=f"https://kdsintf.amd.com/vcek/v1/{product}/crl",
            )
        else:
            ark = self._root_locked("ark")
            vlek = role == "asvk"
            cert = build_certificate(
                subject=_name(f"SEV-VLEK-{product}" if vlek else f"SEV-{product}"),
                issuer=_name(f"ARK-{product}"),
                public_key=key.public_key(),
                issuer_key=ark.private_key,
                serial=_ASVK_SERIAL if vlek else _ASK_SERIAL,
                not_before=start,
                not_after=end,
                ca=True,
                path_length=0,
                authority_key_id=True,
                crl_distribution_url=f"https://kdsintf.amd.com/{'vlek' if vlek else 'vcek'}/v1/{product}/crl",
            )
        self._roots[role] = KeyAndCert(key, cert)
        return self._roots[role]

    @staticmethod
    def _intermediate_role(kind: SigningKey) -> str:
        if kind is SigningKey.VCEK:
            return "ask"
        if kind is SigningKey.VLEK:
            return "asvk"
        raise ValueError(f"no certificate chain for signing key {kind.name}")

    def ark_certificate(self) -> bytes:
        """The self-signed ARK (DER)."""
        return self._root("ark").certificate

    def intermediate_certificate(self, kind: SigningKey = SigningKey.VCEK) -> bytes:
        """The ASK (for VCEKs) or ASVK (for VLEKs), DER."""
        return self._root(self._intermediate_role(kind)).certificate

    def ark_serial(self) -> int:
        return _ARK_SERIAL

    def intermediate_serial(self, kind: SigningKey = SigningKey.VCEK) -> int:
        """Serial of the ASK or ASVK: what a CRL lists to revoke it."""
        return _ASVK_SERIAL if self._intermediate_role(kind) == "asvk" else _ASK_SERIAL

    def chain_pem(self, kind: SigningKey = SigningKey.VCEK) -> bytes:
        """PEM bundle as KDS serves ``cert_chain``: the ASK (or ASVK), then the ARK."""
        return pem_bundle([self.intermediate_certificate(kind), self.ark_certificate()])

    def ark_sha256(self) -> str:
        """SHA-256 of the ARK's DER, lowercase hex: the value to pass to ``with_simulated``."""
        return hashlib.sha256(self.ark_certificate()).hexdigest()

    # -- issuing -------------------------------------------------------------------------------------

    def _hw_id(self, chip_id: bytes) -> bytes:
        if len(chip_id) != 64:
            raise ValueError(f"CHIP_ID must be 64 bytes, got {len(chip_id)}")
        keep = PROFILES[self._product].hw_id_len
        if any(chip_id[keep:]):
            # Turin firmware reports only 8 meaningful bytes; anything after them would be lost.
            raise ValueError(f"{self._product.value} CHIP_ID bytes {keep}..63 must be zero")
        return chip_id[:keep]

    def issue_vcek(
        self,
        chip_id: bytes,
        tcb: TcbParts,
        not_before: datetime,
        *,
        key: P384PrivateKey | None = None,
        product_name: str | None = None,
        struct_version: int = 1,
        years: int = _VCEK_YEARS,
    ) -> SimulatedSigningKey:
        """A VCEK for ``chip_id`` at ``tcb``, signed by the ASK, valid ``years`` from ``not_before``.

        ``tcb.fmc`` is required for Turin and refused otherwise. ``chip_id`` is 64 bytes; for Turin
        bytes 8..63 must be zero and the hwID extension carries the first 8 (as AMD's does).
        ``product_name`` defaults to the product's (``Milan-B0``, ``Genoa``, ``Turin``).
        """
        return self._issue(
            SigningKey.VCEK,
            tcb,
            not_before,
            key=key,
            product_name=product_name,
            struct_version=struct_version,
            years=years,
            chip_id=bytes(chip_id),
            csp_id=None,
        )

    def issue_vlek(
        self,
        tcb: TcbParts,
        csp_id: str = "cc-us-east-1",
        *,
        not_before: datetime,
        key: P384PrivateKey | None = None,
        product_name: str | None = None,
        struct_version: int = 1,
        years: int = _VLEK_YEARS,
    ) -> SimulatedSigningKey:
        """A VLEK for cloud provider ``csp_id`` at ``tcb``, signed by the ASVK. No hwID (as AMD's)."""
        return self._issue(
            SigningKey.VLEK,
            tcb,
            not_before,
            key=key,
            product_name=product_name,
            struct_version=struct_version,
            years=years,
            chip_id=None,
            csp_id=csp_id,
        )

    def _issue(
        self,
        kind: SigningKey,
        tcb: TcbParts,
        not_before: datetime,
        *,
        key: P384PrivateKey | None,
        product_name: str | None,
        struct_version: int,
        years: int,
        chip_id: bytes | None,
        csp_id: str | None,
    ) -> SimulatedSigningKey:
        profile = PROFILES[self._product]
        extensions = signing_key_extensions(
            product_name=product_name if product_name is not None else profile.product_name,
            tcb=tcb,
            with_fmc=self._product.has_fmc,
            hw_id=self._hw_id(chip_id) if chip_id is not None else None,
            csp_id=csp_id,
            struct_version=struct_version,
        )
        key = key if key is not None else generate_p384_key()
        intermediate = self._root(self._intermediate_role(kind))
        start = require_aware(not_before)
        issuer_cn = (
            f"SEV-VLEK-{self._product.value}" if kind is SigningKey.VLEK else f"SEV-{self._product.value}"
        )
        cert = build_certificate(
            subject=_name(f"SEV-{kind.name}"),
            issuer=_name(issuer_cn),
            public_key=key.public_key(),
            issuer_key=intermediate.private_key,
            serial=_SIGNING_KEY_SERIAL,
            not_before=start,
            not_after=_years_later(start, years),
            extensions=extensions,
        )
        return SimulatedSigningKey(kind, self._product, cert, tcb, chip_id, csp_id, key)

    def crl(self, revoked: Iterable[int], this_update: datetime, next_update: datetime) -> bytes:
        """A CRL (DER) signed by the ARK listing ``revoked`` serials (e.g. :meth:`intermediate_serial`)."""
        ark = self._root("ark")
        return build_crl(ark.certificate, ark.private_key, revoked, this_update, next_update)

    # -- persistence ---------------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write ARK, ASK and ASVK (generating any not yet made) to ``directory``.

        Private keys are unencrypted PEM files with mode 0600; a directory that does not exist is
        created with mode 0700. Existing files are replaced. The caller chooses a private location.
        """
        with self._lock:
            roots = {role: self._root_locked(role) for role in ("ark", "ask", "asvk")}
        write_authority(Path(directory), self._product, self._not_before, roots)

    @classmethod
    def load(cls, directory: Path, *, enable_simulation: bool = False) -> SimulatedAmdAuthority:
        """Read an authority written by :meth:`save`.

        Raises ``ConfigError("config.simulation_disabled")`` unless enabled, and
        ``ConfigError("config.simulated_authority_invalid")`` if files are missing, unreadable, or a
        key does not match its certificate. Not checked: that the certificates are validly signed.
        """
        require_simulation_enabled(enable_simulation, "SimulatedAmdAuthority")
        product, not_before, roots = read_authority(Path(directory))
        authority = cls(product, enable_simulation=True, not_before=not_before)
        authority._roots.update(roots)
        return authority

    @classmethod
    def load_or_create(
        cls, directory: Path, product: Product, *, enable_simulation: bool = False
    ) -> SimulatedAmdAuthority:
        """:meth:`load` ``directory`` if it holds an authority, else create one and :meth:`save` it.

        A saved authority for another product is refused (``config.simulated_authority_invalid``).
        """
        require_simulation_enabled(enable_simulation, "SimulatedAmdAuthority")
        directory = Path(directory)
        if has_authority(directory):
            authority = cls.load(directory, enable_simulation=True)
            if authority.product is not product:
                raise ConfigError(
                    "config.simulated_authority_invalid",
                    f"{directory} holds a simulated {authority.product.value} authority, "
                    f"want {product.value}",
                )
            return authority
        authority = cls(product, enable_simulation=True)
        authority.save(directory)
        return authority
