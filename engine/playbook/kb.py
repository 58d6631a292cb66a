"""The knowledge base: vocabulary, derived fact types, concepts, rules and templates, in layers.

The built-in playbook ships in ``kb/``; a company adds layers (``--kb DIR`` or ``DEALCOACH_KB``)
laid out the same way. A later layer adds rules, replaces a rule by giving its id again, or
switches one off with ``disable: [rule.id]`` in a rule file. Loading checks everything and raises
one :class:`InputError` listing every problem, so a trainer sees them all at once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ValidationError

from dealcoach.engine import gcpause, yamlsource
from dealcoach.engine.advising.ranking import Ranking
from dealcoach.engine.advising.ranking import check as check_ranking
from dealcoach.engine.advising.scoring import ASSESSMENT_INPUTS, DRILL_INPUTS, Scoring
from dealcoach.engine.deals.deal import Deal
from dealcoach.engine.deals.facts import Schema
from dealcoach.engine.deals.vocabulary import LANGS, Lang, Vocabulary
from dealcoach.engine.playbook import strata
from dealcoach.engine.playbook.compiler import Checker
from dealcoach.engine.playbook.kbcache import Cache
from dealcoach.engine.playbook.rulelang import Rule, disabled_ids, parse_file
from dealcoach.engine.problems import InputError, Problem
from dealcoach.engine.render import templating
from dealcoach.engine.userdirs import user_layer
from dealcoach.engine.yamlsource import Document

if TYPE_CHECKING:
    from dealcoach.engine.playbook import claims

KB_ENV = "DEALCOACH_KB"
PACKAGE_DIR = Path(__file__).resolve().parents[2]
Reader = Callable[..., Document]
M = TypeVar("M", bound=BaseModel)
MAX_RULE_FILE_BYTES = 1_000_000
MAX_RULE_FILES = 500  # per layer (README, "Limits and exit codes")
MAX_RULES_PER_LAYER = 2_000


def builtin_dir() -> Path:
    """The built-in knowledge base: ``kb/`` in the ``dealcoach`` package (the repository root)."""
    return PACKAGE_DIR / "kb"


def scenarios_dir() -> Path:
    """The bundled example deals: ``scenarios/`` in the ``dealcoach`` package."""
    return PACKAGE_DIR / "scenarios"


EXPECT_SUFFIX = ".expect.yaml"


def example_deals(folder: Path | None = None) -> list[Path]:
    """The example deal files, sorted; a deal's hand-written expectations (``NAME.expect.yaml``) sit
    beside it and are not deals."""
    return sorted(p for p in (folder or scenarios_dir()).glob("*.yaml") if not p.name.endswith(EXPECT_SUFFIX))


def layer_dirs(extra: Sequence[str] = ()) -> list[Path]:
    """Built-in first, then the user's own layer if it exists (see :func:`user_layer`), then
    ``DEALCOACH_KB`` (a path list), then ``--kb`` options, in order; a folder named twice counts
    once, at its last place (a later layer wins, so that is where it was meant to act)."""
    from_env = [p for p in os.environ.get(KB_ENV, "").split(os.pathsep) if p]
    user = [user_layer()] if user_layer().is_dir() else []
    layers = [builtin_dir(), *user, *map(Path, from_env), *map(Path, extra)]
    return list({layer.resolve(): layer for layer in reversed(layers)}.values())[::-1]


@dataclass(frozen=True)
class Concept:
    id: str
    zh: str
    en: str
    method: str | None = None  # set for concepts beyond the material: the established method

    def title(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass
class KnowledgeBase:
    layers: list[Path]
    vocabulary: Vocabulary
    schema: Schema
    concepts: dict[str, Concept]
    rules: list[Rule]
    env: SandboxedEnvironment
    origin: dict[str, Path] = field(default_factory=dict)
    skipped: list[Problem] = field(default_factory=list)
    reports: list[LayerReport] = field(default_factory=list)
    scoring: Scoring = field(default_factory=Scoring)
    ranking: Ranking = field(default_factory=Ranking)
    knowledge_only: dict[str, str] = field(default_factory=dict)  # concept id -> why no rule cites it
    topics: dict[str, str] = field(default_factory=dict)  # concept id prefix (R, A, ...) -> "English / 中文"
    templates: dict[tuple[str, str, Lang], Template | None] = field(default_factory=dict)
    skip_invalid: bool = False  # leave out a rule whose template fails on a deal (kb.failed says which)
    failed: list[Problem] = field(default_factory=list)

    @property
    def rule_by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    def template(self, rule: Rule, kind: str, lang: Lang) -> Template | None:
        """The compiled advice or because template; compiled on first use, as most never render.
        :class:`templating.TemplateRenderError` if it cannot be compiled (within the sandbox's budget)."""
        key = (rule.id, kind, lang)
        if key not in self.templates:
            text = getattr(rule.model, kind)
            self.templates[key] = None if text is None else templating.compile_template(self.env, getattr(text, lang))
        return self.templates[key]


def load(
    layers: Sequence[Path] | None = None,
    *,
    skip_invalid: bool = False,
    cache: Cache | None = None,
    recheck: bool = False,
) -> KnowledgeBase:
    """Load and check the knowledge base made of ``layers`` (default: built-in plus configured).

    Any problem raises :class:`InputError` listing them all. With ``skip_invalid``, rules that have
    problems are left out instead (``kb.skipped`` says which and why); problems in the vocabulary or
    the derived fact types still stop the load, as every rule depends on them. Files that passed
    every check before, byte for byte, are not checked again unless ``recheck`` (``kb lint``).
    """
    with gcpause.paused():  # a playbook is thousands of objects, all kept as long as it is
        return _load(list(layers) if layers is not None else layer_dirs(), skip_invalid, cache or Cache(), recheck)


def _load(layers: list[Path], skip_invalid: bool, cache: Cache, recheck: bool) -> KnowledgeBase:
    read = cache.load
    fatal: list[Problem] = []
    vocabulary = Vocabulary()
    schema = Schema.base()
    for layer in layers:
        if not layer.is_dir():
            fatal.append(Problem(str(layer), message="knowledge-base folder not found"))
            continue
        for name, apply in (
            ("vocabulary.yaml", vocabulary.add),
            ("derived.yaml", lambda d: schema.add_derived(d, vocabulary)),
        ):
            if (layer / name).is_file():
                try:
                    apply(read(str(layer / name)))
                except InputError as err:
                    fatal += err.problems
    topics: dict[str, str] = {}
    concepts = _concepts(read, layers, fatal, topics)
    scoring = _scoring(read, layers, fatal)
    ranking = _ranking(read, layers, fatal, vocabulary, schema)
    knowledge_only = _knowledge_only(read, layers, concepts, fatal)
    rule_problems: list[Problem] = []
    rules, origin, reports = _rules(read, layers, rule_problems)
    kb = KnowledgeBase(
        layers,
        vocabulary,
        schema,
        concepts,
        rules,
        templating.make_environment(
            vocabulary, [d / "templates" for d in reversed(layers)], bytecode_cache=cache.templates()
        ),
        origin,
        reports=reports,
        scoring=scoring,
        ranking=ranking,
        knowledge_only=knowledge_only,
        topics=topics,
        skip_invalid=skip_invalid,
    )
    key = cache.key(_files(layers))
    claim_list: list[claims.Claim] = []
    if recheck or fatal or rule_problems or not cache.passed(key):
        # Claims and report layouts matter only to the checks: a playbook that passed them, byte for
        # byte, reads neither (nor imports the modules that check them).
        claim_list = _claims(read, layers, schema, vocabulary, fatal)
        fatal += _check_layouts(kb)
        rule_problems += _check(kb, claim_list)
        if not fatal and not rule_problems:
            cache.mark_passed(key)
    if fatal or (rule_problems and not skip_invalid):
        raise InputError(fatal + rule_problems)
    while rule_problems:
        kb.skipped += rule_problems
        bad = {p.rule for p in rule_problems}
        kb.rules = [r for r in kb.rules if r.id not in bad]
        # leaving a rule out can break a rule that relied on it
        rule_problems = [p for p in _check(kb, claim_list) if p.rule]
    return kb


class _ConceptTitle(BaseModel):
    zh: str
    en: str


class _ConceptEntry(BaseModel):
    id: str
    title: _ConceptTitle
    method: str | None = None


class _ConceptsFile(BaseModel):
    topics: dict[str, str] = {}
    concepts: list[_ConceptEntry] = []


class _KnowledgeOnlyEntry(BaseModel):
    reason: str


class _KnowledgeOnlyFile(BaseModel):
    concepts: dict[str, _KnowledgeOnlyEntry] = {}


def layer_files(
    read: Reader, layers: Iterable[Path], name: str, model: type[M], problems: list[Problem]
) -> Iterator[tuple[Document, M]]:
    """Each layer's ``name`` file, validated with ``model``; problems are collected, not raised."""
    for path in (layer / name for layer in layers):
        if not path.is_file():
            continue
        try:
            document = read(str(path))
            yield document, model.model_validate(document.data or {})
        except InputError as err:
            problems.extend(err.problems)
        except ValidationError as err:
            problems += [document.problem(tuple(e["loc"]), e["msg"]) for e in err.errors(include_url=False)]


def _knowledge_only(
    read: Reader, layers: Iterable[Path], concepts: dict[str, Concept], problems: list[Problem]
) -> dict[str, str]:
    """Concepts taught by drills rather than rules (``knowledge-only.yaml``), with the reason."""
    found: dict[str, str] = {}
    for document, parsed in layer_files(read, layers, "knowledge-only.yaml", _KnowledgeOnlyFile, problems):
        for concept_id, entry in parsed.concepts.items():
            if concept_id not in concepts:
                problems.append(document.problem(("concepts", concept_id), f"unknown concept id {concept_id!r}"))
            found[concept_id] = entry.reason
    return found


def _concepts(
    read: Reader, layers: Iterable[Path], problems: list[Problem], topics: dict[str, str]
) -> dict[str, Concept]:
    """The concept map (``concepts.yaml``) of every layer; ``topics`` receives the topic titles."""
    concepts: dict[str, Concept] = {}
    for _, parsed in layer_files(read, layers, "concepts.yaml", _ConceptsFile, problems):
        topics.update(parsed.topics)
        concepts.update(
            {item.id: Concept(item.id, item.title.zh, item.title.en, item.method) for item in parsed.concepts}
        )
    return concepts


def _claims(
    read: Reader, layers: Iterable[Path], schema: Schema, vocabulary: Vocabulary, problems: list[Problem]
) -> list[claims.Claim]:
    """The claims of every layer (``claims.yaml``); a later layer adds claims or replaces one by id."""
    from dealcoach.engine.playbook import claims

    found = []
    for path in (layer / "claims.yaml" for layer in layers):
        if not path.is_file():
            continue
        try:
            parsed, trouble = claims.parse(read(str(path)), schema, vocabulary)
        except InputError as err:
            problems.extend(err.problems)
            continue
        problems.extend(trouble)
        found.append(parsed)
    return claims.merge(found)


def _scoring(read: Reader, layers: Iterable[Path], problems: list[Problem]) -> Scoring:
    """The health-score weights; a later layer's ``assessment.yaml`` replaces the earlier one."""
    scoring = Scoring()
    for _, parsed in layer_files(read, layers, "assessment.yaml", Scoring, problems):
        scoring = parsed
    return scoring


def _ranking(
    read: Reader, layers: Iterable[Path], problems: list[Problem], vocabulary: Vocabulary, schema: Schema
) -> Ranking:
    """The urgency points of advice; a later layer's ``ranking.yaml`` replaces the earlier one."""
    ranking = Ranking()
    enums = {
        name: vocabulary.ids(name) for name in ("priority", "signal", "red_flag", "stage", "category", "criterion")
    }
    fields = {f"{t}.{f}" for t, fact_type in schema.types.items() for f in fact_type.fields}
    for document, parsed in layer_files(read, layers, "ranking.yaml", Ranking, problems):
        problems += check_ranking(parsed, document, enums, fields)
        ranking = parsed
    return ranking


@dataclass
class LayerReport:
    """What one layer did to the playbook: for ``kb lint`` and ``kb list``."""

    path: Path
    added: list[str] = field(default_factory=list)
    overridden: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)


