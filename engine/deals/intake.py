"""``dealcoach deal new``: a deal described in the terminal, one question per field.

The questions are the deal schema's fields (so a field added to the model is asked without
anyone remembering to): numbered choices for every enum, Enter for the default, lists of
competitors, stakeholders and needs in a loop that an empty name ends. Every answer is checked
by the same validator as ``deal check`` on the deal as it stands, and asked again until it
passes. Whom someone reports to is asked once everyone is listed; a need's owner is chosen from
the stakeholders.

Every accepted answer is written to a draft file at once (the raw text, keyed by the field's
path), so Ctrl-C or a killed process loses nothing: running the command again replays the draft
and carries on at the first unanswered question. The conversation goes to standard error, so
without a FILE the finished deal can be redirected from standard output.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.deals import dealdoc
from dealcoach.engine.deals import schema as schema_mod
from dealcoach.engine.deals.schema import Field
from dealcoach.engine.deals.vocabulary import Lang, Vocabulary
from dealcoach.engine.drills import storage
from dealcoach.engine.exitcodes import INTERRUPTED, INVALID_INPUT
from dealcoach.engine.problems import InputError, Problem, format_path
from dealcoach.engine.yamlsource import Document

DRAFT_FORMAT = "dealcoach.deal-draft/1"
NOT_ASKED = frozenset({"extra"})  # free-form data for programs, not something a rep types
PEOPLE = "stakeholders"
PEOPLE_FIRST = (PEOPLE, "needs")  # needs name their owner, so the people come first
REFERENCES = {("stakeholder", "reports_to"), ("need", "owner")}  # must name a stakeholder
# Fields answered by picking a name from a list given earlier: (record type, field) -> the list.
NAMED_FROM = {**dict.fromkeys(REFERENCES, PEOPLE), ("stakeholder", "favors"): "competitors"}
_BOOLEAN = ((True, "true"), (False, "false"))
SPLIT = re.compile(r"[\s,，、;；]+")

_TEXT: dict[str, tuple[str, str]] = {
    "enter": ("回车 = {}", "Enter = {}"),
    "required": ("必填", "required"),
    "none": ("无", "none"),
    "end": ("回车结束列表", "Enter ends the list"),
    "many": ("可多选，用空格分隔编号", "several allowed: numbers separated by spaces"),
    "blank": ("这一项必填，请输入内容。", "This one is required; please type an answer."),
    "number": ("请输入一个数字。", "Please enter a number."),
    "integer": ("请输入一个整数。", "Please enter a whole number."),
    "resume": ("（继续：已保存的 {} 个回答已载入）", "(resuming: {} saved answers loaded)"),
    "saved": (
        "回答已保存在 {}；再次运行同一命令即可继续。",
        "Your answers are saved in {}; run the same command again to continue.",
    ),
    "ran_out": ("回答用完了，但项目还没描述完。", "The answers ran out before the deal was complete."),
    "wrote": (
        "已写入 {0}。检查：dealcoach deal check {0}；建议：dealcoach advise {0}",
        "Wrote {0}. Check it: dealcoach deal check {0}; advice: dealcoach advise {0}",
    ),
    "header": (
        "由 dealcoach deal new 生成。每个字段上方的注释说明它的含义和可填的值。",
        "Written by dealcoach deal new. The comment above each field says what it means and what it accepts.",
    ),
    "header2": (
        "检查：dealcoach deal check {0}；建议：dealcoach advise {0}",
        "Check it: dealcoach deal check {0}; advice: dealcoach advise {0}",
    ),
}


def say(key: str, lang: Lang, *args: object) -> str:
    zh, en = _TEXT[key]
    return (zh if lang == "zh" else en).format(*args)


class Stopped(Exception):  # noqa: N818 - not an error: the person chose to stop
    """The person stopped (Ctrl-C, end of input): the draft holds every answer given."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


