"""The drill in a terminal: briefing, numbered choices, re-prompts, feedback, debrief.

The same loop serves a person at a keyboard and a script (``--answers`` or piped input): only
where the next line comes from differs. Every answer is stored before its feedback is printed,
so stopping at any point (Ctrl-C, a closed terminal, a killed process) loses nothing.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from functools import partial

import click

from dealcoach.engine import drillsession
from dealcoach.engine.drillsession import Play
from dealcoach.engine.exitcodes import INTERRUPTED, INVALID_INPUT
from dealcoach.engine.kb import scenarios_dir
from dealcoach.engine.templating import wrap

MIN_WIDTH = 40


def width() -> int:
    """The terminal's width (80 columns when output is not a terminal)."""
    return max(MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns - 1)


def _wrapper(session: Play) -> Callable[..., str]:
    """``wrap`` for this terminal, never splitting a person's name across lines."""
    return partial(wrap, width=width(), keep=[p.name for p in session.drill.deal.stakeholders])


def play(session: Play, lines: Iterator[str] | None) -> None:
    zh = session.lang == "zh"
    scenario = session.drill.scenario
    fill = _wrapper(session)
    click.echo(scenario.title(session.lang))
    click.echo(fill(scenario.briefing(session.lang)))
    if session.turns:
        _recap(session)
    while not session.finished:
        _step(session, lines)
    click.echo("")
    click.echo("—— 复盘 ——" if zh else "--- Debrief ---")
    bundled = drillsession.practice(scenarios_dir() / "drills")
    for line in session.debrief().lines(session.kb, bundled, session.drill.name):
        indent = line[: len(line) - len(line.lstrip())]
        click.echo(fill(line.strip(), indent=indent + "    ", first=indent) if line else "")


def _recap(session: Play) -> None:
    """Where a resumed session stands: each step so far, what it scored, and the total."""
    zh = session.lang == "zh"
    fill = _wrapper(session)
    done = len(session.turns)
    click.echo("")
    click.echo(f"（从第 {done + 1} 步继续）" if zh else f"(resuming at step {done + 1})")
    click.echo("到目前为止：" if zh else "So far:")
    for number, turn in enumerate(session.turns, start=1):
        mark = f"{turn.verdict.score:g}/{turn.verdict.max_score:g}"
        click.echo(fill(turn.step.prompt(session.lang), indent="      ", first=f"  {number}. {mark} "))
    score = sum(t.verdict.score for t in session.turns)
    most = sum(t.verdict.max_score for t in session.turns)
    click.echo(f"  合计 {score:g}/{most:g}" if zh else f"  Total {score:g}/{most:g}")


def _step(session: Play, lines: Iterator[str] | None) -> None:
    zh = session.lang == "zh"
    step = session.step
    assert step is not None
    fill = _wrapper(session)
    click.echo("")
    heading = f"第{len(session.turns) + 1}步：" if zh else f"Step {len(session.turns) + 1}: "
    click.echo(fill(heading + step.prompt(session.lang), indent="  ", first=""))
    for number, (_, text) in enumerate(session.choices(), start=1):
        click.echo(fill(text, indent="      ", first=f"  {number}. "))
    while True:
        raw = _read(lines, zh)
        parsed = session.parse(raw)
        if isinstance(parsed, list):
            break
        click.echo(f"  {parsed}")
    verdict, changes = session.answer(parsed)
    click.echo(f"  {'得分' if zh else 'Score'} {verdict.score:g}/{verdict.max_score:g}")
    for line in verdict.feedback:
        click.echo(fill(line, indent="    ", first="  "))
    for change in changes:
        click.echo(fill(("后果：" if zh else "Consequence: ") + change, indent="    ", first="  "))


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
