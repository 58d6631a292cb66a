"""Jinja for untrusted templates: sandboxed, strict about undefined names, checked before use.

Advice templates and report layouts are written by trainers, so they render in Jinja's
``SandboxedEnvironment`` (no reaching into Python internals) with ``StrictUndefined`` (a typo is
an error, not an empty string). :func:`check` finds the same mistakes statically, at load time,
so a broken template is reported with its rule before any deal is advised.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from jinja2 import (
    BytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    meta,
    nodes,
    pass_context,
)
from jinja2.loaders import split_template_path
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment, SecurityError
from markupsafe import Markup

try:
    import resource
except ImportError:  # pragma: no cover - Windows: no address-space limit, the time limit still holds
    resource = None  # type: ignore[assignment]

from dealcoach.engine.deals.vocabulary import Vocabulary

# The East Asian wide and fullwidth ranges (CJK, kana, hangul, fullwidth forms and punctuation).
_WIDE = (
    "\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6"
)
_GAP_BETWEEN_WIDE = re.compile(f"(?<=[{_WIDE}]) (?=[{_WIDE}])")


def tidy(text: str) -> str:
    """Collapse the line breaks of a YAML block into single spaces, except between two Chinese
    characters, where a space would show as a gap in the sentence."""
    return _GAP_BETWEEN_WIDE.sub("", " ".join(text.split()))


# Characters that change the meaning of Markdown text wherever they stand (emphasis, code, links
# and images, tables, strikethrough, headings, hard breaks); HTML's three are written as entities,
# so neither a tag nor an entity in a deal can render as anything but its own text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")
_SPACES = re.compile(r"\s+")
_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def markdown_text(text: str) -> str:
    """Any text as literal Markdown on one line: special characters escaped, HTML written as
    entities, line breaks and runs of spaces collapsed (a line break could start a new block)."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", _SPACES.sub(" ", str(text)))
    return "".join(_HTML_ENTITIES.get(ch, ch) for ch in text)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_text(text: str) -> str:
    """Text without control characters, which a terminal would obey (an escape sequence in a deal
    name could recolour, retitle or clear the rep's terminal)."""
    return _CONTROL.sub("", str(text))


