"""``dealcoach review``: sources in, deals reviewed on N workers, the review written in order."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from dealcoach.engine.batch import pool
from dealcoach.engine.deals.vocabulary import LANGS, Lang
from dealcoach.engine.matching.runner import Advisor
from dealcoach.engine.playbook.kb import KnowledgeBase
from dealcoach.engine.review import render, run
from dealcoach.engine.review.pipeline import movement
from dealcoach.engine.review.progress import progress


@dataclass
class Outcome:
    reviewed: int
    skipped: list[str]  # one line per problem, FILE:LINE:COL: message
    skipped_deals: int
    interrupted: bool


def review(
    knowledge: KnowledgeBase,
    sources: Sequence[run.Source],
    out: TextIO,
    *,
    fmt: str,
    lang: Lang,
    jobs: int | None,
    kb_dirs: tuple[str, ...],
    skip_invalid: bool,
    previous: dict[str, dict[str, Any]] | None,
    skipped: Sequence[str] = (),
    skipped_deals: int = 0,
    engine: str = "local",
    scheduler: str | None = None,
) -> Outcome:
    """Review every source (``skipped`` are problems of deals already left out, listed with the
    run's own); on Ctrl-C stop and write what was done (``interrupted`` says so). ``engine``
    ``dask`` reviews on the cluster at ``scheduler`` (a local one of ``jobs`` workers without it);
    a :class:`cluster.ClusterError` says why a cluster could not."""
    spool = run.Spool()
    skipped = list(skipped)  # the problems of deals left out before the run (rows of a CRM export)
    interrupted = False
    try:
        langs = (lang, *(other for other in LANGS if other != lang)) if fmt == "html" else (lang,)
        args = (kb_dirs, skip_invalid, langs)
        with (
            _results(knowledge, sources, args, jobs, engine, scheduler) as results,
            progress(len(sources), "review") as advance,
        ):
            try:
                for problems, text, slim in results:
                    if problems:
                        skipped += [str(p) for p in problems]
                        skipped_deals += 1
                    else:
                        spool.add(text, slim)
                    advance()
            except KeyboardInterrupt:
                interrupted = True  # leaving the block stops the workers now, not when the generator is collected
        ctx, *others = (_context(knowledge, spool, each, skipped, interrupted) for each in langs)
        ctx.others = others
        render.RENDERERS[fmt](out.write, ctx, _Lines(spool, previous))
    finally:
        spool.close()
    return Outcome(len(spool), skipped, skipped_deals, interrupted)


@contextlib.contextmanager
def _results(
    knowledge: KnowledgeBase,
    sources: Sequence[run.Source],
    args: tuple[tuple[str, ...], bool, tuple[Lang, ...]],
    jobs: int | None,
    engine: str,
    scheduler: str | None,
) -> Iterator[Generator[run.Result, None, None]]:
    """Every source's result, in the order of ``sources``: on worker processes of this machine (in
    this process for one), or on a dask cluster, which is sent the deals' text rather than their
    paths and checks that its workers have this machine's playbook."""
    with contextlib.ExitStack() as stack:
        if engine == "dask":
            from dealcoach.engine.batch import cluster

            client = stack.enter_context(cluster.connect(scheduler, jobs or pool.cores()))
            expected = run.fingerprint(knowledge.layers)
            results = cluster.run(map(run.ship, sources), run.worker, (*args, expected), client=client)
        else:
            workers = jobs or pool.default_jobs(len(sources))
            local = functools.partial(run.review_one, knowledge, Advisor(knowledge), args[2]) if workers == 1 else None
            results = pool.run(sources, run.worker, args, jobs=workers, local=local)
        stack.callback(results.close)
        yield results


def _context(
    knowledge: KnowledgeBase, spool: run.Spool, lang: Lang, skipped: list[str], interrupted: bool
) -> render.Context:
    note = render.word("interrupted", lang).format(done=len(spool)) if interrupted else ""
    return render.Context(knowledge.vocabulary, lang, spool.summary.as_json(knowledge.vocabulary, lang), skipped, note)


class _Lines:
    """The review's lines in the pipeline's order, read back from the spool each time they are
    gone through: the bilingual HTML page goes through them once per language."""

    def __init__(self, spool: run.Spool, previous: dict[str, dict[str, Any]] | None):
        self.spool, self.previous = spool, previous

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (_with_movement(line, self.previous) for line in self.spool.in_order())


def _with_movement(line: dict[str, Any], previous: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    moved = movement(line, previous)
    return line if moved is None else {**line, "movement": moved}
