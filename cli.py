"""The ``dealcoach`` command line.

Every command turns user mistakes into ``FILE:LINE:COL: message`` lines on standard error and a
non-zero exit status; a Python traceback means a bug in dealcoach, never in the user's file.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dealcoach import __version__
from dealcoach.engine import gcpause, userdirs
from dealcoach.engine.exitcodes import BUG, INTERRUPTED, INTERRUPTED_MESSAGE, INVALID_INPUT, PROBLEMS_FOUND
from dealcoach.engine.options import DEFAULT_BUDGET, FORMATS, LANGS, MACHINE_FORMATS
from dealcoach.engine.render import terminal

if TYPE_CHECKING:
    from dealcoach.engine.options import Lang


class _Lazy:
    """A module imported on first use of one of its names.

    ``dealcoach --version`` and every ``--help`` answer without the engine (experta, pydantic,
    Jinja, the playbook), and a command loads only what it uses: start-up time is what a rep
    notices first. The import itself is an ordinary one (nothing stands in for the module in
    ``sys.modules``), so a Ctrl-C in the middle of it leaves no half-built module behind.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        module = sys.modules.get(self._name)
        if module is None:
            with gcpause.paused():  # an import makes mostly objects that live as long as the process
                module = importlib.import_module(self._name)
        return getattr(module, attr)


def _lazy(name: str) -> Any:
    return _Lazy(name)


advice_mod = _lazy("dealcoach.engine.advising.advice")
assessment = _lazy("dealcoach.engine.advising.assessment")
batch_pool = _lazy("dealcoach.engine.batch.pool")
batch_stream = _lazy("dealcoach.engine.batch.stream")
deal_mod = _lazy("dealcoach.engine.deals.deal")
coaching = _lazy("dealcoach.engine.drills.coaching")
drill_mod = _lazy("dealcoach.engine.drills.drill")
drillgen = _lazy("dealcoach.engine.drills.drillgen")
drillreport = _lazy("dealcoach.engine.drills.drillreport")
drillsession = _lazy("dealcoach.engine.drills.drillsession")
drillui = _lazy("dealcoach.engine.drills.drillui")
examples = _lazy("dealcoach.engine.playbook.examples")
kb_mod = _lazy("dealcoach.engine.playbook.kb")
problems_mod = _lazy("dealcoach.engine.problems")
report = _lazy("dealcoach.engine.render.report")
runner = _lazy("dealcoach.engine.matching.runner")
storage = _lazy("dealcoach.engine.drills.storage")
templating = _lazy("dealcoach.engine.render.templating")
trainer = _lazy("dealcoach.engine.playbook.trainer")
whynot = _lazy("dealcoach.engine.advising.whynot")


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
    except problems_mod.InputError as err:
        fail(
            err.problems,
            f"dealcoach: the knowledge base has {len(err.problems)} problem(s); nothing was done. "
            "Fix them (dealcoach kb lint) or pass --skip-invalid to leave the broken rules out.",
        )
        sys.exit(INVALID_INPUT)
    skipped = sorted({p.rule or p.file for p in knowledge.skipped})
    if skipped:
        click.echo(f"dealcoach: skipped {len(skipped)} invalid rule(s): {', '.join(skipped)}", err=True)
    return knowledge


def require_rules(knowledge: kb_mod.KnowledgeBase, rule_ids: Sequence[str]) -> None:
    """Exit 2 naming every unknown rule id, with the closest known ids: rule ids are long and
    dotted, and a typo (``coverage.meet-economic-buyr``) is the usual reason one is unknown."""
    unknown = [rule_id for rule_id in dict.fromkeys(rule_ids) if rule_id not in knowledge.rule_by_id]
    if unknown:
        fail(
            [
                f"dealcoach: no rule with id {rule_id!r}{did_you_mean(rule_id, knowledge.rule_by_id)}"
                for rule_id in unknown
            ]
        )
        sys.exit(INVALID_INPUT)


def did_you_mean(word: str, choices: Iterable[str], listing: str = "dealcoach kb list") -> str:
    """``; did you mean 'x'?`` with the closest choice, or a pointer to the full list."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f" (see {listing})"


def help_examples(*lines: str) -> str:
    """An ``Examples`` section for a command's help, kept as written (click's ``\\b``)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


ENVIRONMENT = """\b
Environment:
  DEALCOACH_KB       more knowledge-base layers, a path list (like --kb)
  DEALCOACH_KB_HOME  your own layer (default ~/.local/share/dealcoach/kb), where kb new writes
  DEALCOACH_CACHE    the playbook cache folder (default ~/.cache/dealcoach); off disables it
  DEALCOACH_DB       the drill database (default ~/.local/share/dealcoach/drills.sqlite3)
  LC_ALL, LANG       zh_* makes Chinese the default language, anything else English
  COLUMNS            the width text output wraps to (default: the terminal's, 80 when piped)
  NO_COLOR           any value turns colour off (see --color/--no-color)

\b
Exit status: 0 done, 1 a check found problems, 2 invalid input or usage,
70 a bug in dealcoach, 130 interrupted."""


def complete_rule_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Rule ids for the shell, from the same layers the command would load (its --kb options)."""
    try:
        knowledge = kb_mod.load(kb_mod.layer_dirs(ctx.params.get("kb_dirs") or ()), skip_invalid=True)
    except Exception:  # a broken playbook or layer: the shell gets no suggestions, never a traceback
        return []
    return [rule_id for rule_id in sorted(knowledge.rule_by_id) if rule_id.startswith(incomplete)]


def complete_drill_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The bundled drills' names for the shell."""
    return [name for name in drill_files() if name.startswith(incomplete)]


