"""Parse the worker's attestation bundle (``GET /attestation``, docs/worker-protocol.md §1).

Parsing is the first of the three verbs: bytes → a frozen :class:`UnverifiedBundle`. Nothing in it is
trusted yet. :func:`attestgw.attestation.appraise_bundle` verifies the report and its collateral,
appraises the claims with the caller's policy (REPORT_DATA must bind the nonce, these exact
``ohttp_keys`` bytes and this receipt key) and only then builds an attested session from it.

Strict: a JSON object without duplicate keys (at any depth), at most :data:`MAX_BUNDLE_BYTES`;
every field of §1 present with its documented type; base64 in the standard alphabet, padded, no
whitespace; the nonce exactly 64 lowercase hex digits; ``ohttp_keys`` a valid
``application/ohttp-keys`` body; the receipt key an Ed25519 or P-256 SubjectPublicKeyInfo of the
algorithm ``receipt_key.alg`` names (``Ed25519`` / ``ES256``); model ids unique,
digests 64 lowercase hex digits; ``gpu_evidence`` null or a list of 1..16 base64 strings, each one
device's evidence as :func:`~attestgw.evidence.nvidia.parse_gpu_evidence` reads it (its exact bytes
are kept: the binding's G hashes them); ``gpu_collateral`` absent, null, or ``{"rims": [...],
"ocsp": [...]}`` of base64 strings; ``tee`` ``"snp"`` or ``"tdx"``, and for ``"tdx"`` the evidence
members ``collateral`` (the Intel collateral bundle JSON) and ``event_log`` (the CC event log) present,
each base64 or null. Anything else is ``FormatError("bundle.malformed")`` (GPU evidence
that does not parse keeps the parser's ``nvidia.*`` code); a version, TEE, binding label, receipt
algorithm or GPU evidence form this client does not implement is ``FormatError("bundle.unsupported")``.

Unknown keys are ignored, not refused: the protocol "only grows" within version 1, and nothing the
client does reads a field it does not know. Not checked here: anything cryptographic (the report's
signature, the chain, the binding), the structure of the report, quote, collateral and event log
(their own parsers run when the bundle is appraised), and the worker's claim ``simulated`` — the
verifier decides that from the chain, and the bundle's own flag is kept only as
``unverified_simulated`` for display.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from attestgw.crypto.receipt_keys import RECEIPT_ALGORITHMS, receipt_algorithm
from attestgw.encoding import strict_json_object
from attestgw.errors import FormatError
from attestgw.evidence.binding import NONCE_SIZE
from attestgw.evidence.nvidia import MAX_DEVICES, GpuEvidence, parse_gpu_evidence
from attestgw.ohttp import KeyConfig, decode_key_configs

__all__ = ["BINDING_LABEL", "MAX_BUNDLE_BYTES", "ModelInfo", "UnverifiedBundle", "parse_bundle"]

#: The only binding label this client implements (docs/binding.md, version 1).
BINDING_LABEL = "attestgw/report-data/v1"
#: A bundle is a report, a few certificates and key configs: a few KiB. 1 MiB bounds a hostile one.
MAX_BUNDLE_BYTES = 1 << 20

_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
_B64 = re.compile(r"\A(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\Z")
_MODEL_ID = re.compile(r"\A[\x21-\x7e]{1,256}\Z")
_MALFORMED = "bundle.malformed"
_UNSUPPORTED = "bundle.unsupported"
_TEES = ("snp", "tdx")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model the worker serves: its id and the SHA-256 of its directory manifest."""

    id: str
    digest: bytes


@dataclass(frozen=True, slots=True)
class UnverifiedBundle:
    """The bundle's content as parsed, before any verification. Bytes are decoded from base64.

    ``ohttp_keys`` is kept byte for byte: the binding hashes exactly these bytes and the client
    encrypts only to a config decoded from them (``unverified_key_configs``, in the worker's order).
    """

    version: int
    tee: str
    unverified_simulated: bool
    nonce: bytes
    report: bytes
    cert_table: bytes | None
    signing_cert: bytes | None
    chain: bytes | None
    crl: bytes | None
    provider: str | None
    generation: int | None
    auxblob: bytes | None
    ohttp_keys: bytes
    unverified_key_configs: tuple[KeyConfig, ...]
    receipt_alg: str
    receipt_spki: bytes
    models: tuple[ModelInfo, ...]
    binding: str
    #: TDX only: the Intel PCS collateral bundle JSON and the CC event log, as sent (or ``None``)
    collateral: bytes | None = None
    event_log: bytes | None = None
    #: each device's evidence, exactly as sent (G hashes these bytes); ``None`` without GPUs
    gpu_evidence: tuple[bytes, ...] | None = None
    unverified_gpus: tuple[GpuEvidence, ...] = ()
    gpu_rims: tuple[bytes, ...] = ()
    gpu_ocsp: tuple[bytes, ...] = ()