@dataclass
class Draft:
    """The answers given so far, as typed, keyed by field path; rewritten whole after each answer
    (write, then rename over the old file) so that a reader never sees half a draft."""

    path: Path
    answers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def open(cls, path: Path) -> Draft:
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != DRAFT_FORMAT:
                raise ValueError("not a draft")
            answers = [(str(key), str(raw)) for key, raw in data["answers"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise InputError(
                [Problem(str(path), message="not a dealcoach deal draft; delete it or pass --restart")]
            ) from None
        return cls(path, answers)

    def add(self, key: str, raw: str) -> None:
        self.answers.append((key, raw))
        self.save()

    def save(self) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        payload = {"format": DRAFT_FORMAT, "answers": self.answers}
        temporary.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass
class Question:
    key: str  # the field's path as in error messages: stakeholders[1].attitude
    path: tuple[str | int, ...]
    field: Field
    text: str  # what is asked, with what Enter means
    choices: list[tuple[Any, str]]  # (value, as shown)
    ends_list: bool = False


Reader = Callable[[str], str]


class Intake:
    """One deal, asked field by field. ``read`` returns the next line the person typed."""

    def __init__(self, vocabulary: Vocabulary, lang: Lang, draft: Draft, read: Reader):
        self.vocabulary, self.lang, self.draft, self.read = vocabulary, lang, draft, read
        self.fields = schema_mod.fields(schema_mod.deal_schema(vocabulary))
        self.replay = list(draft.answers)
        self.draft.answers = []
        self.data: dict[str, Any] = {}
        self.current: Question | None = None  # the question being asked

    def run(self) -> dict[str, Any]:
        """Ask until the deal is complete; return it as it will be written."""
        if self.replay:
            click.echo(say("resume", self.lang, len(self.replay)), err=True)
        for top in _ask_order(self.fields):
            self._field(top, (top.name,), self.data)
        return self.data

    # -- walking the fields

    def _field(self, spec: Field, path: tuple[str | int, ...], target: dict[str, Any]) -> None:
        if spec.kind == "section":
            target[spec.name] = {}
            for child in spec.children:
                self._field(child, path + (child.name,), target[spec.name])
        elif spec.kind == "records":
            self._records(spec, path, target)
        else:
            self._ask(self._question(spec, path), target)

    def _records(self, spec: Field, path: tuple[str | int, ...], target: dict[str, Any]) -> None:
        """Items until an empty first answer; references to people once everyone is listed."""
        items: list[dict[str, Any]] = []
        target[spec.name] = items
        first, *rest = spec.children
        later = [c for c in rest if (c.owner, c.name) in REFERENCES and spec.name == PEOPLE]
        while True:
            item: dict[str, Any] = {}
            items.append(item)
            where = path + (len(items) - 1,)
            if self._ask(self._question(first, where + (first.name,), ends_list=True), item) is None:
                items.pop()
                break
            for child in rest:
                if child not in later:
                    self._field(child, where + (child.name,), item)
        for index, item in enumerate(items):
            for child in later:
                self._field(child, path + (index, child.name), item)

    # -- one question

    def _question(self, spec: Field, path: tuple[str | int, ...], *, ends_list: bool = False) -> Question:
        choices = self._choices(spec, path)
        if ends_list:
            hint = say("end", self.lang)
        elif spec.required:
            hint = say("required", self.lang)
        else:
            hint = say("enter", self.lang, self._default_shown(spec))
        if spec.kind == "enums":
            hint = f"{say('many', self.lang)}{'；' if self.lang == 'zh' else '; '}{hint}"
        return Question(format_path(path), path, spec, f"{self._where(path)} ({hint})", choices, ends_list)

    def _where(self, path: tuple[str | int, ...]) -> str:
        """``Stakeholder 2 › attitude``: where the question sits in the deal."""
        names = [self.vocabulary.fact_label("deal", self.lang)] if len(path) == 1 else []
        fields = self.fields
        for part in path:
            if isinstance(part, int):
                names[-1] = f"{names[-1]} {part + 1}"  # the list's label: Stakeholder 2
                continue
            spec = next(f for f in fields if f.name == part)
            names.append(dealdoc.label(spec, self.vocabulary, self.lang))
            fields = spec.children
        names[0] = names[0][:1].upper() + names[0][1:]
        return " › ".join(names)

    def _default_shown(self, spec: Field) -> str:
        if spec.kind == "tristate":
            return self.vocabulary.label("tristate", "unknown", self.lang)
        if spec.kind == "enum" and spec.default is not None:
            return self.vocabulary.label(spec.enum or "", spec.default, self.lang)
        if spec.kind == "boolean":
            return self.vocabulary.label("tristate", spec.default, self.lang)
        if spec.default in (None, []):
            return say("none", self.lang)
        return dealdoc.scalar(spec.default)

    def _choices(self, spec: Field, path: tuple[str | int, ...]) -> list[tuple[Any, str]]:
        if spec.kind in ("enum", "enums", "tristate"):
            return [(term, f"{term} {t.zh}") for term, t in self.vocabulary.enums[spec.enum or ""].items()]
        if spec.kind == "boolean":
            return [(value, f"{term} {self.vocabulary.label('tristate', term, 'zh')}") for value, term in _BOOLEAN]
        source = NAMED_FROM.get((spec.owner, spec.name))
        if source:
            me = self.data[PEOPLE][path[1]]["name"] if path[0] == PEOPLE == source else None
            return [(p["name"], p["name"]) for p in self.data.get(source, []) if p["name"] != me]
        return []

    def _ask(self, question: Question, target: dict[str, Any]) -> Any:
        """Ask until the answer passes; store it, record it in the draft, and return it."""
        shown = False
        self.current = question
        while True:
            raw = self._replayed(question.key)
            if raw is None:
                if not shown:
                    self._show(question)
                    shown = True
                raw = self.read("> ")
            raw = raw.strip()
            if question.ends_list and not raw:
                self.draft.add(question.key, raw)
                return None
            value, error = self._parse(question, raw)
            if error is None:
                error = self._check(question, value, target)
            if error is None:
                target[question.field.name] = value
                self.draft.add(question.key, raw)
                return value
            self.replay.clear()  # a saved answer that no longer passes: ask from here on
            if not shown:
                self._show(question)
                shown = True
            click.echo(f"  {error}", err=True)

    def _replayed(self, key: str) -> str | None:
        if self.replay and self.replay[0][0] == key:
            return self.replay.pop(0)[1]
        self.replay.clear()  # the draft was made for other questions: keep what matched
        return None

    def _show(self, question: Question) -> None:
        click.echo("", err=True)
        click.echo(question.text, err=True)
        for number, (_, text) in enumerate(question.choices, start=1):
            click.echo(f"  {number}. {text}", err=True)

    def _parse(self, question: Question, raw: str) -> tuple[Any, str | None]:
        """The value an answer stands for, or why it cannot stand for one."""
        spec = question.field
        if not raw:
            if spec.required:
                return None, say("blank", self.lang)
            return ("unknown" if spec.kind == "tristate" else copy.copy(spec.default)), None
        if spec.kind == "enums":
            picked = [self._pick(question, token) for token in SPLIT.split(raw) if token]
            return list(dict.fromkeys(picked)), None
        if question.choices:
            return self._pick(question, raw), None
        if spec.kind in ("number", "integer"):
            return _number(raw, spec.kind, self.lang)
        return raw, None

    def _pick(self, question: Question, token: str) -> Any:
        """A choice by number; otherwise the token as typed, for the validator to judge."""
        if token.isdigit() and 1 <= int(token) <= len(question.choices):
            return question.choices[int(token) - 1][0]
        spec = question.field
        if spec.kind == "boolean":
            term = self.vocabulary.normalise("tristate", token)
            return {"true": True, "false": False}.get(term or "", token)
        if spec.enum:
            return self.vocabulary.normalise(spec.enum, token) or token
        return token

    def _check(self, question: Question, value: Any, target: dict[str, Any]) -> str | None:
        """The validator's verdict on this field, with the deal as it stands."""
        had = question.field.name in target
        previous = target.get(question.field.name)
        target[question.field.name] = value
        try:
            deal_mod.validate(Document("<answers>", self.data), self.vocabulary)
            return None
        except InputError as err:
            key = question.key
            mine = [p.message for p in err.problems if p.path == key or p.path.startswith((f"{key}[", f"{key}."))]
            return mine[0] if mine else None
        finally:
            if had:
                target[question.field.name] = previous
            else:
                del target[question.field.name]


def _number(raw: str, kind: str, lang: Lang) -> tuple[Any, str | None]:
    """A number as people write it: thousands separators and a trailing % are allowed."""
    raw = raw.replace(",", "").replace("，", "").removesuffix("%").strip()
    try:
        return int(raw), None
    except ValueError:
        pass
    if kind == "integer":
        return None, say("integer", lang)
    try:
        return float(raw), None
    except ValueError:
        return None, say("number", lang)


def _ask_order(fields: tuple[Field, ...]) -> list[Field]:
    ordered = [f for f in fields if f.name not in NOT_ASKED]
    names = [f.name for f in ordered]
    first, then = PEOPLE_FIRST
    if first in names and then in names and names.index(first) > names.index(then):
        ordered.insert(names.index(then), ordered.pop(names.index(first)))
    return ordered


# ---------------------------------------------------------------- the command


def draft_path(target: Path | None) -> Path:
    """FILE.draft next to the deal being written; without a FILE, in the user's data folder."""
    if target is not None:
        return target.with_name(target.name + ".draft")
    return storage.default_path().parent / "deal-new.draft.json"


def terminal_reader() -> Reader:
    def read(prompt: str) -> str:
        try:
            return click.prompt(prompt.rstrip(), prompt_suffix=" ", default="", show_default=False, err=True)
        except click.exceptions.Abort:
            click.echo("", err=True)
            raise Stopped(INTERRUPTED) from None

    return read


def script_reader(lines: Iterator[str], lang: Lang) -> Reader:
    def read(prompt: str) -> str:
        line = next(lines, None)
        if line is None:
            click.echo(say("ran_out", lang), err=True)
            raise Stopped(INVALID_INPUT)
        click.echo(f"{prompt}{line}", err=True)
        return line

    return read


def new_deal(vocabulary: Vocabulary, target: Path | None, lang: Lang, read: Reader, *, restart: bool = False) -> int:
    """The whole ``deal new`` command; returns the exit status."""
    draft_file = draft_path(target)
    if restart:
        draft_file.unlink(missing_ok=True)
    if target is not None and target.exists():
        return _refuse(f"dealcoach: {target} already exists; choose another file name (nothing was changed)")
    try:
        if target is None:
            draft_file.parent.mkdir(parents=True, exist_ok=True)
        draft = Draft.open(draft_file)
        draft.save()  # a folder we cannot write to is found now, not after the questions
    except InputError as err:
        return _refuse(*map(str, err.problems))
    except OSError as err:
        return _refuse(f"{draft_file}: cannot save answers there: {err.strerror or err}")
    intake = Intake(vocabulary, lang, draft, read)
    try:
        data = intake.run()
    except Stopped as stop:
        click.echo(say("saved", lang, draft_file), err=True)
        return stop.code
    header = [say("header", lang), say("header2", lang, target.name if target else "FILE")]
    text = dealdoc.commented(data, intake.fields, vocabulary, lang, header)
    try:
        deal_mod.validate(Document(str(target or "<stdout>"), data), vocabulary)  # each answer passed already
        _write(target, text)
    except InputError as err:  # pragma: no cover - every answer was validated on the deal as it stood
        return _refuse(*map(str, err.problems))
    except OSError as err:
        return _refuse(f"{target}: cannot write the deal: {err.strerror or err}; your answers stay in {draft_file}")
    if target is not None:
        click.echo(say("wrote", lang, target), err=True)
    draft.discard()
    return 0


def _write(target: Path | None, text: str) -> None:
    """The deal to standard output, or to ``target`` in one step (write, then rename)."""
    if target is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)


def _refuse(*lines: str) -> int:
    for line in lines:
        click.echo(line, err=True)
    return INVALID_INPUT
