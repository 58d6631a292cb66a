"""The pipeline review as text, Markdown, JSON, JSON Lines or CSV, written deal by deal.

Every renderer gets the summary first (it is known once every deal is done) and then the deals
one at a time in the pipeline's order, so none of them holds the whole pipeline. Whatever came
from a deal file is made safe for its format: control characters are dropped for a terminal,
Markdown is escaped, and a CSV cell that a spreadsheet would run as a formula is quoted.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from dealcoach.engine.deals.vocabulary import LANGS, Lang, Vocabulary
from dealcoach.engine.render.templating import markdown_text, terminal_text
from dealcoach.engine.review.pipeline import REVIEW_SCHEMA_ID, STEPS, money

Write = Callable[[str], Any]

WORDS: dict[str, tuple[str, str]] = {
    "title": ("管道评审", "Pipeline review"),
    "deals": ("个项目", "deals"),
    "deal": ("个项目", "deal"),
    "worth": ("金额合计", "worth"),
    "average": ("平均健康度", "average health"),
    "below": ("低于 50 分", "below 50"),
    "themes": ("跨项目的规律", "Themes across deals"),
    "no_themes": ("没有在两个以上项目中重复出现的问题。", "No problem recurs in two or more deals."),
    "stages": ("按阶段", "By stage"),
    "owners": ("按负责人", "By owner"),
    "list": ("项目（风险最高的在前）", "Deals, most at risk first"),
    "owner": ("负责人", "owner"),
    "stage": ("阶段", "stage"),
    "value": ("金额", "value"),
    "health": ("健康度", "health"),
    "risk": ("风险", "risk"),
    "criteria": ("五项标准", "criteria"),
    "flags": ("危险信号", "red flags"),
    "steps": ("下一步", "next steps"),
    "people": ("涉及", "people"),
    "none": ("无", "none"),
    "unassigned": ("（未指定）", "(unassigned)"),
    "unknown_value": ("未知", "unknown"),
    "new": ("新项目", "new"),
    "raised": ("新增", "raised"),
    "cleared": ("解除", "cleared"),
    "moved": ("阶段", "stage"),
    "since": ("与上次相比", "since last review"),
    "skipped": ("跳过的无效项目", "Skipped invalid deals"),
    "deal_column": ("项目", "deal"),
    "expand": ("全部展开", "Expand all"),
    "chart_health": ("各阶段的健康度分布（项目数）", "Health by stage (number of deals)"),
    "chart_flags": ("最常见的危险信号（项目数）", "Most frequent red flags (number of deals)"),
    "interrupted": (
        "评审被中断：只包含已完成的 {done} 个项目。",
        "Interrupted: the review covers only the deals done ({done}).",
    ),
}


def word(key: str, lang: Lang) -> str:
    return WORDS[key][0 if lang == "zh" else 1]


class Context:
    """What every renderer needs besides the deals: the language, labels and the summary."""

    def __init__(self, vocabulary: Vocabulary, lang: Lang, summary: dict[str, Any], skipped: list[str], note: str):
        self.vocabulary, self.lang, self.summary, self.skipped, self.note = vocabulary, lang, summary, skipped, note
        self.currency = summary["currency"] or ""
        self.others: list[Context] = []  # the same review in the other languages (the HTML page has them all)

    def view(self, line: dict[str, Any]) -> dict[str, Any]:
        """A deal's line in this context's language: its own, or its translation."""
        return line if line["lang"] == self.lang else {**line, **line["translations"][self.lang]}

    def label(self, enum: str, value: Any) -> str:
        return self.vocabulary.label(enum, value, self.lang)

    def money(self, value: float | None) -> str:
        return word("unknown_value", self.lang) if value is None else money(value, self.lang, self.currency)

    def owner(self, owner: str | None) -> str:
        return owner or word("unassigned", self.lang)

    def criteria(self, line: dict[str, Any]) -> str:
        return ", ".join(
            f"{self.label('criterion', name)} {self.label('criterion_status', status)}"
            for name, status in line["assessment"]["criteria"].items()
        )

    def flags(self, line: dict[str, Any]) -> str:
        flags = [f"{f['text']} ({f['stakeholder']})" if f["stakeholder"] else f["text"] for f in _red_flags(line)]
        return "; ".join(flags) or word("none", self.lang)

    def movement(self, line: dict[str, Any]) -> str:
        """The change since the previous review in a few words, empty when there is none to show."""
        moved = line.get("movement")
        if not moved:
            return ""
        if moved["new"]:
            return word("new", self.lang)
        parts = []
        if moved["health"]:
            parts.append(f"{word('health', self.lang)} {moved['health']:+d}")
        if moved["stage"]:
            before, after = (self.label("stage", s) for s in moved["stage"])
            parts.append(f"{word('moved', self.lang)} {before} → {after}")
        for key, flags in (("raised", moved["flags_raised"]), ("cleared", moved["flags_cleared"])):
            if flags:
                names = ", ".join(self.flag_name(flag) for flag in flags)
                parts.append(f"{word(key, self.lang)} {names}")
        return "; ".join(parts)

    def flag_name(self, flag_id: str) -> str:
        code, _, who = flag_id.partition(":")
        return self.label("red_flag", code) + (f" ({who})" if who else "")

    def headline(self) -> str:
        deals = self.summary["deals"]
        zh = self.lang == "zh"
        count = f"{deals['deals']} {word('deal' if deals['deals'] == 1 else 'deals', self.lang)}"
        parts = [count, f"{word('worth', self.lang)} {self.money(deals['value'])}"]
        if deals["average_health"] is not None:
            parts.append(f"{word('average', self.lang)} {deals['average_health']}")
            parts.append(
                f"{deals['below_50']} {word('below', self.lang)}"
                if not zh
                else f"{word('below', self.lang)}：{deals['below_50']}"
            )
        return ("，" if zh else ", ").join(parts)


def _red_flags(line: dict[str, Any]) -> list[dict[str, Any]]:
    return line["assessment"]["red_flags"]


def steps(line: dict[str, Any]) -> list[dict[str, Any]]:
    return line["advice"][:STEPS]


def text(write: Write, ctx: Context, lines: Iterable[dict[str, Any]], *, markdown: bool = False) -> None:
    """For a person: the headline, themes, stages, owners, then every deal with its top steps."""
    safe = markdown_text if markdown else terminal_text
    lang = ctx.lang

    def heading(title: str) -> None:
        write(f"\n## {title}\n\n" if markdown else f"\n{title}\n")

    write(f"# {word('title', lang)}\n\n" if markdown else word("title", lang) + ("：" if lang == "zh" else ": "))
    write(ctx.headline() + "\n")
    if ctx.note:
        write(f"\n{ctx.note}\n")
    heading(word("themes", lang))
    themes = ctx.summary["themes"]
    for theme in themes:
        write(f"- {safe(theme['text'])}\n" if markdown else f"  - {safe(theme['text'])}\n")
    if not themes:
        write(("" if markdown else "  ") + word("no_themes", lang) + "\n")
    for key, rows, name in (
        ("stages", ctx.summary["stages"], lambda s: ctx.label("stage", s)),
        ("owners", ctx.summary["owners"], ctx.owner),
    ):
        heading(word(key, lang))
        _table(write, ctx, [(name(k), v) for k, v in rows.items()], markdown=markdown, safe=safe)
    heading(word("list", lang))
    for rank, line in enumerate(lines, 1):
        _deal(write, ctx, rank, line, markdown=markdown, safe=safe)
    if ctx.skipped:
        heading(word("skipped", lang))
        for problem in ctx.skipped:
            write(f"- {safe(problem)}\n" if markdown else f"  {safe(problem)}\n")


def _table(
    write: Write, ctx: Context, rows: list[tuple[str, dict[str, Any]]], *, markdown: bool, safe: Callable
) -> None:
    lang = ctx.lang
    head = ["", word("deals", lang), word("value", lang), word("average", lang), word("below", lang)]
    cells = [
        [safe(name), str(t["deals"]), ctx.money(t["value"]), str(t["average_health"]), str(t["below_50"])]
        for name, t in rows
    ]
    if markdown:
        write("| " + " | ".join(head) + " |\n|" + " --- |" * len(head) + "\n")
        for row in cells:
            write("| " + " | ".join(row) + " |\n")
        return
    for name, deals, value, average, below in cells:
        if lang == "zh":
            write(f"  {name}：{deals} {head[1]}，{value}，{head[3]} {average}，{head[4]}：{below}\n")
        else:
            noun = word("deal" if deals == "1" else "deals", lang)
            write(f"  {name}: {deals} {noun}, {value}, {head[3]} {average}, {below} {head[4]}\n")


def _deal(write: Write, ctx: Context, rank: int, line: dict[str, Any], *, markdown: bool, safe: Callable) -> None:
    lang = ctx.lang
    facts = [
        f"{word('owner', lang)} {safe(ctx.owner(line['owner']))}",
        f"{word('stage', lang)} {ctx.label('stage', line['stage'])}",
        f"{word('value', lang)} {ctx.money(line['value'])}",
        f"{word('health', lang)} {line['assessment']['health']}",
        f"{word('risk', lang)} {line['risk']:g}",
    ]
    moved = ctx.movement(line)
    if moved:
        facts.append(f"{word('since', lang)}: {safe(moved)}")
    if markdown:
        write(f"\n### {rank}. {safe(line['deal'])}\n\n{safe(' · '.join(facts))}\n\n")
    else:
        write(f"\n{rank:>3}. {safe(line['deal'])}\n     {' · '.join(facts)}\n")
    indent = "" if markdown else "     "
    write(f"{indent}{'- ' if markdown else ''}{word('criteria', lang)}: {safe(ctx.criteria(line))}\n")
    write(f"{indent}{'- ' if markdown else ''}{word('flags', lang)}: {safe(ctx.flags(line))}\n")
    write(f"{indent}{'- ' if markdown else ''}{word('steps', lang)}:\n")
    for number, step in enumerate(steps(line), 1):
        people = f" [{word('people', lang)}: {', '.join(step['stakeholders'])}]" if step["stakeholders"] else ""
        write(f"{indent}  {number}. {safe(step['text'] + people)}\n")


def jsonl(write: Write, ctx: Context, lines: Iterable[dict[str, Any]]) -> None:
    """One deal per line, in the pipeline's order: the advise document plus file, owner and the rest."""
    for line in lines:
        write(json.dumps(line, ensure_ascii=False) + "\n")