def _malformed(message: str) -> FormatError:
    return FormatError(_MALFORMED, message)


def _get(
    obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, *, nullable: bool = False
) -> Any:
    if key not in obj:
        raise _malformed(f"{where}{key} is missing")
    value = obj[key]
    if value is None and nullable:
        return None
    # bool is an int subclass in Python; JSON true is never a number here
    if isinstance(value, bool) and kind is not bool:
        raise _malformed(f"{where}{key} has the wrong type (got a boolean)")
    if not isinstance(value, kind):
        raise _malformed(f"{where}{key} has the wrong type (got {type(value).__name__})")
    return value


def _b64(obj: dict[str, Any], key: str, where: str, *, nullable: bool = False) -> bytes | None:
    text = _get(obj, key, str, where, nullable=nullable)
    if text is None:
        return None
    if not text or not _B64.match(text):
        raise _malformed(f"{where}{key} is not padded standard base64")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _malformed(f"{where}{key} is not padded standard base64") from None


def _models(value: Any) -> tuple[ModelInfo, ...]:
    if not isinstance(value, list):
        raise _malformed("models must be a list")
    out: list[ModelInfo] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"models[{index}]."
        if not isinstance(item, dict):
            raise _malformed(f"models[{index}] must be an object")
        model_id = _get(item, "id", str, where)
        digest = _get(item, "digest", str, where)
        if not _MODEL_ID.match(model_id):
            raise _malformed(f"{where}id must be 1-256 visible ASCII characters")
        if not _HEX64.match(digest):
            raise _malformed(f"{where}digest must be 64 lowercase hex digits")
        if model_id in seen:
            raise _malformed(f"model id {model_id!r} is listed twice")
        seen.add(model_id)
        out.append(ModelInfo(model_id, bytes.fromhex(digest)))
    return tuple(out)


def _receipt_key(obj: dict[str, Any]) -> tuple[str, bytes]:
    key = _get(obj, "receipt_key", dict, "")
    alg = _get(key, "alg", str, "receipt_key.")
    spki = _b64(key, "spki", "receipt_key.")
    assert spki is not None
    if alg not in RECEIPT_ALGORITHMS:
        raise FormatError(_UNSUPPORTED, f"receipt key algorithm {alg!r}, want one of {RECEIPT_ALGORITHMS}")
    try:
        actual = receipt_algorithm(spki)
    except FormatError:
        raise _malformed("receipt_key.spki is not an Ed25519 or P-256 SubjectPublicKeyInfo") from None
    if actual != alg:
        raise _malformed(f"receipt_key.alg says {alg} but receipt_key.spki is an {actual} key")
    return alg, spki


def _b64_list(value: Any, where: str, limit: int) -> tuple[bytes, ...]:
    if not isinstance(value, list) or len(value) > limit:
        raise _malformed(f"{where} must be a list of at most {limit} base64 strings")
    holder = {f"{i}]": item for i, item in enumerate(value)}
    out = []
    for i in range(len(value)):
        blob = _b64(holder, f"{i}]", f"{where}[")
        assert blob is not None
        out.append(blob)
    return tuple(out)


def _gpu_evidence(value: Any) -> tuple[tuple[bytes, ...] | None, tuple[GpuEvidence, ...]]:
    if value is None:
        return None, ()
    if not isinstance(value, list):
        raise FormatError(_UNSUPPORTED, "gpu_evidence is not the list of docs/worker-protocol.md §1")
    if not value:
        raise _malformed("gpu_evidence is an empty list (no GPU is null)")
    blobs = _b64_list(value, "gpu_evidence", MAX_DEVICES)
    devices = []
    for index, blob in enumerate(blobs):
        parsed = parse_gpu_evidence(blob)
        if len(parsed) != 1:
            raise _malformed(f"gpu_evidence[{index}] holds {len(parsed)} devices, want exactly one")
        devices.append(parsed[0])
    return blobs, tuple(devices)


