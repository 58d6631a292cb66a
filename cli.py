"""The ``dealcoach`` command line.

Every command turns user mistakes into ``FILE:LINE:COL: message`` lines on standard error and a
non-zero exit status; a Python traceback means a bug in dealcoach, never in the user's file.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

import click

from dealcoach import __version__
from dealcoach.engine import advice as advice_mod
from dealcoach.engine import assessment, examples, report, trainer, whynot
from dealcoach.engine import deal as deal_mod
from dealcoach.engine import kb as kb_mod
from dealcoach.engine.problems import InputError
from dealcoach.engine.runner import Advisor
from dealcoach.engine.vocabulary import LANGS, Lang

EXIT_INPUT = 2


def _lazy(name: str) -> ModuleType:
    """Import a module on first use (the standard library's LazyLoader recipe). The drill commands'
    machinery (pydantic models, sqlite3) is not needed to advise, and start-up time matters there."""
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


drill_mod = _lazy("dealcoach.engine.drill")
drillgen = _lazy("dealcoach.engine.drillgen")
drillreport = _lazy("dealcoach.engine.drillreport")
drillsession = _lazy("dealcoach.engine.drillsession")
drillui = _lazy("dealcoach.engine.drillui")
storage = _lazy("dealcoach.engine.storage")


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


def load_kb(extra: Sequence[str], *, skip_invalid: bool = False) -> kb_mod.KnowledgeBase:
    """The knowledge base, or exit 2 with every problem in it (run `dealcoach kb lint` for details)."""
    try:
        knowledge = kb_mod.load(kb_mod.layer_dirs(extra), skip_invalid=skip_invalid)
    except InputError as err:
        fail(
            err.problems,
            f"dealcoach: the knowledge base has {len(err.problems)} problem(s); nothing was done. "
            "Fix them (dealcoach kb lint) or pass --skip-invalid to leave the broken rules out.",
        )
        sys.exit(EXIT_INPUT)
    skipped = sorted({p.rule or p.file for p in knowledge.skipped})
    if skipped:
        click.echo(f"dealcoach: skipped {len(skipped)} invalid rule(s): {', '.join(skipped)}", err=True)
    return knowledge


kb_option = click.option(
    "--kb",
    "kb_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="A company knowledge-base folder layered on the built-in playbook (repeatable).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="dealcoach")
def main() -> None:
    """dealcoach: key-account (大客户) sales coaching from a rule-based playbook."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(report.FORMATS),
    default="text",
    show_default=True,
    help="text for a terminal, markdown for notes, json for programs.",
)
@click.option(
    "--lang",
    type=click.Choice(LANGS),
    default=None,
    help="Language of the advice (default: zh in a Chinese locale, otherwise en).",
)
@click.option(
    "--top", type=click.IntRange(min=1), default=None, help="Show only the N most important pieces of advice."
)
@click.option("--explain", is_flag=True, help="Also show which rule derived each conclusion the advice rests on.")
@click.option(
    "--why-not",
    "why_not",
    metavar="RULE_ID",
    default=None,
    help="Instead of advice, say why RULE_ID did not fire: the first condition that failed.",
)
@click.option("--skip-invalid", is_flag=True, help="Leave out rules with problems instead of refusing to run.")
@kb_option
def advise(
    files: tuple[str, ...],
    fmt: str,
    lang: Lang | None,
    top: int | None,
    explain: bool,
    why_not: str | None,
    skip_invalid: bool,
    kb_dirs: tuple[str, ...],
) -> None:
    """Advise on the deals in FILES (YAML or JSON; - reads standard input)."""
    lang = lang or default_lang()
    kb = load_kb(kb_dirs, skip_invalid=skip_invalid)
    if why_not is not None and why_not not in kb.rule_by_id:
        fail([f"dealcoach: no rule with id {why_not!r} (see dealcoach kb list)"])
        sys.exit(EXIT_INPUT)
    advisor = Advisor(kb)
    documents, texts, problems = [], [], []
    for source in files:
        try:
            deal = deal_mod.load(source, kb.vocabulary)
        except InputError as err:
            problems += err.problems
            continue
        outcome = advisor.run(deal, keep_facts=why_not is not None)
        if why_not is not None:
            texts.append("\n".join([deal.name, *whynot.why_not(kb, outcome, why_not, lang)]) + "\n")
            continue
        advice = advice_mod.build(outcome, kb, lang, explain=explain)[:top]
        health = assessment.assess(outcome, kb, lang)
        if fmt == "json":
            documents.append(report.document(deal, advice, health, lang, explain=explain))
        else:
            texts.append(report.render(kb, fmt, deal, advice, health, lang, explain=explain))
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


