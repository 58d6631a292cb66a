"""The ``dealcoach`` command line.

Every command turns user mistakes into ``FILE:LINE:COL: message`` lines on standard error and a
non-zero exit status; a Python traceback means a bug in dealcoach, never in the user's file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from engine import advice as advice_mod
from engine import deal as deal_mod
from engine import examples
from engine import kb as kb_mod
from engine import report
from engine.problems import InputError
from engine.runner import Advisor
from engine.vocabulary import LANGS, Lang

EXIT_INPUT = 2


def default_lang() -> Lang:
    """Chinese for a Chinese locale (zh_CN, zh_TW, ...), English otherwise."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def fail(problems: Sequence[object], summary: str | None = None) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)
    if summary:
        click.echo(summary, err=True)


def load_kb(extra: Sequence[str]) -> kb_mod.KnowledgeBase:
    try:
        return kb_mod.load(kb_mod.layer_dirs(extra))
    except InputError as err:
        fail(err.problems, f"dealcoach: the knowledge base has {len(err.problems)} problem(s); nothing was advised.")
        sys.exit(EXIT_INPUT)


kb_option = click.option("--kb", "kb_dirs", multiple=True, type=click.Path(file_okay=False),
                         help="A company knowledge-base folder layered on the built-in playbook (repeatable).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dealcoach")
def main() -> None:
    """dealcoach: key-account (大客户) sales coaching from a rule-based playbook."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(report.FORMATS), default="text", show_default=True,
              help="text for a terminal, markdown for notes, json for programs.")
@click.option("--lang", type=click.Choice(LANGS), default=None,
              help="Language of the advice (default: zh in a Chinese locale, otherwise en).")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Show only the N most important pieces of advice.")
@click.option("--explain", is_flag=True, help="Also show which rule derived each conclusion the advice rests on.")
@kb_option
def advise(files: tuple[str, ...], fmt: str, lang: Lang | None, top: int | None, explain: bool, kb_dirs: tuple[str, ...]) -> None:
    """Advise on the deals in FILES (YAML or JSON; - reads standard input)."""
    lang = lang or default_lang()
    kb = load_kb(kb_dirs)
    advisor = Advisor(kb)
    documents, texts, problems = [], [], []
    for source in files:
        try:
            deal = deal_mod.load(source, kb.vocabulary)
        except InputError as err:
            problems += err.problems
            continue
        advice = advice_mod.build(advisor.run(deal), kb, lang, explain=explain)[:top]
        if fmt == "json":
            documents.append(report.document(deal, advice, lang, explain=explain))
        else:
            texts.append(report.render(kb, fmt, deal, advice, lang, explain=explain))
    if documents:
        click.echo(report.to_json(documents), nl=False)
    if texts:
        click.echo("\n".join(texts), nl=False)
    if problems:
        fail(problems, f"dealcoach: {len(problems)} problem(s) in the deal file(s); those deals were not advised.")
        sys.exit(EXIT_INPUT)


@main.group()
def kb() -> None:
    """Check and test the playbook (the knowledge base)."""


@kb.command("test")
@click.argument("rule_ids", nargs=-1)
@kb_option
def kb_test(rule_ids: tuple[str, ...], kb_dirs: tuple[str, ...]) -> None:
    """Run every rule's own examples (must fire / must not fire)."""
    knowledge = load_kb(kb_dirs)
    unknown = sorted(set(rule_ids) - set(knowledge.rule_by_id))
    if unknown:
        fail([f"dealcoach: no rule with id {rule_id!r}" for rule_id in unknown])
        sys.exit(EXIT_INPUT)
    results = examples.run_all(Advisor(knowledge), set(rule_ids) or None)
    click.echo("".join("." if r.passed else "F" for r in results))
    failed = [r for r in results if not r.passed]
    for result in failed:
        click.echo(f"FAILED {result.name} ({result.location()}): {result.failure}")
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
