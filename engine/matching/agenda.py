"""experta's agenda order (depth strategy), without the cost of its cache.

experta's ``DepthStrategy`` orders activations by salience, then by the most recent fact they
matched, and caches each activation's sort key with ``functools.lru_cache``. The cache outlives
the run: the next deal declares facts equal to the last deal's, so activations hash alike and
every lookup compares whole contexts of facts with the cached ones, only to miss (the key is part
of an activation's equality, and a new activation has none yet). Profiling a deal of 20
stakeholders put a sixth of the engine time there. Computing the key directly is cheaper than
any lookup. Removal looks for the very activation the matcher handed over before comparing
contexts, which ``engine.rete`` makes the common case.

Among activations equal on that key (different rules on the very same facts) experta fires them in
the order the matcher reported them, which its stock matcher takes from sets hashed by object
identity: not even two runs of experta agree. Both strategies here break that tie by the rule's
name (the compiler names each rule branch) and the facts bound to each name, so the firing order
is defined, and
``tests/test_matcher.py`` can compare it exactly with experta's matcher under
:class:`TieBrokenDepthStrategy`.
"""

from __future__ import annotations

import bisect
from typing import Any

from dealcoach.engine.matching.compat import Activation, Fact, Strategy
from dealcoach.engine.matching.compat import DepthStrategy as ExpertaDepthStrategy


def depth_key(activation: Activation) -> tuple[int, list[int]]:
    """experta's DepthStrategy key: salience first, then the newest facts matched."""
    return activation.rule.salience, sorted((fact["__factid__"] for fact in activation.facts), reverse=True)


class DepthStrategy(Strategy):
    """The order of experta's ``DepthStrategy``: same key, same placement, same removal."""

    def _update_agenda(self, agenda: Any, added: list[Activation], removed: list[Activation]) -> None:
        activations = agenda.activations
        for activation in removed:
            activation.key = depth_key(activation)
            index = bisect.bisect_left(activations, activation)
            for offset in (0, 1, -1):  # the neighbours experta looks at, indexed as experta does
                try:
                    candidate = activations[index + offset]
                except IndexError:
                    continue
                if candidate is activation or candidate == activation:
                    del activations[index + offset]
                    break
        for activation in sorted(added, key=tie_break):
            activation.key = depth_key(activation)
            bisect.insort(activations, activation)


def tie_break(activation: Activation) -> tuple[str, list[tuple[str, int]]]:
    """The order among equal keys: the compiled rule branch's name (``r12_0``), then which fact
    each name is bound to (one rule on the same facts bound the other way round, ``eb`` and ``tg``
    swapped, is a tie too)."""
    bound = sorted((name, value["__factid__"]) for name, value in activation.context.items() if isinstance(value, Fact))
    return activation.rule.__name__, bound


class TieBrokenDepthStrategy(ExpertaDepthStrategy):
    """experta's own DepthStrategy, its ties broken as ours are: the reference for the tests."""

    def _update_agenda(self, agenda: Any, added: list[Activation], removed: list[Activation]) -> None:
        super()._update_agenda(agenda, sorted(added, key=tie_break), removed)
