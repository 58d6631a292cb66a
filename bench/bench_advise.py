"""Benchmarks: process start to advice, and engine time per deal by number of stakeholders.

    python bench/bench_advise.py [--runs N]

Reports medians (the machine is noisy; a median of many runs is stable where a mean is not).
Deals are generated from a fixed seed, so every run measures the same work.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from dealcoach.engine.advising import advice, assessment  # noqa: E402
from dealcoach.engine.deals.deal import validate  # noqa: E402
from dealcoach.engine.matching.runner import Advisor  # noqa: E402
from dealcoach.engine.playbook import kb  # noqa: E402
from dealcoach.engine.render import report  # noqa: E402
from dealcoach.engine.yamlsource import Document  # noqa: E402

ROLES = ["economic_buyer", "technical_gatekeeper", "user", "coach", "purchaser", "recommender", "influencer"]
ATTITUDES = ["accept", "doubt", "resist", "indifferent", "sabotage", "unknown"]
STYLES = ["controller", "amiable", "promoter", "analytical", "unknown"]
TRISTATE = [True, False, None]


def synthetic_deal(people: int, seed: int = 7) -> dict:
    """A deal with ``people`` stakeholders and a realistic spread of facts."""
    rng = random.Random(seed)
    names = [f"P{i:02d}" for i in range(people)]
    stakeholders = [
        {
            "name": name,
            "roles": rng.sample(ROLES, rng.randint(1, 2)),
            "attitude": rng.choice(ATTITUDES),
            "style": rng.choice(STYLES),
            "influence": rng.randint(1, 5),
            "contacted": rng.random() < 0.5,
            "org_need_met": rng.choice(TRISTATE),
            "personal_need_met": rng.choice(TRISTATE),
            **({"reports_to": rng.choice(names[:i])} if i else {}),
            **({"favors": "Rival"} if rng.random() < 0.2 else {}),
        }
        for i, name in enumerate(names)
    ]
    return {
        "name": f"bench {people}",
        "account": {"name": "Bench Corp", "loyalty": "client", "phase": "stabilize"},
        "stage": "evaluation",
        "value": 2_000_000,
        "budget": {"status": "estimated"},
        "decision": {"process_known": False},
        "rep": {"style": "analytical"},
        "competitors": [{"name": "Rival", "strength": "stronger", "incumbent": True}],
        "needs": [{"text": "uptime", "kind": "implicit", "owner": names[0]}],
        "signals": ["price_objection", "competitor_quote"],
        "stakeholders": stakeholders,
    }


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def engine_per_deal(advisor: Advisor, knowledge: kb.KnowledgeBase, people: int, runs: int) -> tuple[float, int]:
    deal = validate(Document("bench", synthetic_deal(people)), knowledge.vocabulary)
    samples, count = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        outcome = advisor.run(deal)
        items = advice.build(outcome, knowledge, "en")
        document = report.document(deal, items, assessment.assess(outcome, knowledge, "en"), "en")
        report.serialise([("bench", document)], "json", several=False)
        samples.append(time.perf_counter() - start)
        count = len(items)
    return median_ms(samples), count


def start_to_advice(runs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deal.yaml"
        path.write_text(yaml.safe_dump(synthetic_deal(8), allow_unicode=True), encoding="utf-8")
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "dealcoach", "advise", str(path), "--format", "json"],
                check=True,
                capture_output=True,
            )
            samples.append(time.perf_counter() - start)
    return median_ms(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--rule-files",
        default="",
        help="Only the rules of these kb/rules files (comma-separated), "
        "for engine time per deal: e.g. coverage.yaml,relationship.yaml,style.yaml",
    )
    args = parser.parse_args()
    start = time.perf_counter()
    knowledge = kb.load([kb.builtin_dir()])
    if args.rule_files:
        wanted = set(args.rule_files.split(","))
        knowledge.rules = [r for r in knowledge.rules if Path(r.file).name in wanted]
    advisor = Advisor(knowledge)
    load_ms = (time.perf_counter() - start) * 1000
    print(f"rules: {len(knowledge.rules)}; load and compile the knowledge base: {load_ms:.0f} ms")
    if not args.rule_files:  # a separate process always loads the whole playbook
        start_ms = start_to_advice(max(5, args.runs // 3))
        print(f"process start to advice (one deal, 8 stakeholders): median {start_ms:.0f} ms")
    for people in (5, 20, 50):
        ms, count = engine_per_deal(advisor, knowledge, people, args.runs)
        print(f"engine per deal, {people:>2} stakeholders: median {ms:7.2f} ms ({count} pieces of advice)")


if __name__ == "__main__":
    main()
