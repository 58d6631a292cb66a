"""Jinja for untrusted templates: sandboxed, strict about undefined names, checked before use.

Advice templates and report layouts are written by trainers, so they render in Jinja's
``SandboxedEnvironment`` (no reaching into Python internals) with ``StrictUndefined`` (a typo is
an error, not an empty string). :func:`check` finds the same mistakes statically, at load time,
so a broken template is reported with its rule before any deal is advised.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jinja2 import (
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

try:
    import resource
except ImportError:  # pragma: no cover - Windows: no address-space limit, the time limit still holds
    resource = None  # type: ignore[assignment]

from dealcoach.engine.vocabulary import Vocabulary


def display_width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters are two columns wide."""
    return sum(2 if _wide(ch) else 1 for ch in text)


NO_LINE_START = set("。，、；：！？）」』》〉")
# The East Asian wide and fullwidth ranges (CJK, kana, hangul, fullwidth forms and punctuation).
_WIDE = (
    "\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6"
)
_GAP_BETWEEN_WIDE = re.compile(f"(?<=[{_WIDE}]) (?=[{_WIDE}])")


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


def tidy(text: str) -> str:
    """Collapse the line breaks of a YAML block into single spaces, except between two Chinese
    characters, where a space would show as a gap in the sentence."""
    return _GAP_BETWEEN_WIDE.sub("", " ".join(text.split()))


def wrap(text: str, width: int = 80, indent: str = "", first: str | None = None) -> str:
    """Wrap mixed Chinese and English text to ``width`` columns.

    Chinese has no spaces, so a line may break between any two CJK characters; English words
    are kept whole.
    """
    lines: list[str] = []
    prefix = indent if first is None else first
    line = prefix
    for token in _tokens(text):
        closing = token in NO_LINE_START  # Chinese punctuation never starts a line (kinsoku)
        if display_width(line) + display_width(token) > width and line.strip() and not closing:
            lines.append(line.rstrip())
            line = indent
            token = token.lstrip()
        line += token
    lines.append(line.rstrip())
    return "\n".join(lines)


def _tokens(text: str) -> Iterable[str]:
    """Words with their leading space, and single CJK characters."""
    word = ""
    for ch in " ".join(text.split()):
        wide = _wide(ch)
        if wide or ch == " ":
            if word:
                yield word
            word = ""
            if wide:
                yield ch
                continue
        word += ch
    if word:
        yield word


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
    """SIGALRM for :func:`budget`, installed once (installing a handler per render costs more than
    the render): while no budget runs, the signal goes to whatever handled it before."""

    armed = False
    previous: Any = None
    installed = False

    @classmethod
    def install(cls) -> None:
        if not cls.installed:
            cls.previous = signal.signal(signal.SIGALRM, cls.ring)
            cls.installed = True

    @classmethod
    def ring(cls, signum: int, frame: Any) -> None:
        if cls.armed:
            raise _OutOfTimeError
        if callable(cls.previous):
            cls.previous(signum, frame)


@contextmanager
def budget(seconds: float = MAX_RENDER_SECONDS, memory: int = MAX_TEMPLATE_MEMORY) -> Iterator[None]:
    """Run untrusted template code with a time limit (in the main thread, by SIGALRM, repeated until
    the code gives up, as Jinja swallows some exceptions) and, on Linux, a cap on the address space
    (an allocation past it is a MemoryError, not a machine brought to its knees)."""
    timer = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    limits = _address_space_limits(memory)
    if timer:
        _Clock.install()
        _Clock.armed = True
        signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    if limits:
        resource.setrlimit(resource.RLIMIT_AS, limits[0])
    try:
        yield
    finally:
        if limits:
            resource.setrlimit(resource.RLIMIT_AS, limits[1])
        if timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
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
        reason = f"it ran longer than {MAX_RENDER_SECONDS:g} s"
    elif isinstance(err, MemoryError):
        reason = f"it needed more than {MAX_TEMPLATE_MEMORY // 2**20} MB"
    elif isinstance(err, RecursionError):
        reason = "it recursed too deeply (a macro calling itself?)"
    else:
        reason = f"{type(err).__name__}: {err}"
    return TemplateRenderError(reason, line)


def compile_template(env: SandboxedEnvironment, source: str) -> Template:
    """``env.from_string(source)`` within the budget; :class:`TemplateRenderError` if it cannot be compiled."""
    try:
        with budget():
            return env.from_string(source)
    except Exception as err:  # untrusted code: anything it raises is its author's problem, reported
        raise _failure(err, "<template>") from None


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


def make_environment(vocabulary: Vocabulary, template_dirs: Iterable[Path] = ()) -> SandboxedEnvironment:
    env = GuardedSandbox(
        loader=_BoundedLoader([str(d) for d in template_dirs]),
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

    env.filters.update(label=label, names=names, money=money, wrap=wrap, width=display_width)
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
