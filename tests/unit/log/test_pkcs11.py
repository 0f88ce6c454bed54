"""The log key on a real SoftHSM token: made on the token and never extractable, checkpoints it signs
verify with the ordinary verifier and the exported public key, the audit passes with that key, and a
wrong PIN, a missing key or a malformed reference is a clear error that never shows the PIN."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from attestgw.cli import main
from attestgw.errors import FormatError, ServiceUnavailableError
from attestgw.log import NoteVerifier, build_record, open_signer, verify_checkpoint
from tests.unit.log.logdata import ORIGIN, denial, open_store

pkcs11 = pytest.importorskip("pkcs11", reason="python-pkcs11 is not installed")
from attestgw.log.pkcs11 import Pkcs11KeyRef, Pkcs11Signer  # noqa: E402

AT = datetime(2026, 5, 1, tzinfo=UTC)
PIN = "log-user-pin-6482"
PIN_ENV = "ATTESTGW_TEST_LOG_PIN"
MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)


@pytest.fixture(scope="module")
def token() -> Iterator[str]:
    """A fresh SoftHSM token (label ``attestgw-log``) in a temporary directory; yields the module path.

    SoftHSM reads ``SOFTHSM2_CONF`` once, when the library is first loaded in this process, so every
    test here shares this one token and uses its own key labels.
    """
    module = next((m for m in MODULES if Path(m).is_file()), None)
    if module is None or shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM (libsofthsm2.so, softhsm2-util) not installed: apt-get install softhsm2")
    root = Path(tempfile.mkdtemp(prefix="attestgw-hsm-"))
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n")
    saved = {k: os.environ.get(k) for k in ("SOFTHSM2_CONF", PIN_ENV)}
    os.environ["SOFTHSM2_CONF"] = str(conf)
    os.environ[PIN_ENV] = PIN
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "attestgw-log", "--so-pin", "so-9153",
         "--pin", PIN],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield module
    finally:
        pkcs11.unload(module)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def known_key(token: str) -> str:
    """The label of a key pair that exists on the token (made once; no session left open)."""
    Pkcs11Signer.generate(_uri(token, "log-key-known"), ORIGIN).close()
    return "log-key-known"


def _uri(module: str, key: str, *, pin_env: str = PIN_ENV, token: str = "attestgw-log") -> str:
    return Pkcs11KeyRef(module, token, key, pin_env).uri


def test_checkpoints_signed_on_the_token_verify_and_audit_with_the_exported_key(
    token: str, tmp_path: Path
) -> None:
    uri = _uri(token, "log-key-1")
    with Pkcs11Signer.generate(uri, ORIGIN) as signer:
        exported = signer.verifier.vkey
        with open_store(tmp_path / "log.db", signer=signer) as store:
            for n in range(5):
                store.append(build_record("authorization.denied", denial(n), at=AT))
            note = store.checkpoint()
    # the ordinary verifier, from the published key string alone
    verifier = NoteVerifier.from_vkey(exported)
    assert verify_checkpoint(note, [verifier], origin=ORIGIN).checkpoint.size == 5
    public = tmp_path / "log.pub"
    public.write_text(exported + "\n", encoding="ascii")
    result = CliRunner().invoke(
        main, ["audit", "verify", "--db", str(tmp_path / "log.db"), "--log-key", str(public), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["checkpoints"] == 6
    # opened again from its URI the same key goes on signing the same log
    reopened = open_signer(uri, origin=ORIGIN)
    assert isinstance(reopened, Pkcs11Signer)
    try:
        assert reopened.verifier == verifier
        with open_store(tmp_path / "log.db", signer=reopened) as store:
            store.append(build_record("authorization.denied", denial(9), at=AT))
            assert verify_checkpoint(store.checkpoint(), [verifier], origin=ORIGIN).checkpoint.size == 6
    finally:
        reopened.close()


def test_the_private_key_cannot_leave_the_token(token: str) -> None:
    Pkcs11Signer.generate(_uri(token, "log-key-2"), ORIGIN).close()
    lib = pkcs11.lib(token)
    with lib.get_token(token_label="attestgw-log").open(user_pin=PIN) as session:
        private = session.get_key(pkcs11.ObjectClass.PRIVATE_KEY, label="log-key-2")
        assert private[pkcs11.Attribute.SENSITIVE] is True
        assert private[pkcs11.Attribute.EXTRACTABLE] is False
        assert private[pkcs11.Attribute.TOKEN] is True
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            private[pkcs11.Attribute.VALUE]


def test_a_wrong_pin_is_refused_without_showing_it(
    token: str, known_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATTESTGW_TEST_WRONG_PIN", "wrong-pin-0000")  # no session is logged in now
    with pytest.raises(ServiceUnavailableError) as err:
        open_signer(_uri(token, known_key, pin_env="ATTESTGW_TEST_WRONG_PIN"), origin=ORIGIN)
    assert err.value.code == "log.signer_unavailable"
    assert "refused the PIN" in err.value.message
    assert "wrong-pin-0000" not in str(err.value)
    assert PIN not in str(err.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pin_env": "ATTESTGW_TEST_UNSET_PIN"}, "is not set"),
        ({"token": "no-such-token"}, "no single token"),
        ({"key": "no-such-key"}, "no single Ed25519 key pair"),
    ],
)
def test_what_cannot_be_found_is_signer_unavailable(
    token: str, known_key: str, change: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ATTESTGW_TEST_UNSET_PIN", raising=False)
    fields = {"module": token, "token": "attestgw-log", "key": known_key, "pin_env": PIN_ENV, **change}
    with pytest.raises(ServiceUnavailableError) as err:
        Pkcs11Signer.open(Pkcs11KeyRef(**fields), ORIGIN)
    assert err.value.code == "log.signer_unavailable"
    assert message in err.value.message
    assert PIN not in str(err.value)


def test_an_existing_label_is_not_overwritten(token: str) -> None:
    Pkcs11Signer.generate(_uri(token, "log-key-5"), ORIGIN).close()
    with pytest.raises(FormatError) as err:
        Pkcs11Signer.generate(_uri(token, "log-key-5"), ORIGIN)
    assert err.value.code == "log.key_invalid"


def test_repr_names_the_key_not_the_pin(token: str) -> None:
    with Pkcs11Signer.generate(_uri(token, "log-key-6"), ORIGIN) as signer:
        text = repr(signer)
    assert "attestgw-log" in text
    assert f"{signer.verifier.key_id:08x}" in text
    assert PIN not in text


@pytest.mark.parametrize(
    "uri",
    [
        "pkcs12:token=t;object=k?module-path=/m.so&pin-source=env:P",
        "pkcs11:token=t?module-path=/m.so&pin-source=env:P",
        "pkcs11:token=t;object=k?pin-source=env:P",
        "pkcs11:token=t;object=k?module-path=/m.so",
        "pkcs11:token=t;object=k?module-path=/m.so&pin-source=file:/pin",
        "pkcs11:token=t;object=k?module-path=/m.so&pin-value=1234",
        "pkcs11:token=t;object=k;type=public?module-path=/m.so&pin-source=env:P",
        "pkcs11:token=t;token=u;object=k?module-path=/m.so&pin-source=env:P",
        "pkcs11:token;object=k?module-path=/m.so&pin-source=env:P",
    ],
)
def test_malformed_references_are_key_invalid(uri: str) -> None:
    with pytest.raises(FormatError) as err:
        Pkcs11KeyRef.parse(uri)
    assert err.value.code == "log.key_invalid"


def test_reference_round_trip() -> None:
    ref = Pkcs11KeyRef("/usr/lib/softhsm/libsofthsm2.so", "log token;1", "key/a&b", "PIN_VAR")
    assert Pkcs11KeyRef.parse(ref.uri) == ref
    assert Pkcs11KeyRef.parse(
        "pkcs11:token=log%20token;object=k?module-path=/m.so&pin-source=env:P"
    ) == Pkcs11KeyRef("/m.so", "log token", "k", "P")
