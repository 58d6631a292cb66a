"""Every speed figure of issue 15 in one table, "before" and "after" measured in the same run.

    .venv/bin/python bench/bench_all.py [--runs N] [--sizes 5,20,50,100,200]

"before" is the engine on experta's stock matcher and agenda (``Advisor(kb, stock=True)``, the
reference of ``tests/test_matcher.py``); "after" is the project's matcher (``engine/matching/rete.py``,
``engine/matching/agenda.py``). The two are run interleaved, one sample of each in turn, so that the load
other processes put on the machine falls on both alike; every figure is a median. Deals are
generated from a fixed seed (``bench_advise.synthetic_deal``), so every run measures the same work.

The scaling table times the engine alone on deals of 5 to 200 stakeholders and fits the growth
exponent k of time ~ stakeholders^k (least squares on the logarithms).
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from dealcoach.engine.advising import advice, assessment
from dealcoach.engine.deals.deal import Deal, validate
from dealcoach.engine.matching.runner import Advisor
from dealcoach.engine.playbook import kb
from dealcoach.engine.render import report
from dealcoach.engine.yamlsource import Document

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_advise import synthetic_deal

# The CLI, with every Advisor it builds on experta's stock matcher: "before" for start-up.
STOCK_CLI = (
    "import sys, functools; from dealcoach.engine.matching import runner; "
    "runner.Advisor.__init__ = functools.partialmethod(runner.Advisor.__init__, stock=True); "
    "from dealcoach.engine.entry import run; sys.argv[0] = 'dealcoach'; run()"
)
OURS_CLI = "import sys; from dealcoach.engine.entry import run; sys.argv[0] = 'dealcoach'; run()"


def interleaved(before: Callable[[], object], after: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median milliseconds of ``before`` and of ``after``, sampled in turn."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for work, into in ((before, samples[0]), (after, samples[1])):
            start = time.perf_counter()
            work()
            into.append(time.perf_counter() - start)
    return statistics.median(samples[0]) * 1000, statistics.median(samples[1]) * 1000


def json_path(advisor: Advisor, knowledge: kb.KnowledgeBase, deal: Deal) -> Callable[[], str]:
    def work() -> str:
        outcome = advisor.run(deal)
        items = advice.build(outcome, knowledge, "en")
        document = report.document(deal, items, assessment.assess(outcome, knowledge, "en"), "en")
        return report.serialise([("bench", document)], "json", several=False)

    return work


def text_output(advisor: Advisor, knowledge: kb.KnowledgeBase, deal: Deal) -> Callable[[], str]:
    """Rendering only: the advice is built once, the text format is what is timed."""
    outcome = advisor.run(deal)
    items = advice.build(outcome, knowledge, "en")
    document = report.document(deal, items, assessment.assess(outcome, knowledge, "en"), "en")
    return lambda: report.serialise([("bench", document)], "text", several=False)


def process(code: str, path: Path) -> Callable[[], object]:
    command = [sys.executable, "-c", code, "advise", str(path), "--format", "json"]
    return lambda: subprocess.run(command, check=True, capture_output=True)


def row(name: str, before: float, after: float) -> str:
    return f"{name:<44} {before:10.2f} {after:10.2f} {before / after:7.2f}x"


def exponent(sizes: list[int], times: list[float]) -> float:
    xs, ys = [math.log(s) for s in sizes], [math.log(t) for t in times]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="samples of each figure (median reported)")
    parser.add_argument("--sizes", default="5,20,50,100,200", help="stakeholder counts of the scaling table")
    args = parser.parse_args()
    knowledge = kb.load([kb.builtin_dir()])
    stock, ours = Advisor(knowledge, stock=True), Advisor(knowledge)

    def deal(people: int) -> Deal:
        return validate(Document("bench", synthetic_deal(people)), knowledge.vocabulary)

    realistic, twenty = deal(8), deal(20)
    print(f"{'median ms (before = experta stock matcher)':<44} {'before':>10} {'after':>10} {'ratio':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deal.yaml"
        path.write_text(yaml.safe_dump(synthetic_deal(8), allow_unicode=True), encoding="utf-8")
        starts = max(5, args.runs // 2)
        print(
            row(
                "process start to advice (8 stakeholders)",
                *interleaved(process(STOCK_CLI, path), process(OURS_CLI, path), starts),
            )
        )
    print(
        row(
            "engine per realistic deal (8 stakeholders)",
            *interleaved(lambda: stock.run(realistic), lambda: ours.run(realistic), args.runs),
        )
    )
    print(
        row(
            "JSON path, 20 stakeholders",
            *interleaved(json_path(stock, knowledge, twenty), json_path(ours, knowledge, twenty), args.runs),
        )
    )
    print(
        row(
            "text output per deal (8, rendering only)",
            *interleaved(text_output(stock, knowledge, realistic), text_output(ours, knowledge, realistic), args.runs),
        )
    )

    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"\n{'engine per deal by stakeholders':<44} {'before':>10} {'after':>10} {'ratio':>8}")
    befores, afters = [], []
    for people in sizes:
        big = deal(people)
        runs = max(3, args.runs * 5 // people) if people > 20 else args.runs
        before, after = interleaved(lambda big=big: stock.run(big), lambda big=big: ours.run(big), runs)
        befores.append(before)
        afters.append(after)
        print(row(f"{people:>3} stakeholders ({runs} runs)", before, after))
    slopes = f"{exponent(sizes, befores):10.2f} {exponent(sizes, afters):10.2f}"
    print(f"{'growth exponent k (time ~ stakeholders^k)':<44} {slopes}")


if __name__ == "__main__":
    main()