def terminal_safe(value: Any) -> Any:
    """Every string in a tree of dicts and lists without control characters (see
    :func:`terminal_text`); dict keys are ids and stay as they are."""
    if isinstance(value, str):
        return terminal_text(value)
    if isinstance(value, dict):
        return {key: terminal_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [terminal_safe(item) for item in value]
    return value


@functools.lru_cache(maxsize=8)
def layout_environment(env: SandboxedEnvironment, fmt: str) -> SandboxedEnvironment:
    """``env`` for a report layout, made safe for its format, so that a layout a company writes
    cannot forget to escape.

    Markdown: every ``{{ ... }}`` is printed as literal Markdown, whatever it prints (the deal,
    advice text, the vocabulary's labels), through Jinja's autoescaping, whose markup-safe strings
    keep a macro's or a block's output from being escaped twice. Text: the vocabulary's labels lose
    their control characters here and the data before it reaches the layout (:func:`terminal_safe`),
    while the colour the layout itself adds with ``paint`` is kept.
    """
    if fmt == "markdown":
        return env.overlay(autoescape=True, finalize=_markdown_output)
    overlay = env.overlay()
    overlay.filters = dict(env.filters)
    plain = env.filters["label"]

    @pass_context
    def label(context: Context, value: Any, enum: str) -> str:
        return terminal_text(plain(context, value, enum))

    overlay.filters["label"] = label
    return overlay


def _markdown_output(value: Any) -> Any:
    return value if hasattr(value, "__html__") else Markup(markdown_text(value))


# What ``paint`` may colour in a text layout, and how (colour is on only for a terminal).
PAINTS: dict[str, dict[str, Any]] = {
    "high": {"fg": "red", "bold": True},
    "medium": {"fg": "yellow", "bold": True},
    "low": {"fg": "cyan"},
    "heading": {"bold": True},
}


def display_width(text: str) -> int:
    """Columns a string takes in a terminal (wcwidth: East Asian wide characters take two, colour
    sequences none)."""
    width = _wcwidth()
    return sum(max(width(ch), 0) for ch in _SGR.sub("", text))


@functools.cache
def _wcwidth() -> Callable[[str], int]:
    """wcwidth's function, imported on first use: the package loads a dozen modules (line breaking,
    graphemes, hyperlinks) that only text output, which measures widths, has any use for."""
    from wcwidth import wcwidth

    return wcwidth


NO_LINE_START = frozenset("。，、；：！？）」』》〉】〕”’…%,.;:!?)")  # closing marks stay with what they close
NO_LINE_END = frozenset("（「『《〈【〔“‘(")  # opening marks stay with what they open
_SGR = re.compile(r"\x1b\[[0-9;]*m")  # colour from the layout (see ``paint``); deal text has none
_RESET = "\x1b[0m"


@dataclass
class _Unit:
    """What may not be broken: a word, one CJK character or a person's name, with the punctuation
    that clings to it and any colour codes around it."""

    text: str = ""
    width: int = 0
    space_before: bool = False
    ends_in_word: bool = False


def wrap(text: str, width: int = 80, indent: str = "", first: str | None = None, keep: Iterable[str] = ()) -> str:
    """Wrap mixed Chinese and English text to ``width`` columns, in one pass over the text.

    Chinese has no spaces, so a line may break between any two CJK characters, but never inside
    an English word or one of the names in ``keep`` (a name split over two lines reads as two
    people), never before a closing mark (。，）...) and never after an opening one. No line is
    wider than ``width``: a unit too long for any line is cut where it must be.
    """
    indent_width = display_width(indent)
    lines: list[str] = []
    start = indent if first is None else first
    line, used, empty = [start], display_width(start), True
    for unit in _units(text, keep):
        gap = 1 if unit.space_before and not empty else 0
        if not empty and used + gap + unit.width > width:
            lines.append("".join(line).rstrip())
            line, used, empty, gap = [indent], indent_width, True, 0
        pieces = (
            [(unit.text, unit.width)]
            if used + gap + unit.width <= width
            else _cut(unit.text, width - used, width - indent_width)
        )
        for number, (piece, piece_width) in enumerate(pieces):
            if number:
                lines.append("".join(line).rstrip())
                line, used = [indent], indent_width
            line.append(" " * gap + piece)
            used += gap + piece_width
            gap, empty = 0, False
    lines.append("".join(line).rstrip())
    return "\n".join(lines)


def _cut(text: str, first_room: int, room: int) -> list[tuple[str, int]]:
    """A unit too wide for an empty line, in pieces of at most ``first_room`` columns, then
    ``room`` (at least one character each); a closing mark takes the character before it along."""
    pieces: list[list[str]] = [[]]
    used = 0
    for part in _characters(text):
        part_width = display_width(part)
        if used and used + part_width > (room if len(pieces) > 1 else first_room):
            carried = [pieces[-1].pop()] if part in NO_LINE_START and len(pieces[-1]) > 1 else []
            pieces.append(carried)
            used = sum(map(display_width, carried))
        pieces[-1].append(part)
        used += part_width
    return [("".join(piece), display_width("".join(piece))) for piece in pieces]


def _characters(text: str) -> Iterable[str]:
    """Characters, with each colour sequence kept whole."""
    position = 0
    for match in _SGR.finditer(text):
        yield from text[position : match.start()]
        yield match.group()
        position = match.end()
    yield from text[position:]


def _units(text: str, keep: Iterable[str]) -> Iterator[_Unit]:
    """The unbreakable units of ``text`` in order, each measured once."""
    names = {name for name in keep if name}
    atoms = re.compile(
        "|".join(
            [
                *map(re.escape, sorted(names, key=len, reverse=True)),  # longest first: 张伟国 before 张伟
                _SGR.pattern,
                r"\s+",
                f"[{_WIDE}]",
                f"[^\\s\x1b{_WIDE}]+",
            ]
        )
    )
    unit, space, prefix, glue_next = _Unit(), False, "", False
    for match in atoms.finditer(text):
        atom = match.group()
        if atom.isspace():
            space = True
        elif _SGR.fullmatch(atom):  # a reset closes the colour of what came before; any other opens what follows
            if atom == _RESET and unit.text and not prefix:
                unit.text += atom
            else:
                prefix += atom
        else:
            word = atom not in names and display_width(atom[0]) < 2
            follows = glue_next or atom[0] in NO_LINE_START or (word and unit.ends_in_word)
            if not (unit.text and not space and follows):
                if unit.text:
                    yield unit
                unit = _Unit(space_before=space)
            unit.text += prefix + atom
            unit.width += display_width(atom)
            unit.ends_in_word, glue_next = word, atom[-1] in NO_LINE_END
            space, prefix = False, ""
    if unit.text or prefix:
        unit.text += prefix
        yield unit


MAX_PRODUCT = 10_000  # the longest string or list a template may build with * or **
MAX_WIDTH = 10_000  # the largest number a template may pass to a filter or a method (a width, a count)
MAX_RENDER_SECONDS = 2.0  # per compile or render of one template
MAX_TEMPLATE_MEMORY = 256 * 2**20  # bytes a compile or render may add to the process (Linux)
MAX_ADVICE_CHARS = 20_000  # one rendered advice or because text
MAX_REPORT_CHARS = 2_000_000  # one rendered report
MAX_LAYOUT_BYTES = 1_000_000  # one template file in a layer's templates/ folder
_WIDE_FORMAT = re.compile(r"[%:{][^%:{}]*?\d{5,}")  # a width or precision of five digits or more
_SIZED_FILTERS = ("center", "indent", "wordwrap", "truncate", "batch", "slice", "format", "join", "replace")


class TemplateRenderError(Exception):
    """A template that cannot be compiled or rendered; ``line`` is its line in the template (0: unknown)."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.line = line


class _OutOfTimeError(Exception):
    pass


def _within_width(values: Iterable[Any]) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_WIDTH:
            raise SecurityError(f"a template may not pass a number above {MAX_WIDTH} ({value}) to a filter or method")
        if isinstance(value, str) and _WIDE_FORMAT.search(value):
            raise SecurityError(f"a template may not format with a width or precision above {MAX_WIDTH}")


def _bounded_filter(function: Any) -> Any:
    """``function`` refusing widths and counts that would build huge strings; also stops Jinja's
    constant folding from running ``'x' | center(1500000000)`` while a template is compiled."""

    def bounded(*args: Any, **kwargs: Any) -> Any:
        _within_width([*args, *kwargs.values()])
        return function(*args, **kwargs)

    for attribute in ("jinja_pass_arg",):
        if hasattr(function, attribute):
            setattr(bounded, attribute, getattr(function, attribute))
    return bounded


class GuardedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox (no template can change the deal another rule sees), with bounds on
    the size of what a template builds: ``*``, ``**`` and ``%`` are checked, and so are widths and
    counts passed to filters and methods. Whatever slips past these (a doubling loop, a recursive
    macro) meets :func:`budget`: every compile and render has a time and memory allowance."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise SecurityError(f"exponent {right} is too large for a template")
        sized = [v for v in (left, right) if isinstance(v, str | list | tuple)]
        factor = [v for v in (left, right) if isinstance(v, int) and not isinstance(v, bool)]
        if operator == "*" and sized and factor and len(sized[0]) * max(factor[0], 0) > MAX_PRODUCT:
            raise SecurityError(f"a template may not build a string or list longer than {MAX_PRODUCT}")
        if operator == "%" and isinstance(left, str):
            _within_width([left, *(right if isinstance(right, tuple) else (right,))])
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if isinstance(getattr(__obj, "__self__", None), str | list | tuple | dict):
            _within_width([*args, *kwargs.values()])
        return super().call(__context, __obj, *args, **kwargs)

    def format_string(self, s: str, args: tuple[Any, ...], kwargs: dict[str, Any], format_func: Any = None) -> str:
        _within_width([s, *args, *kwargs.values()])
        return super().format_string(s, args, kwargs, format_func)


class _Clock:
    """SIGPROF for :func:`budget`, installed once (installing a handler per render costs more than
    the render): while no budget runs, the signal goes to whatever handled it before."""

    armed = False
    previous: Any = None
    installed = False

    @classmethod
    def install(cls) -> None:
        if not cls.installed:
            cls.previous = signal.signal(signal.SIGPROF, cls.ring)
            cls.installed = True

    @classmethod
    def ring(cls, signum: int, frame: Any) -> None:
        if cls.armed:
            raise _OutOfTimeError
        if callable(cls.previous):
            cls.previous(signum, frame)


@contextmanager
def budget(seconds: float = MAX_RENDER_SECONDS, memory: int = MAX_TEMPLATE_MEMORY) -> Iterator[None]:
    """Run untrusted template code with a time limit (in the main thread, by SIGPROF, repeated until
    the code gives up, as Jinja swallows some exceptions) and, on Linux, a cap on the address space
    (an allocation past it is a MemoryError, not a machine brought to its knees).

    The limit is CPU time, not wall-clock time: a busy machine that leaves the process waiting must
    not turn an ordinary template into a refused one, while a template that loops still burns CPU."""
    timer = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    limits = _address_space_limits(memory)
    if timer:
        _Clock.install()
        _Clock.armed = True
        signal.setitimer(signal.ITIMER_PROF, seconds, 0.05)
    if limits:
        resource.setrlimit(resource.RLIMIT_AS, limits[0])
    try:
        yield
    finally:
        if limits:
            resource.setrlimit(resource.RLIMIT_AS, limits[1])
        if timer:
            signal.setitimer(signal.ITIMER_PROF, 0)
            _Clock.armed = False


_STATM: list[int] = []  # an open descriptor of /proc/self/statm: reading it again is cheap


def _address_space_limits(memory: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """(The limit to set, the limit to restore), or None where the address space cannot be measured."""
    if resource is None:
        return None
    try:
        if not _STATM:
            _STATM.append(os.open("/proc/self/statm", os.O_RDONLY))
        used = int(os.pread(_STATM[0], 128, 0).split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = used + memory
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft <= wanted:
        return None  # already limited more tightly by whoever started us
    return (wanted, hard), (soft, hard)


def _failure(err: BaseException, filename: str) -> TemplateRenderError:
    """What went wrong, in one line, and where in the template (Jinja puts template lines in the traceback)."""
    if isinstance(err, TemplateSyntaxError):
        return TemplateRenderError(f"template syntax error: {err.message}", err.lineno or 0)
    line = 0
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    if isinstance(err, _OutOfTimeError):
        reason = f"it ran longer than {MAX_RENDER_SECONDS:g} s of CPU time"
    elif isinstance(err, MemoryError):
        reason = f"it needed more than {MAX_TEMPLATE_MEMORY // 2**20} MB"
    elif isinstance(err, RecursionError):
        reason = "it recursed too deeply (a macro calling itself?)"
    else:
        reason = f"{type(err).__name__}: {err}"
    return TemplateRenderError(reason, line)


def compile_template(env: SandboxedEnvironment, source: str) -> Template:
    """``env.from_string(source)`` within the budget; :class:`TemplateRenderError` if it cannot be compiled.

    The code Jinja compiled it to before is taken from the environment's bytecode cache, if it has
    one (Jinja's ``from_string`` always compiles); reading and writing the cache is outside the
    budget, which is for the template's own work.
    """
    cache = env.bytecode_cache
    bucket = None if cache is None else cache.get_bucket(env, "<from_string>", None, source)  # no name, as from_string
    try:
        with budget():
            code = env.compile(source) if bucket is None or bucket.code is None else bucket.code
            template = env.template_class.from_code(env, code, env.make_globals(None), None)
    except Exception as err:  # untrusted code: anything it raises is its author's problem, reported
        raise _failure(err, "<template>") from None
    if cache is not None and bucket is not None and bucket.code is None:
        bucket.code = code
        cache.set_bucket(bucket)
    return template


def load_template(env: SandboxedEnvironment, name: str) -> Template:
    """``env.get_template(name)`` (a report layout) within the budget, or :class:`TemplateRenderError`."""
    try:
        with budget():
            return env.get_template(name)
    except Exception as err:  # untrusted code: anything it raises is its author's problem, reported
        raise _failure(err, "<template>") from None


def render(template: Template, context: Mapping[str, Any], max_chars: int) -> str:
    """``template.render(context)`` within the budget and at most ``max_chars`` long."""
    try:
        with budget():
            text = template.render(context)
    except Exception as err:  # untrusted code: anything it raises is its author's problem, reported
        raise _failure(err, template.filename or "<template>") from None
    if len(text) > max_chars:
        raise TemplateRenderError(f"it wrote more than {max_chars} characters")
    return text


class _BoundedLoader(FileSystemLoader):
    """Report layouts and included templates from the layers' ``templates/`` folders, at most
    :data:`MAX_LAYOUT_BYTES` each (Jinja's loader skips anything that is not a regular file)."""

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Any]:
        for root in self.searchpath:
            path = os.path.join(root, *split_template_path(template))
            if os.path.isfile(path):
                if os.path.getsize(path) > MAX_LAYOUT_BYTES:
                    raise TemplateError(f"{path} is larger than {MAX_LAYOUT_BYTES} bytes")
                break
        return super().get_source(environment, template)


def make_environment(
    vocabulary: Vocabulary, template_dirs: Iterable[Path] = (), *, bytecode_cache: BytecodeCache | None = None
) -> SandboxedEnvironment:
    """The sandbox for a playbook's templates, with its filters; ``bytecode_cache`` keeps the code
    of compiled templates between runs (see :mod:`dealcoach.engine.playbook.kbcache`)."""
    env = GuardedSandbox(
        loader=_BoundedLoader([str(d) for d in template_dirs]),
        bytecode_cache=bytecode_cache,
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    @pass_context
    def label(context: Context, value: Any, enum: str) -> str:
        if isinstance(value, list | tuple):
            return names(context, [vocabulary.label(enum, v, context["lang"]) for v in value])
        return vocabulary.label(enum, value, context["lang"])

    @pass_context
    def names(context: Context, values: Iterable[Any]) -> str:
        return ("、" if context["lang"] == "zh" else ", ").join(str(v) for v in values)

    @pass_context
    def money(context: Context, amount: float | None, currency: str = "") -> str:
        if amount is None:
            return "未知" if context["lang"] == "zh" else "unknown"
        if context["lang"] == "zh" and amount >= 10_000:
            return f"{amount / 10_000:,.4g}万{currency}".replace("CNY", "元")
        return f"{amount:,.0f} {currency}".strip()

    @pass_context
    def score(context: Context, value: float | None, out_of: int = 5) -> str:
        """A rating in words, so a template can quote the account's satisfaction truthfully."""
        if value is None:
            return "未打分" if context["lang"] == "zh" else "not rated"
        shown = f"{value:g}"
        return f"{shown}分（满分{out_of}分）" if context["lang"] == "zh" else f"{shown} out of {out_of}"

    @pass_context
    def wrap_filter(context: Context, text: str, width: int = 80, indent: str = "", first: str | None = None) -> str:
        """``wrap``, keeping whole the names the layout lists in ``keep_whole`` (the stakeholders)."""
        return wrap(text, width, indent, first, keep=context.get("keep_whole") or ())

    @pass_context
    def paint(context: Context, text: Any, role: str) -> str:
        """``text`` in the colour of ``role`` (a priority, or ``heading``) when the layout's
        ``color`` is on; as it is otherwise, or for a role :data:`PAINTS` does not know."""
        style = PAINTS.get(role)
        return click.style(str(text), **style) if context.get("color") and style else str(text)

    env.filters.update(
        label=label, names=names, money=money, score=score, wrap=wrap_filter, width=display_width, paint=paint
    )
    env.filters.update({name: _bounded_filter(env.filters[name]) for name in _SIZED_FILTERS})
    return env


def check(
    env: SandboxedEnvironment,
    source: str,
    scopes: Iterable[Mapping[str, Iterable[str] | None]],
    *,
    nested_loops: bool = False,
    owner: str = "this rule",
) -> list[str]:
    """Problems with a template: syntax, names that are not in scope, unknown attributes, loops
    within loops (a loop in a macro called from a loop counts: unless ``nested_loops``, as a report
    layout needs them, bounded by the render budget).

    A rule with alternatives has one scope per alternative, and the template must fit each. A scope
    maps each name the template may use to its attributes (None: any attribute). The template is
    parsed once whatever the number of scopes: parsing is the expensive part.
    """
    try:
        with budget():
            tree = env.parse(source)
            used = meta.find_undeclared_variables(tree)  # compiles: Jinja folds constants here
    except TemplateSyntaxError as err:
        return [f"template syntax error on line {err.lineno}: {err.message}"]
    except Exception as err:  # untrusted code: anything it raises is its author's problem, reported
        failure = _failure(err, "<template>")
        return [f"the template cannot be compiled: {failure}"]
    used -= {n.name for n in tree.find_all(nodes.Name) if n.ctx == "store"}  # set at the top, used in a macro
    attributes = [(n.node.name, n.attr) for n in tree.find_all(nodes.Getattr) if isinstance(n.node, nodes.Name)]
    problems = [
        f"template reaches for {n.attr!r}; names starting with _ are not allowed"
        for n in tree.find_all(nodes.Getattr)
        if n.attr.startswith("_")
    ]
    if not nested_loops and _nests_loops(tree):
        problems.append("a template may not nest one loop inside another (a loop in a macro called in a loop counts)")
    for fields in scopes:
        for name in sorted(used - set(fields)):
            problems.append(
                f"template uses {name!r}, which {owner} does not bind (available: {', '.join(sorted(fields))})"
            )
        for name, attr in attributes:
            allowed = fields.get(name)
            if allowed is not None and attr not in allowed and not attr.startswith("_"):
                problems.append(
                    f"template uses {name}.{attr}, but {name} has no field {attr!r} (fields: {', '.join(allowed)})"
                )
    return list(dict.fromkeys(problems))


def _nests_loops(tree: nodes.Template) -> bool:
    """A loop within a loop, directly or through macros (a macro loops if it has a loop or calls one that does)."""
    macros = {m.name: m for m in tree.find_all(nodes.Macro)}
    looping: set[str] = set()
    changed = True
    while changed:  # a fixed point: macros that loop, through any chain of calls
        changed = False
        for name, macro in macros.items():
            if name not in looping and (next(macro.find_all(nodes.For), None) or _calls(macro, looping)):
                looping.add(name)
                changed = True
    return any(next(loop.find_all(nodes.For), None) or _calls(loop, looping) for loop in tree.find_all(nodes.For))


def _calls(node: nodes.Node, macros: set[str]) -> bool:
    return any(isinstance(c.node, nodes.Name) and c.node.name in macros for c in node.find_all(nodes.Call))
