"""docs/authoring.md runs as written: its files are created and its commands give the output shown.

``yaml file=PATH`` blocks are written to PATH in a scratch folder; in ``console`` blocks each
``$ dealcoach ...`` line is run there and must print the lines below it. ``...`` stands for any
text within a line, and a line of just ``...`` for any number of lines.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from dealcoach.cli import main
from tests.conftest import ROOT

DOC = ROOT / "docs" / "authoring.md"
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def lines_match(expected: list[str], actual: list[str]) -> bool:
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(lines_match(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    pattern = ".*".join(map(re.escape, expected[0].split("...")))
    return bool(actual) and re.fullmatch(pattern, actual[0]) is not None and lines_match(expected[1:], actual[1:])


def commands(block: str) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            found.append((line[2:], []))
        else:
            found[-1][1].append(line)
    return found


def test_every_example_in_the_authoring_guide_runs_as_shown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DEALCOACH_KB", raising=False)
    ran = 0
    for kind, info, body in BLOCK.findall(DOC.read_text(encoding="utf-8")):
        target = re.search(r"file=(\S+)", info)
        if target:
            path = Path(target.group(1))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
        elif kind == "console":
            for command, expected in commands(body):
                words = shlex.split(command)
                assert words[0] == "dealcoach"
                result = CliRunner().invoke(main, words[1:])
                assert "Traceback" not in result.output
                actual = result.output.rstrip("\n").splitlines()
                assert lines_match(expected, actual), f"$ {command}\n--- expected\n{expected}\n--- got\n{actual}"
                ran += 1
    assert ran >= 8
