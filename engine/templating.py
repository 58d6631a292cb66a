"""Jinja for untrusted templates: sandboxed, strict about undefined names, checked before use.

Advice templates and report layouts are written by trainers, so they render in Jinja's
``SandboxedEnvironment`` (no reaching into Python internals) with ``StrictUndefined`` (a typo is
an error, not an empty string). :func:`check` finds the same mistakes statically, at load time,
so a broken template is reported with its rule before any deal is advised.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateSyntaxError, meta, nodes, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment, SecurityError

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


def wrap(text: str, width: int = 80, indent: str = "", first: str | None = None, keep: Iterable[str] = ()) -> str:
    """Wrap mixed Chinese and English text to ``width`` columns.

    Chinese has no spaces, so a line may break between any two CJK characters; English words
    are kept whole, and so is every string in ``keep`` (people's names: 周建|国 reads as a typo).
    """
    lines: list[str] = []
    head = indent if first is None else first
    line: list[str] = []  # the tokens of the line being filled
    for token in _tokens(text, sorted(keep, key=len, reverse=True)):
        used = display_width(head + "".join(line))
        if used + display_width(token) > width and line:
            # Chinese punctuation never starts a line (kinsoku), nor hangs past the margin: the
            # character before it goes down with it.
            carried = [line.pop()] if token in NO_LINE_START and len(line) > 1 else []
            lines.append((head + "".join(line)).rstrip())
            head, line = indent, [t.lstrip() for t in carried[:1]] + carried[1:]
            token = token.lstrip() if not line else token
        line.append(token)
    lines.append((head + "".join(line)).rstrip())
    return "\n".join(lines)


def _tokens(text: str, keep: list[str] | None = None) -> Iterable[str]:
    """Words with their leading space, single CJK characters, and the strings in ``keep`` whole."""
    word = ""
    text = " ".join(text.split())
    i = 0
    while i < len(text):
        whole = next((k for k in keep or () if k and text.startswith(k, i)), None)
        if whole is not None:
            if word.strip():
                yield word
            yield (" " if word.endswith(" ") else "") + whole
            word = ""
            i += len(whole)
            continue
        ch = text[i]
        i += 1
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

    @pass_context
    def score(context: Context, value: float | None, out_of: int = 5) -> str:
        """A rating in words, so a template can quote the account's satisfaction truthfully."""
        if value is None:
            return "未打分" if context["lang"] == "zh" else "not rated"
        shown = f"{value:g}"
        return f"{shown}分（满分{out_of}分）" if context["lang"] == "zh" else f"{shown} out of {out_of}"

    env.filters.update(label=label, names=names, money=money, score=score, wrap=wrap, width=display_width)
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
