"""experta's RETE matcher, made cheaper per fact without changing what it matches.

Profiling deals of 20 stakeholders showed the time going to the machinery around the tests, not
to the tests themselves:

* the root hands every new fact to every alpha branch, and each branch starts with a type test
  that rejects all but one kind of fact (fifteen activations where one is needed);
* every node copies the token it receives (``Token.__new__`` re-checks with ``assert`` and
  ``isinstance`` that it holds facts), though no node changes a token it was given;
* every test is a generic ``FeatureCheck`` that splits the field name on ``__``, dispatches on
  the kind of constraint and logs its result, where a closure over the field and the constraint
  gives the same answer;
* after every rule firing, the engine asks every rule's conflict-set node for new activations,
  though only the few that were reached can have any;
* a fact is tested against every constant any rule compares its fields with (one test per role
  value, per attitude, ...), where a lookup by the fact's value finds the few that can pass;
* join memories freeze every token they see (``TokenInfo``: a frozenset of the facts and one of
  the context) to find it again, where comparing the token's own set and dict finds the same;
* building the network, experta rewrites every rule into normal form, which ours already are.

``TypeIndexedMatcher`` builds experta's own network, then routes facts by type at the root,
remembers which conflict-set nodes were reached, puts a dispatcher in front of sibling tests of
one field against constants (alpha-memory indexing), gives each alpha node its test as a plain
closure, and swaps the node classes of *this* network for subclasses that pass tokens on without
copying them. That is safe because no node mutates a token it receives: a node that needs another
context (a binding, a join) builds a new token. Nothing global is patched: another experta engine
in the same process is untouched. The behaviour is experta's; ``tests/test_matcher.py`` runs the
whole playbook on every example deal and on generated deals with experta's own matcher and with
this one, and compares every firing, in order. ``bench/bench_all.py`` measures the two side by side.

Tried and dropped, because it did not pay (interleaved medians within noise): folding each
pattern's chain of constant tests into one node (most facts fail the first test of a chain, so the
hops saved are few).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

from experta.abstract import Matcher
from experta.activation import Activation
from experta.conditionalelement import AND, EXISTS, NOT, OR, TEST
from experta.fact import InitialFact
from experta.fieldconstraint import ANDFC, NOTFC, ORFC, L, P, W
from experta.matchers.rete import ReteMatcher
from experta.matchers.rete.abstract import Node
from experta.matchers.rete.check import FactCapture, FeatureCheck, SameContextCheck, TypeCheck, WhereCheck
from experta.matchers.rete.mixins import ChildNode
from experta.matchers.rete.nodes import (
    BusNode,
    ConflictSetNode,
    FeatureTesterNode,
    NotNode,
    OrdinaryMatchNode,
    WhereNode,
)
from experta.matchers.rete.token import Token, TokenInfo
from experta.matchers.rete.utils import extract_facts, prepare_rule, wire_rule
from experta.rule import Rule

from dealcoach.engine.matching.compat import Fact

VALID = Token.TagType.VALID
_MISSING = object()
Test = Callable[[Any], Any]  # True, False, or a dict of bindings, as experta's checks answer


def _token(tag: Token.TagType, data: set[Fact], context: dict) -> Token:
    """A token built without ``Token.__new__``'s checks: the network only builds valid ones."""
    return tuple.__new__(Token, (tag, data, context))


def _constraint(how: Any) -> Test:
    """One field constraint as a plain function of the field's value, answering as experta's
    ``FeatureCheck`` check functions do (exactly True or False, or the bindings it makes)."""
    bind = getattr(how, "__bind__", None)
    if isinstance(how, L):
        value = how.value
        if bind is None:
            return lambda actual: value == actual
        return lambda actual: {bind: actual} if value == actual else False
    if isinstance(how, P):
        match = how.match
        if bind is None:
            return lambda actual: bool(match(actual))
        return lambda actual: {bind: actual} if match(actual) else False
    if isinstance(how, W):
        return (lambda actual: True) if bind is None else (lambda actual: {bind: actual})
    if isinstance(how, NOTFC):
        return _negated(_constraint(how[0]))
    if isinstance(how, ANDFC):
        return _conjunction([_constraint(part) for part in how])
    if isinstance(how, ORFC):
        return _disjunction([_constraint(part) for part in how])
    raise TypeError(f"unknown field constraint {how!r}")  # pragma: no cover - experta has no other kind


def _wirable(element: Any) -> bool:
    """Whether :func:`_wire` builds what experta's ``wire_rule`` would for ``element``: rules,
    conjunctions, TESTs, facts, and NOT or EXISTS of one fact (FORALL and OR go to experta)."""
    if isinstance(element, Fact | TEST):
        return True
    if isinstance(element, NOT | EXISTS):
        return len(element) == 1 and isinstance(element[0], Fact)
    return isinstance(element, Rule | AND) and all(_wirable(part) for part in element)


