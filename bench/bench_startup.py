"""Start-up: what a rep waits for, from process start to the answer, "before" and "after" in one run.

    .venv/bin/python bench/bench_startup.py [--runs N] [--before REF]

Times whole ``python -m dealcoach`` processes: ``--version`` and ``--help`` (target under 100 ms),
``advise --help``, and advice on one deal (``scenarios/bank-oa-network.yaml``) as text and as
JSON (target at most 250 ms). "after" is this checkout; "before" is the commit ``REF`` (default:
where this branch left ``main``), extracted with ``git archive`` into a temporary folder. Both run
with this interpreter and its packages, each found first on ``PYTHONPATH``, so the code is the
only difference.

The machine may be shared: samples of before and after are taken in turn (the order swapped every
round), so load from other processes falls on both alike; every figure is a median, and the load
average is printed at the start and the end. Beside the time from start to exit, the processor
time each process used (user and system) is shown: load inflates it far less.

Each side first runs every command once, so Python's compiled modules and the playbook cache (in a
temporary ``DEALCOACH_CACHE``) are warm, as after a user's first run; ``PYTHONDONTWRITEBYTECODE``
is cleared for the same reason. The advice of the two sides is compared: the figures mean nothing
if the answers differ.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEAL = ROOT / "scenarios" / "bank-oa-network.yaml"
COMMANDS: list[tuple[str, list[str], float | None]] = [  # label, arguments, target in ms
    ("python itself (-c pass)", [], None),
    ("dealcoach --version", ["--version"], 100),
    ("dealcoach --help", ["--help"], 100),
    ("dealcoach advise --help", ["advise", "--help"], 100),
    ("advise one deal (text)", ["advise", str(DEAL)], 250),
    ("advise one deal (json)", ["advise", str(DEAL), "--format", "json"], 250),
]


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout.strip()


def default_before() -> str:
    """Where this branch left ``main``: the commit before this branch's work."""
    try:
        return git("merge-base", "HEAD", "main")
    except subprocess.CalledProcessError:
        return "HEAD"


def checkout(ref: str, folder: Path) -> None:
    """The files of ``ref`` in ``folder`` (no worktree, nothing in the repository changes)."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)


def side(package: Path, home: Path) -> dict[str, str]:
    """The environment that makes ``import dealcoach`` find ``package``."""
    home.mkdir(parents=True)
    (home / "dealcoach").symlink_to(package, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    return env | {"PYTHONPATH": str(home)}


def command(args: list[str]) -> list[str]:
    return [sys.executable, "-c", "pass"] if not args else [sys.executable, "-m", "dealcoach", *args]


def run(args: list[str], env: dict[str, str], cwd: Path) -> bytes:
    return subprocess.run(command(args), env=env, cwd=cwd, capture_output=True, check=True).stdout


def sample(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Milliseconds from start to exit, and of processor time (user and system) the process used:
    the second is what other processes' load inflates least."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(command(args), env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall * 1000, (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="samples of each figure (the median is reported)")
    parser.add_argument("--before", default=None, help="the commit to compare with (default: merge-base with main)")
    options = parser.parse_args()
    before_ref = git("rev-parse", "--short", options.before or default_before())
    after_ref = git("rev-parse", "--short", "HEAD") + ("+changes" if git("status", "--porcelain", "--", ".") else "")
    with tempfile.TemporaryDirectory(prefix="dealcoach-startup-") as tmp:
        work = Path(tmp)
        checkout(before_ref, work / "before-tree")
        sides = {"before": side(work / "before-tree", work / "before"), "after": side(ROOT, work / "after")}
        for env in sides.values():
            env["DEALCOACH_CACHE"] = str(work / "cache")
        answers = {name: [run(args, env, work) for _, args, _ in COMMANDS] for name, env in sides.items()}  # warm-up
        same = all(
            before == after
            for before, after, (_, args, _) in zip(answers["before"], answers["after"], COMMANDS, strict=True)
            if args[:1] == ["advise"] and "--help" not in args
        )
        print(f"before = {before_ref}, after = {after_ref}; {options.runs} runs each, interleaved; medians in ms")
        print(f"load average at the start: {load()}")
        samples = {(label, name): [] for label, _, _ in COMMANDS for name in sides}
        for round_ in range(options.runs):
            order = list(sides.items()) if round_ % 2 == 0 else list(sides.items())[::-1]
            for label, args, _ in COMMANDS:
                for name, env in order:
                    samples[label, name].append(sample(args, env, work))
        print(f"load average at the end:   {load()}")
        print(f"advice identical before and after: {'yes' if same else 'NO'}\n")
        print(
            f"{'median ms':<28} {'before':>8} {'after':>8} {'ratio':>7} {'target':>8}  {'cpu: before':>11} {'after':>6}"
        )
        for label, _, target in COMMANDS:
            goal = f"<= {target:g}" if target else ""
            (before, cpu_before), (after, cpu_after) = (medians(samples[label, name]) for name in sides)
            figures = (
                f"{before:8.1f} {after:8.1f} {before / after:6.2f}x {goal:>8}  {cpu_before:11.1f} {cpu_after:6.1f}"
            )
            print(f"{label:<28} {figures}")


def medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


if __name__ == "__main__":
    main()
