"""From firings to advice: give way to more specific rules, reconcile, rank, explain.

Reconciliation, so that the rep reads each move once: a rule's advice for several people is one
item naming them all (unless the rule is ``per_person`` or the firings differ in substance, i.e. in
a fact other than the people, such as the need quoted); and among rules sharing a ``topic``, only
the most specific item per person speaks, the others folded into it and listed in its reasons.

Ranking is data (``kb/ranking.yaml``, README "How advice is ranked"): urgency from the situation
first (``engine/advising/ranking.py``), then priority, the highest influence among the people the advice
names, the category order, the rule id and the names. Nothing depends on the engine's firing order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from dealcoach.engine.advising.ranking import Situation, tie_break
from dealcoach.engine.deals.facts import FactType, FieldSpec, subject
from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.matching.runner import Outcome
from dealcoach.engine.playbook.compiler import Firing, bound_name, effective_op, literal
from dealcoach.engine.playbook.kb import KnowledgeBase
from dealcoach.engine.playbook.rulelang import Count, FieldTest, Negation, Pattern, Ref, Rule
from dealcoach.engine.problems import InputError, quote
from dealcoach.engine.render import templating
from dealcoach.engine.render.templating import tidy

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
    urgency: int = 0
    acts_on: list[str] = field(default_factory=list)  # what earned the urgency, in words
    topic: str | None = None
    specificity: int = 0  # how many tests the firing passed: the most specific item speaks for a topic
    substance: tuple = ()  # the facts other than the people: firings that differ here stay apart
    per_person: bool = False
    folded: dict[str, list[str]] = field(default_factory=dict)  # rule folded into this item -> its people
    # The folded items themselves, each with its own text about its own people: a drill quoting a
    # folded rule quotes that rule's words for the person, not the host's words for someone else.
    folded_items: list[Advice] = field(default_factory=list, repr=False, compare=False)

    def sort_key(self, categories: list[str]) -> tuple:
        return (
            -self.urgency,
            PRIORITIES.index(self.priority),
            -self.influence,
            categories.index(self.category),
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
        if self.folded:  # rules of the same topic that this item speaks for, with their people
            data["covers"] = [
                {"rule": rule, "stakeholders": list(dict.fromkeys(names))}
                for rule, names in sorted(self.folded.items())
            ]
        if explain:
            data["chain"] = self.chain
            data["urgency"] = {"points": self.urgency, "acts_on": self.acts_on}
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
    """The reconciled, ranked advice for one deal in ``lang``."""
    firings = [(f, people(f, kb)) for f in outcome.firings if not f.rule.derives]
    firings = without_superseded(firings)
    maker = _ItemMaker(kb, outcome, lang, explain, Counter(f.rule.id for f, _ in firings))
    seen: set[tuple[str, tuple[str, ...]]] = set()
    advice = []
    for firing, names in firings:
        key = (firing.rule.id, tuple(names))
        if key in seen:
            continue
        seen.add(key)
        try:
            advice.append(maker.item(firing, names))
        except InputError as err:
            if not kb.skip_invalid:
                raise
            kb.failed += err.problems  # --skip-invalid: this rule's advice is left out, and said so
    categories = tie_break(kb.ranking.categories, CATEGORIES)
    ranked = sorted(advice, key=lambda a: a.sort_key(categories))
    reconciled = _merge_people(_fold_topics(ranked), lang)
    return sorted(reconciled, key=lambda a: a.sort_key(categories))


class _ItemMaker:
    """One piece of advice from one firing: text, reasons, urgency, and what reconciliation needs."""

    def __init__(self, kb: KnowledgeBase, outcome: Outcome, lang: Lang, explain: bool, fired: Counter[str]):
        self.kb, self.lang, self.explain = kb, lang, explain
        self.repeated = {rule: times > 1 for rule, times in fired.items()}  # only these may need merging
        self.influence = {p.name: p.influence for p in outcome.deal.stakeholders}
        self.deal = _template_deal(outcome)
        self.situation = Situation.of(kb.ranking, outcome.deal.stage, outcome.support)
        self.explainer = Explainer(kb, outcome, lang)

    def item(self, firing: Firing, names: list[str]) -> Advice:
        kb, lang, model = self.kb, self.lang, firing.rule.model
        context = {"lang": lang, "deal": self.deal, **{k: _for_template(v) for k, v in firing.facts.items()}}
        because = self.explainer.because(firing)
        if model.because is not None:
            because.insert(0, render(kb, firing.rule, "because", lang, context))
        weight = max((self.influence.get(n, 0) for n in names), default=0)
        urgency, acts_on = self.situation.urgency(firing, model.category, model.priority or "low", weight)
        return Advice(
            rule=model.id,
            category=model.category,
            priority=model.priority or "low",
            stakeholders=names,
            concepts=list(model.concepts),
            text=render(kb, firing.rule, "advice", lang, context),
            because=because,
            chain=self.explainer.chain(firing) if self.explain else [],
            influence=weight,
            urgency=urgency,
            acts_on=[_acted_on(kb, reason, lang) for reason in acts_on],
            topic=model.topic,
            specificity=_specificity(firing) if model.topic else 0,
            substance=_substance(firing, kb) if self.repeated[model.id] else (),
            per_person=model.per_person,
        )


def _specificity(firing: Firing) -> int:
    branch = firing.branch
    return sum(len(c.tests) if isinstance(c, Pattern) else 1 for c in branch.conditions)


def _substance(firing: Firing, kb: KnowledgeBase) -> tuple:
    """The matched facts minus the people: stakeholder facts and fields naming a stakeholder."""
    found = []
    for index, condition in enumerate(firing.branch.conditions):
        if not isinstance(condition, Pattern) or condition.fact_type in ("stakeholder", "role_of"):
            continue
        fields = kb.schema.types[condition.fact_type].fields
        values = firing.facts[bound_name(firing.branch, index)]
        kept = tuple(sorted((k, v) for k, v in values.items() if fields[k].type != "stakeholder"))
        found.append((condition.fact_type, kept))
    return tuple(sorted(set(found), key=repr))


def _fold_topics(items: list[Advice]) -> list[Advice]:
    """Per topic, the most specific item speaks for everyone it names; items about the same people
    (or a subset of them) fold into it. ``items`` come ranked, which breaks ties in specificity."""
    speakers: dict[str, list[Advice]] = {}
    folded: set[int] = set()
    by_specificity = sorted(enumerate(items), key=lambda pair: (-pair[1].specificity, pair[0]))
    for _, item in by_specificity:
        if item.topic is None:
            continue
        names = set(item.stakeholders)
        host = next((h for h in speakers.get(item.topic, ()) if names <= set(h.stakeholders)), None)
        if host is None:
            speakers.setdefault(item.topic, []).append(item)
            continue
        _absorb(host, item)
        host.folded.setdefault(item.rule, []).extend(item.stakeholders)
        host.folded_items.append(item)
        folded.add(id(item))
    return [i for i in items if id(i) not in folded]


def _merge_people(items: list[Advice], lang: Lang) -> list[Advice]:
    """One item per rule and substance, naming everyone it applies to: the first (most urgent)
    item's text speaks, and says that the same applies to the others."""
    leads: dict[tuple, Advice] = {}
    added: dict[int, list[str]] = {}
    merged = []
    for item in items:
        key = (item.rule, item.substance)
        lead = leads.get(key)
        if lead is None or item.per_person:
            leads.setdefault(key, item)
            merged.append(item)
            continue
        others = [n for n in item.stakeholders if n not in lead.stakeholders]
        lead.stakeholders = lead.stakeholders + others
        added.setdefault(id(lead), []).extend(others)
        _absorb(lead, item)
    for lead in merged:
        if added.get(id(lead)):
            lead.text += _same_for(added[id(lead)], lang)
        for rule, names in lead.folded.items():
            who = _in_brackets(_join(list(dict.fromkeys(names)), lang), lang) if names else ""
            lead.because.append(f"{'同一主题并入本条' if lang == 'zh' else 'Also covers'}{_SEP[lang]}{rule}{who}")
    return merged


