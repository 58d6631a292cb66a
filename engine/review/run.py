"""Reviewing many deals: each worker advises and assesses a deal and hands back its review line;
the parent spools the lines to a temporary file, keeps only a small sort key per deal and the
running summary, then reads the lines back in the pipeline's order to write them."""

from __future__ import annotations

import functools
import hashlib
import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dealcoach import __version__
from dealcoach.engine.advising import advice as advice_mod
from dealcoach.engine.advising import assessment
from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.matching.runner import Advisor
from dealcoach.engine.playbook import kb as kb_mod
from dealcoach.engine.problems import InputError, Problem
from dealcoach.engine.render import report
from dealcoach.engine.review.pipeline import Summary, order_key, record
from dealcoach.engine.yamlsource import Document, read_text


@dataclass(frozen=True)
class Shipped:
    """A deal file read on this machine, for a worker on another one that cannot see its files:
    the text, or the problems of reading it (reported exactly as a worker reading it would)."""

    file: str
    text: str
    problems: tuple[Problem, ...] = ()


Source = str | tuple[str, Document] | Shipped  # a deal file, (label, document) from a CRM export, or shipped
Result = tuple[list[Problem], str, dict[str, Any]]


class KnowledgeMismatchError(Exception):
    """A worker's knowledge base (or dealcoach) is not the one this machine reviews with."""


def worker(
    kb_dirs: tuple[str, ...], skip_invalid: bool, langs: tuple[Lang, ...], expected: str | None = None
) -> Callable[[Source], Result]:
    """A worker's handler: the playbook compiled once, then one deal per call. With ``expected``
    (a :func:`fingerprint`), a worker on another machine refuses to review with another playbook:
    the output would no longer be the local run's."""
    knowledge = kb_mod.load(kb_mod.layer_dirs(kb_dirs), skip_invalid=skip_invalid)
    if expected is not None and fingerprint(knowledge.layers) != expected:
        raise KnowledgeMismatchError(
            f"the worker's knowledge base ({', '.join(map(str, knowledge.layers))}) or dealcoach version differs "
            "from this machine's; install the same dealcoach and KB layers on every worker"
        )
    return functools.partial(review_one, knowledge, Advisor(knowledge), langs)


def fingerprint(layers: Sequence[Path]) -> str:
    """dealcoach's version and every file the playbook is loaded from (by its place in its layer,
    not its absolute path, which may differ from machine to machine), hashed."""
    digest = hashlib.sha256(__version__.encode() + b"\0")
    for index, layer in enumerate(layers):
        for file in kb_mod._files([layer]):
            digest.update(f"{index}\0{file.relative_to(layer).as_posix()}\0".encode() + file.read_bytes() + b"\0")
    return digest.hexdigest()


def ship(source: Source) -> Source:
    """A deal file as its text, read here; other sources as they are."""
    if not isinstance(source, str):
        return source
    try:
        return Shipped(source, read_text(source))
    except InputError as err:
        return Shipped(source, "", tuple(err.problems))


def review_one(knowledge: kb_mod.KnowledgeBase, advisor: Advisor, langs: tuple[Lang, ...], source: Source) -> Result:
    """One deal: its problems, or its review line (JSON) and the slim part the summary adds up.
    The line is the document in the first of ``langs``; any other language's advice and assessment
    (for the bilingual HTML page) go under ``translations``, from the same run of the engine."""
    try:
        if isinstance(source, str):
            file, deal = source, deal_mod.load(source, knowledge.vocabulary)
        elif isinstance(source, Shipped):
            if source.problems:
                raise InputError(list(source.problems))
            file, deal = source.file, deal_mod.load(source.file, knowledge.vocabulary, text=source.text)
        else:
            file, deal = source[0], deal_mod.validate(source[1], knowledge.vocabulary)
    except InputError as err:
        return list(err.problems), "", {}
    outcome = advisor.run(deal)
    lang, *others = langs
    line = record(file, deal, _document(knowledge, outcome, deal, lang))
    if others:
        documents = {other: _document(knowledge, outcome, deal, other) for other in others}
        line["translations"] = {other: {key: doc[key] for key in TRANSLATED} for other, doc in documents.items()}
    slim = {key: value for key, value in line.items() if key not in ("advice", "translations")}
    return [], json.dumps(line, ensure_ascii=False), slim


TRANSLATED = ("lang", "advice", "assessment")  # what differs between the languages of a deal's document


def _document(knowledge: kb_mod.KnowledgeBase, outcome: Any, deal: Any, lang: Lang) -> dict[str, Any]:
    advice = advice_mod.build(outcome, knowledge, lang)
    health = assessment.assess(outcome, knowledge, lang)
    return report.document(deal, advice, health, lang)


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
