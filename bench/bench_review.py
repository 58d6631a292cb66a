"""Benchmark: pipeline review throughput (deals per second) and peak memory by pipeline size.

    python bench/bench_review.py                 # 1,000 and 10,000 deals, --jobs 1 and 2
    python bench/bench_review.py --sizes 100000  # the manual run: 100,000 deals (about an hour)

Each run is a whole ``dealcoach review FOLDER --format jsonl`` process, output to /dev/null, on
generated realistic deals (6-10 stakeholders, every stage, a few owners; fixed seeds, so every run
measures the same work). Peak memory is the largest resident set of the run's processes (the
parent, or a worker when there are several): flat memory means it does not grow with the size.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_advise import synthetic_deal  # noqa: E402

STAGES = ["intent", "research", "preselection", "evaluation", "decision", "use"]
OWNERS = ["王磊", "刘芳", "陈静", "Alex Kim", "Maria Rossi"]
PEAK = "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; " \
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"  # fmt: skip


def generate(folder: Path, count: int) -> None:
    for index in range(count):
        rng = random.Random(index)
        deal = synthetic_deal(rng.randint(6, 10), seed=index)
        deal.update(
            name=f"deal {index:06d}",
            stage=rng.choice(STAGES),
            value=rng.randrange(50_000, 10_000_000, 10_000),
            owner=rng.choice(OWNERS),
        )
        (folder / f"{index:06d}.json").write_text(json.dumps(deal, ensure_ascii=False), encoding="utf-8")


def run(folder: Path, jobs: int) -> tuple[float, int]:
    """Seconds for the whole review, and the peak resident set in MB."""
    command = [sys.executable, "-m", "dealcoach", "review", str(folder), "--format", "jsonl", "--jobs", str(jobs)]
    command += ["--out", "/dev/null", "--allow-invalid"]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *command], capture_output=True, text=True, check=True)
    return time.perf_counter() - start, int(done.stdout.split()[-1]) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"{'deals':>8} {'jobs':>4} {'seconds':>8} {'deals/s':>8} {'peak MB':>8}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            generate(folder, size)
            for jobs in args.jobs:
                seconds, peak = run(folder, jobs)
                print(f"{size:>8} {jobs:>4} {seconds:>8.1f} {size / seconds:>8.0f} {peak:>8}", flush=True)


if __name__ == "__main__":
    main()
