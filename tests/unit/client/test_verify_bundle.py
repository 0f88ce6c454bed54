"""verify_bundle: the decision that opens a session, and each way it refuses."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from attestgw.appraisal import load_policy
from attestgw.client import AttestationRefused, AttestOptions, SessionCache, select_key_config, verify_bundle
from attestgw.clock import utcnow
from attestgw.crypto.hpke import KEM_X25519_HKDF_SHA256, KEM_XWING, xwing_available
from attestgw.errors import AppraisalError, CollateralUnavailableError, FormatError, VerificationError
from attestgw.ohttp import ServerKey, encode_key_configs
from attestgw.receipt import ReceiptSigner, instance_digest
from tests.conftest import REPO
from tests.unit.client.simulated_worker import SimulatedWorkerKeys

URL = "http://worker.test"


def _nonce() -> bytes:
    return os.urandom(32)


def test_an_affirming_bundle_opens_a_session_bound_to_what_was_attested(worker: SimulatedWorkerKeys) -> None:
    nonce, at = _nonce(), utcnow()
    session = verify_bundle(worker.bundle(nonce), nonce, worker.policy(), url=URL, at=at)
    assert session.result.affirming
    assert session.simulated is True
    assert session.ohttp_keys == worker.ohttp_keys
    assert session.key_config == worker.server.keys[0].config
    assert session.receipt_spki == worker.signer.spki_der
    assert session.instance_digest == instance_digest(
        worker.guest.measurement, worker.ohttp_keys, worker.signer.spki_der
    )
    assert session.expires_at == at + timedelta(minutes=5)
    assert session.ear["ear_status"] == "affirming"
    assert session.summary()["key_configs"][0]["selected"] is True


def test_a_bundle_for_another_nonce_is_refused(worker: SimulatedWorkerKeys) -> None:
    sent = _nonce()
    with pytest.raises(VerificationError) as err:
        verify_bundle(worker.bundle(_nonce()), sent, worker.policy(), url=URL, at=utcnow())
    assert err.value.code == "bundle.nonce_mismatch"


def test_a_swapped_key_config_fails_the_binding_rule(worker: SimulatedWorkerKeys) -> None:
    """A relay that substitutes its own key config: REPORT_DATA bound the worker's keys."""
    nonce = _nonce()
    attacker = encode_key_configs([ServerKey.generate(1).config])
    data = worker.bundle(nonce, ohttp_keys=attacker, bound_keys=worker.ohttp_keys)
    with pytest.raises(AttestationRefused) as err:
        verify_bundle(data, nonce, worker.policy(), url=URL, at=utcnow())
    assert err.value.codes == ("policy.report_data_mismatch",)
    assert err.value.failures[0].rule == "expected_report_data"
    assert isinstance(err.value, AppraisalError)


def test_a_swapped_receipt_key_fails_the_binding_rule(worker: SimulatedWorkerKeys) -> None:
    nonce = _nonce()
    data = worker.bundle(nonce, receipt_spki=ReceiptSigner.generate().spki_der)
    with pytest.raises(AttestationRefused) as err:
        verify_bundle(data, nonce, worker.policy(), url=URL, at=utcnow())
    assert err.value.code == "policy.report_data_mismatch"


def test_every_failed_rule_is_reported(worker: SimulatedWorkerKeys) -> None:
    nonce = _nonce()
    attacker = encode_key_configs([ServerKey.generate(1).config])
    data = worker.bundle(nonce, ohttp_keys=attacker, bound_keys=worker.ohttp_keys)
    policy = worker.policy(measurement=b"\x11" * 48)
    with pytest.raises(AttestationRefused) as err:
        verify_bundle(data, nonce, policy, url=URL, at=utcnow())
    assert set(err.value.codes) == {"policy.measurement_mismatch", "policy.report_data_mismatch"}
    assert err.value.result.status.value == "contraindicated"


def test_the_default_policy_refuses_simulated_evidence(worker: SimulatedWorkerKeys) -> None:
    nonce = _nonce()
    policy = load_policy(REPO / "policies" / "attestation" / "default-snp.toml")
    with pytest.raises(VerificationError) as err:
        verify_bundle(worker.bundle(nonce), nonce, policy, url=URL, at=utcnow())
    assert err.value.code == "snp.root_not_pinned"


