"""Why a rule did not fire on a deal: the first condition that failed, and the facts it looked at.

The engine only reports what matched, so this walks the rule's conditions again, in order, over
the facts of the run (given and derived), keeping every way the conditions so far can be met. The
first condition that leaves none is the answer. It is the engine's semantics restated for
explanation only; the rule examples and tests keep the two in step.
"""

from __future__ import annotations

from typing import Any

from dealcoach.engine.advising.advice import Bindings, Explainer, build
from dealcoach.engine.deals.facts import subject
from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.matching.runner import Outcome
from dealcoach.engine.playbook.compiler import COMPARISONS, effective_op, predicate
from dealcoach.engine.playbook.kb import KnowledgeBase
from dealcoach.engine.playbook.rulelang import Branch, Count, FieldTest, Negation, Pattern, Ref, Rule

State = dict[str, dict[str, Any]]
MAX_SHOWN = 6


class WhyNot:
    def __init__(self, kb: KnowledgeBase, outcome: Outcome, lang: Lang):
        self.kb, self.outcome, self.lang = kb, outcome, lang
        self.explainer = Explainer(kb, outcome, lang)

    def explain(self, rule: Rule, *, brief: bool = False) -> list[str]:
        """Why ``rule`` did not fire; ``brief`` leaves out the facts each failed condition looked at."""
        lines = self._explain(rule)
        return [line for line in lines if not brief or not line.startswith("    ")]

    def _explain(self, rule: Rule) -> list[str]:
        zh = self.lang == "zh"
        if any(f.rule.id == rule.id for f in self.outcome.firings):
            items = build(self.outcome, self.kb, self.lang)
            given = {a.rule for a in items}
            if rule.id in given or rule.derives:
                return [f"规则 {rule.id} 在这个项目上触发了。" if zh else f"Rule {rule.id} fired on this deal."]
            hosts = sorted(a.rule for a in items if rule.id in a.folded)
            if hosts:
                topic = rule.model.topic
                return [
                    f"规则 {rule.id} 触发了，它的建议按主题 {topic} 并入了更具体的 {'、'.join(hosts)}。"
                    if zh
                    else f"Rule {rule.id} fired; its advice is folded, by topic {topic}, into the more specific "
                    f"{', '.join(hosts)}."
                ]
            winners = sorted(
                r for r in given if {rule.id, rule.model.category} & set(self.kb.rule_by_id[r].model.supersedes)
            )
            return [
                f"规则 {rule.id} 触发了，但它的建议让位于更具体的规则：{'、'.join(winners)}"
                if zh
                else f"Rule {rule.id} fired, but its advice gave way to the more specific {', '.join(winners)}."
            ]
        lines = [f"规则 {rule.id} 没有触发：" if zh else f"Rule {rule.id} did not fire:"]
        for branch in rule.branches:
            prefix = ""
            if len(rule.branches) > 1:
                prefix = f"  备选 {branch.index + 1}：" if zh else f"  alternative {branch.index + 1}: "
            lines += [prefix + line if i == 0 else "    " + line for i, line in enumerate(self._branch(branch))]
        return lines

    def _branch(self, branch: Branch) -> list[str]:
        states: list[State] = [{}]
        for number, condition in enumerate(branch.conditions, start=1):
            if isinstance(condition, Pattern):
                states, failure = self._pattern(branch, number, condition, states)
            elif isinstance(condition, Negation):
                states, failure = self._negation(number, condition, states)
            else:
                states, failure = self._count(number, condition, states)
            if failure:
                return failure
        return [
            "所有条件都满足，但规则仍未触发"
            if self.lang == "zh"
            else "every condition holds, yet the rule did not fire"
        ]

    def holding(self, branch: Branch) -> list[State]:
        """Every way facts of this deal meet all patterns of ``branch`` together, ignoring its
        ``not``, ``exists`` and count conditions: what lets a rule that did not fire be phrased
        with true facts (a drill's distractor), and what checks that it was."""
        states: list[State] = [{}]
        for index, condition in enumerate(branch.conditions):
            if isinstance(condition, Pattern):
                name = condition.binding or f"_c{index}"
                candidates = self.outcome.facts.get(condition.fact_type, [])
                states = [
                    {**s, name: f} for s in states for f in candidates if self._failed_test(condition, f, s) is None
                ]
        return states

    def _heading(self, number: int, text: str) -> str:
        return f"条件 {number} 不成立：{text}" if self.lang == "zh" else f"condition {number} fails: {text}"

    def _pattern(
        self, branch: Branch, number: int, pattern: Pattern, states: list[State]
    ) -> tuple[list[State], list[str]]:
        name = pattern.binding or f"_c{number - 1}"
        candidates = self.outcome.facts.get(pattern.fact_type, [])
        found = [{**s, name: f} for s in states for f in candidates if self._failed_test(pattern, f, s) is None]
        if found:
            return found, []
        label = self.explainer.condition(pattern, Bindings(states[0]))
        if not candidates:
            none = (
                f"这个项目里没有任何{self.kb.vocabulary.fact_label(pattern.fact_type, self.lang)}"
                if self.lang == "zh"
                else f"the deal has no {self.kb.vocabulary.fact_label(pattern.fact_type, self.lang)} at all"
            )
            return [], [self._heading(number, label), none]
        looked = [self._looked_at(pattern, f, states[0]) for f in candidates[:MAX_SHOWN]]
        more = len(candidates) - MAX_SHOWN
        if more > 0:
            looked.append(f"……另有 {more} 个" if self.lang == "zh" else f"... and {more} more")
        return [], [
            self._heading(number, label),
            ("看过：" if self.lang == "zh" else "looked at: ") + "; ".join(looked),
        ]

    def _negation(self, number: int, negation: Negation, states: list[State]) -> tuple[list[State], list[str]]:
        kept = [s for s in states if bool(self._matches(negation.patterns, s)) == negation.exists]
        if kept:
            return kept, []
        lines = [self._heading(number, self.explainer.negation(negation, Bindings(states[0])))]
        if not negation.exists:
            found = self._matches(negation.patterns, states[0])
            names = [
                subject(p.fact_type, f, self.kb.vocabulary, self.lang)
                for match in found[:MAX_SHOWN]
                for p, f in zip(negation.patterns, match, strict=True)
            ]
            lines.append(("但有：" if self.lang == "zh" else "but there is: ") + ", ".join(dict.fromkeys(names)))
        return [], lines

    def _count(self, number: int, count: Count, states: list[State]) -> tuple[list[State], list[str]]:
        n = sum(
            1
            for f in self.outcome.facts.get(count.pattern.fact_type, [])
            if self._failed_test(count.pattern, f, {}) is None
        )
        if COMPARISONS[count.op](n, count.value):
            return [{**s, f"_c{number - 1}": {"key": "", "value": n}} for s in states], []
        text = self.explainer.count(count, n, Bindings())
        return [], [self._heading(number, f"{text} ({count.op} {count.value})")]

    def _matches(self, patterns: list[Pattern], state: State) -> list[tuple[dict[str, Any], ...]]:
        """Every combination of facts that meets all of ``patterns`` together."""
        partial: list[tuple[dict[str, Any], ...]] = [()]
        for pattern in patterns:
            facts = self.outcome.facts.get(pattern.fact_type, [])
            partial = [(*combo, f) for combo in partial for f in facts if self._failed_test(pattern, f, state) is None]
        return partial

    def _failed_test(self, pattern: Pattern, fact: dict[str, Any], state: State) -> FieldTest | None:
        fields = self.kb.schema.types[pattern.fact_type].fields
        for test in pattern.tests:
            spec = fields[test.field]
            op = effective_op(test, spec)
            if isinstance(test.value, Ref):
                other = state.get(test.value.binding)
                if other is not None and not COMPARISONS[op](fact[test.field], other[test.value.field]):
                    return test
            elif not predicate(op, test.value, spec)(fact[test.field]):
                return test
        return None

    def _looked_at(self, pattern: Pattern, fact: dict[str, Any], state: State) -> str:
        test = self._failed_test(pattern, fact, state)
        who = subject(pattern.fact_type, fact, self.kb.vocabulary, self.lang)
        if test is None:  # matched alone, but not together with the people bound before
            return (
                f"{who}（与前面的条件不相容）" if self.lang == "zh" else f"{who} (does not fit the earlier conditions)"
            )
        spec = self.kb.schema.types[pattern.fact_type].fields[test.field]
        field = self.kb.vocabulary.field_label(pattern.fact_type, test.field, self.lang)
        return (
            f"{who}（{field} = {self.explainer.show(fact[test.field], spec)}）"
            if self.lang == "zh"
            else f"{who} ({field} = {self.explainer.show(fact[test.field], spec)})"
        )


def why_not(kb: KnowledgeBase, outcome: Outcome, rule_id: str, lang: Lang) -> list[str]:
    return WhyNot(kb, outcome, lang).explain(kb.rule_by_id[rule_id])
