"""Property-based fuzzing of ``dealcoach advise``: mutated example deals and random YAML and JSON
documents must each end in exit 0 (valid JSON advice) or exit 2 (one line per problem, naming the
file), never a traceback and never a hang.

CI runs a few hundred derandomized cases. The longer mode runs thousands:

    DEALCOACH_FUZZ_EXAMPLES=2000 DEALCOACH_FUZZ_TALLY=fuzz.json .venv/bin/python -m pytest tests/test_fuzz.py

``DEALCOACH_FUZZ_EXAMPLES`` is the number of cases per strategy (default 100) and
``DEALCOACH_FUZZ_TALLY`` names a JSON file that receives the counts (cases, accepted, refused,
tracebacks, hangs). The knowledge base is loaded once and shared: what is fuzzed is the deal.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dealcoach import cli
from tests.conftest import SCENARIOS

EXAMPLES = int(os.environ.get("DEALCOACH_FUZZ_EXAMPLES", "100"))
HANG_SECONDS = 30.0
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
TALLY: Counter[str] = Counter()
EXAMPLE_DEALS = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(SCENARIOS.glob("*.yaml"))]

NASTY: list[Any] = [
    None, True, False, 0, -1, 1, 3, 5, 6, 2**63, 10**40, 1.5, -0.0, float("inf"), float("nan"),
    "", " ", "张伟", "张伟 ", " 王敏", "unknown", "是", "未知", "accept", "怀疑", "economic_buyer", "决策者",
    "evaluation", "\n", "a\nb", "\x1b[2J", "a\x00b", "\u202e", "x" * 5000, "9" * 4000, "3000000", "yes",
    "2024-02-30", "$x.name", "{{ 1/0 }}", [], {}, ["economic_buyer"], [[1]], {"a": 1}, {"name": "x"},
]  # fmt: skip
TOKENS = [
    "!!int ", "!!float ", "!!bool ", "!!binary ", "!!timestamp ", "!!set ", "!!omap ", "!!python/object:os.system ",
    "&a ", "*a", "<<: *a", "{", "}", "[", "]", "\t", ":", "- ", "'", '"', "\\u0000", "\n  ", "9" * 5000, "? ",
    "NaN", "1e400", ",", "#", "%YAML 1.1\n", "---\n", "...\n", "\ufeff", "\r",
]  # fmt: skip

scalars = st.sampled_from(NASTY) | st.text(max_size=12) | st.integers() | st.floats()
KEYS = st.text(max_size=8) | st.sampled_from(["name", "account", "stakeholders", "stage", "roles", "<<"])
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture(autouse=True)
def _shared_knowledge_base(monkeypatch, builtin, advisor):
    """Load and compile the playbook once: each case then costs one deal, not one start-up."""
    monkeypatch.setattr(cli, "load_kb", lambda extra, *, skip_invalid=False: builtin)
    monkeypatch.setattr(cli.runner, "Advisor", lambda kb: advisor)


@pytest.fixture(scope="module", autouse=True)
def _tally():
    yield
    target = os.environ.get("DEALCOACH_FUZZ_TALLY")
    if target:
        Path(target).write_text(json.dumps(dict(TALLY), indent=2) + "\n", encoding="utf-8")


def advise(path: Path) -> None:
    """The property: exit 0 with JSON, or exit 2 with one located line per problem; nothing else."""
    started = time.monotonic()
    result = CliRunner().invoke(cli.main, ["advise", str(path), "--format", "json", "--lang", "en"])
    TALLY["cases"] += 1
    if time.monotonic() - started > HANG_SECONDS:
        TALLY["hangs"] += 1
        pytest.fail(f"advise took {time.monotonic() - started:.0f} s on {path.read_bytes()[:500]!r}")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        TALLY["tracebacks"] += 1
        raise result.exception
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 0:
        TALLY["accepted"] += 1
        assert json.loads(result.stdout)["schema"] == "dealcoach.advice/1"
        return
    TALLY["refused"] += 1
    lines = result.stderr.splitlines()
    assert lines and lines[-1].startswith("dealcoach: ")
    for line in lines[:-1]:
        assert line.startswith(f"{path}:"), line  # every problem names the file


def write(tmp_path: Path, data: Any, fmt: str) -> tuple[Path, str]:
    path = tmp_path / f"deal.{fmt}"
    text = json.dumps(data, ensure_ascii=False) if fmt == "json" else yaml.safe_dump(data, allow_unicode=True)
    return path, text


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a document: keys of mappings and indices of lists."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, prefix + (index,))
    return found


def mutate(deal: Any, data: st.DataObject) -> Any:
    """One structural change somewhere in a copy of ``deal``: replace, delete, add, duplicate."""
    deal = json.loads(json.dumps(deal))
    where = data.draw(st.sampled_from(paths(deal)[1:]))
    *parent_path, last = where
    parent = deal
    for part in parent_path:
        parent = parent[part]
    action = data.draw(st.sampled_from(["replace", "delete", "add", "duplicate"]))
    if action == "replace":
        parent[last] = data.draw(documents)
    elif action == "delete":
        del parent[last]
    elif action == "add" and isinstance(parent, dict):
        parent[data.draw(st.sampled_from(["extra_key", "name", "notes", "a\nb", "\x1b"]))] = data.draw(documents)
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(parent[last])
    return deal


@FUZZ
@given(data=st.data())
def test_mutated_example_deals_are_advised_or_refused_cleanly(tmp_path_factory, data):
    deal = data.draw(st.sampled_from(EXAMPLE_DEALS))
    for _ in range(data.draw(st.integers(1, 3))):
        deal = mutate(deal, data)
    path, text = write(tmp_path_factory.mktemp("fuzz"), deal, data.draw(st.sampled_from(["yaml", "json"])))
    path.write_text(text, encoding="utf-8")
    advise(path)


@FUZZ
@given(data=st.data())
def test_text_level_damage_to_example_deals_is_refused_cleanly(tmp_path_factory, data):
    deal = data.draw(st.sampled_from(EXAMPLE_DEALS))
    path, text = write(tmp_path_factory.mktemp("fuzz"), deal, data.draw(st.sampled_from(["yaml", "json"])))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        change = data.draw(st.sampled_from(["insert", "cut", "truncate"]))
        if change == "insert":
            text = text[:at] + data.draw(st.sampled_from(TOKENS) | st.text(max_size=6)) + text[at:]
        elif change == "cut":
            text = text[:at] + text[at + data.draw(st.integers(1, 40)) :]
        else:
            text = text[:at]
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    advise(path)


@FUZZ
@given(document=documents, fmt=st.sampled_from(["yaml", "json"]))
def test_random_documents_are_refused_cleanly(tmp_path_factory, document, fmt):
    path, text = write(tmp_path_factory.mktemp("fuzz"), document, fmt)
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    advise(path)


PIECES = [
    "{{ ", " }}", "{% for i in range(", ") %}", "{% endfor %}", "deal.name", "eb.name", "eb.roles", "'x'", " * ",
    " ~ ", " + ", "|center(", "|indent(", "|replace('x', 'xx')", "|join", "|list", "|length", "|sort", "9999999",
    "100000", "64", "2", "(", ")", "[", "]", "[0]", "1/0", "{% macro m(n) %}", "{% endmacro %}", "m(n)", "m(3)",
    "namespace(s='x')", "{% set ns = ", "{% set ns.s = ns.s ~ ns.s %}", " % ", "'%9999999s'", ".format(",
    "deal.account.update({})", "{% if ", " %}", "{% endif %}", "loop.index", "**", "lang", "deal.budget.amount",
    "deal.stakeholders", "{{ deal.stakeholders|map(attribute='name')|join(', ') }}", "'{:>99999999}'", "|int",
]  # fmt: skip
RULE_FILE = """rules:
  - id: fuzz.rule
    category: coverage
    priority: high
    concepts: [R7]
    when:
      - stakeholder: {{as: eb, roles: economic_buyer}}
    advice: {{zh: {template}, en: {template}}}
    examples: {{fires: [{{}}], silent: [{{}}]}}
