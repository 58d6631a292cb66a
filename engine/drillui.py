"""The drill in a terminal: briefing, numbered choices, re-prompts, feedback, debrief.

The same loop serves a person at a keyboard and a script (``--answers`` or piped input): only
where the next line comes from differs. Every answer is stored before its feedback is printed,
so stopping at any point (Ctrl-C, a closed terminal, a killed process) loses nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import click

from dealcoach.engine.drillsession import Play
from dealcoach.engine.exitcodes import INTERRUPTED, INVALID_INPUT
from dealcoach.engine.templating import wrap


def play(session: Play, lines: Iterator[str] | None) -> None:
    zh = session.lang == "zh"
    scenario = session.drill.scenario
    click.echo(scenario.title(session.lang))
    if session.turns:
        click.echo(
            f"（从第 {len(session.turns) + 1} 步继续）" if zh else f"(resuming at step {len(session.turns) + 1})"
        )
    else:
        click.echo(wrap(scenario.briefing(session.lang), 80))
    while not session.finished:
        _step(session, lines)
    click.echo("")
    click.echo("—— 复盘 ——" if zh else "--- Debrief ---")
    for line in session.debrief().lines(session.kb):
        indent = line[: len(line) - len(line.lstrip())]
        click.echo(wrap(line.strip(), 80, indent + "    ", indent) if line else "")


def _step(session: Play, lines: Iterator[str] | None) -> None:
    zh = session.lang == "zh"
    step = session.step
    assert step is not None
    click.echo("")
    click.echo(
        wrap(
            f"{'第' if zh else 'Step '}{len(session.turns) + 1}{'步' if zh else ''}: {step.prompt(session.lang)}",
            80,
            "  ",
            "",
        )
    )
    for number, (_, text) in enumerate(session.choices(), start=1):
        click.echo(wrap(text, 80, "      ", f"  {number}. "))
    while True:
        raw = _read(lines, zh)
        parsed = session.parse(raw)
        if isinstance(parsed, list):
            break
        click.echo(f"  {parsed}")
    verdict, changes = session.answer(parsed)
    click.echo(f"  {'得分' if zh else 'Score'} {verdict.score:g}/{verdict.max_score:g}")
    for line in verdict.feedback:
        click.echo(wrap(line, 80, "    ", "  "))
    for change in changes:
        click.echo(wrap(("后果：" if zh else "Consequence: ") + change, 80, "    ", "  "))


def _read(lines: Iterator[str] | None, zh: bool) -> str:
    saved = "进度已保存，用 --resume 继续。" if zh else "Progress saved; continue with --resume."
    if lines is None:
        try:
            return click.prompt(">", prompt_suffix=" ", default="", show_default=False)
        except click.exceptions.Abort:
            click.echo("")
            click.echo(saved)
            sys.exit(INTERRUPTED)
    raw = next(lines, None)
    if raw is None:
        click.echo(
            ("答案用完了，演练还没结束。" if zh else "The answers ran out before the end of the drill. ") + saved
        )
        sys.exit(INVALID_INPUT)
    click.echo(f"> {raw}")
    return raw
