"""`attestgw demo` runs the embedded default and shows one affirmation and three distinct refusals."""

from __future__ import annotations

from click.testing import CliRunner

from attestgw.cli import main


def test_demo_affirms_the_genuine_report_and_refuses_the_rest() -> None:
    result = CliRunner().invoke(main, ["demo", "--product", "Milan"])
    assert result.exit_code == 0, result.output
    assert result.output.count("AFFIRMING") == 1
    assert "SIMULATED" in result.output
    for code in ("snp.signature_invalid", "snp.root_not_pinned", "policy.debug_allowed"):
        assert f"[{code}]" in result.output
    assert "UNEXPECTED" not in result.output
