"""Jinja for untrusted templates: sandboxed, strict about undefined names, checked before use.

Advice templates and report layouts are written by trainers, so they render in Jinja's
``SandboxedEnvironment`` (no reaching into Python internals) with ``StrictUndefined`` (a typo is
an error, not an empty string). :func:`check` finds the same mistakes statically, at load time,
so a broken template is reported with its rule before any deal is advised.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateSyntaxError, meta, nodes, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from markupsafe import Markup

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


@functools.lru_cache(maxsize=8)
def layout_environment(env: SandboxedEnvironment, fmt: str) -> SandboxedEnvironment:
    """``env`` for a report layout, made safe for its format at the point of output.

    Every ``{{ ... }}`` in a Markdown layout is written as literal Markdown, and every one in a
    text layout loses its control characters, whatever it prints: the deal, advice text, the
    vocabulary's labels. A layout a company writes therefore cannot forget to escape. Markdown
    uses Jinja's autoescaping, whose markup-safe strings keep a macro's or a block's output from
    being escaped twice.
    """
    if fmt == "markdown":
        return env.overlay(autoescape=True, finalize=_markdown_output)
    return env.overlay(finalize=terminal_text)


def _markdown_output(value: Any) -> Any:
    return value if hasattr(value, "__html__") else Markup(markdown_text(value))


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


class GuardedSandbox(SandboxedEnvironment):
    """Jinja's sandbox, plus a bound on ``*`` and ``**``: ``{{ 'x' * 10**9 }}`` would otherwise
    exhaust memory. Loops are bounded by the sandbox's ``range`` limit and by :func:`check`, which
    refuses nested loops, so a template always renders in milliseconds."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise SecurityError(f"exponent {right} is too large for a template")
        sized = [v for v in (left, right) if isinstance(v, str | list | tuple)]
        factor = [v for v in (left, right) if isinstance(v, int) and not isinstance(v, bool)]
        if operator == "*" and sized and factor and len(sized[0]) * max(factor[0], 0) > MAX_PRODUCT:
            raise SecurityError(f"a template may not build a string or list longer than {MAX_PRODUCT}")
        return super().call_binop(context, operator, left, right)


def make_environment(vocabulary: Vocabulary, template_dirs: Iterable[Path] = ()) -> SandboxedEnvironment:
    env = GuardedSandbox(
        loader=FileSystemLoader([str(d) for d in template_dirs]),
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
    return env


def check(env: SandboxedEnvironment, source: str, scopes: Iterable[Mapping[str, Iterable[str] | None]]) -> list[str]:
    """Problems with a template: syntax, names that are not in scope, unknown attributes.

    A rule with alternatives has one scope per alternative, and the template must fit each. A scope
    maps each name the template may use to its attributes (None: any attribute). The template is
    parsed once whatever the number of scopes: parsing is the expensive part.
    """
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as err:
        return [f"template syntax error on line {err.lineno}: {err.message}"]
    used = meta.find_undeclared_variables(tree)
    attributes = [(n.node.name, n.attr) for n in tree.find_all(nodes.Getattr) if isinstance(n.node, nodes.Name)]
    problems = [
        f"template reaches for {n.attr!r}; names starting with _ are not allowed"
        for n in tree.find_all(nodes.Getattr)
        if n.attr.startswith("_")
    ]
    if any(next(loop.find_all(nodes.For), None) for loop in tree.find_all(nodes.For)):
        problems.append("a template may not nest one loop inside another")
    for fields in scopes:
        for name in sorted(used - set(fields)):
            problems.append(
                f"template uses {name!r}, which this rule does not bind (available: {', '.join(sorted(fields))})"
            )
        for name, attr in attributes:
            allowed = fields.get(name)
            if allowed is not None and attr not in allowed and not attr.startswith("_"):
                problems.append(
                    f"template uses {name}.{attr}, but {name} has no field {attr!r} (fields: {', '.join(allowed)})"
                )
    return list(dict.fromkeys(problems))
