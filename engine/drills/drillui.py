"""The drill in a terminal: briefing, numbered choices, re-prompts, feedback, debrief.

The same loop serves a person at a keyboard and a script (``--answers`` or piped input): only
where the next line comes from differs. Every answer is stored before its feedback is printed,
so stopping at any point (Ctrl-C, a closed terminal, a killed process) loses nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from functools import partial

import click

from dealcoach.engine.drills import drillsession
from dealcoach.engine.drills.drillsession import Play
from dealcoach.engine.drills.storage import SessionBusyError
from dealcoach.engine.exitcodes import INTERRUPTED, INVALID_INPUT
from dealcoach.engine.playbook.kb import scenarios_dir
from dealcoach.engine.problems import InputError
from dealcoach.engine.render.templating import display_width, wrap
from dealcoach.engine.render.terminal import output_width

COMMAND_LABEL = 14  # the widest indent and label before a command in the debrief: "    Practise: "


def _wrapper(session: Play, commands: Iterable[str] = ()) -> Callable[..., str]:
    """``wrap`` for this terminal, never splitting a person's name (or one of ``commands``, to be
    copied and pasted) across lines."""
    width = output_width()
    # A command wider than a line after its label (练习：) breaks at its spaces instead: kept whole,
    # it would be cut inside the drill's name.
    fitting = [c for c in commands if display_width(c) <= width - COMMAND_LABEL]
    return partial(wrap, width=width, keep=[*(p.name for p in session.drill.deal.stakeholders), *fitting])


def play(session: Play, lines: Iterator[str] | None) -> None:
    """The whole drill. Ctrl-C at any point (at a prompt, or while piped answers are read) exits 130
    with what was saved; another process taking the session over exits 2 with what was not."""
    try:
        _play_and_release(session, lines)
    except KeyboardInterrupt:
        click.echo("")
        _stop(session, INTERRUPTED)
    except SessionBusyError as err:
        click.echo(f"dealcoach: {err}", err=True)
        _stop(session, INVALID_INPUT)
    except InputError as err:  # a company layer's template failed on the drill's deal
        for problem in err.problems:
            click.echo(str(problem), err=True)
        _stop(session, INVALID_INPUT)
    if session.unsaved:
        _stop(session, INVALID_INPUT)


def _play_and_release(session: Play, lines: Iterator[str] | None) -> None:
    try:
        _play(session, lines)
    finally:
        if session.store is not None and session.session_id is not None:
            session.store.release(session.session_id)


def _stop(session: Play, code: int) -> None:
    """Say what is saved (and, if the store failed, the answers it could not keep), then exit."""
    click.echo(_progress(session), err=bool(session.unsaved))
    sys.exit(INVALID_INPUT if session.unsaved else code)


def _progress(session: Play) -> str:
    zh = session.lang == "zh"
    if not session.unsaved:
        return "进度已保存，用 --resume 继续。" if zh else "Progress saved; continue with --resume."
    lines = "\n".join(",".join(a.answer) or "none" for a in session.unsaved)
    if zh:
        head = (
            f"有 {len(session.unsaved)} 个答案没能保存（{session.storage_problem}）。"
            "数据库恢复后，把下面几行存成文件，用 --resume --answers 文件 继续："
        )
    else:
        head = (
            f"{len(session.unsaved)} answer(s) could not be saved ({session.storage_problem}). Once the database "
            "works again, put these lines in a file and continue with --resume --answers FILE:"
        )
    return f"{head}\n{lines}"


def _play(session: Play, lines: Iterator[str] | None) -> None:
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
    ending = session.ending()
    if ending:
        click.echo(fill(ending))
        click.echo("")
    bundled = drillsession.practice(scenarios_dir() / "drills")
    fill = _wrapper(session, sorted({f"dealcoach drill run {d}" for drills in bundled.values() for d in drills}))
    for line in session.debrief().lines(session.kb, bundled, session.drill.name):
        indent = line[: len(line) - len(line.lstrip())]
        hanging = indent + ("  " if line.lstrip().startswith("- ") else "")
        click.echo(fill(line.strip(), indent=hanging, first=indent) if line else "")


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
    known = session.examiner.situation(step, session.deal, session.lang)
    if known:
        click.echo("  你掌握的情况：" if zh else "  What you know:")
    for line in known:
        click.echo(fill(line, indent="      ", first="    - "))
    for number, (_, text) in enumerate(session.choices(), start=1):
        click.echo(fill(text, indent="      ", first=f"  {number}. "))
    while True:
        raw = _read(session, lines)
        parsed = session.parse(raw)
        if isinstance(parsed, list):
            break
        click.echo(f"  {parsed}")
    verdict, changes = session.answer(parsed)
    if session.storage_problem:
        note = (
            f"  答案暂未保存（{session.storage_problem}）；下一步会再试。"
            if zh
            else f"  Not saved yet ({session.storage_problem}); kept, and saved with your next answer."
        )
        click.echo(note, err=True)
    click.echo(f"  {'得分' if zh else 'Score'} {verdict.score:g}/{verdict.max_score:g}")
    for line in verdict.feedback:
        click.echo(fill(line, indent="    ", first="  "))
    for change in changes:
        click.echo(fill(("后果：" if zh else "Consequence: ") + change, indent="    ", first="  "))


def _read(session: Play, lines: Iterator[str] | None) -> str:
    zh = session.lang == "zh"
    if lines is None:
        try:
            return click.prompt(">", prompt_suffix=" ", default="", show_default=False)
        except click.exceptions.Abort:
            raise KeyboardInterrupt from None  # Ctrl-C or Ctrl-D at the prompt: stop, saying what is saved
    raw = next(lines, None)
    if raw is None:
        ran_out = "答案用完了，演练还没结束。" if zh else "The answers ran out before the end of the drill. "
        if session.unsaved:
            click.echo(ran_out.rstrip())
            _stop(session, INVALID_INPUT)
        click.echo(ran_out + _progress(session))
        sys.exit(INVALID_INPUT)
    click.echo(f"> {raw}")
    return raw