def json_document(write: Write, ctx: Context, lines: Iterable[dict[str, Any]]) -> None:
    """One document: schema, language, summary, skipped problems, then the deals (streamed)."""
    head = {"schema": REVIEW_SCHEMA_ID, "lang": ctx.lang, "summary": ctx.summary, "skipped": ctx.skipped}
    if ctx.note:
        head["interrupted"] = ctx.note
    opening = json.dumps(head, ensure_ascii=False, indent=2)
    write(opening[:-2] + ',\n  "deals": [')
    for index, line in enumerate(lines):
        item = json.dumps(line, ensure_ascii=False, indent=2).replace("\n", "\n    ")
        write(("\n    " if index == 0 else ",\n    ") + item)
    write("\n  ]\n}\n")


CSV_COLUMNS = (
    "rank", "file", "deal", "owner", "stage", "value", "currency", "health", "risk",
    "need", "process", "budget", "relationship", "worth", "red_flags",
    "step_1", "people_1", "step_2", "people_2", "step_3", "people_3", "since",
)  # fmt: skip


def csv_rows(write: Write, ctx: Context, lines: Iterable[dict[str, Any]]) -> None:
    """One row per deal for a spreadsheet, ids rather than labels where a filter needs them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for rank, line in enumerate(lines, 1):
        row: list[Any] = [rank, line["file"], line["deal"], line["owner"] or "", line["stage"], line["value"]]
        row += [line["currency"], line["assessment"]["health"], line["risk"]]
        row += [line["assessment"]["criteria"][name] for name in ("need", "process", "budget", "relationship", "worth")]
        row.append(ctx.flags(line) if _red_flags(line) else "")
        for step in (steps(line) + [None] * STEPS)[:STEPS]:
            row += [step["text"], ", ".join(step["stakeholders"])] if step else ["", ""]
        row.append(ctx.movement(line))
        writer.writerow([_cell(value) for value in row])
        write(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``) starts with a quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def html(write: Write, ctx: Context, lines: Iterable[dict[str, Any]]) -> None:
    """One self-contained page (see ``templates/review.html.j2``) with the whole review in every
    language, one shown at a time (``--lang`` first, a switch for the other): a section per
    language, each written deal by deal (``lines`` is gone through once per language)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)
    page = env.get_template("review.html.j2").module
    sections = sorted([ctx, *ctx.others], key=lambda c: LANGS.index(c.lang))
    write(str(page.opening(ctx.lang, [(c.lang, LANGUAGE_NAMES[c.lang]) for c in sections], word("title", ctx.lang))))
    for section in sections:
        _section(write, page, section, lines)
    write(str(page.closing()))