@kb.command("lint")
@kb_option
def kb_lint(kb_dirs: tuple[str, ...]) -> None:
    """Check every rule file of every layer and report all problems as FILE:LINE:COL: message."""
    try:
        knowledge = kb_mod.load(kb_mod.layer_dirs(kb_dirs), recheck=True)
    except InputError as err:
        for problem in err.problems:
            click.echo(str(problem))
        click.echo(f"{len(err.problems)} problem(s)")
        sys.exit(1)
    for line in trainer.layer_summary(knowledge):
        click.echo(line)
    click.echo(f"{len(knowledge.rules)} rules, no problems")


@kb.command("list")
@click.option("--category", default=None, help="Only rules of this category.")
@click.option("--concept", default=None, help="Only rules that cite this concept id.")
@kb_option
def kb_list(category: str | None, concept: str | None, kb_dirs: tuple[str, ...]) -> None:
    """List the rules: id, category, priority (or derive), concepts, and layer if not built-in."""
    for line in trainer.list_rules(load_kb(kb_dirs), category, concept):
        click.echo(line)


@kb.command("show")
@click.argument("rule_id")
@click.option("--lang", type=click.Choice(LANGS), default=None, help="Language of the description.")
@kb_option
def kb_show(rule_id: str, lang: Lang | None, kb_dirs: tuple[str, ...]) -> None:
    """Show one rule in words: conditions, concepts, source, what it derives and who uses that."""
    knowledge = load_kb(kb_dirs)
    if rule_id not in knowledge.rule_by_id:
        fail([f"dealcoach: no rule with id {rule_id!r} (see dealcoach kb list)"])
        sys.exit(EXIT_INPUT)
    for line in trainer.show_rule(knowledge, knowledge.rule_by_id[rule_id], lang or default_lang()):
        click.echo(line)


@kb.command("new")
@click.argument("rule_id")
@click.option("--category", required=True, help="The rule's category; the rule goes into rules/CATEGORY.yaml.")
@kb_option
def kb_new(rule_id: str, category: str, kb_dirs: tuple[str, ...]) -> None:
    """Write a commented skeleton rule with examples, ready to edit (into the last --kb folder).

    The folder is created if it does not exist yet: this is how a company layer usually starts.
    """
    target = Path(kb_dirs[-1]) if kb_dirs else kb_mod.builtin_dir()
    target.mkdir(parents=True, exist_ok=True)
    knowledge = load_kb(kb_dirs)
    try:
        path = trainer.new_rule(knowledge, target, rule_id, category)
    except ValueError as err:
        fail([f"dealcoach: {err}"])
        sys.exit(EXIT_INPUT)
    click.echo(f"wrote {rule_id} to {path}; edit it, then run: dealcoach kb test {rule_id}")


@kb.command("coverage")
@click.option("--lang", type=click.Choice(LANGS), default=None, help="Language of concept titles.")
@kb_option
def kb_coverage(lang: Lang | None, kb_dirs: tuple[str, ...]) -> None:
    """Concepts covered and not, rules no example deal exercises, rules per category."""
    knowledge = load_kb(kb_dirs)
    deals = sorted(kb_mod.scenarios_dir().glob("*.yaml"))
    for line in trainer.coverage(knowledge, deals, lang or default_lang()):
        click.echo(line)


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


@main.group()
def drill() -> None:
    """Role-play drills on real cases, scored by the playbook."""


db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="The drill database (default: drills.sqlite3 in your data folder; or set DEALCOACH_DB).",
)


def drill_files() -> dict[str, Path]:
    return {p.stem: p for p in sorted((kb_mod.scenarios_dir() / "drills").glob("*.yaml"))}


def drill_path(name: str, files: dict[str, Path]) -> Path | None:
    """A bundled drill by name, or a scenario file by path."""
    return files.get(name) or (Path(name) if Path(name).is_file() else None)


def load_drill(name: str, knowledge: kb_mod.KnowledgeBase) -> drill_mod.Drill:
    files = drill_files()
    path = drill_path(name, files)
    if path is None:
        fail([f"dealcoach: no drill {name!r}; drills: {', '.join(files) or 'none'}"])
        sys.exit(EXIT_INPUT)
    try:
        return drill_mod.load(path, knowledge)
    except InputError as err:
        fail(err.problems, f"dealcoach: the drill {name!r} has {len(err.problems)} problem(s).")
        sys.exit(EXIT_INPUT)


