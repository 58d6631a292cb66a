"""From firings to advice: give way to more specific rules, drop duplicates, rank, explain.

Ranking is fixed and documented (README, "How advice is ranked"): priority (high first), then
the highest influence among the people the advice names, then the category order of the spec,
then the rule id, then the names. Nothing depends on the engine's firing order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dealcoach.engine import templating
from dealcoach.engine.compiler import Firing, bound_name, effective_op, literal
from dealcoach.engine.facts import FactType, FieldSpec, subject
from dealcoach.engine.kb import KnowledgeBase
from dealcoach.engine.problems import InputError, quote
from dealcoach.engine.rulelang import Count, FieldTest, Negation, Pattern, Ref, Rule
from dealcoach.engine.runner import Outcome
from dealcoach.engine.templating import tidy
from dealcoach.engine.vocabulary import Lang

PRIORITIES = ("high", "medium", "low")
CATEGORIES = (
    "qualification",
    "information",
    "coverage",
    "relationship",
    "style",
    "needs",
    "competition",
    "stage",
    "negotiation",
    "retention",
    "team",
)
SCHEMA_ID = "dealcoach.advice/1"

_OPS = {
    "eq": ("为", "is"),
    "ne": ("不为", "is not"),
    "in": ("属于", "is one of"),
    "not_in": ("不属于", "is not one of"),
    "gt": (">", ">"),
    "gte": ("≥", "≥"),
    "lt": ("<", "<"),
    "lte": ("≤", "≤"),
    "has": ("包含", "includes"),
    "has_any": ("包含任一", "includes any of"),
    "has_none": ("不包含", "includes none of"),
}
_SHOW_THRESHOLD = ("gt", "gte", "lt", "lte")


@dataclass
class Advice:
    rule: str
    category: str
    priority: str
    stakeholders: list[str]
    concepts: list[str]
    text: str
    because: list[str]
    chain: list[str] = field(default_factory=list)
    influence: int = 0

    def sort_key(self) -> tuple:
        return (
            PRIORITIES.index(self.priority),
            -self.influence,
            CATEGORIES.index(self.category),
            self.rule,
            self.stakeholders,
        )

    def as_json(self, explain: bool = False) -> dict[str, Any]:
        data = {
            "rule": self.rule,
            "category": self.category,
            "priority": self.priority,
            "stakeholders": self.stakeholders,
            "concepts": self.concepts,
            "text": self.text,
            "because": self.because,
        }
        if explain:
            data["chain"] = self.chain
        return data


class Bindings:
    """What the explainer needs of a firing to word conditions outside a run (``--why-not``,
    ``kb show``): the facts bound so far; a reference to anything unbound is printed as written."""

    def __init__(self, facts: dict[str, dict[str, Any]] | None = None):
        self.facts = facts or {}
        self.branch = None


class Explainer:
    """Words for why a rule fired, in the chosen language, from the facts it matched."""

    def __init__(self, kb: KnowledgeBase, outcome: Outcome, lang: Lang):
        self.kb, self.outcome, self.lang = kb, outcome, lang
        self.vocabulary = kb.vocabulary

    def because(self, firing: Firing) -> list[str]:
        lines: list[str] = []
        for index, condition in enumerate(firing.branch.conditions):
            if isinstance(condition, Pattern):
                lines += self._pattern(condition, firing.facts[bound_name(firing.branch, index)], firing)
            elif isinstance(condition, Negation):
                lines.append(self.negation(condition, firing))
            else:
                lines.append(self.count(condition, firing.facts[bound_name(firing.branch, index)]["value"], firing))
        return list(dict.fromkeys(lines))

    def chain(self, firing: Firing, depth: int = 0) -> list[str]:
        """For each derived fact the firing used: the rule that derived it and why, recursively."""
        lines = []
        for index, condition in enumerate(firing.branch.conditions):
            if not isinstance(condition, Pattern) or not self.kb.schema.types[condition.fact_type].derived:
                continue
            values = firing.facts[bound_name(firing.branch, index)]
            derivation = self.outcome.derivation(condition.fact_type, values)
            if derivation is None:
                continue
            fact = self._fact_line(condition.fact_type, values)
            reasons = ("；" if self.lang == "zh" else "; ").join(self.because(derivation.firing))
            arrow = "由规则" if self.lang == "zh" else "by rule"
            lines.append(f"{'  ' * depth}{fact} ← {arrow} {derivation.rule.id}: {reasons}")
            lines += self.chain(derivation.firing, depth + 1)
        return list(dict.fromkeys(lines))

    def _sep(self) -> str:
        return "：" if self.lang == "zh" else ": "

    def _fact_line(self, fact_type: str, values: dict[str, Any]) -> str:
        fields = self.kb.schema.types[fact_type].fields
        shown = [
            f"{self._field(fact_type, n)} = {self.show(values[n], fields[n])}" for n in fields if n != "stakeholder"
        ]
        return f"{subject(fact_type, values, self.vocabulary, self.lang)}{self._sep()}{', '.join(shown)}"

    def _pattern(self, pattern: Pattern, values: dict[str, Any], firing: Firing) -> list[str]:
        fact_type = self.kb.schema.types[pattern.fact_type]
        who = subject(pattern.fact_type, values, self.vocabulary, self.lang)
        if not pattern.tests or pattern.fact_type == "signal":
            return [f"{self.vocabulary.fact_label(pattern.fact_type, self.lang)}{self._sep()}{who}"]
        lines = []
        for test in pattern.tests:
            if isinstance(test.value, Ref) and test.op == "eq":
                continue  # a join: the fact it joins to is explained where it is matched
            spec = fact_type.fields[test.field]
            name = self._field(pattern.fact_type, test.field)
            line = f"{who}{self._sep()}{name} = {self.show(values[test.field], spec)}"
            op = effective_op(test, spec)
            if op in _SHOW_THRESHOLD:
                line += f" ({_OPS[op][self.lang == 'en']} {self._operand(test, spec, firing)})"
            lines.append(line)
        return lines

    def negation(self, negation: Negation, firing: Firing | Bindings) -> str:
        parts = [self.condition(p, firing) for p in negation.patterns]
        joined = ("；" if self.lang == "zh" else "; ").join(parts)
        if self.lang == "zh":
            return f"{'存在' if negation.exists else '没有'}{joined}"
        return f"{'there is a' if negation.exists else 'there is no'} {joined}"

    def count(self, count: Count, value: int, firing: Firing | Bindings) -> str:
        what = self.condition(count.pattern, firing)
        if self.lang == "zh":
            return f"{what}的数目 = {value}"
        return f"count of {what} = {value}"

    def condition(self, pattern: Pattern, firing: Firing | Bindings) -> str:
        """ "stakeholder where roles includes coach" / "角色包含教练的干系人"."""
        fact_type = self.kb.schema.types[pattern.fact_type]
        label = self.vocabulary.fact_label(pattern.fact_type, self.lang)
        tests = [self._test(fact_type, t, firing) for t in pattern.tests]
        if self.lang == "zh":
            return f"{'、'.join(tests)}的{label}" if tests else label
        return f"{label} where {' and '.join(tests)}" if tests else label

    def _test(self, fact_type: FactType, test: FieldTest, firing: Firing | Bindings) -> str:
        spec = fact_type.fields[test.field]
        op = effective_op(test, spec)
        name = self._field(fact_type.name, test.field)
        if op == "known":
            known = bool(test.value)
            return (
                f"{name}{'已知' if known else '未知'}"
                if self.lang == "zh"
                else f"{name} is {'known' if known else 'unknown'}"
            )
        word = _OPS[op][self.lang == "en"]
        return (
            f"{name}{word}{self._operand(test, spec, firing)}"
            if self.lang == "zh"
            else f"{name} {word} {self._operand(test, spec, firing)}"
        )

    def _operand(self, test: FieldTest, spec: FieldSpec, firing: Firing | Bindings) -> str:
        if isinstance(test.value, Ref):
            bound = firing.facts.get(test.value.binding)
            return self.show(bound[test.value.field], spec) if bound is not None else str(test.value)
        if isinstance(test.value, tuple):
            return ("、" if self.lang == "zh" else ", ").join(self.show(literal(v, spec), spec) for v in test.value)
        return self.show(None if spec.type == "tristate" and test.value == "unknown" else test.value, spec)

    def _field(self, fact_type: str, name: str) -> str:
        return self.vocabulary.field_label(fact_type, name, self.lang)

    def show(self, value: Any, spec: FieldSpec) -> str:
        """A fact value in words: labels for enum values, yes/no, unknown for missing."""
        if isinstance(value, tuple | list):
            return ("、" if self.lang == "zh" else ", ").join(self.show(v, spec) for v in value) or "—"
        if value is None:
            return self.vocabulary.label("tristate", "unknown", self.lang)
        if isinstance(value, bool):
            return self.vocabulary.label("tristate", str(value).lower(), self.lang)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return self.vocabulary.label(spec.type, value, self.lang) if spec.is_enum else str(value)


def people(firing: Firing, kb: KnowledgeBase) -> list[str]:
    """Who the advice is about: stakeholder bindings (or the rule's ``about`` list), in order."""
    about = firing.rule.model.about
    names = []
    for index, condition in enumerate(firing.branch.conditions):
        if not isinstance(condition, Pattern):
            continue
        binding = bound_name(firing.branch, index)
        if about is not None and binding not in about:
            continue
        values = firing.facts[binding]
        fields = kb.schema.types[condition.fact_type].fields
        if condition.fact_type == "stakeholder":
            names.append(values["name"])
        else:
            names += [values[n] for n, spec in fields.items() if spec.type == "stakeholder" and values.get(n)]
    return list(dict.fromkeys(names))


def build(outcome: Outcome, kb: KnowledgeBase, lang: Lang, *, explain: bool = False) -> list[Advice]:
    """The ranked advice for one deal in ``lang``."""
    firings = [(f, people(f, kb)) for f in outcome.firings if not f.rule.derives]
    firings = _without_superseded(firings)
    influence = {p.name: p.influence for p in outcome.deal.stakeholders}
    deal = outcome.deal.model_dump()
    explainer = Explainer(kb, outcome, lang)
    advice = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for firing, names in firings:
        key = (firing.rule.id, tuple(names))
        if key in seen:
            continue
        seen.add(key)
        context = {"lang": lang, "deal": deal, **{k: _for_template(v) for k, v in firing.facts.items()}}
        try:
            because = explainer.because(firing)
            if firing.rule.model.because is not None:
                because.insert(0, render(kb, firing.rule, "because", lang, context))
            text = render(kb, firing.rule, "advice", lang, context)
        except InputError as err:
            if not kb.skip_invalid:
                raise
            kb.failed += err.problems  # --skip-invalid: this rule's advice is left out, and said so
            continue
        model = firing.rule.model
        advice.append(
            Advice(
                rule=model.id,
                category=model.category,
                priority=model.priority or "low",
                stakeholders=names,
                concepts=list(model.concepts),
                text=text,
                because=because,
                chain=explainer.chain(firing) if explain else [],
                influence=max((influence.get(n, 0) for n in names), default=0),
            )
        )
    return sorted(advice, key=Advice.sort_key)


def render(kb: KnowledgeBase, rule: Rule, kind: str, lang: Lang, context: dict[str, Any]) -> str:
    """A rule's template filled in; a template that fails at run time (an error, or past its time,
    memory or length budget) is the rule's problem, located in its file, not a crash."""
    try:
        return tidy(templating.render(kb.template(rule, kind, lang), context, templating.MAX_ADVICE_CHARS))
    except templating.TemplateRenderError as err:
        where = f", template line {err.line}" if err.line else ""
        deal = quote(context["deal"].get("name"))
        message = f"the {kind} template failed on the deal {deal}{where}: {err}"
        raise InputError([rule.problem((kind, lang), message)]) from None


def _without_superseded(firings: list[tuple[Firing, list[str]]]) -> list[tuple[Firing, list[str]]]:
    """Drop advice that a more specific rule covers for the same (or a wider) set of people."""
    covering: dict[str, list[set[str]]] = {}
    for firing, names in firings:
        for generic in firing.rule.model.supersedes:
            covering.setdefault(generic, []).append(set(names))
    return [(f, names) for f, names in firings if not any(set(names) <= wider for wider in covering.get(f.rule.id, ()))]


def _for_template(values: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