LANGUAGE_NAMES = {"zh": "中文", "en": "English"}  # each in its own language, as a language switch names them


def _section(write: Write, page: Any, ctx: Context, lines: Iterable[dict[str, Any]]) -> None:
    """The review in ``ctx``'s language: summary, charts and totals, then every deal."""
    from dealcoach.engine.review import charts

    w = {key: word(key, ctx.lang) for key in WORDS}
    stages = [(ctx.label("stage", s), t) for s, t in ctx.summary["stages"].items()]
    owners = [(ctx.owner(o), t) for o, t in ctx.summary["owners"].items()]
    health = [(ctx.label("stage", s), bands) for s, bands in ctx.summary["health_by_stage"].items()]
    flags = [(ctx.label("red_flag", code), t["deals"]) for code, t in list(ctx.summary["red_flags"].items())[:8]]
    drawn = {
        "health": charts.health_by_stage(health, w["chart_health"]),
        "flags": charts.frequent_flags(flags, w["chart_flags"]),
    }
    write(str(page.head(w, ctx, ctx.lang, drawn, stages, owners)))
    order = ctx.vocabulary.ids("stage")
    for rank, line in enumerate(lines, 1):
        stage_rank = order.index(line["stage"]) if line["stage"] in order else len(order)
        write(str(page.deal(w, ctx, rank, ctx.view(line), stage_rank)))
    write(str(page.tail(w, ctx)))


TEMPLATES = str(Path(__file__).resolve().parent / "templates")

RENDERERS: dict[str, Callable[..., None]] = {
    "text": text,
    "markdown": lambda write, ctx, lines: text(write, ctx, lines, markdown=True),
    "json": json_document,
    "jsonl": jsonl,
    "csv": csv_rows,
    "html": html,
}
