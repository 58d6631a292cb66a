"""What the trainer commands show: layers, rule listings, one rule in words, coverage, skeletons.

These are views of the loaded knowledge base for people who write rules; ``cli.py`` only wires
them to commands. Everything is plain text, one fact per line, so it reads well in a terminal and
diffs well in a review.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import combinations
from pathlib import Path

from dealcoach.engine.advising.advice import CATEGORIES, Bindings, Explainer, people, without_superseded
from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.deals import synthetic
from dealcoach.engine.deals.deal import Deal
from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.matching.runner import Advisor
from dealcoach.engine.playbook.kb import KnowledgeBase, builtin_dir
from dealcoach.engine.playbook.rulelang import RULE_ID, Count, Negation, Pattern, Rule
from dealcoach.engine.problems import InputError
from dealcoach.engine.yamlsource import Document


def layer_name(kb: KnowledgeBase, layer: Path) -> str:
    return f"{layer} (built-in)" if layer == builtin_dir() else str(layer)


def layer_summary(kb: KnowledgeBase) -> list[str]:
    """One line per layer: how many rules it adds, which it overrides and which it disables."""
    lines = []
    for report in kb.reports:
        parts = [f"{len(report.added)} rule(s) added"]
        if report.overridden:
            parts.append(f"overrides {', '.join(report.overridden)}")
        if report.disabled:
            parts.append(f"disables {', '.join(report.disabled)}")
        lines.append(f"{layer_name(kb, report.path)}: {'; '.join(parts)}")
    return lines


def list_rules(kb: KnowledgeBase, category: str | None, concept: str | None) -> list[str]:
    rules = [
        r
        for r in kb.rules
        if (category is None or r.model.category == category) and (concept is None or concept in r.model.concepts)
    ]
    width = max((len(r.id) for r in rules), default=0)
    lines = []
    for rule in rules:
        kind = "derive" if rule.derives else rule.model.priority
        layer = "" if kb.origin.get(rule.id) == builtin_dir() else f"  [{kb.origin.get(rule.id)}]"
        lines.append(f"{rule.id:<{width}}  {rule.model.category:<13} {kind:<6}  {' '.join(rule.model.concepts)}{layer}")
    return lines


def _condition_text(explainer: Explainer, condition: Pattern | Negation | Count) -> str:
    blank = Bindings()
    if isinstance(condition, Pattern):
        text = explainer.condition(condition, blank)
        return f"{text}  (as {condition.binding})" if condition.binding else text
    if isinstance(condition, Negation):
        return explainer.negation(condition, blank)
    return f"{explainer.count(condition, 0, blank).rsplit(' = ', 1)[0]} {condition.op} {condition.value}"


def conditions(kb: KnowledgeBase, rule: Rule, lang: Lang) -> list[list[str]]:
    """The rule's conditions in words, one list per alternative (``any_of`` makes several)."""
    explainer = Explainer(kb, None, lang)  # type: ignore[arg-type]  # no run: only wording
    return [[_condition_text(explainer, c) for c in branch.conditions] for branch in rule.branches]


def show_rule(kb: KnowledgeBase, rule: Rule, lang: Lang) -> list[str]:
    model = rule.model
    line, _ = rule.document.locate(rule.path)
    kind = "derives facts" if rule.derives else f"priority {model.priority}"
    lines = [
        f"{rule.id}  ({model.category}, {kind})",
        f"  defined in {rule.file}:{line} (layer {layer_name(kb, kb.origin[rule.id])})",
    ]
    lines.append(
        "  concepts: " + "; ".join(f"{c} {kb.concepts[c].title(lang)}" for c in model.concepts if c in kb.concepts)
    )
    if model.source:
        origin = (
            f"method {model.source.method}"
            if model.source.method
            else f"seed {model.source.seed} {model.source.section}"
        )
        lines.append(f"  source: {origin}".rstrip())
    branches = conditions(kb, rule, lang)
    for index, branch in enumerate(branches):
        heading = "  when:" if len(branches) == 1 else f"  when (alternative {index + 1}):"
        lines.append(heading)
        lines += [f"    {n}. {text}" for n, text in enumerate(branch, start=1)]
    if rule.derives:
        for pattern in rule.derive:
            values = ", ".join(f"{t.field} = {t.value}" for t in pattern.tests)
            consumers = sorted(r.id for r in kb.rules if uses(r, pattern.fact_type))
            lines.append(f"  derives: {pattern.fact_type} ({values})")
            lines.append(f"    used by: {', '.join(consumers) or 'no rule'}")
    else:
        lines.append(f"  advice ({lang}): {getattr(model.advice, lang).strip()}")
    for key in ("supersedes", "excludes"):
        if getattr(model, key):
            lines.append(f"  {key}: {', '.join(getattr(model, key))}")
    examples = model.examples
    lines.append(f"  examples: {len(examples.fires)} that must fire, {len(examples.silent)} that must not")
    return lines


def uses(rule: Rule, fact_type: str) -> bool:
    for branch in rule.branches:
        for condition in branch.conditions:
            patterns = (
                condition.patterns
                if isinstance(condition, Negation)
                else [condition]
                if isinstance(condition, Pattern)
                else []
            )
            if any(p.fact_type == fact_type for p in patterns):
                return True
    return False


GENERATED_DEALS = 200  # generated deals `kb coverage` adds to the examples when counting co-firing rules
TOP_PAIRS = 15


def _example_deals(kb: KnowledgeBase, deal_files: list[Path]) -> tuple[list[Deal], list[str]]:
    deals, problems = [], []
    for path in deal_files:
        try:
            deals.append(deal_mod.load(str(path), kb.vocabulary))
        except InputError as err:
            problems += [str(p) for p in err.problems]
    return deals, problems


