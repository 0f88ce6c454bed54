"""``attestgw gateway serve``: invalid settings exit 2 with the code and no traceback."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from attestgw.cli import main


def test_invalid_settings_exit_2_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('[pool]\npolicy = "p.toml"\n[[workers]]\nurl = "ftp://nowhere"\n')
    result = CliRunner().invoke(main, ["gateway", "serve", "--config", str(path)], env={})
    assert result.exit_code == 2
    assert "config.gateway_invalid" in result.output
    assert "ftp://nowhere" in result.output
    assert "Traceback" not in result.output


def test_missing_policy_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('[pool]\npolicy = "absent.toml"\n[[workers]]\nurl = "http://127.0.0.1:9"\n')
    result = CliRunner().invoke(main, ["gateway", "serve", "--config", str(path), "--json"], env={})
    assert result.exit_code == 2
    assert '"status": "error"' in result.output
    assert "Traceback" not in result.output


def test_bad_listen_override_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('[pool]\npolicy = "p.toml"\n[[workers]]\nurl = "http://127.0.0.1:9"\n')
    result = CliRunner().invoke(main, ["gateway", "serve", "--config", str(path), "--listen", "nope"], env={})
    assert result.exit_code == 2
    assert "Traceback" not in result.output
