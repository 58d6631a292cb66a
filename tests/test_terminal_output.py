"""`advise` in a terminal: the terminal's width, CJK-aware wrapping and colour only where wanted."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pexpect
import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.render.templating import display_width
from tests.conftest import ROOT, SCENARIOS

BANK = str(SCENARIOS / "bank-oa-network.yaml")
ESC = "\x1b["


def advise(*args, env=None):
    result = CliRunner().invoke(main, ["advise", BANK, "--all", "--explain", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("columns", [40, 57, 80, 132])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_text_follows_columns_and_no_line_is_wider(columns, lang):
    lines = advise("--lang", lang, env={"COLUMNS": str(columns)}).splitlines()
    assert max(display_width(line) for line in lines) <= columns
    assert max(display_width(line) for line in lines) >= columns - 8  # it uses the room it has


def test_a_stakeholder_name_is_never_split_across_lines():
    for columns in range(40, 61, 3):
        text = advise("--lang", "zh", env={"COLUMNS": str(columns)})
        assert text.count("周建国") == text.replace("\n", "").count("周建国")


def test_a_very_narrow_terminal_still_gets_forty_columns():
    lines = advise("--lang", "en", env={"COLUMNS": "10"}).splitlines()
    assert max(display_width(line) for line in lines) <= 40


def test_piped_output_is_80_columns_and_plain():
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    completed = subprocess.run(
        [sys.executable, "-m", "dealcoach", "advise", BANK, "--lang", "zh", "--all"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    widths = [display_width(line) for line in completed.stdout.splitlines()]
    assert 76 <= max(widths) <= 80
    assert ESC not in completed.stdout


def test_color_forces_colour_on_priorities_and_headings():
    text = advise("--lang", "en", "--color")
    assert "\x1b[31m\x1b[1m[high]\x1b[0m" in text
    assert "\x1b[1mMost important next steps\x1b[0m" in text


def test_no_color_or_a_pipe_gives_plain_text():
    assert ESC not in advise("--lang", "en", "--no-color")
    assert ESC not in advise("--lang", "en")


def test_colour_does_not_change_the_words_or_the_wrapping():
    plain = advise("--lang", "zh", env={"COLUMNS": "50"})
    coloured = advise("--lang", "zh", "--color", env={"COLUMNS": "50"})
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_markdown_is_never_coloured():
    assert ESC not in advise("--lang", "en", "--format", "markdown", "--color")


def spawn(*args: str, env: dict[str, str], columns: int = 60) -> str:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "dealcoach", "advise", BANK, "--lang", "zh", *args],
        cwd=str(ROOT),
        env=env,
        dimensions=(40, columns),
        encoding="utf-8",
        timeout=60,
    )
    output = child.read()
    child.close()
    assert child.exitstatus == 0, output
    return output.replace("\r\n", "\n")


def terminal_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    return {**env, **extra}


def test_a_real_terminal_gets_its_own_width_and_colour():
    output = spawn(env=terminal_env(), columns=60)
    assert ESC in output
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    assert 56 <= max(display_width(line) for line in plain.splitlines()) <= 60


def test_no_color_in_the_environment_turns_colour_off_in_a_terminal():
    assert ESC not in spawn(env=terminal_env(NO_COLOR="1"))
