"""Everything of experta's internals that dealcoach relies on is still there and still the same.

``engine/matching/rete.py`` builds on experta's RETE network (node classes, their attributes and methods,
the Token layout), and re-implements a few of experta's methods with the per-call checks left
out. experta is pinned exactly (``experta==1.9.4``); if anyone raises the pin, these tests say
precisely which internal moved, so the matcher is reviewed rather than silently wrong.

The digests pin the source of experta's methods that ``rete.py`` copies or replaces: when one
changes, compare the new source with ``rete.py``, update ``rete.py``, then the digest.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import inspect
from collections.abc import Callable

import pytest

from dealcoach.engine.matching import compat  # noqa: F401 - experta imports only through the shim

PINNED = "1.9.4"


def _experta(module: str, name: str) -> object:
    try:
        return getattr(importlib.import_module(f"experta.{module}"), name)
    except (ImportError, AttributeError) as err:
        pytest.fail(
            f"experta changed: engine/matching/rete.py imports {name} from experta.{module}, which is gone ({err})"
        )


def test_the_installed_experta_is_the_pinned_version():
    installed = importlib.metadata.version("experta")
    assert installed == PINNED, (
        f"experta {installed} is installed; dealcoach is pinned to {PINNED} because engine/matching/rete.py relies on "
        "its internals: run this file, review rete.py against the changes, then move the pin"
    )


@pytest.mark.parametrize(
    "module, name",
    [
        ("abstract", "Matcher"),
        ("abstract", "Strategy"),  # engine/matching/agenda.py
        ("activation", "Activation"),
        ("strategies", "DepthStrategy"),
        ("conditionalelement", "AND"),
        ("conditionalelement", "NOT"),
        ("conditionalelement", "OR"),
        ("fact", "InitialFact"),
        ("fieldconstraint", "ANDFC"),
        ("fieldconstraint", "L"),
        ("fieldconstraint", "NOTFC"),
        ("fieldconstraint", "ORFC"),
        ("fieldconstraint", "P"),
        ("fieldconstraint", "W"),
        ("matchers.rete.check", "FactCapture"),
        ("matchers.rete.nodes", "WhereNode"),
        ("matchers.rete", "ReteMatcher"),
        ("matchers.rete.abstract", "Node"),
        ("matchers.rete.check", "FeatureCheck"),
        ("matchers.rete.check", "TypeCheck"),
        ("matchers.rete.mixins", "ChildNode"),
        ("matchers.rete.nodes", "BusNode"),
        ("matchers.rete.nodes", "ConflictSetNode"),
        ("matchers.rete.nodes", "FeatureTesterNode"),
        ("matchers.rete.nodes", "NotNode"),
        ("matchers.rete.nodes", "OrdinaryMatchNode"),
        ("matchers.rete.token", "Token"),
        ("matchers.rete.utils", "extract_facts"),
        ("matchers.rete.utils", "prepare_rule"),
        ("watchers", "ALL"),
    ],
)
def test_every_name_rete_imports_from_experta_exists(module, name):
    _experta(module, name)


def test_a_token_is_a_tuple_of_tag_data_and_context():
    token_class = _experta("matchers.rete.token", "Token")
    fact = _experta("fact", "InitialFact")()
    token = token_class.valid(fact)  # type: ignore[attr-defined]
    assert token_class._fields == ("tag", "data", "context"), (  # type: ignore[attr-defined]
        "experta changed the Token layout: rete._token builds tokens as (tag, data, context)"
    )
    assert isinstance(token, tuple) and isinstance(token.data, set) and isinstance(token.context, dict), (
        "experta changed what a Token holds: rete._token builds tokens of data (a set) and context (a dict)"
    )
    assert token_class.invalid(fact).tag != token.tag  # type: ignore[attr-defined]


def test_a_child_node_is_a_node_and_its_callback():
    child_node = _experta("matchers.rete.mixins", "ChildNode")
    assert child_node._fields == ("node", "callback"), (  # type: ignore[attr-defined]
        "experta changed ChildNode: rete.py rebinds children as ChildNode(node, callback)"
    )


@pytest.mark.parametrize(
    "module, cls, methods",
    [
        ("matchers.rete.nodes", "FeatureTesterNode", ["activate", "_activate", "reset"]),
        ("matchers.rete.nodes", "OrdinaryMatchNode", ["activate_left", "activate_right", "_activate_left", "_reset"]),
        ("matchers.rete.nodes", "NotNode", ["activate_left", "activate_right", "_activate_right", "_reset"]),
        ("matchers.rete.nodes", "ConflictSetNode", ["_activate", "get_activations", "_reset"]),
        ("matchers.rete.nodes", "BusNode", ["add", "remove", "add_child"]),
        ("matchers.rete", "ReteMatcher", ["build_network", "changes", "reset", "prepare_ruleset"]),
        ("rule", "Rule", ["new_conditions"]),
        ("engine", "KnowledgeEngine", ["get_rules", "declare", "reset", "run"]),
    ],
)
def test_the_methods_rete_calls_or_overrides_exist(module, cls, methods):
    owner = _experta(module, cls)
    missing = [m for m in methods if not callable(getattr(owner, m, None))]
    assert missing == [], f"experta changed: {cls} has no {', '.join(missing)} (used by engine/matching/rete.py)"


def test_a_built_network_has_the_shape_rete_walks(builtin):
    """Type checks under the root, feature checks with what/how, P with match and __bind__."""
    from dealcoach.engine.matching.runner import Advisor
    from dealcoach.engine.playbook.compiler import PlaybookEngine

    engine = Advisor(builtin).engine
    assert isinstance(engine, PlaybookEngine) and type(engine).__matcher__.__name__ == "TypeIndexedMatcher", (
        "experta no longer builds its matcher from the engine's __matcher__ class attribute"
    )
    root = engine.matcher.root_node
    type_check = _experta("matchers.rete.check", "TypeCheck")
    assert root.children and all(isinstance(c.node.matcher, type_check) for c in root.children)
    assert all(isinstance(c.node.matcher.fact_type, type) for c in root.children), "TypeCheck.fact_type changed"
    feature_check = _experta("matchers.rete.check", "FeatureCheck")
    checks = [
        grandchild.node.matcher
        for child in root.children
        for grandchild in child.node.children
        if isinstance(getattr(grandchild.node, "matcher", None), feature_check)
    ]
    assert checks, "experta no longer puts FeatureCheck nodes under the type checks"
    assert all(hasattr(check, "what") and hasattr(check, "how") for check in checks), "FeatureCheck.what/how changed"
    p_class = _experta("fieldconstraint", "P")
    constraint = p_class(lambda value: True)  # type: ignore[operator]
    assert callable(constraint.match) and constraint.__bind__ is None, "P.match or P.__bind__ changed"


def _digest(function: Callable[..., object]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


@pytest.mark.parametrize(
    "module, qualified, digest",
    [
        ("matchers.rete.nodes", "FeatureTesterNode._activate", "01f5929c3418ff8c"),  # copied by rete._FeatureTester
        ("matchers.rete.nodes", "ConflictSetNode._activate", "5a49462abd655ba8"),  # re-implemented by rete._ConflictSet
        ("matchers.rete.nodes", "BusNode.add", "c7abc83c21932fe0"),  # replaced by rete.TypeIndexedBus
        ("matchers.rete.nodes", "BusNode.remove", "88bd1f315e0356df"),
        ("matchers.rete.abstract", "TwoInputNode.activate_left", "dcfd261193710628"),  # replaced in _MatchNode/_NotNode
        ("matchers.rete.abstract", "TwoInputNode.activate_right", "674f5ac654d58256"),
        ("matchers.rete.abstract", "OneInputNode.activate", "a342e7efc4b44fd1"),  # replaced in _FeatureTester
        ("matchers.rete.token", "Token.copy", "755c71de8cb056da"),  # never called: rete passes tokens on
        ("matchers.rete.nodes", "WhereNode._activate", "62bbe386182f6feb"),  # replaced by rete._Where
        ("matchers.rete.nodes", "OrdinaryMatchNode._activate_left", "64bf16dfd848b354"),  # rete._MatchNode._join
        ("matchers.rete.nodes", "OrdinaryMatchNode._activate_right", "48e5cb7b588f790b"),
        ("matchers.rete.nodes", "OrdinaryMatchNode._reset", "f9213bbb92aa3f0e"),  # memories in rete's layout
        ("matchers.rete.check", "FeatureCheck.__call__", "ab3e65c317b2154f"),  # rete._node_test's closures
        ("matchers.rete.check", "FeatureCheck.get_check_function", "2cc9e3cbbb8aa47d"),  # rete._constraint
        ("matchers.rete.check", "TypeCheck.__call__", "407a7a55da35a4a6"),
        ("matchers.rete.check", "FactCapture.__call__", "6d76ef2ac1b42459"),
        ("matchers.rete.check", "WhereCheck.__call__", "22b5fd53e3d94202"),  # rete._Where calls check.test
        ("matchers.rete.nodes", "NotNode._activate_left", "0efd6514ab7b91ad"),  # given tokens it must not change
        ("matchers.rete.nodes", "NotNode._activate_right", "7fdc2c413e33408c"),
        ("matchers.rete.check", "SameContextCheck.__call__", "2c91b37b9cf26057"),  # the join's test, kept
        ("matchers.rete", "ReteMatcher.__init__", "dd0a92de3c628c79"),  # replaced by TypeIndexedMatcher.__init__
        ("matchers.rete", "ReteMatcher.changes", "ef610eaeb40ca76c"),  # replaced: only reached conflict sets
        ("matchers.rete", "ReteMatcher.reset", "3a3e69d528b38267"),  # replaced: only stateful nodes
        ("matchers.rete", "ReteMatcher.prepare_ruleset", "71e2e1abfe9a6280"),  # replaced by rete._prepare
        ("matchers.rete.utils", "prepare_rule", "1287e6611db1a706"),  # still called for rules with OR/AND
        ("strategies", "DepthStrategy._update_agenda", "deb2f6264a188da7"),  # re-implemented by agenda.DepthStrategy
        ("strategies", "DepthStrategy.get_key", "60db4d5226d5f8d7"),  # agenda.depth_key
        ("activation", "Activation.__eq__", "fa9401a128afc4ff"),  # agenda's removal and the key's order rely on it
    ],
)
def test_the_experta_code_rete_replaces_is_unchanged(module, qualified, digest):
    owner_name, _, method = qualified.partition(".")
    target = _experta(module, owner_name)
    function = getattr(target, method) if method else target
    assert _digest(function) == digest, (
        f"experta's {qualified} changed; engine/matching/rete.py copies or replaces it: compare the new source "
        "with rete.py, update rete.py, then this digest"
    )
