"""Coverage-guided fuzzing of the evidence-log record reader and the canonical-JSON reader.

Run: ``.venv/bin/python tests/fuzz/atheris_log.py -runs=100000`` (add a corpus directory to keep
findings). A crash is any exception other than FormatError, or an accepted input that does not
re-encode to the same bytes. Committed crashers become regression tests in tests/unit/log.

``import atheris`` is guarded so that importing this file never needs atheris (pytest does not collect
it: no ``test_`` prefix).
"""

from __future__ import annotations

import contextlib
import sys

try:
    import atheris
except ImportError:  # pragma: no cover - atheris is an optional dev dependency (x86_64 only)
    atheris = None

with atheris.instrument_imports() if atheris is not None else contextlib.nullcontext():
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
    if atheris is None:
        sys.exit("atheris is not installed: pip install 'attestgw[dev]' on x86_64")
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
