"""Coverage-guided fuzzing of the signed-note, checkpoint and key-string parsers and the proof verifiers.

Run: ``.venv/bin/python tests/fuzz/atheris_note.py -runs=10000`` (add a corpus directory to keep
findings). A crash is any exception other than FormatError/VerificationError, a parsed note or
checkpoint that does not re-serialize to the same bytes, or a forged note that verifies. Committed
crashers become regression tests in tests/unit/merkle.

``import atheris`` is guarded so that importing this file never needs atheris (pytest does not collect
it: no ``test_`` prefix).
"""

from __future__ import annotations

import contextlib

from _atheris import atheris, instrumented, run  # this folder: the harnesses run as scripts

with instrumented():
    from attestgw import log, merkle
    from attestgw.errors import FormatError, VerificationError

SIGNER = log.NoteSigner.from_seed("fuzz.example/log", bytes(range(32)))


def one_input(data: bytes) -> None:
    if not data:
        return
    selector, payload = data[0] % 6, data[1:]
    try:
        if selector == 0:
            note = merkle.parse_note(payload)
            if merkle.format_note(note) != payload:
                raise AssertionError("parse/format round trip changed the note")
        elif selector == 1:
            text = payload.decode("utf-8", errors="replace")
            checkpoint = merkle.parse_checkpoint(text)
            if checkpoint.to_text() != text:
                raise AssertionError("parse/format round trip changed the checkpoint")
        elif selector == 2:
            log.verify_note(payload, [SIGNER.verifier])
            raise AssertionError("a note nobody trusted signed was accepted")
        elif selector == 3:
            text = payload.decode("utf-8", errors="replace")
            for parse in (merkle.parse_verifier_key, merkle.parse_signer_key):
                with contextlib.suppress(FormatError):
                    parse(text)
        else:
            _proofs(selector, payload)
    except (FormatError, VerificationError):
        return


def _proofs(selector: int, payload: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(payload)
    a, b, c = (fdp.ConsumeIntInRange(-2, 1 << 66) for _ in range(3))
    h1, h2 = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 40)), fdp.ConsumeBytes(32)
    proof = [fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 33)) for _ in range(fdp.ConsumeIntInRange(0, 70))]
    if selector == 4:
        merkle.verify_inclusion(h1, a, b, proof, h2)
    else:
        merkle.verify_consistency(a, b, proof, h1, h2)
        merkle.verify_subtree_consistency(a, b, c, proof, subtree_hash=h1, root=h2)


def main() -> None:
    run(one_input)


if __name__ == "__main__":
    main()
