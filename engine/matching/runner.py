"""The engine run: one compiled playbook, reused for every deal (reset, declare, run).

Compiling builds experta's RETE network, the expensive part; it happens once per process in
:class:`Advisor`. Per deal only the facts change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dealcoach.engine.deals.deal import Deal
from dealcoach.engine.deals.facts import deal_facts
from dealcoach.engine.playbook.compiler import COUNT_TYPE, Compiler, Derivation, Firing, derived_key, fact_values
from dealcoach.engine.playbook.kb import KnowledgeBase


@dataclass
class Outcome:
    """What the engine concluded about one deal: every firing, and how each derived fact came to be."""

    deal: Deal
    firings: list[Firing]
    derivations: dict[tuple, Derivation]
    facts: dict[str, list[dict]]  # every fact by type, when asked for (--why-not); empty otherwise
    support: dict[tuple, list[Derivation]] = field(default_factory=dict)  # every derivation of each fact

    def derivation(self, fact_type: str, values: dict) -> Derivation | None:
        return self.derivations.get(derived_key(fact_type, values))


def _firing_order(firing: Firing) -> tuple:
    return firing.rule.id, firing.branch.index, repr(sorted(firing.facts.items(), key=lambda kv: kv[0]))


class Advisor:
    def __init__(self, kb: KnowledgeBase, *, stock: bool = False):
        """``stock`` runs experta's own matcher and agenda instead of the project's (slower; the
        reference the differential test ``tests/test_matcher.py`` and ``bench/`` compare with)."""
        self.kb = kb
        compiler = Compiler(kb.schema)
        self.engine = compiler.engine_class(kb.rules, stock=stock)()
        self.counts = compiler.counts
        self.count_type = kb.schema.types[COUNT_TYPE]

    def run(self, deal: Deal, *, keep_facts: bool = False, moves: tuple[str, ...] = ()) -> Outcome:
        """Run the playbook on ``deal``; ``moves`` are a drill trainee's moves, for reaction rules."""
        facts = deal_facts(deal, self.kb.schema)
        facts += [self.kb.schema.types["move"].make(id=move) for move in moves]
        facts += [self.count_type.make(key=spec.key, value=spec.count(facts)) for spec in self.counts]
        engine = self.engine
        engine.reset()
        engine.declare(*facts)
        engine.run()
        # experta's agenda order among equal activations is not guaranteed; sort so that the
        # explanation kept for a fact derived twice is always the same one.
        firings = sorted(engine.firings, key=_firing_order)
        derivations: dict[tuple, Derivation] = {}
        support: dict[tuple, list[Derivation]] = {}
        for firing in firings:
            for key in engine.derived_by.get(id(firing), ()):
                derivations.setdefault(key, Derivation(firing.rule, firing))
                support.setdefault(key, []).append(Derivation(firing.rule, firing))
        return Outcome(deal, firings, derivations, self._facts_by_type() if keep_facts else {}, support)

    def _facts_by_type(self) -> dict[str, list[dict]]:
        names = {t.fact_class: name for name, t in self.kb.schema.types.items()}
        by_type: dict[str, list[dict]] = {}
        for fact in self.engine.facts.values():
            if type(fact) in names:
                by_type.setdefault(names[type(fact)], []).append(fact_values(fact))
        return by_type