def _gpu_collateral(value: Any) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    if value is None:
        return (), ()
    if not isinstance(value, dict) or set(value) - {"rims", "ocsp"}:
        raise _malformed("gpu_collateral must be an object with rims and ocsp lists")
    return (
        _b64_list(value.get("rims", []), "gpu_collateral.rims", 4 * MAX_DEVICES),
        _b64_list(value.get("ocsp", []), "gpu_collateral.ocsp", 16 * MAX_DEVICES),
    )


def parse_bundle(data: bytes) -> UnverifiedBundle:
    """Parse the body of ``GET /attestation``. Raises :class:`FormatError` only (see module doc)."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise _malformed(f"bundle of {len(data)} bytes exceeds {MAX_BUNDLE_BYTES}")
    try:
        obj = strict_json_object(data)
    except ValueError as exc:  # not UTF-8 JSON, duplicate keys, NaN, too deep, not an object
        raise _malformed(f"bundle is not a strict JSON object: {str(exc)[:80]}") from None

    version = _get(obj, "version", int, "")
    if version != 1:
        raise FormatError(_UNSUPPORTED, f"bundle version {version}, want 1")
    tee = _get(obj, "tee", str, "")
    if tee not in _TEES:
        raise FormatError(_UNSUPPORTED, f"TEE {tee!r}: this client verifies {' and '.join(map(repr, _TEES))}")
    binding = _get(obj, "binding", str, "")
    if binding != BINDING_LABEL:
        raise FormatError(_UNSUPPORTED, f"binding {binding!r}, want {BINDING_LABEL!r}")
    simulated = _get(obj, "simulated", bool, "")
    nonce_hex = _get(obj, "nonce", str, "")
    if len(nonce_hex) != 2 * NONCE_SIZE or not _HEX64.match(nonce_hex):
        raise _malformed("nonce must be 64 lowercase hex digits")
    gpu_blobs, gpus = _gpu_evidence(_get(obj, "gpu_evidence", object, "", nullable=True))
    rims, ocsp = _gpu_collateral(obj.get("gpu_collateral"))

    evidence = _get(obj, "evidence", dict, "")
    report = _b64(evidence, "report", "evidence.")
    assert report is not None
    provider = _get(evidence, "provider", str, "evidence.", nullable=True)
    generation = _get(evidence, "generation", int, "evidence.", nullable=True)
    if generation is not None and generation < 0:
        raise _malformed("evidence.generation must not be negative")
    chain: bytes | None = None
    chain_text = _get(evidence, "chain", str, "evidence.", nullable=True)
    if chain_text is not None:
        # §1: the chain is PEM *text*, not base64 of it; the verifier parses the certificates
        if not chain_text.isascii() or "-----BEGIN CERTIFICATE-----" not in chain_text:
            raise _malformed("evidence.chain must be PEM text")
        chain = chain_text.encode("ascii")

    collateral = event_log = None
    if tee == "tdx":
        collateral = _b64(evidence, "collateral", "evidence.", nullable=True)
        event_log = _b64(evidence, "event_log", "evidence.", nullable=True)

    ohttp_keys = _b64(obj, "ohttp_keys", "")
    assert ohttp_keys is not None
    # The same bytes are hashed into the binding; decode failures keep their own channel code.
    key_configs = decode_key_configs(ohttp_keys)
    alg, spki = _receipt_key(obj)

    return UnverifiedBundle(
        version=version,
        tee=tee,
        unverified_simulated=simulated,
        nonce=bytes.fromhex(nonce_hex),
        report=report,
        cert_table=_b64(evidence, "cert_table", "evidence.", nullable=True),
        signing_cert=_b64(evidence, "signing_cert", "evidence.", nullable=True),
        chain=chain,
        crl=_b64(evidence, "crl", "evidence.", nullable=True),
        provider=provider,
        generation=generation,
        auxblob=_b64(evidence, "auxblob", "evidence.", nullable=True),
        ohttp_keys=ohttp_keys,
        unverified_key_configs=key_configs,
        receipt_alg=alg,
        receipt_spki=spki,
        models=_models(_get(obj, "models", list, "")),
        binding=binding,
        collateral=collateral,
        event_log=event_log,
        gpu_evidence=gpu_blobs,
        unverified_gpus=gpus,
        gpu_rims=rims,
        gpu_ocsp=ocsp,
    )
