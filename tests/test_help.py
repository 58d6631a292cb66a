"""Help that teaches: examples on every command, the environment at the top, shell completion."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dealcoach.cli import main

COMMANDS = [
    ["advise"],
    ["review"],
    ["import"],
    ["import", "salesforce"],
    ["import", "hubspot"],
    ["kb"],
    ["kb", "lint"],
    ["kb", "list"],
    ["kb", "show"],
    ["kb", "new"],
    ["kb", "coverage"],
    ["kb", "test"],
    ["drill"],
    ["drill", "list"],
    ["drill", "check"],
    ["drill", "run"],
    ["drill", "report"],
    ["deal"],
    ["deal", "check"],
    ["deal", "new"],
    ["schema"],
    ["schema", "deal"],
    ["schema", "advice"],
    ["schema", "docs"],
    ["serve"],
]


def help_text(*command: str) -> str:
    result = CliRunner().invoke(main, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    return result.stdout


def every_command(group=main, path=()):
    for name, command in getattr(group, "commands", {}).items():
        yield [*path, name]
        yield from every_command(command, [*path, name])


def test_the_list_of_commands_below_is_complete():
    assert sorted(every_command()) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_shows_examples_of_itself(command):
    text = help_text(*command)
    examples = text.split("Examples:\n", 1)[1].splitlines()
    assert any(line.strip().startswith(f"dealcoach {' '.join(command)}") for line in examples)


def test_the_top_level_help_lists_the_environment_variables():
    text = help_text()
    for name in (
        "DEALCOACH_KB ",
        "DEALCOACH_KB_HOME",
        "DEALCOACH_CACHE",
        "DEALCOACH_DB",
        "NO_COLOR",
        "COLUMNS",
        "LANG",
    ):
        assert name in text.split("Environment:", 1)[1]


def complete(words: str) -> list[str]:
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    result = CliRunner().invoke(
        main,
        [],
        prog_name="dealcoach",
        env={"_DEALCOACH_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)},
    )
    return [line.split(",", 1)[1] for line in result.stdout.splitlines()]


@pytest.mark.parametrize(
    "words",
    [
        "dealcoach kb show coverage.find-a",
        "dealcoach kb test coverage.find-a",
        "dealcoach advise d.yaml --why-not coverage.find-a",
    ],
)
def test_rule_ids_complete_in_the_shell(words):
    assert complete(words) == ["coverage.find-a-coach"]


def test_drill_names_complete_in_the_shell():
    assert complete("dealcoach drill run price-") == ["price-concession"]
    assert "price-concession" in complete("dealcoach drill check ")


def test_rule_ids_from_a_company_layer_complete_too(tmp_path):
    layer = tmp_path / "layer"
    CliRunner().invoke(main, ["kb", "new", "coverage.our-own-rule", "--category", "coverage", "--kb", str(layer)])
    assert complete(f"dealcoach kb show --kb {layer} coverage.our") == ["coverage.our-own-rule"]