"""


@settings(FUZZ, max_examples=max(EXAMPLES // 5, 20))
@given(pieces=st.lists(st.sampled_from(PIECES), min_size=1, max_size=12))
def test_random_templates_load_and_render_or_are_refused_cleanly(write_rules, pieces):
    from dealcoach.engine.advising import advice
    from dealcoach.engine.deals import deal
    from dealcoach.engine.matching.runner import Advisor
    from dealcoach.engine.playbook import kb
    from dealcoach.engine.problems import InputError
    from dealcoach.engine.yamlsource import Document

    started = time.monotonic()
    TALLY["template cases"] += 1
    layer = write_rules(RULE_FILE.format(template=json.dumps("".join(pieces))))
    try:
        knowledge = kb.load([layer])
        data = {"name": "t", "account": {"name": "a"}, "stakeholders": [{"name": "张伟", "roles": ["economic_buyer"]}]}
        outcome = Advisor(knowledge).run(deal.validate(Document("t.yaml", data), knowledge.vocabulary))
        advice.build(outcome, knowledge, "en")
        TALLY["templates rendered"] += 1
    except InputError as err:
        TALLY["templates refused"] += 1
        assert all("\n" not in str(p) and str(p).startswith(str(layer)) for p in err.problems)
    if time.monotonic() - started > HANG_SECONDS:
        TALLY["hangs"] += 1
        pytest.fail(f"{''.join(pieces)!r} took {time.monotonic() - started:.0f} s")