def _wire(rule: Any, alpha_terminals: dict[Any, Any]) -> None:
    """experta's ``wire_rule`` (node for node, in the same order) for what :func:`_wirable` accepts.

    experta dispatches with a ``singledispatch`` function made afresh for every rule, so every
    call works out each class's method resolution order again: a fifth of building the network.
    The classes it registers are unrelated to one another, so testing them with ``isinstance`` in
    any order picks the same function.
    """

    def wire(element: Any) -> Any:
        if isinstance(element, TEST):
            return WhereNode(WhereCheck(element[0]))
        if isinstance(element, EXISTS):
            condition, initial = wire(element[0]), wire(InitialFact())
            first, second = NotNode(SameContextCheck()), NotNode(SameContextCheck())
            condition.add_child(first, first.activate_right)
            initial.add_child(first, first.activate_left)
            initial.add_child(second, second.activate_left)
            first.add_child(second, second.activate_right)
            return second
        if isinstance(element, Fact):
            return alpha_terminals[element]
        if isinstance(element, NOT):
            return alpha_terminals[element[0]]
        return conjunction(element)

    def conjunction(element: Any) -> Any:
        if len(element) == 1:
            return alpha_terminals[element[0]] if isinstance(element[0], Fact) else wire(element[0])
        current = None
        for first, second in itertools.pairwise(element):
            if isinstance(second, TEST):
                if current is None:
                    current = wire(first)
                test = wire(second)
                current.add_child(test, test.activate)
                current = test
                continue
            node_class = NotNode if isinstance(second, NOT) else OrdinaryMatchNode
            if current is None:
                current = node_class(SameContextCheck())
                left, right = wire(first), wire(second)
            else:
                left, right = current, wire(second)
                current = node_class(SameContextCheck())
            left.add_child(current, current.activate_left)
            right.add_child(current, current.activate_right)
        return current

    last = wire(rule)
    conflict_set = ConflictSetNode(rule)
    last.add_child(conflict_set, conflict_set.activate)


def _negated(inner: Test) -> Test:
    def test(actual: Any) -> Any:
        result = inner(actual)
        if isinstance(result, dict):
            return {(False, key): value for key, value in result.items()}
        return not result

    return test


def _conjunction(parts: list[Test]) -> Test:
    def test(actual: Any) -> Any:
        bindings: dict = {}
        for part in parts:
            result = part(actual)
            if result is False:
                return False
            if isinstance(result, dict):
                bindings.update(result)
        return bindings or True

    return test


def _disjunction(parts: list[Test]) -> Test:
    def test(actual: Any) -> Any:
        for part in parts:
            result = part(actual)
            if result:
                return result
        return False

    return test


def _node_test(check: Any) -> Test:
    """The alpha node's check as a closure; checks this module does not know stay as they are."""
    if isinstance(check, TypeCheck):
        fact_type = check.fact_type
        return lambda fact: type(fact) == fact_type  # noqa: E721 - experta's test, exactly
    if isinstance(check, FactCapture):
        bind = check.bind
        return lambda fact: {bind: fact}
    if isinstance(check, FeatureCheck) and isinstance(check.what, str) and "__" not in check.what:
        what, constraint = check.what, _constraint(check.how)

        def test(fact: Fact) -> Any:
            try:
                value = fact[what]
            except (IndexError, KeyError, TypeError):
                return False
            return constraint(value)

        return test
    return check


class _FeatureTester(FeatureTesterNode):
    test: Test

    def activate(self, token: Token) -> None:
        """experta's FeatureTesterNode._activate, building a new token only when it binds."""
        (fact,) = token.data
        match = self.test(fact)
        if not match:
            return
        if isinstance(match, dict):
            context = token.context
            for key, value in match.items():
                if isinstance(key, tuple):  # a negated binding
                    if key[1] in context and context[key[1]] == value:
                        return
                elif context.get(key, value) != value or context.get((False, key), _MISSING) == value:
                    return
            token = _token(token.tag, token.data, {**context, **match})
        for child in self.children:
            child.callback(token)


class _Where(WhereNode):
    def activate(self, token: Token) -> None:
        """experta's WhereNode: a TEST over the bound variables, without the copy and the log."""
        check = self.matcher
        context = token.context
        if check.test(**{name: context.get(name) for name in check.parameters}):
            for child in self.children:
                child.callback(token)


