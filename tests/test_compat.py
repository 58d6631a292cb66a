"""The experta shim leaves the standard library as it found it (engine/matching/compat.py)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import collections, collections.abc
{setup}
before = getattr(collections, "Mapping", None)
import dealcoach.engine.matching.runner, dealcoach.engine.matching.rete, dealcoach.cli
after = getattr(collections, "Mapping", None)
print(hasattr(collections, "Mapping"), before is after)
"""


def _run(setup: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", CHECK.format(setup=setup)], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def test_importing_the_engine_does_not_leave_collections_mapping_behind():
    assert _run("") == "False True"


def test_a_program_that_set_the_alias_itself_keeps_it():
    assert _run("collections.Mapping = collections.abc.Mapping") == "True True"


def test_the_engine_works_after_the_alias_is_gone(advisor, builtin):
    import collections

    from dealcoach.engine.deals import deal
    from dealcoach.engine.yamlsource import Document

    assert not hasattr(collections, "Mapping")
    data = {"name": "t", "account": {"name": "a"}, "stage": "evaluation", "stakeholders": [{"name": "甲"}]}
    outcome = advisor.run(deal.validate(Document("t.yaml", data), builtin.vocabulary))
    assert outcome.firings
