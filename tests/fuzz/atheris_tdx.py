"""Coverage-guided fuzzing of the TDX quote and CC event-log parsers with atheris.

Run: ``.venv/bin/python tests/fuzz/atheris_tdx.py -runs=100000`` (add a corpus directory, e.g. a copy
of the quotes under ../shared/corpus/tdx, to start from real inputs). Any exception other than
FormatError, or a round trip that changes bytes, is a crash; committed crashers become regression
tests in tests/unit/evidence_tdx.
"""

from __future__ import annotations

from _atheris import instrumented, run  # this folder: the harnesses run as scripts

with instrumented():
    from attestgw.errors import FormatError
    from attestgw.evidence.tdx import parse_event_log, parse_quote, serialize_event_log, serialize_quote


def one_input(data: bytes) -> None:
    if not data:
        return
    selector, payload = data[0] % 2, data[1:]
    try:
        if selector == 0:
            quote = parse_quote(payload, allow_trailing=True)
            if serialize_quote(quote) != quote.raw:
                raise AssertionError("round trip changed the quote")
        else:
            log = parse_event_log(payload)
            if serialize_event_log(log) != payload:
                raise AssertionError("round trip changed the event log")
    except FormatError:
        return


def main() -> None:
    run(one_input)


if __name__ == "__main__":
    main()