class _MatchNode(OrdinaryMatchNode):
    """experta's join, without the copies: memories keep each token's context as a dict too."""

    def _reset(self) -> None:
        self.left_memory: list[tuple[set[Fact], dict]] = []
        self.right_memory: list[tuple[set[Fact], dict]] = []

    def activate_left(self, token: Token) -> None:
        self._join(token, self.left_memory, self.right_memory, is_left=True)

    def activate_right(self, token: Token) -> None:
        self._join(token, self.right_memory, self.left_memory, is_left=False)

    def _join(self, token: Token, memory: list, others: list, *, is_left: bool) -> None:
        """Remembers or forgets the token (compared by value, as experta's frozen ``TokenInfo``
        compares, without freezing every token), then joins it with the other side's memory."""
        data, context = token.data, token.context
        if token.tag is VALID:
            memory.append((data, context))
        else:
            with suppress(StopIteration):
                memory.pop(next(i for i, entry in enumerate(memory) if entry[0] == data and entry[1] == context))
        same = self.matcher
        mine = {k: v for k, v in context.items() if isinstance(k, str)}
        for other_data, other_context in others:
            if not (same(context, other_context) if is_left else same(other_context, context)):
                continue
            joined = dict(mine)
            for key, value in other_context.items():
                if not isinstance(key, tuple):  # negated values are not needed any further
                    joined[key] = value
            new = _token(token.tag, data | other_data, joined)
            for child in self.children:
                child.callback(new)


class _NotNode(NotNode):
    # experta's own activation changes no token it is given; only the copy is skipped.
    def activate_left(self, token: Token) -> Any:
        return self._activate_left(token)

    def activate_right(self, token: Token) -> Any:
        return self._activate_right(token)


class _ConflictSet(ConflictSetNode):
    """experta's conflict-set node, without the copy; reports itself to the matcher when reached."""

    reached: dict[ConflictSetNode, None]

    def activate(self, token: Token) -> None:
        self.reached[self] = None
        info = TokenInfo(token.data, token.context)  # not the facts alone: eb=A, tg=B is not eb=B, tg=A
        activation = Activation(self.rule, info.data, {k: v for k, v in token.context.items() if isinstance(k, str)})
        if token.tag is VALID:
            if info not in self.memory:
                self.memory.add(info)
                if activation in self.removed:
                    self.removed.remove(activation)
                else:
                    self.added.add(activation)
        elif info in self.memory:
            self.memory.remove(info)
            if activation in self.added:
                self.added.remove(activation)
            else:
                self.removed.add(activation)


_LEANER = {
    FeatureTesterNode: _FeatureTester,
    WhereNode: _Where,
    OrdinaryMatchNode: _MatchNode,
    NotNode: _NotNode,
    ConflictSetNode: _ConflictSet,
}


class TypeIndexedBus(BusNode):
    """A root node that sends each fact only to the branches that test for its type."""

    def __init__(self) -> None:
        super().__init__()
        self._routes: dict[type, list[Callable[[Token], Any]]] | None = None

    def _targets(self, fact: Fact) -> list[Callable[[Token], Any]]:
        if self._routes is None:
            self._routes = {}
            for child in self.children:
                check = getattr(child.node, "matcher", None)
                if not isinstance(check, TypeCheck):  # pragma: no cover - experta always types its branches
                    raise TypeError(f"unexpected root branch {child.node!r}")
                self._routes.setdefault(check.fact_type, []).append(child.callback)
        return self._routes.get(type(fact), [])

    def add(self, fact: Fact) -> None:
        token = _token(VALID, {fact}, {})
        for callback in self._targets(fact):
            callback(token)

    def remove(self, fact: Fact) -> None:
        token = Token.invalid(fact)
        for callback in self._targets(fact):
            callback(token)


class _Dispatch:
    """Stands in for sibling tests of one field against constants: looks the fact's value up and
    passes the token only to the tests that can succeed. Each of them still runs its own test, so
    nothing matches that would not have matched; the siblings that cannot match are never tried."""

    def __init__(self, field: str, kind: str, children: list[ChildNode]):
        self.field, self.kind = field, kind
        self.children = children
        self.index: dict[Any, list[int]] = {}
        for order, child in enumerate(children):
            for value in child.node.matcher.how.match.index[1]:
                self.index.setdefault(value, []).append(order)

    def activate(self, token: Token) -> None:
        (fact,) = token.data
        value = fact.get(self.field, _MISSING)
        if value is _MISSING:
            return
        if self.kind == "value":
            hits = self.index.get(value, ()) if _hashable(value) else range(len(self.children))
        else:
            hits = sorted({i for element in value for i in self.index.get(element, ())})
        for i in hits:
            self.children[i].callback(token)

    def reset(self) -> None:
        for child in self.children:
            child.node.reset()


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _index_of(child: ChildNode) -> tuple[str, str] | None:
    """(field, kind) when the child is a single constant test on a plain field that can be indexed."""
    check = getattr(child.node, "matcher", None)
    if not isinstance(check, FeatureCheck) or not isinstance(check.what, str) or "__" in check.what:
        return None
    if not isinstance(check.how, P) or getattr(check.how, "__bind__", None) is not None:
        return None
    index = getattr(check.how.match, "index", None)
    return (check.what, index[0]) if index else None