def _rules(
    read: Reader, layers: Iterable[Path], problems: list[Problem]
) -> tuple[list[Rule], dict[str, Path], list[LayerReport]]:
    by_id: dict[str, Rule] = {}
    origin: dict[str, Path] = {}
    reports = []
    for layer in layers:
        report = LayerReport(layer)
        reports.append(report)
        seen_here: dict[str, Rule] = {}
        files = sorted((layer / "rules").rglob("*.yaml")) if (layer / "rules").is_dir() else []
        if len(files) > MAX_RULE_FILES:
            problems.append(
                Problem(str(layer / "rules"), message=f"more than {MAX_RULE_FILES} rule files in one layer")
            )
            files = []
        for path in files:
            try:
                document = read(str(path), max_bytes=MAX_RULE_FILE_BYTES)
            except InputError as err:
                problems.extend(err.problems)
                continue
            rules, found = parse_file(document)
            problems.extend(found)
            for index, rule_id in enumerate(disabled_ids(document)):
                if rule_id not in by_id and rule_id not in seen_here:
                    problems.append(
                        document.problem(("disable", index), f"cannot disable {rule_id!r}: no earlier rule has that id")
                    )
                report.disabled.append(rule_id)
            for rule in rules:
                if rule.id in seen_here:
                    first = seen_here[rule.id]
                    problems.append(
                        rule.problem(
                            ("id",),
                            f"duplicate rule id (first defined in {first.file}:{first.document.locate(first.path)[0]})",
                        )
                    )
                    continue
                seen_here[rule.id] = rule
                (report.overridden if rule.id in by_id else report.added).append(rule.id)
                by_id[rule.id] = rule
                origin[rule.id] = layer
        if len(seen_here) > MAX_RULES_PER_LAYER:
            message = f"{len(seen_here)} rules in one layer; at most {MAX_RULES_PER_LAYER}"
            problems.append(Problem(str(layer / "rules"), message=message))
        for rule_id in report.disabled:
            by_id.pop(rule_id, None)
            origin.pop(rule_id, None)
    return sorted(by_id.values(), key=lambda r: r.id), origin, reports


