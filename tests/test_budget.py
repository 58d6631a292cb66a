"""The advice budget: people see the ten most important steps and how many more there are;
programs get everything."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from tests.conftest import SCENARIOS

DEAL = str(SCENARIOS / "bank-oa-network.yaml")
ITEM = {"text": re.compile(r"^( \d+\.  |  -  )\["), "markdown": re.compile(r"^(\d+\. |- )\*\*\[")}


def advise(*args):
    result = CliRunner().invoke(main, ["advise", DEAL, "--lang", "en", *args])
    assert "Traceback" not in result.output
    return result


def total() -> int:
    return len(json.loads(advise("--format", "json").stdout)["advice"])


def shown(output: str, fmt: str) -> int:
    return sum(1 for line in output.splitlines() if ITEM[fmt].match(line))


def test_the_bundled_deal_has_more_advice_than_the_budget():
    assert total() > 12  # the tests below would prove nothing otherwise


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_people_see_ten_steps_and_how_many_more_there_are(fmt):
    output = advise("--format", fmt).stdout
    assert shown(output, fmt) == 10
    assert f"{total() - 10} more: --all shows them" in output


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_top_chooses_how_many(fmt):
    output = advise("--format", fmt, "--top", "4").stdout
    assert shown(output, fmt) == 4
    assert f"{total() - 4} more: --all shows them" in output


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_all_shows_everything_and_promises_nothing_more(fmt):
    output = advise("--format", fmt, "--all").stdout
    assert shown(output, fmt) == total()
    assert "more: --all" not in output


def test_the_header_counts_all_the_advice_not_only_what_is_shown():
    assert f", {total()} pieces of advice" in advise().stdout.splitlines()[1]


def test_the_chinese_hint_names_the_option():
    result = CliRunner().invoke(main, ["advise", DEAL, "--lang", "zh"])
    assert f"还有 {total() - 10} 条建议：用 --all 全部显示" in result.stdout


def test_json_keeps_everything_unless_top_is_given():
    assert total() > 10
    assert len(json.loads(advise("--format", "json", "--top", "2").stdout)["advice"]) == 2


def test_top_and_all_together_are_refused():
    result = advise("--top", "3", "--all")
    assert result.exit_code == 2
    assert "--top and --all cannot be used together" in result.stderr