jobs_option = click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: one per core from 64 deals on, otherwise 1); the output is the same for any N.",
)

kb_option = click.option(
    "--kb",
    "kb_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="A company knowledge-base folder layered on the built-in playbook (repeatable).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=ENVIRONMENT)
@click.version_option(version=__version__, prog_name="dealcoach")
def main() -> None:
    """dealcoach: key-account (大客户) sales coaching from a rule-based playbook.

    \b
    Examples:
      dealcoach advise deal.yaml --lang zh          next steps for a deal, in Chinese
      dealcoach advise deals/*.yaml --format jsonl  one JSON document per deal
      dealcoach kb test                             run every rule's own examples
      dealcoach drill run price-concession          practise a negotiation
    """


@main.command(
    epilog=help_examples(
        "dealcoach advise deal.yaml",
        "dealcoach advise deal.yaml --lang zh --top 5",
        "dealcoach advise deal.yaml --format markdown > notes.md",
        "dealcoach advise a.yaml b.yaml --format json | jq '.[].assessment.health'",
        "cat deal.json | dealcoach advise - --format jsonl",
        "dealcoach advise deal.yaml --why-not coverage.find-a-coach",
    )
)
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for a terminal, markdown for notes, json for programs (an array when several files are given), "
    "jsonl for streams (one document per line, each with its file).",
)
@click.option(
    "--lang",
    type=click.Choice(LANGS),
    default=None,
    help="Language of the advice (default: zh in a Chinese locale, otherwise en).",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=None,
    help=f"Show the N most important pieces of advice (text and markdown: {DEFAULT_BUDGET} unless given; "
    "json: all unless given).",
)
@click.option("--all", "show_all", is_flag=True, help="Show every piece of advice in text and markdown.")
@click.option("--explain", is_flag=True, help="Also show which rule derived each conclusion the advice rests on.")
@click.option(
    "--why-not",
    "why_not",
    metavar="RULE_ID",
    default=None,
    shell_complete=complete_rule_ids,
    help="Instead of advice, say why RULE_ID did not fire: the first condition that failed.",
)
@click.option("--skip-invalid", is_flag=True, help="Leave out rules with problems instead of refusing to run.")
@click.option(
    "--color/--no-color",
    "color",
    default=None,
    help="Colour priorities and headings (default: only on a terminal, and not when NO_COLOR is set).",
)
@jobs_option
@kb_option
def advise(
    files: tuple[str, ...],
    fmt: str,
    lang: Lang | None,
    top: int | None,
    show_all: bool,
    explain: bool,
    why_not: str | None,
    skip_invalid: bool,
    color: bool | None,
    jobs: int | None,
    kb_dirs: tuple[str, ...],
) -> None:
    """Advise on the deals in FILES (YAML or JSON; - reads standard input)."""
    refuse_conflicting_options(files, why_not, top=top, show_all=show_all, explain=explain)
    kb = load_kb(kb_dirs, skip_invalid=skip_invalid)
    if why_not is not None:
        require_rules(kb, [why_not])
    request = Request(
        kb=kb,
        advisor=runner.Advisor(kb),
        fmt=fmt,
        lang=lang or default_lang(),
        explain=explain,
        why_not=why_not,
        limit=None if show_all or (top is None and fmt in MACHINE_FORMATS) else top or DEFAULT_BUDGET,
        width=terminal.output_width(),
        color=terminal.use_color(color),
    )
    several = len(files) > 1
    job = AdviseJob(tuple(kb_dirs), skip_invalid, request.settings(), several)
    jobs = 1 if "-" in files else jobs or batch_pool.default_jobs(len(files))
    stream = batch_stream.Stream(lambda text: click.echo(text, nl=False, color=request.color), fmt, several=several)
    problems: list[object] = []
    local = functools.partial(advise_one, request, several)
    for found, text in batch_pool.run(files, advise_worker, (job,), jobs=jobs, local=local):
        problems += found
        if not found:
            stream.add(text)
    stream.close()
    if problems:
        fail(problems, f"dealcoach: {len(problems)} problem(s) in the deal file(s); those deals were not advised.")
        sys.exit(INVALID_INPUT)


@dataclass(frozen=True)
class AdviseJob:
    """What a worker process needs to answer exactly as ``advise`` itself would: the layers to
    load and the request's settings (picklable: the compiled playbook is rebuilt, once per worker)."""

    kb_dirs: tuple[str, ...]
    skip_invalid: bool
    settings: dict[str, Any]
    several: bool


def advise_worker(job: AdviseJob) -> Callable[[str], tuple[list[Any], str]]:
    """The per-deal handler of a worker process (see :func:`dealcoach.engine.batch.pool.run`)."""
    knowledge = kb_mod.load(kb_mod.layer_dirs(job.kb_dirs), skip_invalid=job.skip_invalid)
    request = Request(kb=knowledge, advisor=runner.Advisor(knowledge), **job.settings)
    return functools.partial(advise_one, request, job.several)


def advise_one(request: Request, several: bool, source: str) -> tuple[list[Any], str]:
    """One deal file: its problems (then nothing is written for it), or its output piece."""
    try:
        deal = deal_mod.load(source, request.kb.vocabulary)
    except problems_mod.InputError as err:
        return list(err.problems), ""
    try:  # a company layer's template can fail on this deal: the layer's problem, not a crash
        answer = request.answer(deal)
    except problems_mod.InputError as err:
        return list(err.problems), ""
    _report_skipped_rules(request.kb)
    if isinstance(answer, str):
        return [], answer
    return [], batch_stream.piece(source, answer, request.fmt, several=several)