LAYER_FILES = (
    "vocabulary.yaml",
    "derived.yaml",
    "concepts.yaml",
    "assessment.yaml",
    "ranking.yaml",
    "knowledge-only.yaml",
    "claims.yaml",
)


def _files(layers: Iterable[Path]) -> list[Path]:
    """The files the loader reads, in a fixed order: what the cache key is made of. Nothing else in
    a layer's folder (a data dump, a FIFO) is read or even looked at."""
    found = []
    for layer in (layer for layer in layers if layer.is_dir()):
        found += [layer / name for name in LAYER_FILES]
        found += sorted((layer / "rules").rglob("*.yaml")) + sorted((layer / "templates").rglob("*"))
    return [f for f in found if f.is_file()]


def _check(kb: KnowledgeBase, claim_list: Sequence[claims.Claim]) -> list[Problem]:
    """Every check of every rule; ``claim_list``: what a template may say only after testing."""
    from dealcoach.engine.playbook import claims, lint

    checker = Checker(kb.schema, kb.vocabulary)
    ids = {r.id for r in kb.rules}
    problems = []
    for rule in kb.rules:
        problems += checker.check(rule)
        model = rule.model
        if model.category not in kb.vocabulary.enums["category"]:
            problems.append(
                rule.problem(
                    ("category",),
                    f"unknown category {model.category!r}; use one of: {', '.join(kb.vocabulary.ids('category'))}",
                )
            )
        for index, concept in enumerate(model.concepts):
            if concept not in kb.concepts:
                problems.append(
                    rule.problem(("concepts", index), f"unknown concept id {concept!r} (see kb/concepts.yaml)")
                )
        problems += _check_source(kb, rule)
        for key in ("supersedes", "excludes"):
            for index, other in enumerate(getattr(model, key)):
                if key == "supersedes" and other in kb.vocabulary.enums["category"]:
                    continue  # a whole category gives way
                if other not in ids:
                    what = "a rule or a category" if key == "supersedes" else "a rule"
                    problems.append(rule.problem((key, index), f"{key} names {other!r}, which is not {what}"))
        problems += _check_templates(kb, rule)
        problems += claims.check(rule, claim_list)
    problems += lint.contradictions(kb.rules, kb.schema, kb.vocabulary)
    problems += lint.derived_flow(kb.rules, kb.schema, consumed_elsewhere=ASSESSMENT_INPUTS + DRILL_INPUTS)
    problems += strata.cycle_problems(kb.rules)
    return problems