def open_store(db_path: str | None) -> storage.Store:
    try:
        return storage.Store(Path(db_path) if db_path else storage.default_path())
    except storage.StorageError as err:
        fail([f"dealcoach: {err}"])
        sys.exit(EXIT_INPUT)


@drill.command("list")
@click.option("--lang", type=click.Choice(LANGS), default=None)
@kb_option
def drill_list(lang: Lang | None, kb_dirs: tuple[str, ...]) -> None:
    """The drills: name, title, concepts, number of steps, estimated minutes."""
    lang = lang or default_lang()
    knowledge = load_kb(kb_dirs)
    for name in drill_files():
        scenario = load_drill(name, knowledge).scenario
        click.echo(f"{name}  {scenario.title(lang)}")
        click.echo(f"    {len(scenario.steps)} steps, ~{scenario.minutes} min; concepts: {' '.join(scenario.concepts)}")


@drill.command("check")
@click.argument("names", nargs=-1)
@kb_option
def drill_check(names: tuple[str, ...], kb_dirs: tuple[str, ...]) -> None:
    """Validate drills and prove them consistent with the playbook (all drills by default)."""
    knowledge = load_kb(kb_dirs)
    examiner = drill_mod.Examiner(knowledge)
    files = drill_files()
    problems, checked = [], 0
    for name in names or tuple(files):
        checked += 1
        path = drill_path(name, files)
        if path is None:
            problems.append(f"dealcoach: no drill {name!r}; drills: {', '.join(files) or 'none'}")
            continue
        try:
            problems += drill_mod.check(drill_mod.load(path, knowledge), knowledge, examiner)
        except InputError as err:
            problems += err.problems
    for problem in problems:
        click.echo(str(problem))
    click.echo(f"{checked} drill(s) checked, {len(problems)} problem(s)")
    sys.exit(EXIT_INPUT if problems else 0)


def answer_lines(answers_file: str | None) -> Iterator[str] | None:
    """Scripted answers: from --answers, or from standard input when it is not a terminal."""
    if answers_file:
        return iter(Path(answers_file).read_text(encoding="utf-8").splitlines())
    if not sys.stdin.isatty():
        return (line.rstrip("\n") for line in sys.stdin)
    return None


@drill.command("run")
@click.argument("name", required=False)
@click.option(
    "--from-deal",
    "from_deal",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    default=None,
    help="Practise on a live deal: questions generated from the rules that fire on it.",
)
@click.option("--trainee", default=None, help="Whose progress this is (default: your login name).")
@click.option("--lang", type=click.Choice(LANGS), default=None)
@click.option(
    "--answers",
    "answers_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Play non-interactively: one answer per line.",
)
@click.option("--resume", is_flag=True, help="Continue the trainee's unfinished session exactly where it stopped.")
@click.option(
    "--explain", is_flag=True, help="Trainers: after each answer, the rules behind it and the conditions that failed."
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Order the choices by this number (default: a new order for every attempt of every trainee).",
)
@db_option
@kb_option
def drill_run(
    name: str | None,
    from_deal: str | None,
    trainee: str | None,
    lang: Lang | None,
    answers_file: str | None,
    resume: bool,
    explain: bool,
    seed: int | None,
    db_path: str | None,
    kb_dirs: tuple[str, ...],
) -> None:
    """Play a drill: a briefing, numbered choices, feedback after each step and a debrief."""
    knowledge = load_kb(kb_dirs)
    trainee = trainee or os.environ.get("USER") or os.environ.get("USERNAME") or "trainee"
    store = open_store(db_path)
    if resume:
        session = store.unfinished(trainee, name)
        if session is None:
            fail([f"dealcoach: {trainee} has no unfinished drill{f' {name!r}' if name else ''} to resume"])
            sys.exit(EXIT_INPUT)
        play = drillsession.Play.resume(knowledge, session, store, drill_mod.Examiner(knowledge, explain=explain))
    else:
        if from_deal:
            try:
                built = drillgen.from_deal(
                    deal_mod.load(from_deal, knowledge.vocabulary), knowledge, Path(from_deal).stem
                )
            except InputError as err:
                fail(err.problems, "dealcoach: the deal file has problems; no drill was made.")
                sys.exit(EXIT_INPUT)
        elif name:
            built = load_drill(name, knowledge)
        else:
            fail(["dealcoach: name a drill (see dealcoach drill list), or use --from-deal FILE or --resume"])
            sys.exit(EXIT_INPUT)
        if seed is None:
            attempt = sum(1 for s in store.sessions(trainee) if s.drill == built.name)
            seed = drillsession.attempt_seed(trainee, built.name, attempt)
        examiner = drill_mod.Examiner(knowledge, explain=explain)
        play = drillsession.Play.begin(knowledge, built, lang or default_lang(), examiner, seed=seed)
        play.store = store
        play.session_id = store.start(trainee, built.name, play.lang, drillsession.spec_of(built, seed), from_deal)
    drillui.play(play, answer_lines(answers_file))


