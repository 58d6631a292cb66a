"""Reviewing many deals: each worker advises and assesses a deal and hands back its review line;
the parent spools the lines to a temporary file, keeps only a small sort key per deal and the
running summary, then reads the lines back in the pipeline's order to write them."""

from __future__ import annotations

import functools
import json
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from dealcoach.engine.advising import advice as advice_mod
from dealcoach.engine.advising import assessment
from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.matching.runner import Advisor
from dealcoach.engine.playbook import kb as kb_mod
from dealcoach.engine.problems import InputError, Problem
from dealcoach.engine.render import report
from dealcoach.engine.review.pipeline import Summary, order_key, record
from dealcoach.engine.yamlsource import Document

Source = str | tuple[str, Document]  # a deal file, or (label, document) built from a CRM export
Result = tuple[list[Problem], str, dict[str, Any]]


def worker(kb_dirs: tuple[str, ...], skip_invalid: bool, lang: Lang) -> Callable[[Source], Result]:
    """A worker's handler: the playbook compiled once, then one deal per call."""
    knowledge = kb_mod.load(kb_mod.layer_dirs(kb_dirs), skip_invalid=skip_invalid)
    return functools.partial(review_one, knowledge, Advisor(knowledge), lang)


def review_one(knowledge: kb_mod.KnowledgeBase, advisor: Advisor, lang: Lang, source: Source) -> Result:
    """One deal: its problems, or its review line (JSON) and the slim part the summary adds up."""
    try:
        if isinstance(source, str):
            file, deal = source, deal_mod.load(source, knowledge.vocabulary)
        else:
            file, deal = source[0], deal_mod.validate(source[1], knowledge.vocabulary)
    except InputError as err:
        return list(err.problems), "", {}
    outcome = advisor.run(deal)
    advice = advice_mod.build(outcome, knowledge, lang)
    health = assessment.assess(outcome, knowledge, lang)
    line = record(file, deal, report.document(deal, advice, health, lang))
    slim = {key: value for key, value in line.items() if key != "advice"}
    return [], json.dumps(line, ensure_ascii=False), slim


class Spool:
    """Review lines on disk, with what orders them in memory (a few numbers per deal)."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close(), after the lines are read back
        self.index: list[tuple[tuple[float, int, str], int, int]] = []
        self.summary = Summary()

    def add(self, text: str, slim: dict[str, Any]) -> None:
        data = (text + "\n").encode("utf-8")
        self.index.append((order_key(slim), self.file.tell(), len(data)))
        self.file.write(data)
        self.summary.add(slim)

    def __len__(self) -> int:
        return len(self.index)

    def in_order(self) -> Iterator[dict[str, Any]]:
        self.file.flush()
        for _, offset, length in sorted(self.index):
            self.file.seek(offset)
            yield json.loads(self.file.read(length))

    def close(self) -> None:
        self.file.close()
