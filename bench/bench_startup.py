"""Start-up time of ``dealcoach --version`` and ``dealcoach --help``: what a rep waits for before
anything happens. The target is under 100 ms on an unloaded machine; compare medians.

    .venv/bin/python bench/bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_ms(args: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "dealcoach", *args], capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    baseline = median_ms_of_python(runs)
    for args in (["--version"], ["--help"], ["advise", "--help"]):
        print(f"dealcoach {' '.join(args):<14} {median_ms(args, runs):6.1f} ms (python itself: {baseline:.1f} ms)")


def median_ms_of_python(runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


if __name__ == "__main__":
    main()