def _dispatch(node: Any, minimum: int = 3) -> None:
    """Group ``node``'s indexable children by field, and put a dispatcher in front of large groups."""
    groups: dict[tuple[str, str], list[ChildNode]] = {}
    for child in node.children:
        key = _index_of(child)
        if key is not None:
            groups.setdefault(key, []).append(child)
    for (field, kind), members in groups.items():
        if len(members) < minimum:
            continue
        dispatcher = _Dispatch(field, kind, members)
        grouped = {id(c) for c in members}
        node.children = [c for c in node.children if id(c) not in grouped] + [
            ChildNode(dispatcher, dispatcher.activate)
        ]


def _nodes(root: Node) -> Iterator[Node]:
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(child.node for child in node.children)


def _prepare(rule: Any) -> Any:
    """experta's ``prepare_rule`` for the flat conjunctions our compiler emits.

    experta rewrites every rule into disjunctive normal form, copying it again and again; ours are
    conjunctions of facts, TESTs and single-pattern NOT/EXISTS already (the compiler expands `any`
    itself). What remains of the preparation is to put an InitialFact in front of a rule that
    starts with NOT or matches no fact. Anything else goes through experta's own code.
    """
    if any(isinstance(ce, OR | AND) for ce in rule):
        return prepare_rule(rule)
    if not rule:
        return rule.new_conditions(InitialFact())
    if isinstance(rule[0], NOT) or not extract_facts(rule):
        return rule.new_conditions(InitialFact(), *rule)
    return rule.new_conditions(*rule)  # a copy, as experta's: the original is bound to the engine


class TypeIndexedMatcher(ReteMatcher):
    def __init__(self, engine: Any) -> None:  # ReteMatcher.__init__, with another root node
        Matcher.__init__(self, engine)
        self.root_node = TypeIndexedBus()
        self.reached: dict[ConflictSetNode, None] = {}  # an ordered set
        self.build_network()
        nodes = list(_nodes(self.root_node))
        for node in nodes:
            node.__class__ = _LEANER.get(type(node), type(node))
            if isinstance(node, _FeatureTester):
                node.test = _node_test(node.matcher)
            elif isinstance(node, _ConflictSet):
                node.reached = self.reached
        for node in nodes:  # children hold bound methods of the old classes: bind them again
            node.children = [ChildNode(c.node, getattr(c.node, c.callback.__name__)) for c in node.children]
        for node in nodes:
            _dispatch(node)
        self._stateful = [n for n in nodes if isinstance(n, OrdinaryMatchNode | NotNode | ConflictSetNode)]
        for node in self._stateful:
            node._reset()  # memories in the leaner classes' own layout

    @staticmethod
    def prepare_ruleset(engine: Any) -> set[Any]:
        return {_prepare(rule) for rule in engine.get_rules()}

    @staticmethod
    def build_beta_part(ruleset: set[Any], alpha_terminals: dict[Any, Any]) -> None:
        """experta's ``build_beta_part``, wiring the conjunctions our compiler emits with
        :func:`_wire`; anything else goes through experta's own ``wire_rule``."""
        for rule in ruleset:
            if isinstance(rule[0], OR):
                for subrule in rule[0]:
                    wire_rule(rule, alpha_terminals, lhs=subrule)
            elif _wirable(rule):
                _wire(rule, alpha_terminals)
            else:
                wire_rule(rule, alpha_terminals, lhs=rule)

    def changes(self, adding: Any = None, deleting: Any = None) -> tuple[list[Any], list[Any]]:
        """ReteMatcher.changes, asking only the conflict-set nodes that were reached."""
        for fact in deleting or ():
            self.root_node.remove(fact)
        for fact in adding or ():
            self.root_node.add(fact)
        added: list[Any] = []
        removed: list[Any] = []
        reached = list(self.reached)
        self.reached.clear()
        for node in reached:
            node_added, node_removed = node.get_activations()
            added.extend(node_added)
            removed.extend(node_removed)
        return added, removed

    def reset(self) -> None:
        """Wipe the memories of the nodes that have any, instead of walking the whole network."""
        for node in self._stateful:
            node._reset()
        self.reached.clear()