def _check_source(kb: KnowledgeBase, rule: Rule) -> list[Problem]:
    """A rule applying a concept beyond the material cites its method; only such a rule may."""
    beyond = [c for c in rule.model.concepts if c in kb.concepts and kb.concepts[c].method]
    source = rule.model.source
    if beyond and (source is None or source.method is None):
        method = kb.concepts[beyond[0]].method
        return [
            rule.problem(("source",), f"{beyond[0]} is not in the material: cite its method: {{method: {method!r}}}")
        ]
    if source is not None and source.method is not None and not beyond:
        message = "only a rule applying a concept beyond the material (X1, X2, ...) cites a method"
        return [rule.problem(("source", "method"), message)]
    return []


LAYOUTS = ("report.text.j2", "report.md.j2")
LAYOUT_SCOPE: dict[str, list[str] | None] = {
    name: None
    for name in (
        "lang",
        "deal",
        "top",
        "groups",
        "explain",
        "total",
        "hidden",
        "assessment",
        "width",
        "color",
        "keep_whole",
    )
}


def _check_layouts(kb: KnowledgeBase) -> list[Problem]:
    """A layer's report layouts are templates like any rule's: checked when the layer loads, so a
    syntax error or an unknown name is a located problem, not a traceback on the first advice."""
    problems = []
    for path in (layer / "templates" / name for layer in kb.layers for name in LAYOUTS):
        if not path.exists():
            continue
        try:
            source = yamlsource.read_text(str(path), max_bytes=templating.MAX_LAYOUT_BYTES, regular=True)
        except InputError as err:
            problems += err.problems
            continue
        for message in templating.check(kb.env, source, [LAYOUT_SCOPE], nested_loops=True, owner="a report layout"):
            line = re.search(r"on line (\d+)", message)
            problems.append(Problem(str(path), int(line.group(1)) if line else 0, 1 if line else 0, message=message))
    return problems


def _check_templates(kb: KnowledgeBase, rule: Rule) -> list[Problem]:
    deal_fields = list(Deal.model_fields)
    scopes = []
    for branch in rule.branches:
        scope: dict[str, list[str] | None] = {"deal": deal_fields, "lang": None}
        scope.update(
            {
                b: list(kb.schema.types[p.fact_type].fields)
                for b, p in branch.bindings.items()
                if p.fact_type in kb.schema.types
            }
        )
        scopes.append(scope)
    problems = []
    for kind in ("advice", "because"):
        text = getattr(rule.model, kind)
        for lang in LANGS if text is not None else ():
            problems += [rule.problem((kind, lang), m) for m in templating.check(kb.env, getattr(text, lang), scopes)]
    return problems