def _report_skipped_rules(knowledge: kb_mod.KnowledgeBase) -> None:
    """--skip-invalid: the rules whose template failed on this deal were left out of its advice; say which."""
    if knowledge.failed:
        rules = len({p.rule for p in knowledge.failed})
        fail(
            knowledge.failed,
            f"dealcoach: left out the advice of {rules} rule(s) whose template failed (--skip-invalid).",
        )
        knowledge.failed.clear()


def refuse_conflicting_options(
    files: Sequence[str], why_not: str | None, *, top: int | None, show_all: bool, explain: bool
) -> None:
    """Usage errors (exit 2) for options that cannot work together, rather than silently ignoring one."""
    if files.count("-") > 1:
        raise click.UsageError("standard input (-) can be read only once; name it once")
    if why_not is not None:
        given = [name for name, value in (("--top", top), ("--all", show_all), ("--explain", explain)) if value]
        if given:
            raise click.UsageError(f"{' and '.join(given)} cannot be used with --why-not, which explains one rule")
    if top is not None and show_all:
        raise click.UsageError("--top and --all cannot be used together")


@dataclass(frozen=True)
class Request:
    """What ``advise`` was asked for, the same for every deal it is given."""

    kb: kb_mod.KnowledgeBase
    advisor: runner.Advisor
    fmt: str
    lang: Lang
    explain: bool
    why_not: str | None
    limit: int | None  # pieces of advice shown; None for all
    width: int
    color: bool

    def settings(self) -> dict[str, Any]:
        """Everything but the playbook, for a worker process to rebuild the same request."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__ if name not in ("kb", "advisor")}

    def answer(self, deal: deal_mod.Deal) -> str | dict[str, Any]:
        """Text or Markdown for a person, or a JSON document for a program."""
        machine = self.fmt in MACHINE_FORMATS
        outcome = self.advisor.run(deal, keep_facts=self.why_not is not None)
        if self.why_not is not None:
            explanation = whynot.why_not(self.kb, outcome, self.why_not, self.lang)
            document = report.why_not_document(deal, outcome, self.why_not, explanation, self.lang)
            return document if machine else report.why_not_text(document, self.fmt)
        advice = advice_mod.build(outcome, self.kb, self.lang, explain=self.explain)
        health = assessment.assess(outcome, self.kb, self.lang)
        if machine:
            return report.document(deal, advice[: self.limit], health, self.lang, explain=self.explain)
        return report.render(
            self.kb,
            self.fmt,
            deal,
            advice,
            health,
            self.lang,
            explain=self.explain,
            limit=self.limit,
            width=self.width,
            color=self.color,
        )


def crm_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The export files of a CRM and the mapping, shared by ``import`` and ``review``."""
    existing = click.Path(exists=True, dir_okay=False)
    options = [
        click.option("--opportunities", type=existing, help="Salesforce: the Opportunity export (CSV)."),
        click.option("--contact-roles", type=existing, help="Salesforce: the OpportunityContactRole export."),
        click.option("--contacts", type=existing, help="Salesforce: the Contact export."),
        click.option(
            "--accounts", type=existing, help="Salesforce (optional): the Account export, for names and industry."
        ),
        click.option("--history", type=existing, help="Salesforce (optional): OpportunityHistory, for days in stage."),
        click.option("--deals", type=existing, help="HubSpot: the deals export (CSV)."),
        click.option("--mapping", type=existing, help="A YAML mapping file: stages, roles and custom fields (README)."),
        click.option(
            "--as-of",
            type=click.DateTime(formats=["%Y-%m-%d"]),
            default=None,
            help="The day days-since are counted to (YYYY-MM-DD; default today), for a repeatable import.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def load_crm(crm: str, vocabulary: Any, as_of: Any, files: dict[str, Any]) -> Any:
    """The export read and mapped, or exit 2 naming what is missing or cannot be read."""
    from dealcoach.engine.crm import cells, importer

    request = importer.Request(crm, **files)
    missing = request.missing()
    if missing:
        raise click.UsageError(f"{crm} needs {', '.join(missing)}")
    try:
        return importer.load(request, vocabulary, as_of.date() if as_of else cells.today())
    except problems_mod.InputError as err:
        fail(err.problems, "dealcoach: the export cannot be imported; nothing was done.")
        sys.exit(INVALID_INPUT)


CRM_FILES = ("opportunities", "contact_roles", "contacts", "accounts", "history", "deals", "mapping")


@main.group(
    "import",
    epilog=help_examples(
        "dealcoach import salesforce --opportunities Opportunity.csv --contact-roles OpportunityContactRole.csv "
        "--contacts Contact.csv --out deals/",
        "dealcoach import hubspot --deals deals.csv --out deals/",
    ),
)
def import_group() -> None:
    """Turn a CRM export into deal files, one commented file per open deal."""


def _import_command(crm: str) -> None:
    example = {
        "salesforce": "dealcoach import salesforce --opportunities Opportunity.csv "
        "--contact-roles OpportunityContactRole.csv --contacts Contact.csv --out deals/",
        "hubspot": "dealcoach import hubspot --deals deals.csv --mapping mapping.yaml --out deals/",
    }[crm]

    @import_group.command(
        crm,
        help=f"Write one deal file per open {crm} deal into --out (README, CRM import).",
        epilog=help_examples(example),
    )
    @crm_options
    @click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="The folder to write to.")
    @click.option("--lang", type=click.Choice(LANGS), default=None, help="Language of the comments in the files.")
    @kb_option
    def command(out_dir: str, lang: Lang | None, as_of: Any, kb_dirs: tuple[str, ...], **files: Any) -> None:
        from dealcoach.engine.crm import importer

        knowledge = load_kb(kb_dirs)
        imported = load_crm(crm, knowledge.vocabulary, as_of, files)
        try:
            written = importer.write(imported, Path(out_dir), knowledge.vocabulary, lang or default_lang())
        except problems_mod.InputError as err:
            fail(err.problems)
            sys.exit(INVALID_INPUT)
        fail(imported.problems)
        click.echo(
            f"wrote {len(written)} deal file(s) to {out_dir}; {imported.closed} closed deal(s) left out"
            + (
                f"; {len({(p.file, p.line) for p in imported.problems})} row(s) with problems skipped"
                if imported.problems
                else ""
            ),
            err=True,
        )
        if imported.problems:
            sys.exit(PROBLEMS_FOUND)


for _crm in ("salesforce", "hubspot"):
    _import_command(_crm)


REVIEW_FORMATS = ("text", "markdown", "json", "jsonl", "csv", "html")


@main.command(
    epilog=help_examples(
        "dealcoach review deals/",
        "dealcoach review deals/ --format html --out pipeline.html",
        "dealcoach review deals/ --format json --out week-50.json",
        "dealcoach review deals/ --since week-49.json",
        "dealcoach review deals/ --format csv --jobs 2 > pipeline.csv",
        "dealcoach review deals/ --engine dask --scheduler tcp://10.0.0.5:8786 --format jsonl --out pipeline.jsonl",
    )
)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--crm", type=click.Choice(("salesforce", "hubspot")), default=None, help="Review a CRM export directly.")
@crm_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(REVIEW_FORMATS),
    default="text",
    show_default=True,
    help="text or markdown for a manager, json (one document with the summary) or jsonl (one deal per line) for "
    "programs, csv for a spreadsheet.",
)
@click.option("--lang", type=click.Choice(LANGS), default=None, help="Language of the review (default as for advise).")
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False), default=None, help="Write to FILE, not standard output."
)
@click.option(
    "--since",
    type=click.Path(dir_okay=False),
    default=None,
    help="An earlier review (--format json or jsonl): mark what moved per deal (health, flags, stage).",
)
@click.option("--allow-invalid", is_flag=True, help="Exit 0 even when invalid deals were skipped.")
@click.option("--skip-invalid", is_flag=True, help="Leave out rules with problems instead of refusing to run.")
@jobs_option
@click.option(
    "--engine",
    type=click.Choice(("local", "dask")),
    default="local",
    show_default=True,
    help="local: worker processes on this machine; dask: a dask cluster (pip install 'dealcoach[cluster]'), "
    "the same output.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="With --engine dask: the scheduler of an existing cluster (tcp://host:8786); without it a local "
    "cluster of --jobs workers (default one per core) is started.",
)
@kb_option
def review(
    paths: tuple[str, ...],
    fmt: str,
    lang: Lang | None,
    out_path: str | None,
    since: str | None,
    allow_invalid: bool,
    skip_invalid: bool,
    jobs: int | None,
    kb_dirs: tuple[str, ...],
    crm: str | None,
    as_of: Any,
    engine: str,
    scheduler: str | None,
    **files: Any,
) -> None:
    """Review a pipeline: every deal in PATHS (deal files, folders searched recursively), the
    riskiest first, with themes across deals, a view per owner and totals per stage.

    Invalid deals are listed with their problems and skipped: exit 1 when any was skipped
    (0 with --allow-invalid). Ctrl-C stops and writes the review of the deals done (exit 130).
    """
    from dealcoach.engine.batch.cluster import ClusterError
    from dealcoach.engine.review import command, pipeline, sources

    if scheduler is not None and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")
    if scheduler is not None and jobs is not None:
        raise click.UsageError("--jobs sets the workers of a local cluster; an existing one (--scheduler) has its own")
    given = [f"--{name.replace('_', '-')}" for name, value in files.items() if value is not None]
    if given and crm is None:
        raise click.UsageError(f"{', '.join(given)} need --crm salesforce or --crm hubspot")
    deal_files, missing = sources.deal_files(paths)
    if missing or not (paths or crm):
        fail(missing or ["dealcoach review: give deal files, folders or --crm with an export"])
        sys.exit(INVALID_INPUT)
    previous = None
    if since is not None:
        try:
            previous = pipeline.previous_review(Path(since).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            fail([f"{since}: {getattr(err, 'strerror', None) or err}"])
            sys.exit(INVALID_INPUT)
    knowledge = load_kb(kb_dirs, skip_invalid=skip_invalid)
    imported = load_crm(crm, knowledge.vocabulary, as_of, files) if crm else None
    all_sources: list[Any] = [*deal_files, *(imported.documents() if imported else [])]
    try:
        out = open(out_path, "w", encoding="utf-8", newline="") if out_path else sys.stdout  # noqa: SIM115
    except OSError as err:
        fail([f"{out_path}: cannot write the review: {err.strerror or err}"])
        sys.exit(INVALID_INPUT)
    try:
        outcome = command.review(
            knowledge,
            all_sources,
            out,
            fmt=fmt,
            lang=lang or default_lang(),
            jobs=jobs,
            kb_dirs=tuple(kb_dirs),
            skip_invalid=skip_invalid,
            previous=previous,
            skipped=[str(p) for p in imported.problems] if imported else [],
            skipped_deals=len({(p.file, p.line) for p in imported.problems}) if imported else 0,
            engine=engine,
            scheduler=scheduler,
        )
    except ClusterError as err:
        fail([f"dealcoach: {err}"], "dealcoach: nothing was reviewed.")
        sys.exit(INVALID_INPUT)
    finally:
        if out_path:
            out.close()
    if outcome.skipped:
        fail(
            outcome.skipped, f"dealcoach: {outcome.skipped_deals} invalid deal(s) skipped; the review covers the rest."
        )
    if outcome.interrupted:
        fail([INTERRUPTED_MESSAGE])
        sys.exit(INTERRUPTED)
    if outcome.skipped and not allow_invalid:
        sys.exit(PROBLEMS_FOUND)


@main.group(epilog=help_examples("dealcoach kb lint", "dealcoach kb test", "dealcoach kb show coverage.find-a-coach"))
def kb() -> None:
    """Check and test the playbook (the knowledge base)."""


@kb.command("lint", epilog=help_examples("dealcoach kb lint", "dealcoach kb lint --kb ./our-rules"))
@kb_option
def kb_lint(kb_dirs: tuple[str, ...]) -> None:
    """Check every rule file of every layer and report all problems as FILE:LINE:COL: message."""
    try:
        knowledge = kb_mod.load(kb_mod.layer_dirs(kb_dirs), recheck=True)
        coaching.load(knowledge)  # the concept notes and competencies drills and `concept` read
    except problems_mod.InputError as err:
        for problem in err.problems:
            click.echo(str(problem))
        click.echo(f"{len(err.problems)} problem(s)")
        sys.exit(PROBLEMS_FOUND)
    for line in trainer.layer_summary(knowledge):
        click.echo(line)
    click.echo(f"{len(knowledge.rules)} rules, no problems")


@kb.command("list", epilog=help_examples("dealcoach kb list --category style", "dealcoach kb list --concept R7"))
@click.option("--category", default=None, help="Only rules of this category.")
@click.option("--concept", default=None, help="Only rules that cite this concept id.")
@kb_option
def kb_list(category: str | None, concept: str | None, kb_dirs: tuple[str, ...]) -> None:
    """List the rules: id, category, priority (or derive), concepts, and layer if not built-in."""
    for line in trainer.list_rules(load_kb(kb_dirs), category, concept):
        click.echo(line)


@kb.command("show", epilog=help_examples("dealcoach kb show coverage.find-a-coach --lang zh"))
@click.argument("rule_id", shell_complete=complete_rule_ids)
@click.option("--lang", type=click.Choice(LANGS), default=None, help="Language of the description.")
@kb_option
def kb_show(rule_id: str, lang: Lang | None, kb_dirs: tuple[str, ...]) -> None:
    """Show one rule in words: conditions, concepts, source, what it derives and who uses that."""
    knowledge = load_kb(kb_dirs)
    require_rules(knowledge, [rule_id])
    for line in trainer.show_rule(knowledge, knowledge.rule_by_id[rule_id], lang or default_lang()):
        click.echo(line)


@kb.command(
    "new",
    epilog=help_examples(
        "dealcoach kb new coverage.my-rule --category coverage",
        "dealcoach kb new coverage.my-rule --category coverage --kb ./our-rules",
    ),
)
@click.argument("rule_id")
@click.option("--category", required=True, help="The rule's category; the rule goes into rules/CATEGORY.yaml.")
@kb_option
def kb_new(rule_id: str, category: str, kb_dirs: tuple[str, ...]) -> None:
    """Write a commented skeleton rule with examples, ready to edit.

    It goes into the last --kb folder, or else into your own layer (DEALCOACH_KB_HOME, default
    ~/.local/share/dealcoach/kb), which every command loads after the built-in playbook. The
    folder is created if it does not exist yet: this is how a company layer usually starts. The
    built-in playbook itself is never written to: a reinstall would delete the rule.
    """
    target = Path(kb_dirs[-1]) if kb_dirs else userdirs.user_layer()
    if target.resolve() == kb_mod.builtin_dir().resolve():
        fail([f"dealcoach: {target} is the built-in playbook, which a reinstall replaces; use your own folder"])
        sys.exit(INVALID_INPUT)
    target.mkdir(parents=True, exist_ok=True)
    knowledge = load_kb(kb_dirs)
    try:
        path = trainer.new_rule(knowledge, target, rule_id, category)
    except ValueError as err:
        fail([f"dealcoach: {err}"])
        sys.exit(INVALID_INPUT)
    click.echo(f"wrote {rule_id} to {path}; edit it, then run: dealcoach kb test {rule_id}")


@kb.command("coverage", epilog=help_examples("dealcoach kb coverage --lang en"))
@click.option("--lang", type=click.Choice(LANGS), default=None, help="Language of concept titles.")
@kb_option
def kb_coverage(lang: Lang | None, kb_dirs: tuple[str, ...]) -> None:
    """Concepts covered and not, rules no example deal exercises, rules per category."""
    knowledge = load_kb(kb_dirs)
    deals = kb_mod.example_deals()
    for line in trainer.coverage(knowledge, deals, lang or default_lang()):
        click.echo(line)


@kb.command(
    "test", epilog=help_examples("dealcoach kb test", "dealcoach kb test coverage.find-a-coach --kb ./our-rules")
)
@click.argument("rule_ids", nargs=-1, shell_complete=complete_rule_ids)
@kb_option
def kb_test(rule_ids: tuple[str, ...], kb_dirs: tuple[str, ...]) -> None:
    """Run every rule's own examples (must fire / must not fire)."""
    knowledge = load_kb(kb_dirs)
    require_rules(knowledge, rule_ids)
    results = examples.run_all(runner.Advisor(knowledge), set(rule_ids) or None)
    click.echo("".join("." if r.passed else "F" for r in results))
    failed = [r for r in results if not r.passed]
    for result in failed:
        click.echo(f"FAILED {result.name} ({result.location()}): {result.failure}")
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(PROBLEMS_FOUND if failed else 0)


@main.group(epilog=help_examples("dealcoach drill list", "dealcoach drill run price-concession"))
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
    return drillsession.bundled()


def drill_path(name: str, files: dict[str, Path]) -> Path | None:
    """A bundled drill by name, or a scenario file by path."""
    return files.get(name) or (Path(name) if Path(name).is_file() else None)


def load_drill(name: str, knowledge: kb_mod.KnowledgeBase) -> drill_mod.Drill:
    files = drill_files()
    path = drill_path(name, files)
    if path is None:
        fail([f"dealcoach: no drill {name!r}; drills: {', '.join(files) or 'none'}"])
        sys.exit(INVALID_INPUT)
    try:
        return drill_mod.load(path, knowledge)
    except problems_mod.InputError as err:
        fail(err.problems, f"dealcoach: the drill {name!r} has {len(err.problems)} problem(s).")
        sys.exit(INVALID_INPUT)


def open_store(db_path: str | None, *, read_only_ok: bool = False) -> storage.Store:
    """The drill database, or exit 2 saying why not. With ``read_only_ok`` (``drill report``), a
    database this user may not write is opened for reading."""
    path = Path(db_path) if db_path else storage.default_path()
    try:
        return storage.Store(path)
    except storage.StorageError as err:
        if read_only_ok and path.is_file():
            try:
                return storage.Store(path, readonly=True)
            except storage.StorageError:
                pass
        fail([f"dealcoach: {err}"])
        sys.exit(INVALID_INPUT)


T = TypeVar("T")


def _storage(read: Callable[[], T]) -> T:
    """``read()``, or exit 2 with the message when the database is damaged."""
    try:
        return read()
    except storage.StorageError as err:
        fail([f"dealcoach: {err}"])
        sys.exit(INVALID_INPUT)


@drill.command("list", epilog=help_examples("dealcoach drill list --lang zh"))
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


@drill.command("check", epilog=help_examples("dealcoach drill check", "dealcoach drill check price-concession"))
@click.argument("names", nargs=-1, shell_complete=complete_drill_names)
@kb_option
def drill_check(names: tuple[str, ...], kb_dirs: tuple[str, ...]) -> None:
    """Validate drills and prove them consistent with the playbook (all drills by default)."""
    knowledge = load_kb(kb_dirs)
    examiner = drill_mod.Examiner(knowledge)
    files = drill_files()
    unknown = [name for name in names if drill_path(name, files) is None]
    if unknown:
        fail([f"dealcoach: no drill {name!r}; drills: {', '.join(files) or 'none'}" for name in unknown])
        sys.exit(INVALID_INPUT)
    problems: list[object] = []
    for name in names or tuple(files):
        path = drill_path(name, files)
        assert path is not None
        try:
            problems += drill_mod.check(drill_mod.load(path, knowledge), knowledge, examiner)
        except problems_mod.InputError as err:
            problems += err.problems
    for problem in problems:
        click.echo(str(problem))
    click.echo(f"{len(names or files)} drill(s) checked, {len(problems)} problem(s)")
    sys.exit(PROBLEMS_FOUND if problems else 0)


def answer_lines(answers_file: str | None) -> Iterator[str] | None:
    """Scripted answers: from --answers, or from standard input when it is not a terminal."""
    if answers_file:
        return iter(Path(answers_file).read_text(encoding="utf-8").splitlines())
    if not sys.stdin.isatty():
        return (line.rstrip("\n") for line in sys.stdin)
    return None


@drill.command(
    "run",
    epilog=help_examples(
        "dealcoach drill run bank-oa-decision-maker --trainee 小王 --lang zh",
        "dealcoach drill run --resume --trainee 小王",
        "dealcoach drill run --from-deal my-deal.yaml",
        "dealcoach drill run price-concession --answers answers.txt",
    ),
)
@click.argument("name", required=False, shell_complete=complete_drill_names)
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
    trainee = trainee_name(trainee)
    store = open_store(db_path)
    if resume:
        session = _storage(lambda: store.unfinished(trainee, name))
        if session is None:
            fail([f"dealcoach: {trainee} has no unfinished drill{f' {name!r}' if name else ''} to resume"])
            sys.exit(INVALID_INPUT)
        try:
            play = drillsession.Play.resume(knowledge, session, store, drill_mod.Examiner(knowledge, explain=explain))
        except storage.StorageError as err:
            fail([f"dealcoach: {err}"])
            sys.exit(INVALID_INPUT)
    else:
        if from_deal:
            try:
                built = drillgen.from_deal(
                    deal_mod.load(from_deal, knowledge.vocabulary), knowledge, Path(from_deal).stem
                )
            except problems_mod.InputError as err:
                fail(err.problems, "dealcoach: the deal file has problems; no drill was made.")
                sys.exit(INVALID_INPUT)
        elif name:
            built = load_drill(name, knowledge)
        else:
            fail(["dealcoach: name a drill (see dealcoach drill list), or use --from-deal FILE or --resume"])
            sys.exit(INVALID_INPUT)
        examiner = drill_mod.Examiner(knowledge, explain=explain)
        try:
            play = drillsession.start(
                knowledge, store, built, trainee, lang or default_lang(), examiner, seed=seed, source=from_deal
            )
        except storage.StorageError as err:
            fail([f"dealcoach: {err}"])
            sys.exit(INVALID_INPUT)
    drillui.play(play, answer_lines(answers_file))


@drill.command(
    "report",
    epilog=help_examples(
        "dealcoach drill report --trainee 小王",
        "dealcoach drill report --team --lang zh",
        "dealcoach drill report --format csv",
    ),
)
@click.option("--trainee", default=None, help="Only this trainee.")
@click.option("--team", is_flag=True, help="Every trainee side by side: a verdict per drill, and scores by concept.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
@click.option("--lang", type=click.Choice(LANGS), default=None)
@db_option
@kb_option
def drill_report(
    trainee: str | None, team: bool, fmt: str, lang: Lang | None, db_path: str | None, kb_dirs: tuple[str, ...]
) -> None:
    """Progress over time: attempts, verdicts per drill, scores by competency and concept, weakest first."""
    knowledge = load_kb(kb_dirs)
    notes = load_coaching(knowledge)
    store = open_store(db_path, read_only_ok=True)
    sessions = _storage(lambda: store.sessions(trainee))
    progress = drillreport.progress(sessions, knowledge, notes)
    click.echo(drillreport.render(progress, knowledge, notes, fmt, lang or default_lang(), team), nl=False)


def load_coaching(knowledge: kb_mod.KnowledgeBase) -> coaching.Coaching:
    """The concept notes and competencies, or exit 2 listing their problems."""
    try:
        return coaching.load(knowledge)
    except problems_mod.InputError as err:
        fail(err.problems, "dealcoach: the concept notes or competencies have problems.")
        sys.exit(INVALID_INPUT)


def trainee_name(given: str | None) -> str:
    return given or os.environ.get("USER") or os.environ.get("USERNAME") or "trainee"


@drill.command(
    "next",
    epilog=help_examples(
        "dealcoach drill next --trainee 小王", "dealcoach drill next --trainee 小王 --as-of 2026-12-31"
    ),
)
@click.option("--trainee", default=None, help="Whose next drill (default: your login name).")
@click.option("--lang", type=click.Choice(LANGS), default=None)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day to count the time since practice to (YYYY-MM-DD, UTC; default now).",
)
@db_option
@kb_option
def drill_next(
    trainee: str | None, lang: Lang | None, as_of: Any, db_path: str | None, kb_dirs: tuple[str, ...]
) -> None:
    """The drill to play next, picked from weak concepts and the time since they were practised."""
    knowledge = load_kb(kb_dirs)
    lang = lang or default_lang()
    trainee = trainee_name(trainee)
    store = open_store(db_path, read_only_ok=True)
    sessions = _storage(lambda: store.sessions(trainee))
    unfinished = next((s for s in reversed(sessions) if s.finished_at is None), None)
    if unfinished is not None:
        title = drillreport.title_of(unfinished)[lang]
        click.echo(
            f"先把没做完的“{title}”做完：dealcoach drill run --resume --trainee {trainee}"
            if lang == "zh"
            else f"Finish “{title}” first: dealcoach drill run --resume --trainee {trainee}"
        )
        return
    today = as_of.replace(tzinfo=UTC) if as_of else datetime.now(UTC)
    pick = drillreport.next_drill(sessions, drillsession.practice(kb_mod.scenarios_dir() / "drills"), today)
    if pick is None:
        fail(["dealcoach: there are no drills to pick from"])
        sys.exit(INVALID_INPUT)
    title = load_drill(pick.drill, knowledge).scenario.title(lang)
    click.echo(("下一个：" if lang == "zh" else "Next: ") + f"dealcoach drill run {pick.drill}  {title}")
    for line in drillreport.explain_pick(pick, sessions, knowledge, today, lang):
        click.echo(line)


@main.command("concept", epilog=help_examples("dealcoach concept R7", "dealcoach concept S4 --lang en"))
@click.argument("concept_id")
@click.option("--lang", type=click.Choice(LANGS), default=None)
@kb_option
def concept(concept_id: str, lang: Lang | None, kb_dirs: tuple[str, ...]) -> None:
    """A playbook concept in plain words: what it asks of you, the rules that apply it, the drills that practise it."""
    knowledge = load_kb(kb_dirs)
    found = next((c for c in knowledge.concepts if c.casefold() == concept_id.casefold()), None)
    if found is None:
        hint = did_you_mean(concept_id.upper(), knowledge.concepts, "dealcoach kb coverage")
        fail([f"dealcoach: no concept {concept_id!r}{hint}"])
        sys.exit(INVALID_INPUT)
    drills = drillsession.practice(kb_mod.scenarios_dir() / "drills").get(found, [])
    lines = coaching.page(found, knowledge, load_coaching(knowledge), drills, lang or default_lang())
    fill = functools.partial(
        templating.wrap, width=terminal.output_width(), keep=[f"dealcoach drill run {d}" for d in drills]
    )
    for line in lines:
        indent = line[: len(line) - len(line.lstrip())]
        click.echo(fill(line.strip(), indent=indent) if line else "")


@main.group(epilog=help_examples("dealcoach schema deal > deal.schema.json", "dealcoach schema docs"))
def schema() -> None:
    """JSON Schema of the deal file and of the JSON advice, and the deal-format reference."""


@schema.command("deal", epilog=help_examples("dealcoach schema deal > deal.schema.json"))
@kb_option
def schema_deal(kb_dirs: tuple[str, ...]) -> None:
    """Print the JSON Schema (draft 2020-12) of a deal file, with every spelling the vocabulary accepts."""
    from dealcoach.engine.deals import schema as schema_mod

    click.echo(schema_mod.to_json(schema_mod.deal_schema(load_kb(kb_dirs).vocabulary)), nl=False)


@schema.command("advice", epilog=help_examples("dealcoach schema advice --kb ./our-rules"))
@kb_option
def schema_advice(kb_dirs: tuple[str, ...]) -> None:
    """Print the JSON Schema (draft 2020-12) of `advise --format json` output (dealcoach.advice/1)."""
    from dealcoach.engine.deals import schema as schema_mod

    knowledge = load_kb(kb_dirs)
    click.echo(schema_mod.to_json(schema_mod.advice_schema(knowledge.vocabulary, list(knowledge.concepts))), nl=False)


@schema.command("docs", epilog=help_examples("dealcoach schema docs > docs/deal-format.md"))
@kb_option
def schema_docs(kb_dirs: tuple[str, ...]) -> None:
    """Print the deal-format reference in Markdown (docs/deal-format.md is this, for the built-in playbook)."""
    from dealcoach.engine.deals import dealdoc

    click.echo(dealdoc.reference(load_kb(kb_dirs)), nl=False)


@main.command(
    epilog=help_examples(
        "dealcoach serve                         the deal files in this folder, at http://127.0.0.1:8000/",
        "dealcoach serve deals/ --port 8080 --lang zh",
    )
)
@click.argument("folder", required=False, default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="The port to listen on.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on; anything but 127.0.0.1 or localhost opens the app to other computers.",
)
@click.option("--lang", type=click.Choice(LANGS), default=None, help="Language of the pages until one is chosen.")
@kb_option
def serve(folder: Path, port: int, host: str, lang: Lang | None, kb_dirs: tuple[str, ...]) -> None:
    """Open a local web app on the deal files in FOLDER (default: here): edit a deal in a form and see
    the advice change as you type. Needs the web extra: pip install 'dealcoach[web]'."""
    from dealcoach.engine import web

    absent = web.missing()
    if absent:
        click.echo(
            f"dealcoach: the web app needs {', '.join(absent)}, which is not installed; run: {web.INSTALL_HINT}",
            err=True,
        )
        sys.exit(INVALID_INPUT)
    from dealcoach.engine.web import server

    knowledge = load_kb(kb_dirs)
    if not server.is_loopback(host):
        click.echo(
            f"dealcoach: warning: listening on {host}, so other computers that can reach this one can read and "
            "change the deal files in the folder; there is no login. Use the default (127.0.0.1) unless you mean it.",
            err=True,
        )
    click.echo(f"dealcoach: serving {folder} at {server.url(host, port)} (Ctrl-C stops)", err=True)
    try:
        server.serve(folder, host, port, lang or default_lang(), knowledge, kb_dirs)
    except OSError as err:
        click.echo(f"dealcoach: cannot listen on {host}:{port}: {err.strerror or err}", err=True)
        sys.exit(INVALID_INPUT)


@main.group("deal", epilog=help_examples("dealcoach deal new deal.yaml --lang zh", "dealcoach deal check deal.yaml"))
def deal_group() -> None:
    """Check deal files, or describe a new deal in the terminal."""


@deal_group.command("check", epilog=help_examples("dealcoach deal check deal.yaml other.yaml"))
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))
@kb_option
def deal_check(files: tuple[str, ...], kb_dirs: tuple[str, ...]) -> None:
    """Validate the deals in FILES without advising: "FILE: ok", or every problem and exit status 2."""
    vocabulary = load_kb(kb_dirs).vocabulary
    problems = []
    for source in files:
        try:
            deal_mod.load(source, vocabulary)
        except problems_mod.InputError as err:
            problems += err.problems
            continue
        click.echo(f"{'<stdin>' if source == '-' else source}: ok")
    if problems:
        fail(problems, f"dealcoach: {len(problems)} problem(s) in the deal file(s).")
        sys.exit(INVALID_INPUT)


