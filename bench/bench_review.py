"""Benchmark: pipeline review throughput (deals per second) and peak memory by pipeline size.

    python bench/bench_review.py                              # 1,000 and 10,000 deals, --jobs 1 and 2, 3 runs each
    python bench/bench_review.py --sizes 1000 --runs 5        # more runs, one size
    python bench/bench_review.py --sizes 100000 --jobs 2 --runs 1   # the manual run: 100,000 deals
    python bench/bench_review.py --engine dask --jobs 2       # the same on a local dask cluster

Each run is a whole ``dealcoach review FOLDER --format jsonl`` process, output to /dev/null, on
generated realistic deals (6-10 stakeholders, every stage, a few owners; fixed seeds, so every run
measures the same work). Peak memory is the largest resident set of the run's processes (the
parent, or a worker when there are several): flat memory means it does not grow with the size.
The runs of the different ``--jobs`` take turns, so load from other processes falls on each alike;
every figure is the median of ``--runs`` runs. The load average is printed before and after: on a
shared machine absolute rates say more about the load than about dealcoach.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
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


def run(folder: Path, jobs: int, engine: str = "local") -> tuple[float, int]:
    """Seconds for the whole review, and the peak resident set in MB."""
    command = [sys.executable, "-m", "dealcoach", "review", str(folder), "--format", "jsonl", "--jobs", str(jobs)]
    command += ["--out", "/dev/null", "--allow-invalid", "--engine", engine]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *command], capture_output=True, text=True, check=True)
    return time.perf_counter() - start, int(done.stdout.split()[-1]) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=3, help="runs per size and --jobs; the median is reported")
    parser.add_argument("--engine", choices=["local", "dask"], default="local")
    args = parser.parse_args()
    print(f"engine {args.engine}, {args.runs} run(s) each, load average {_load()}", flush=True)
    print(f"{'deals':>8} {'jobs':>4} {'seconds':>8} {'deals/s':>8} {'peak MB':>8}   (medians)")
    peaks: dict[int, int] = {}
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            generate(folder, size)
            measured: dict[int, list[tuple[float, int]]] = {jobs: [] for jobs in args.jobs}
            for index in range(args.runs):
                for jobs in args.jobs:
                    seconds, peak = run(folder, jobs, args.engine)
                    measured[jobs].append((seconds, peak))
                    note = f"  run {index + 1}/{args.runs}: {size} deals, --jobs {jobs}: {seconds:.1f} s, {peak} MB"
                    print(note, file=sys.stderr, flush=True)  # a long run shows what it has so far
            for jobs, results in measured.items():
                seconds = statistics.median(s for s, _ in results)
                peak = round(statistics.median(p for _, p in results))
                peaks[size] = max(peaks.get(size, 0), peak)
                print(f"{size:>8} {jobs:>4} {seconds:>8.1f} {size / seconds:>8.1f} {peak:>8}", flush=True)
    if len(peaks) > 1:
        smallest, largest = min(peaks), max(peaks)
        growth = peaks[largest] / peaks[smallest] - 1
        print(f"peak memory {smallest:,} -> {largest:,} deals: {growth:+.0%}")
    print(f"load average after: {_load()}")


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
