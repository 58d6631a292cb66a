"""Many items through one handler on a dask cluster, results streamed back in input order.

The same contract as :mod:`.pool`, on machines that may not be this one: items go out in chunks,
at most a few chunks per worker thread are in flight (so a slow reader holds the cluster back and
memory stays flat), and results come back in the order the items were given. Each worker process
builds the handler once, on its first chunk, and keeps it for every later chunk and later run with
the same factory and arguments (:func:`_handler`): compiling the playbook is the expensive part.

dask is an optional dependency (the ``cluster`` extra); it is imported only when a cluster is used.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import signal
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from dealcoach.engine.batch.pool import AHEAD, chunks

T = TypeVar("T")
R = TypeVar("R")

MISSING = "--engine dask needs the cluster extra: pip install 'dealcoach[cluster]'"
KEPT = 4  # handlers a worker keeps (one per knowledge base and language used on the cluster)

Factory = Callable[..., Callable[[Any], Any]]


class ClusterError(Exception):
    """The cluster cannot be reached or a worker cannot do its part: a one-line message for the user."""


# Worker side: the handlers this process has built, most recently used last, and how many it built.
_handlers: OrderedDict[tuple[Factory, tuple[Any, ...]], Callable[[Any], Any]] = OrderedDict()
_lock = threading.Lock()  # a worker with several threads builds a handler once, not once per thread
_built = 0
_served = 0


def _handler(factory: Factory, args: tuple[Any, ...]) -> Callable[[Any], Any]:
    """This process's handler for ``factory(*args)``, built on first use."""
    global _built
    key = (factory, args)
    with _lock:
        if key not in _handlers:
            _handlers[key] = factory(*args)
            _built += 1
            while len(_handlers) > KEPT:
                _handlers.popitem(last=False)
        _handlers.move_to_end(key)
        return _handlers[key]


def _serve(factory: Factory, args: tuple[Any, ...], chunk: Sequence[Any]) -> list[Any]:
    global _served
    handler = _handler(factory, args)
    results = [handler(item) for item in chunk]
    _served += len(chunk)
    return results


def built() -> int:
    """Handlers this process has built: run on every worker (``client.run(built)``) it shows the
    playbook compiled once per worker process, however many chunks each one served."""
    return _built


def served() -> int:
    """Items this process has handled."""
    return _served


@contextlib.contextmanager
def connect(scheduler: str | None, workers: int) -> Iterator[Any]:
    """A client of the cluster at ``scheduler`` (``tcp://host:8786``), or of a cluster of
    ``workers`` local processes (one thread each) started here and stopped on exit."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError(MISSING) from None
    with contextlib.ExitStack() as stack:
        _quiet(stack)
        try:
            if scheduler is None:
                cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # any free port: never "8787 is already in use" on standard error
                    silence_logs=logging.CRITICAL,
                    preload=[__name__],  # dask_setup() below, in each worker process
                )
                stack.callback(cluster.close)
                client = stack.enter_context(Client(cluster))
            else:
                client = stack.enter_context(Client(scheduler))
                _workers_present(client, scheduler)
        except (OSError, ValueError, TypeError) as err:  # unreachable, timed out, or not an address
            where = (
                f"--scheduler {scheduler}: cannot connect to the dask scheduler"
                if scheduler
                else "cannot start a local dask cluster"
            )
            raise ClusterError(f"{where}: {err}") from None
        yield client


WAIT_FOR_WORKERS = 30  # seconds an existing cluster has to show a worker (some may be starting)


def _workers_present(client: Any, scheduler: str) -> None:
    """A cluster with no worker would take the deals and never answer: say so instead."""
    try:
        client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS)
    except TimeoutError:
        raise ClusterError(
            f"--scheduler {scheduler}: the cluster has no workers; start some with: dask worker {scheduler}"
        ) from None


def _quiet(stack: contextlib.ExitStack) -> None:
    """dask's own log (a scheduler started, a worker registered, the work cancelled on Ctrl-C) is not
    the review's business: what goes wrong for the review is a :class:`ClusterError`."""
    logger = logging.getLogger("distributed")
    stack.callback(logger.setLevel, logger.level)
    logger.setLevel(logging.CRITICAL)


def dask_setup(worker: Any) -> None:
    """Run by dask in each worker process of a local cluster as it starts: Ctrl-C on the terminal
    reaches the whole process group, but stopping the run is the parent's to do (it cancels the
    work and writes the review of the deals done), as for the worker processes of :mod:`.pool`."""
    with contextlib.suppress(ValueError):  # only the main thread may set a handler
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def run(items: Iterable[T], factory: Factory, args: tuple[Any, ...], *, client: Any) -> Iterator[R]:
    """``handler(item)`` for every item, in order, on the cluster's workers, with
    ``handler = factory(*args)`` built once per worker process (``factory`` and ``args`` must be
    picklable and importable on the workers). A failure on a worker is a :class:`ClusterError`."""
    threads = max(1, sum(client.nthreads().values()))
    batches = chunks(items)
    pending: deque[Any] = deque()

    def submit(chunk: list[T]) -> None:
        pending.append(client.submit(_serve, factory, args, chunk, pure=False))

    try:
        for chunk in itertools.islice(batches, threads * AHEAD):
            submit(chunk)
        while pending:
            try:
                done = pending.popleft().result()
            except Exception as err:  # raised on a worker: dealcoach missing there, a broken KB, a lost worker
                raise ClusterError(f"a dask worker failed: {type(err).__name__}: {err}") from None
            chunk = next(batches, None)
            if chunk is not None:
                submit(chunk)
            yield from done
    finally:
        if pending:
            client.cancel(list(pending))