@drill.command("report")
@click.option("--trainee", default=None, help="Only this trainee.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
@click.option("--lang", type=click.Choice(LANGS), default=None)
@db_option
@kb_option
def drill_report(
    trainee: str | None, fmt: str, lang: Lang | None, db_path: str | None, kb_dirs: tuple[str, ...]
) -> None:
    """Progress over time: attempts, score per concept and per topic, weakest first."""
    knowledge = load_kb(kb_dirs)
    store = open_store(db_path)
    click.echo(
        drillreport.render(
            drillreport.progress(store.sessions(trainee), knowledge), knowledge, fmt, lang or default_lang()
        ),
        nl=False,
    )


@main.group()
def schema() -> None:
    """JSON Schema of the deal file and of the JSON advice, and the deal-format reference."""


@schema.command("deal")
@kb_option
def schema_deal(kb_dirs: tuple[str, ...]) -> None:
    """Print the JSON Schema (draft 2020-12) of a deal file, with every spelling the vocabulary accepts."""
    from dealcoach.engine import schema as schema_mod

    click.echo(schema_mod.to_json(schema_mod.deal_schema(load_kb(kb_dirs).vocabulary)), nl=False)


@schema.command("advice")
@kb_option
def schema_advice(kb_dirs: tuple[str, ...]) -> None:
    """Print the JSON Schema (draft 2020-12) of `advise --format json` output (dealcoach.advice/1)."""
    from dealcoach.engine import schema as schema_mod

    knowledge = load_kb(kb_dirs)
    click.echo(schema_mod.to_json(schema_mod.advice_schema(knowledge.vocabulary, list(knowledge.concepts))), nl=False)


@schema.command("docs")
@kb_option
def schema_docs(kb_dirs: tuple[str, ...]) -> None:
    """Print the deal-format reference in Markdown (docs/deal-format.md is this, for the built-in playbook)."""
    from dealcoach.engine import dealdoc

    click.echo(dealdoc.reference(load_kb(kb_dirs)), nl=False)


@main.group("deal")
def deal_group() -> None:
    """Check deal files, or describe a new deal in the terminal."""


@deal_group.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))
@kb_option
def deal_check(files: tuple[str, ...], kb_dirs: tuple[str, ...]) -> None:
    """Validate the deals in FILES without advising: "FILE: ok", or every problem and exit status 2."""
    vocabulary = load_kb(kb_dirs).vocabulary
    problems = []
    for source in files:
        try:
            deal_mod.load(source, vocabulary)
        except InputError as err:
            problems += err.problems
            continue
        click.echo(f"{'<stdin>' if source == '-' else source}: ok")
    if problems:
        fail(problems, f"dealcoach: {len(problems)} problem(s) in the deal file(s).")
        sys.exit(EXIT_INPUT)


@deal_group.command("new")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", type=click.Choice(LANGS), default=None, help="Language of the questions and comments.")
@click.option("--restart", is_flag=True, help="Discard the saved answers of an unfinished deal and start again.")
@kb_option
def deal_new(file: Path | None, lang: Lang | None, restart: bool, kb_dirs: tuple[str, ...]) -> None:
    """Describe a deal in the terminal and write it to FILE (or standard output), with comments.

    Numbered choices for every enum, Enter for the default. Answers are saved as you go (FILE.draft),
    so stopping loses nothing: run the same command again to continue.
    """
    from dealcoach.engine import intake

    lang = lang or default_lang()
    lines = answer_lines(None)
    read = intake.terminal_reader() if lines is None else intake.script_reader(lines, lang)
    sys.exit(intake.new_deal(load_kb(kb_dirs).vocabulary, file, lang, read, restart=restart))


def run() -> None:
    """The ``dealcoach`` program: ``main``, then exit without tearing down the object graph.

    Freeing the compiled playbook (experta's network, the models) at interpreter exit takes about
    60 ms of a half-second run. Every answer is already committed and every file closed when a
    command returns, so once the output is flushed nothing is lost by leaving at once.
    """
    try:
        main()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if isinstance(stop.code, str):
            click.echo(stop.code, err=True)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (`dealcoach ... | head`): nothing left to say
        pass
    os._exit(code)
