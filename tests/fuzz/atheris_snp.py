"""Coverage-guided fuzzing of the SEV-SNP parsers with atheris.

Run: ``.venv/bin/python tests/fuzz/atheris_snp.py -runs=100000`` (add a corpus directory to keep
findings). Any exception other than FormatError, or a round trip that changes bytes, is a crash;
committed crashers become regression tests in tests/unit/evidence.
"""

from __future__ import annotations

from _atheris import instrumented, run  # this folder: the harnesses run as scripts

with instrumented():
    from attestgw.errors import FormatError
    from attestgw.evidence.snp import parse_cert_table, parse_hcl_report, parse_report, serialize_report


def one_input(data: bytes) -> None:
    if not data:
        return
    selector, payload = data[0] % 3, data[1:]
    try:
        if selector == 0:
            report = parse_report(payload)
            if serialize_report(report) != report.raw:
                raise AssertionError("round trip changed the report")
        elif selector == 1:
            parse_cert_table(payload)
        else:
            parse_hcl_report(b"HCLA" + payload)
    except FormatError:
        return


def main() -> None:
    run(one_input)


if __name__ == "__main__":
    main()
