"""One table of exit statuses for every command (engine/exitcodes.py, README "Exit codes")."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine import exitcodes
from tests.conftest import ROOT, SCENARIOS

BANK = str(SCENARIOS / "bank-oa-network.yaml")
FAILING_RULE = """\
rules:
  - id: t.contact-someone
    category: coverage
    priority: high
    concepts: [R7]
    source: {seed: "002", section: CUTE 教练的作用}
    when:
      - stakeholder: {as: s, contacted: true}
    advice: {zh: "联系{{ s.name }}", en: "contact {{ s.name }}"}
    examples:
      fires:
        - stakeholders: [{name: a, contacted: false}]
      silent:
        - stakeholders: [{name: b, contacted: false}]
"""


@pytest.fixture
def layers(tmp_path):
    """Knowledge-base layers: one whose rule fails its own example, one with a broken rule file."""
    failing = tmp_path / "failing"
    (failing / "rules").mkdir(parents=True)
    (failing / "rules" / "t.yaml").write_text(FAILING_RULE, encoding="utf-8")
    broken = tmp_path / "broken"
    (broken / "rules").mkdir(parents=True)
    (broken / "rules" / "t.yaml").write_text("rules:\n  - {id: 1}\n", encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("name: x\n", encoding="utf-8")
    (tmp_path / "no-answers.txt").write_text("", encoding="utf-8")
    return tmp_path


OK, FOUND, INPUT = exitcodes.OK, exitcodes.PROBLEMS_FOUND, exitcodes.INVALID_INPUT
CASES = [
    ("advise ok", ["advise", BANK], OK),
    ("advise an invalid deal", ["advise", "{tmp}/bad.yaml"], INPUT),
    ("advise a missing file", ["advise", "{tmp}/missing.yaml"], INPUT),
    ("advise without files", ["advise"], INPUT),
    ("advise with an unknown option", ["advise", BANK, "--frmat", "json"], INPUT),
    ("advise --why-not an unknown rule", ["advise", BANK, "--why-not", "no.such-rule"], INPUT),
    ("advise on a broken layer", ["advise", BANK, "--kb", "{tmp}/broken"], INPUT),
    ("kb lint ok", ["kb", "lint"], OK),
    ("kb lint finds problems", ["kb", "lint", "--kb", "{tmp}/broken"], FOUND),
    ("kb test ok", ["kb", "test", "coverage.find-a-coach"], OK),
    ("kb test fails", ["kb", "test", "t.contact-someone", "--kb", "{tmp}/failing"], FOUND),
    ("kb test an unknown rule", ["kb", "test", "no.such-rule"], INPUT),
    ("kb show ok", ["kb", "show", "coverage.find-a-coach"], OK),
    ("kb show an unknown rule", ["kb", "show", "no.such-rule"], INPUT),
    ("kb list ok", ["kb", "list"], OK),
    ("kb new ok", ["kb", "new", "t.my-rule", "--category", "coverage", "--kb", "{tmp}/new"], OK),
    (
        "kb new an existing id",
        ["kb", "new", "coverage.find-a-coach", "--category", "coverage", "--kb", "{tmp}/n"],
        INPUT,
    ),
    ("kb coverage ok", ["kb", "coverage"], OK),
    ("drill list ok", ["drill", "list"], OK),
    ("drill check ok", ["drill", "check", "price-concession"], OK),
    ("drill check an unknown drill", ["drill", "check", "no-such-drill"], INPUT),
    ("drill run an unknown drill", ["drill", "run", "no-such-drill", "--db", "{tmp}/d.db"], INPUT),
    (
        "drill run whose answers run out",
        ["drill", "run", "price-concession", "--answers", "{tmp}/no-answers.txt", "--db", "{tmp}/d.db"],
        INPUT,
    ),
    ("drill run with nothing to resume", ["drill", "run", "--resume", "--trainee", "x", "--db", "{tmp}/d.db"], INPUT),
    ("drill report ok", ["drill", "report", "--db", "{tmp}/d.db"], OK),
    ("drill report on a file that is no database", ["drill", "report", "--db", "{tmp}/bad.yaml"], INPUT),
    ("--version", ["--version"], OK),
    ("--help", ["--help"], OK),
    ("an unknown command", ["advice"], INPUT),
]


@pytest.mark.parametrize(("args", "status"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_command_uses_the_one_table(layers, monkeypatch, args, status):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, [a.replace("{tmp}", str(layers)) for a in args])
    assert result.exit_code == status, result.output
    assert "Traceback" not in result.output


def test_drill_check_of_an_inconsistent_drill_exits_1(tmp_path):
    drill = (SCENARIOS / "drills" / "price-concession.yaml").read_text(encoding="utf-8")
    path = tmp_path / "broken-drill.yaml"
    path.write_text(drill.replace("steps:", "steps:\n  - {id: x}\n", 1), encoding="utf-8")
    result = CliRunner().invoke(main, ["drill", "check", str(path)])
    assert result.exit_code == exitcodes.PROBLEMS_FOUND, result.output


def test_the_readme_documents_the_same_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip() for line in section.splitlines() if line[:3] in {f"| {d}" for d in "0123456789"}}
    expected = {exitcodes.OK, exitcodes.PROBLEMS_FOUND, exitcodes.INVALID_INPUT, exitcodes.BUG, exitcodes.INTERRUPTED}
    assert {str(code) for code in expected} == rows


def test_a_bug_exits_70_with_the_traceback_and_a_request_to_report_it():
    import subprocess
    import sys

    script = (
        "import sys; import dealcoach.engine.render.report as report\n"
        "def broken(*args, **kwargs): raise ZeroDivisionError('a bug')\n"
        "report.render = broken\n"
        f"sys.argv = ['dealcoach', 'advise', {BANK!r}]\n"
        "from dealcoach.cli import run; run()\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert completed.returncode == exitcodes.BUG
    assert "ZeroDivisionError: a bug" in completed.stderr
    assert completed.stderr.rstrip().endswith("this is a bug in dealcoach; please report it with the lines above.")
