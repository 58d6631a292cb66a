"""`kb new` writes into the user's own layer, which every command then loads; `advise - -` is refused."""

from __future__ import annotations

from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.playbook import kb

DEAL = "name: d\naccount: {name: a}\n"


def run(*args: str, input_text: str | None = None):
    result = CliRunner().invoke(main, list(args), input=input_text)
    assert "Traceback" not in result.output
    return result


def test_kb_new_without_kb_writes_into_the_user_layer(tmp_path, monkeypatch):
    monkeypatch.setenv("DEALCOACH_KB_HOME", str(tmp_path / "mine"))
    result = run("kb", "new", "coverage.my-rule", "--category", "coverage")
    assert result.exit_code == 0, result.output
    written = tmp_path / "mine" / "rules" / "coverage.yaml"
    assert f"wrote coverage.my-rule to {written}" in result.stdout
    assert "coverage.my-rule" in written.read_text(encoding="utf-8")


def test_kb_new_never_touches_the_built_in_playbook(tmp_path, monkeypatch):
    monkeypatch.setenv("DEALCOACH_KB_HOME", str(tmp_path / "mine"))
    before = {p: p.read_bytes() for p in (kb.builtin_dir() / "rules").glob("*.yaml")}
    run("kb", "new", "coverage.my-rule", "--category", "coverage")
    assert {p: p.read_bytes() for p in (kb.builtin_dir() / "rules").glob("*.yaml")} == before


def test_the_user_layer_defaults_to_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DEALCOACH_KB_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert run("kb", "new", "coverage.my-rule", "--category", "coverage").exit_code == 0
    assert (tmp_path / "data" / "dealcoach" / "kb" / "rules" / "coverage.yaml").is_file()


def test_a_rule_in_the_user_layer_is_loaded_by_every_command(tmp_path, monkeypatch):
    monkeypatch.setenv("DEALCOACH_KB_HOME", str(tmp_path / "mine"))
    run("kb", "new", "coverage.my-rule", "--category", "coverage")
    assert run("kb", "show", "coverage.my-rule").exit_code == 0
    assert run("kb", "test", "coverage.my-rule").exit_code == 0
    assert "coverage.my-rule" in run("kb", "list", "--category", "coverage").stdout


def test_kb_new_with_kb_writes_into_that_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("DEALCOACH_KB_HOME", str(tmp_path / "mine"))
    run("kb", "new", "coverage.my-rule", "--category", "coverage", "--kb", str(tmp_path / "company"))
    assert (tmp_path / "company" / "rules" / "coverage.yaml").is_file()
    assert not (tmp_path / "mine").exists()


def test_kb_new_refuses_the_built_in_playbook_as_its_target():
    result = run("kb", "new", "coverage.my-rule", "--category", "coverage", "--kb", str(kb.builtin_dir()))
    assert result.exit_code == 2
    assert "is the built-in playbook, which a reinstall replaces" in result.stderr


def test_standard_input_named_twice_is_refused():
    result = run("advise", "-", "-", input_text=DEAL)
    assert result.exit_code == 2
    assert "standard input (-) can be read only once" in result.stderr
    assert result.stdout == ""