def test_a_tampered_report_is_refused_by_verification(worker: SimulatedWorkerKeys) -> None:
    nonce = _nonce()

    def flip(o: dict[str, Any]) -> None:
        raw = bytearray(base64.b64decode(o["evidence"]["report"]))
        raw[0x90] ^= 1  # MEASUREMENT
        o["evidence"]["report"] = base64.b64encode(bytes(raw)).decode()

    with pytest.raises(VerificationError) as err:
        verify_bundle(worker.bundle(nonce, edit=flip), nonce, worker.policy(), url=URL, at=utcnow())
    assert err.value.code == "snp.signature_invalid"


def test_collateral_missing_from_the_bundle_is_not_fetched_offline(worker: SimulatedWorkerKeys) -> None:
    nonce = _nonce()

    def strip(o: dict[str, Any]) -> None:
        o["evidence"].update(cert_table=None, signing_cert=None)

    with pytest.raises(CollateralUnavailableError) as err:
        verify_bundle(worker.bundle(nonce, edit=strip), nonce, worker.policy(), url=URL, at=utcnow())
    assert err.value.code == "collateral.unavailable"


def test_a_policy_that_requires_a_crl_is_not_satisfied_without_one(worker: SimulatedWorkerKeys) -> None:
    nonce = _nonce()
    with pytest.raises(VerificationError) as err:
        verify_bundle(
            worker.bundle(nonce), nonce, worker.policy(extra="require_crl = true"), url=URL, at=utcnow()
        )
    assert err.value.code == "snp.crl_required"


def test_the_session_expires_after_its_ttl(worker: SimulatedWorkerKeys) -> None:
    nonce, at = _nonce(), utcnow()
    session = verify_bundle(
        worker.bundle(nonce),
        nonce,
        worker.policy(),
        url=URL,
        at=at,
        options=AttestOptions(ttl=timedelta(seconds=30)),
    )
    assert not session.expired(at + timedelta(seconds=29))
    assert session.expired(at + timedelta(seconds=30))
    cache = SessionCache()
    cache.put(session)
    assert cache.get(URL, session.policy_digest, at) is session
    assert cache.get(URL, "another policy", at) is None
    assert cache.get(URL, session.policy_digest, at + timedelta(seconds=31)) is None
    assert cache.get(URL, session.policy_digest, at) is None  # dropped once seen expired


def test_a_naive_time_is_refused(worker: SimulatedWorkerKeys) -> None:
    nonce = _nonce()
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_bundle(worker.bundle(nonce), nonce, worker.policy(), url=URL, at=datetime(2026, 1, 1))


def test_key_config_selection_follows_the_workers_order_and_the_kem_asked_for() -> None:
    first, second = ServerKey.generate(4).config, ServerKey.generate(5).config
    assert select_key_config((first, second)) is first
    assert select_key_config((first, second), KEM_X25519_HKDF_SHA256) is first
    with pytest.raises(FormatError) as err:
        select_key_config((first, second), KEM_XWING)
    assert err.value.code == "hpke.suite_unsupported"


@pytest.mark.skipif(not xwing_available(), reason="this cryptography backend has no ML-KEM-768")
def test_the_post_quantum_config_is_chosen_when_asked(worker: SimulatedWorkerKeys) -> None:
    pq = ServerKey.generate(2, kem_id=KEM_XWING).config
    keys = encode_key_configs([worker.server.keys[0].config, pq])
    nonce = _nonce()
    session = verify_bundle(
        worker.bundle(nonce, ohttp_keys=keys),
        nonce,
        worker.policy(),
        url=URL,
        at=utcnow(),
        options=AttestOptions(kem_id=KEM_XWING),
    )
    assert session.key_config == pq
    assert len(session.key_configs) == 2


def test_verification_time_is_the_one_given(worker: SimulatedWorkerKeys) -> None:
    """Simulated VCEKs are valid from now: a time before that is refused, so `at` is really used."""
    nonce = _nonce()
    with pytest.raises(VerificationError) as err:
        verify_bundle(
            worker.bundle(nonce), nonce, worker.policy(), url=URL, at=datetime(2000, 1, 1, tzinfo=UTC)
        )
    assert err.value.code == "snp.cert_expired"
