"""Coverage-guided fuzzing of the NVIDIA SPDM / opaque TLV / envelope and RIM parsers with atheris.

Run: ``.venv/bin/python tests/fuzz/atheris_nvidia.py -runs=100000`` (add a corpus directory, e.g. the
reports and RIMs under ../shared/corpus/nvidia). Any exception other than FormatError, or an SPDM
round trip that changes bytes, is a crash; committed crashers become tests in tests/unit/nvidia.
"""

from __future__ import annotations

from _atheris import instrumented, run  # this folder: the harnesses run as scripts

with instrumented():
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
    run(one_input)


if __name__ == "__main__":
    main()
