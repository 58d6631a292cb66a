"""Many items through one handler, on N worker processes, results streamed back in input order.

Compiling the playbook is the expensive part of a process (see ``engine/matching/runner.py``), so each
worker builds its handler once, from a picklable factory and its arguments, and then serves
chunks of items. At most a few chunks per worker are in flight: a slow reader (a pipe, a full
disk) holds the workers back instead of letting finished results pile up in memory, so memory
stays flat however many deals there are. Results come back in the order the items were given,
whatever the number of workers, so the output is byte-identical for any ``jobs``.
"""

from __future__ import annotations

import itertools
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

CHUNK = 16  # items per task: enough to amortise the pickling round trip, small enough to stream
AHEAD = 4  # chunks in flight per worker
MANY = 64  # from this many items on, the default is one worker per core

_handler: Callable[[Any], Any] | None = None


def cores() -> int:
    """The cores this process may run on (its affinity, which containers and ``taskset`` narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_jobs(count: int) -> int:
    """One process for a few deals (starting workers costs more than it saves), one per core for many."""
    return cores() if count >= MANY else 1


def _start(factory: Callable[..., Callable[[Any], Any]], args: tuple[Any, ...]) -> None:
    """Worker start-up: Ctrl-C is the parent's to handle (it stops the pool and writes what was
    done); a worker that also raised KeyboardInterrupt would print a traceback per process."""
    global _handler
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _handler = factory(*args)


def _serve(chunk: Sequence[Any]) -> list[Any]:
    assert _handler is not None, "the worker was started without a handler"
    return [_handler(item) for item in chunk]


def chunks(items: Iterable[T]) -> Iterator[list[T]]:
    """The items in lists of CHUNK, lazily: one chunk is one task, for a process pool or a cluster."""
    it = iter(items)
    while chunk := list(itertools.islice(it, CHUNK)):
        yield chunk


def run(
    items: Iterable[T],
    factory: Callable[..., Callable[[T], R]],
    args: tuple[Any, ...],
    *,
    jobs: int,
    local: Callable[[T], R] | None = None,
) -> Iterator[R]:
    """``handler(item)`` for every item, in order, with ``handler = factory(*args)`` built once per
    worker. With one job the items are handled in this process (by ``local`` when the caller
    already has a handler, which saves compiling the playbook a second time)."""
    if jobs <= 1:
        handler = local or factory(*args)
        yield from map(handler, items)
        return
    from concurrent.futures import ProcessPoolExecutor  # multiprocessing: loaded only when workers start

    batches = chunks(items)
    executor = ProcessPoolExecutor(max_workers=jobs, initializer=_start, initargs=(factory, args))
    pending: deque[Future[list[R]]] = deque()
    try:
        for chunk in itertools.islice(batches, jobs * AHEAD):
            pending.append(executor.submit(_serve, chunk))
        while pending:
            done = pending.popleft().result()
            chunk = next(batches, None)
            if chunk is not None:
                pending.append(executor.submit(_serve, chunk))
            yield from done
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
