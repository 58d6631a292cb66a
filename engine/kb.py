"""The knowledge base: vocabulary, derived fact types, concepts, rules and templates, in layers.

The built-in playbook ships in ``kb/``; a company adds layers (``--kb DIR`` or ``DEALCOACH_KB``)
laid out the same way. A later layer adds rules, replaces a rule by giving its id again, or
switches one off with ``disable: [rule.id]`` in a rule file. Loading checks everything and raises
one :class:`InputError` listing every problem, so a trainer sees them all at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

from engine import templating, yamlsource
from engine.compiler import Checker
from engine.deal import Deal
from engine.facts import Schema
from engine.problems import InputError, Problem
from engine.rulelang import Rule, disabled_ids, parse_file
from engine.vocabulary import LANGS, Lang, Vocabulary

KB_ENV = "DEALCOACH_KB"
MAX_RULE_FILE_BYTES = 1_000_000


def builtin_dir() -> Path:
    """``kb/`` beside the package in a checkout, or inside it once installed from a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "kb", here.parent / "kb"):
        if (candidate / "vocabulary.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"the built-in knowledge base is missing (looked in {here / 'kb'} and {here.parent / 'kb'})")


def layer_dirs(extra: Sequence[str] = ()) -> list[Path]:
    """Built-in first, then ``DEALCOACH_KB`` (a path list), then ``--kb`` options, in order."""
    from_env = [p for p in os.environ.get(KB_ENV, "").split(os.pathsep) if p]
    return [builtin_dir(), *map(Path, from_env), *map(Path, extra)]


@dataclass(frozen=True)
class Concept:
    id: str
    zh: str
    en: str

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
    templates: dict[tuple[str, str, Lang], Template] = field(default_factory=dict)

    @property
    def rule_by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    def template(self, rule: Rule, kind: str, lang: Lang) -> Template | None:
        return self.templates.get((rule.id, kind, lang))


def load(layers: Sequence[Path] | None = None) -> KnowledgeBase:
    """Load and check the knowledge base made of ``layers`` (default: built-in plus configured)."""
    layers = list(layers) if layers is not None else layer_dirs()
    problems: list[Problem] = []

    def guarded(action, *args):  # noqa: ANN001, ANN202 - collects problems from any loader step
        try:
            return action(*args)
        except InputError as err:
            problems.extend(err.problems)
            return None

    vocabulary = Vocabulary()
    schema = Schema.base()
    for layer in layers:
        if not layer.is_dir():
            problems.append(Problem(str(layer), message="knowledge-base folder not found"))
            continue
        for name, apply in (("vocabulary.yaml", vocabulary.add), ("derived.yaml", lambda d: schema.add_derived(d, vocabulary))):
            if (layer / name).is_file():
                document = guarded(yamlsource.load, str(layer / name))
                if document is not None:
                    guarded(apply, document)
    concepts = _concepts(layers, problems)
    rules, origin = _rules(layers, problems)
    kb = KnowledgeBase(layers, vocabulary, schema, concepts, rules,
                       templating.make_environment(vocabulary, [d / "templates" for d in reversed(layers)]), origin)
    problems += _check(kb)
    if problems:
        raise InputError(problems)
    _compile_templates(kb)
    return kb


def _concepts(layers: Iterable[Path], problems: list[Problem]) -> dict[str, Concept]:
    concepts: dict[str, Concept] = {}
    for layer in layers:
        path = layer / "concepts.yaml"
        if not path.is_file():
            continue
        try:
            data = yamlsource.load(str(path)).data or {}
        except InputError as err:
            problems.extend(err.problems)
            continue
        for item in data.get("concepts", []):
            concepts[item["id"]] = Concept(item["id"], item["title"]["zh"], item["title"]["en"])
    return concepts


def _rules(layers: Iterable[Path], problems: list[Problem]) -> tuple[list[Rule], dict[str, Path]]:
    by_id: dict[str, Rule] = {}
    origin: dict[str, Path] = {}
    for layer in layers:
        seen_here: dict[str, Rule] = {}
        disabled: list[str] = []
        for path in sorted((layer / "rules").rglob("*.yaml")) if (layer / "rules").is_dir() else []:
            try:
                document = yamlsource.load(str(path), max_bytes=MAX_RULE_FILE_BYTES)
            except InputError as err:
                problems.extend(err.problems)
                continue
            rules, found = parse_file(document)
            problems.extend(found)
            disabled += disabled_ids(document)
            for rule in rules:
                if rule.id in seen_here:
                    first = seen_here[rule.id]
                    problems.append(rule.problem(("id",), f"duplicate rule id (first defined in {first.file}:{first.document.locate(first.path)[0]})"))
                    continue
                seen_here[rule.id] = rule
                by_id[rule.id] = rule
                origin[rule.id] = layer
        for rule_id in disabled:
            by_id.pop(rule_id, None)
            origin.pop(rule_id, None)
    return sorted(by_id.values(), key=lambda r: r.id), origin


def _check(kb: KnowledgeBase) -> list[Problem]:
    checker = Checker(kb.schema, kb.vocabulary)
    ids = {r.id for r in kb.rules}
    problems = []
    for rule in kb.rules:
        problems += checker.check(rule)
        model = rule.model
        if model.category not in kb.vocabulary.enums["category"]:
            problems.append(rule.problem(("category",), f"unknown category {model.category!r}; use one of: {', '.join(kb.vocabulary.ids('category'))}"))
        for index, concept in enumerate(model.concepts):
            if concept not in kb.concepts:
                problems.append(rule.problem(("concepts", index), f"unknown concept id {concept!r} (see kb/concepts.yaml)"))
        for key in ("supersedes", "excludes"):
            for index, other in enumerate(getattr(model, key)):
                if other not in ids:
                    problems.append(rule.problem((key, index), f"{key} names {other!r}, which is not a rule"))
        problems += _check_templates(kb, rule)
    return problems


def _check_templates(kb: KnowledgeBase, rule: Rule) -> list[Problem]:
    problems = []
    deal_fields = list(Deal.model_fields)
    for kind in ("advice", "because"):
        text = getattr(rule.model, kind)
        if text is None:
            continue
        for branch in rule.branches:
            scope: dict[str, list[str] | None] = {"deal": deal_fields, "lang": None}
            scope.update({b: list(kb.schema.types[p.fact_type].fields) for b, p in branch.bindings.items()
                          if p.fact_type in kb.schema.types})
            for lang in LANGS:
                for message in templating.check(kb.env, getattr(text, lang), scope):
                    problems.append(rule.problem((kind, lang), message))
    return problems


def _compile_templates(kb: KnowledgeBase) -> None:
    for rule in kb.rules:
        for kind in ("advice", "because"):
            text = getattr(rule.model, kind)
            for lang in LANGS if text is not None else ():
                kb.templates[(rule.id, kind, lang)] = kb.env.from_string(getattr(text, lang))
