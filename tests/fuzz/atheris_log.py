"""Coverage-guided fuzzing of the evidence-log record reader and the canonical-JSON reader.

Run: ``.venv/bin/python tests/fuzz/atheris_log.py -runs=100000`` (add a corpus directory to keep
findings). A crash is any exception other than FormatError, or an accepted input that does not
re-encode to the same bytes. Committed crashers become regression tests in tests/unit/log.

``import atheris`` is guarded so that importing this file never needs atheris (pytest does not collect
it: no ``test_`` prefix).
"""

from __future__ import annotations

from _atheris import instrumented, run  # this folder: the harnesses run as scripts

with instrumented():
    from attestgw.errors import FormatError
    from attestgw.log import canonicalize, parse_canonical, parse_record


def one_input(data: bytes) -> None:
    try:
        if data[:1] == b"R":
            record = parse_record(data[1:])
            if record.data != data[1:]:
                raise AssertionError("an accepted record is not its own bytes")
        else:
            value = parse_canonical(data, max_bytes=1 << 16)
            if canonicalize(value) != data:
                raise AssertionError("accepted bytes are not canonical")
    except FormatError:
        return


def main() -> None:
    run(one_input)


if __name__ == "__main__":
    main()