def generated_deals(kb: KnowledgeBase, count: int) -> list[Deal]:
    """``count`` realistic deals, the same ones on every run (seeds 0 to count - 1)."""
    return [
        deal_mod.validate(
            Document(f"generated-{seed}", synthetic.deal(synthetic.RandomChooser(seed), kb.vocabulary)), kb.vocabulary
        )
        for seed in range(count)
    ]


def given_rules(advisor: Advisor, deal: Deal) -> tuple[set[str], set[str]]:
    """Every rule that fires on ``deal``; and the advice rules whose advice is given (not superseded)."""
    outcome = advisor.run(deal)
    firings = [(f, people(f, advisor.kb)) for f in outcome.firings if not f.rule.derives]
    return {f.rule.id for f in outcome.firings}, {f.rule.id for f, _ in without_superseded(firings)}


def cofiring(kb: KnowledgeBase, given: list[set[str]], top: int = TOP_PAIRS) -> list[str]:
    """The pairs of advice rules given together most often, for a trainer to read side by side:
    a pair that says one thing twice wants a shared ``topic``, one that contradicts wants ``excludes``."""
    pairs = Counter(pair for rules in given for pair in combinations(sorted(rules), 2))
    lines = [f"rules given together most often, over {len(given)} deal(s) (review: repeat? contradiction?):"]
    for (first, second), times in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
        topic = kb.rule_by_id[first].model.topic
        shared = f"  (topic {topic})" if topic and topic == kb.rule_by_id[second].model.topic else ""
        lines.append(f"  {times:>4}  {first} + {second}{shared}")
    return lines


def coverage(kb: KnowledgeBase, deal_files: list[Path], lang: Lang, generated: int = GENERATED_DEALS) -> list[str]:
    cited = Counter(c for r in kb.rules for c in r.model.concepts)
    missing = [c for c in kb.concepts if c not in cited and c not in kb.knowledge_only]
    lines = [
        f"concepts: {len(cited)} of {len(kb.concepts)} cited by a rule, "
        f"{len(kb.knowledge_only)} taught by drills only (knowledge-only.yaml), {len(missing)} not covered"
    ]
    lines += [f"  not covered: {c} {kb.concepts[c].title(lang)}" for c in missing]
    advisor = Advisor(kb)
    examples, problems = _example_deals(kb, deal_files)
    runs = [given_rules(advisor, deal) for deal in examples]
    fired = set().union(*(f for f, _ in runs))
    unexercised = sorted(r.id for r in kb.rules if r.id not in fired)
    exercised = len(kb.rules) - len(unexercised)
    lines.append(f"rules: {exercised} of {len(kb.rules)} exercised by the {len(deal_files)} example deal(s)")
    lines += [f"  not exercised: {rule_id}" for rule_id in unexercised]
    lines += [f"  unreadable example deal: {p}" for p in problems]
    by_category = Counter(r.model.category for r in kb.rules)
    lines.append("rules by category:")
    lines += [f"  {c:<13} {by_category.get(c, 0)}" for c in CATEGORIES]
    runs += [given_rules(advisor, deal) for deal in generated_deals(kb, generated)]
    lines += cofiring(kb, [g for _, g in runs])
    return lines


SKELETON = """\
  - id: {rule_id}
    category: {category}
    priority: medium              # high | medium | low
    concepts: [{concept}]                # ids from kb/concepts.yaml that this rule applies
    source: {{seed: "", section: ""}}   # where in the material the idea comes from
    when:                         # every condition must hold (docs/authoring.md, section 6)
      - stakeholder: {{as: p, roles: coach, contacted: false}}
    advice:                       # name the people: {{{{ p.name }}}}; say what to do today
      zh: "先约{{{{ p.name }}}}面谈一次，请他讲讲这个项目里谁说了算。"
      en: "Meet {{{{ p.name }}}} this week and ask who really decides this deal."
    examples:
      fires:                      # deals on which the rule must fire
        - stakeholders: [{{name: 小李, roles: [coach], contacted: false}}]
          expect: {{stakeholders: [小李]}}
      silent:                     # deals on which it must not
        - stakeholders: [{{name: 小李, roles: [coach], contacted: true}}]
"""


def new_rule(kb: KnowledgeBase, target: Path, rule_id: str, category: str) -> Path:
    """Append a commented, working skeleton rule to ``target/rules/<category>.yaml``."""
    if not re.match(RULE_ID, rule_id):
        raise ValueError(
            f"{rule_id!r} is not a rule id; write it as category.short-name, e.g. {category}.meet-the-coach"
        )
    if rule_id in kb.rule_by_id:
        raise ValueError(f"a rule {rule_id!r} already exists ({kb.rule_by_id[rule_id].file})")
    if category not in kb.vocabulary.enums["category"]:
        raise ValueError(f"unknown category {category!r}; use one of: {', '.join(kb.vocabulary.ids('category'))}")
    path = target / "rules" / f"{category}.yaml"
    concept = next((r.model.concepts[0] for r in kb.rules if r.model.category == category), next(iter(kb.concepts)))
    text = SKELETON.format(rule_id=rule_id, category=category, concept=concept)
    if path.exists():
        current = path.read_text(encoding="utf-8")
        if not re.search(r"^rules:", current, re.MULTILINE) or re.search(r"^disable:", current, re.MULTILINE):
            raise ValueError(f"{path} does not end with its 'rules:' list; add the rule by hand")
        path.write_text(current.rstrip("\n") + "\n\n" + text, encoding="utf-8")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("rules:\n" + text, encoding="utf-8")
    return path