@deal_group.command(
    "new", epilog=help_examples("dealcoach deal new deal.yaml --lang zh", "dealcoach deal new > deal.yaml")
)
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", type=click.Choice(LANGS), default=None, help="Language of the questions and comments.")
@click.option("--restart", is_flag=True, help="Discard the saved answers of an unfinished deal and start again.")
@kb_option
def deal_new(file: Path | None, lang: Lang | None, restart: bool, kb_dirs: tuple[str, ...]) -> None:
    """Describe a deal in the terminal and write it to FILE (or standard output), with comments.

    Numbered choices for every enum, Enter for the default. Answers are saved as you go (FILE.draft),
    so stopping loses nothing: run the same command again to continue.
    """
    from dealcoach.engine.deals import intake

    lang = lang or default_lang()
    lines = answer_lines(None)
    read = intake.terminal_reader() if lines is None else intake.script_reader(lines, lang)
    sys.exit(intake.new_deal(load_kb(kb_dirs).vocabulary, file, lang, read, restart=restart))


def run() -> None:
    """The ``dealcoach`` program: ``main``, then exit without tearing down the object graph.

    Ctrl-C anywhere ends it with one line and status 130 (click's own handling would say
    "Aborted!" and exit 1). Freeing the compiled playbook (experta's network, the models) at
    interpreter exit takes about 60 ms of a half-second run. Every answer is already committed and
    every file closed when a command returns, so once the output is flushed nothing is lost by
    leaving at once.
    """
    try:  # from the moment Python's handler is back, a Ctrl-C is a KeyboardInterrupt caught below
        signal.signal(signal.SIGINT, signal.default_int_handler)
        terminal.tolerate_unencodable_output()
        code = _exit_status(main.main(standalone_mode=False))
    except click.ClickException as err:
        err.show()
        code = err.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo(INTERRUPTED_MESSAGE, err=True)
        code = INTERRUPTED
    except SystemExit as stop:
        code = _exit_status(stop.code)
        if isinstance(stop.code, str):
            click.echo(stop.code, err=True)
    except Exception:  # a bug in dealcoach, never the user's mistake: say so, with the evidence
        import traceback

        traceback.print_exc()
        click.echo(
            f"dealcoach {__version__}: this is a bug in dealcoach; please report it with the lines above.", err=True
        )
        code = BUG
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (`dealcoach ... | head`): nothing left to say
        pass
    os._exit(code)


def _exit_status(value: object) -> int:
    """What ``sys.exit(value)`` would make the status: None is 0, an int itself, anything else 1."""
    if value is None:
        return 0
    return value if isinstance(value, int) else 1
