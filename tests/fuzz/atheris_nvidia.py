"""Coverage-guided fuzzing of the NVIDIA SPDM / opaque TLV / envelope and RIM parsers with atheris.

Run: ``.venv/bin/python tests/fuzz/atheris_nvidia.py -runs=100000`` (add a corpus directory, e.g. the
reports and RIMs under ../shared/corpus/nvidia). Any exception other than FormatError, or an SPDM
round trip that changes bytes, is a crash; committed crashers become tests in tests/unit/nvidia.
"""

from __future__ import annotations

import sys

try:
    import atheris
except ImportError:  # atheris is an optional x86_64-only dev dependency
    sys.exit("atheris is not installed: pip install atheris (x86_64 only)")

with atheris.instrument_imports():
    from attestgw.errors import FormatError
    from attestgw.evidence.nvidia import parse_gpu_evidence, parse_gpu_report, parse_rim, serialize_gpu_report


def one_input(data: bytes) -> None:
    if not data:
        return
    selector, payload = data[0] % 3, data[1:]
    try:
        if selector == 0:
            report = parse_gpu_report(payload)
            if serialize_gpu_report(report) != payload:
                raise AssertionError("round trip changed the report")
        elif selector == 1:
            parse_gpu_evidence(payload)
        else:
            parse_rim(payload)
    except FormatError:
        return


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