def _same_for(names: list[str], lang: Lang) -> str:
    if lang == "zh":
        return f"对{_join(names, lang)}也照这样做。"
    return f" The same applies to {_join(names, lang)}."


_SEP = {"zh": "：", "en": ": "}


def _absorb(host: Advice, other: Advice) -> None:
    host.because = list(dict.fromkeys(host.because + other.because))
    host.chain = list(dict.fromkeys(host.chain + other.chain))
    host.acts_on = list(dict.fromkeys(host.acts_on + other.acts_on))
    host.urgency = max(host.urgency, other.urgency)
    host.influence = max(host.influence, other.influence)
    for rule, names in other.folded.items():
        host.folded.setdefault(rule, []).extend(names)
    host.folded_items += other.folded_items


def _in_brackets(text: str, lang: Lang) -> str:
    return f"（{text}）" if lang == "zh" else f" ({text})"


def _join(names: list[str], lang: Lang) -> str:
    if lang == "zh":
        return "、".join(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


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


def without_superseded(firings: list[tuple[Firing, list[str]]]) -> list[tuple[Firing, list[str]]]:
    """Drop advice that a more specific rule covers for the same (or a wider) set of people.

    Advice that names nobody is about the whole deal and covers the generic advice for everyone:
    walking away from a deal silences every move that pursues it, whoever that move is about.
    Only advice that is itself given can cover: when the specific rule gives way to a still more
    specific one (a silent coach is asked what changed before being asked for the decision process),
    the generic advice it would have replaced speaks again. A rule may name a whole category it
    supersedes (``supersedes: [negotiation]``); it never supersedes itself.
    """
    coverers: dict[str, list[int]] = {}
    for index, (firing, _) in enumerate(firings):
        for generic in firing.rule.model.supersedes:
            coverers.setdefault(generic, []).append(index)
    given: dict[int, bool] = {}

    def is_given(index: int) -> bool:
        if index not in given:
            given[index] = True  # rules superseding each other in a cycle cannot silence themselves
            firing, names = firings[index]
            model = firing.rule.model
            others = coverers.get(model.id, []) + coverers.get(model.category, [])
            given[index] = not any(
                other != index and _covers(firings[other][1], names) and is_given(other) for other in others
            )
        return given[index]

    return [item for index, item in enumerate(firings) if is_given(index)]


def _covers(specific: list[str], generic: list[str]) -> bool:
    """Whether advice about ``specific`` people covers advice about ``generic`` ones."""
    return not specific or set(generic) <= set(specific)


def _acted_on(kb: KnowledgeBase, reason: str, lang: Lang) -> str:
    """ "red_flag:no_coach" in words: "red flag: no coach" / "危险信号：没有教练"."""
    kind, value = reason.split(":", 1)
    words = kb.vocabulary
    if kind == "criterion":
        return f"{words.label('criterion', value, lang)} {words.label('criterion_status', 'at_risk', lang)}"
    label = words.fact_label(kind, lang) if kind in ("signal", "red_flag") else words.field_label("deal", kind, lang)
    return f"{label}{'：' if lang == 'zh' else ': '}{words.label(kind, value, lang)}"


def _template_deal(outcome: Outcome) -> dict[str, Any]:
    """The deal as templates see it, people weightiest first (then by name): a list of names in
    advice must not depend on the order in which the rep happened to type the stakeholders."""
    deal = outcome.deal.model_dump()
    deal["stakeholders"].sort(key=lambda p: (-p["influence"], p["name"]))
    return deal


def _for_template(values: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
