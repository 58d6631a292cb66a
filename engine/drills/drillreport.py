"""Progress a manager can use: each trainee's attempts, a certified/not-yet verdict per drill, scores
by competency and by concept with the number of answers behind each, and the drill to play next.

Every figure comes from the stored sessions alone (each keeps the drill as it was played, with its
title and pass mark), so a report is the same whatever drill files are installed today.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.drills.coaching import OTHER_COMPETENCY, Coaching
from dealcoach.engine.drills.drill import Scenario
from dealcoach.engine.drills.drillsession import percent
from dealcoach.engine.drills.storage import Answer, Session
from dealcoach.engine.playbook.kb import KnowledgeBase
from dealcoach.engine.render.templating import display_width

DEFAULT_PASS_MARK = Scenario.model_fields["pass_mark"].default  # sessions stored before drills had one


def _topic(concept: str) -> str:
    return concept.rstrip("0123456789")


class _Tally:
    """Points scored and possible, and how many answers they come from (the sample size)."""

    def __init__(self) -> None:
        self.score = self.max = 0.0
        self.answers = 0

    def add(self, answer: Answer) -> None:
        self.score += answer.score
        self.max += answer.max_score
        self.answers += 1


def _rows(totals: dict[str, _Tally], title: Any) -> list[dict[str, Any]]:
    rows = [
        {
            "id": key,
            "title": title(key),
            "score": t.score,
            "max": t.max,
            "percent": percent(t.score, t.max),
            "answers": t.answers,
        }
        for key, t in totals.items()
    ]
    return sorted(rows, key=lambda r: (r["percent"], -r["answers"], r["id"]))


def title_of(session: Session) -> dict[str, str]:
    """The drill's title as it was played, in both languages (its name if the spec has none)."""
    title = (session.spec.get("scenario") or {}).get("title")
    return (
        title
        if isinstance(title, dict) and {"zh", "en"} <= title.keys()
        else {"zh": session.drill, "en": session.drill}
    )


def _pass_mark(session: Session) -> int:
    mark = (session.spec.get("scenario") or {}).get("pass_mark")
    return mark if isinstance(mark, int) else DEFAULT_PASS_MARK


def _attempt(session: Session) -> dict[str, Any]:
    score = sum(a.score for a in session.answers)
    most = sum(a.max_score for a in session.answers)
    finished = session.finished_at is not None
    mark = _pass_mark(session)
    return {
        "drill": session.drill,
        "title": title_of(session),
        "started_at": session.started_at,
        "finished": finished,
        "score": score,
        "max": most,
        "percent": percent(score, most),
        "answers": len(session.answers),
        "pass_mark": mark,
        "passed": finished and percent(score, most) >= mark,
    }


def _verdicts(attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per drill: certified once a finished attempt reached its pass mark (a certificate, once
    earned, stands); the best finished score, and how many attempts were finished."""
    by_drill: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for attempt in attempts:
        by_drill[attempt["drill"]].append(attempt)
    verdicts = []
    for drill, own in sorted(by_drill.items()):
        done = [a for a in own if a["finished"]]
        verdicts.append(
            {
                "drill": drill,
                "title": own[-1]["title"],
                "certified": any(a["passed"] for a in done),
                "best_percent": max((a["percent"] for a in done), default=None),
                "pass_mark": own[-1]["pass_mark"],
                "finished": len(done),
                "attempts": len(own),
            }
        )
    return verdicts


def progress(sessions: list[Session], kb: KnowledgeBase, coaching: Coaching) -> list[dict[str, Any]]:
    """Every trainee's progress, trainees by name; a step counts once per competency however many
    of its concepts the competency holds."""
    by_trainee: dict[str, list[Session]] = defaultdict(list)
    for session in sessions:
        by_trainee[session.trainee].append(session)
    report = []
    for trainee, own in sorted(by_trainee.items()):
        concepts: dict[str, _Tally] = defaultdict(_Tally)
        topics: dict[str, _Tally] = defaultdict(_Tally)
        competencies: dict[str, _Tally] = defaultdict(_Tally)
        for answer in (a for s in own for a in s.answers):
            for concept in answer.concepts:
                concepts[concept].add(answer)
            for key in dict.fromkeys(_topic(c) for c in answer.concepts):
                topics[key].add(answer)
            for key in dict.fromkeys(coaching.competency_of(c).id for c in answer.concepts):
                competencies[key].add(answer)
        attempts = [_attempt(s) for s in own]
        report.append(
            {
                "trainee": trainee,
                "last_practised": max(
                    (a.answered_at for s in own for a in s.answers), default=max(s.started_at for s in own)
                ),
                "attempts": attempts,
                "drills": _verdicts(attempts),
                "competencies": _rows(
                    competencies, lambda c: coaching.competencies.get(c, OTHER_COMPETENCY).title("en")
                ),
                "concepts": _rows(concepts, lambda c: kb.concepts[c].en if c in kb.concepts else c),
                "topics": _rows(topics, lambda t: kb.topics.get(t, t)),
            }
        )
    return report


def render(
    report: list[dict[str, Any]], kb: KnowledgeBase, coaching: Coaching, fmt: str, lang: Lang, team: bool = False
) -> str:
    if fmt == "json":
        return (
            json.dumps({"team": [_team_view(t) for t in report]} if team else report, ensure_ascii=False, indent=2)
            + "\n"
        )
    if fmt == "csv":
        return _csv(report)
    return _text(report, kb, coaching, lang, team)


def _team_view(trainee: dict[str, Any]) -> dict[str, Any]:
    """What a manager compares across trainees: verdicts and concepts, without every attempt."""
    return {key: trainee[key] for key in ("trainee", "last_practised", "drills", "competencies", "concepts")}


def _csv(report: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["trainee", "kind", "id", "title", "score", "max", "percent", "when", "answers"])
    for trainee in report:
        for attempt in trainee["attempts"]:
            writer.writerow(
                [
                    trainee["trainee"],
                    "attempt",
                    attempt["drill"],
                    "finished" if attempt["finished"] else "unfinished",
                    attempt["score"],
                    attempt["max"],
                    attempt["percent"],
                    attempt["started_at"],
                    attempt["answers"],
                ]
            )
        for kind in ("competencies", "concepts", "topics"):
            for row in trainee[kind]:
                writer.writerow(
                    [
                        trainee["trainee"],
                        {"competencies": "competency", "concepts": "concept", "topics": "topic"}[kind],
                        row["id"],
                        row["title"],
                        row["score"],
                        row["max"],
                        row["percent"],
                        "",
                        row["answers"],
                    ]
                )
    return out.getvalue()


def _when(stamp: str) -> str:
    """A stored UTC time as a reader writes it: 2026-12-07 03:35 (no ISO ``T``, in either language)."""
    try:
        return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


def _text(report: list[dict[str, Any]], kb: KnowledgeBase, coaching: Coaching, lang: Lang, team: bool) -> str:
    zh = lang == "zh"
    if not report:
        return "还没有演练记录。\n" if zh else "No drills played yet.\n"
    lines = []
    if team:
        lines.append(f"团队进度：{len(report)} 名学员" if zh else f"Team progress: {len(report)} trainee(s)")
        lines.append(
            "每个百分比后面是它所依据的答题数：题数少的，百分比还说明不了多少。"
            if zh
            else "Each percentage is followed by the number of answers behind it: a few answers prove little."
        )
    for trainee in report:
        lines += [""] if team else []
        lines += _team_block(trainee, lang) if team else _trainee_block(trainee, coaching, lang)
        lines.append("  各要点（最弱在前）：" if zh else "  By concept, weakest first:")
        for row in trainee["concepts"]:
            title = kb.concepts[row["id"]].title(lang) if row["id"] in kb.concepts else row["id"]
            lines.append(_row(row, f"{row['id']} {title}", zh))
    return "\n".join(lines) + "\n"


def _row(row: dict[str, Any], name: str, zh: bool) -> str:
    count = f"（答过 {row['answers']} 题）" if zh else f" ({row['answers']} answer{'s' if row['answers'] != 1 else ''})"
    return f"    {row['percent']:>3}%  {name}{count}"


def _trainee_block(trainee: dict[str, Any], coaching: Coaching, lang: Lang) -> list[str]:
    zh = lang == "zh"
    lines = [
        f"{trainee['trainee']}：{len(trainee['attempts'])} 次演练"
        if zh
        else f"{trainee['trainee']}: {len(trainee['attempts'])} attempt(s)"
    ]
    for attempt in trainee["attempts"]:
        state = "" if attempt["finished"] else ("（未完成）" if zh else " (unfinished)")
        shown = f"（{attempt['percent']}%）" if zh else f" ({attempt['percent']}%)"
        lines.append(
            f"  {_when(attempt['started_at'])}  {attempt['title'][lang]}  "
            f"{attempt['score']:g}/{attempt['max']:g}{shown}{state}"
        )
    lines.append("  各项能力（最弱在前）：" if zh else "  By competency, weakest first:")
    for row in trainee["competencies"]:
        lines.append(_row(row, coaching.competencies.get(row["id"], OTHER_COMPETENCY).title(lang), zh))
    return lines


def _team_block(trainee: dict[str, Any], lang: Lang) -> list[str]:
    zh = lang == "zh"
    when = _when(trainee["last_practised"])[:10]
    lines = [f"{trainee['trainee']}（上次练习 {when}）" if zh else f"{trainee['trainee']} (last practised {when})"]
    lines.append("  认证：" if zh else "  Certification:")
    verdicts = [_verdict(d, zh) for d in trainee["drills"]]
    column = max(display_width(v) for v, _ in verdicts)
    for verdict, detail in verdicts:
        lines.append(f"    {verdict}{' ' * (column - display_width(verdict))}  {detail}")
    return lines


def _verdict(drill: dict[str, Any], zh: bool) -> tuple[str, str]:
    """The verdict word, and the drill with the figures behind it."""
    title = drill["title"]["zh" if zh else "en"]
    if drill["best_percent"] is None:
        detail = f"{title}（还没有完成过）" if zh else f"{title} (not finished yet)"
    elif zh:
        detail = f"{title}（最好 {drill['best_percent']}%，及格线 {drill['pass_mark']}%，完成 {drill['finished']} 次）"
    else:
        detail = (
            f"{title} (best {drill['best_percent']}%, pass mark {drill['pass_mark']}%, {drill['finished']} finished)"
        )
    word = ("合格" if zh else "Certified") if drill["certified"] else ("尚未合格" if zh else "Not yet")
    return word, detail


# Spaced repetition for `drill next`. How well a trainee still knows a concept decays with time
# since it was last practised, and decays more slowly each time it was fully mastered (a Leitner
# box, written as a forgetting curve):
#     recall(c) = m(c) * 2 ** (-days(c) / half_life(c)),   half_life(c) = HALF_LIFE_DAYS * 2 ** k(c)
# m(c): the share of the points scored on c in the latest session that practised it; days(c): days
# since that answer; k(c): the number of sessions in which every answer on c scored full marks.
# need(c) = 1 - recall(c), or NEW_CONCEPT_NEED for a concept never practised; the next drill is
# the bundled drill whose concepts have the highest mean need (ties: fewer attempts, then name).
HALF_LIFE_DAYS = 7.0
NEW_CONCEPT_NEED = 0.5  # a new concept is as urgent as one half forgotten: weak ones come first


@dataclass(frozen=True)
class Memory:
    """What the store says about one concept for one trainee."""

    last_ratio: float  # m(c)
    last_answered: datetime
    mastered: int  # k(c)

    def need(self, today: datetime) -> float:
        days = max(0.0, (today - self.last_answered).total_seconds() / 86400)
        return 1 - self.last_ratio * 2 ** (-days / (HALF_LIFE_DAYS * 2**self.mastered))


def memories(sessions: list[Session]) -> dict[str, Memory]:
    """Each concept the sessions practised, as of its latest answer."""
    latest: dict[str, tuple[datetime, float]] = {}
    mastered: dict[str, int] = defaultdict(int)
    for session in sessions:
        per_concept: dict[str, _Tally] = defaultdict(_Tally)
        for answer in session.answers:
            for concept in answer.concepts:
                per_concept[concept].add(answer)
        when = {c: max(a.answered_at for a in session.answers if c in a.concepts) for c in per_concept}
        for concept, tally in per_concept.items():
            ratio = tally.score / tally.max if tally.max else 0.0
            stamp = _parse(when[concept])
            if concept not in latest or stamp >= latest[concept][0]:
                latest[concept] = (stamp, ratio)
            mastered[concept] += ratio == 1.0
    return {c: Memory(ratio, stamp, mastered[c]) for c, (stamp, ratio) in latest.items()}


def _parse(stamp: str) -> datetime:
    parsed = datetime.fromisoformat(stamp)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Pick:
    drill: str
    need: float
    concepts: list[tuple[str, float]]  # the drill's concepts, neediest first, with their need


def next_drill(sessions: list[Session], practice: dict[str, list[str]], today: datetime) -> Pick | None:
    """The bundled drill to play next (see the formula above); None when there is no drill."""
    known = memories(sessions)
    drills: dict[str, list[str]] = defaultdict(list)
    for concept, names in practice.items():
        for name in names:
            drills[name].append(concept)
    played = defaultdict(int, {d: sum(1 for s in sessions if s.drill == d) for d in drills})
    picks = []
    for name, concepts in drills.items():
        needs = sorted(
            ((c, known[c].need(today) if c in known else NEW_CONCEPT_NEED) for c in concepts),
            key=lambda cn: (-cn[1], cn[0]),
        )
        picks.append(Pick(name, sum(n for _, n in needs) / len(needs), needs))
    return min(picks, key=lambda p: (-round(p.need, 9), played[p.drill], p.drill), default=None)


def explain_pick(pick: Pick, sessions: list[Session], kb: KnowledgeBase, today: datetime, lang: Lang) -> list[str]:
    """Why this drill: its neediest concepts (at most three), each with the last score and how
    long ago, or that it was never practised."""
    zh = lang == "zh"
    known = memories(sessions)
    lines = [
        "挑选办法：上次得分越低、隔得越久的要点，越该练（间隔重复）。"
        if zh
        else "Picked by spaced repetition: the lower your last score on a concept and the longer ago, the sooner.",
        "为什么选它：" if zh else "Why this one:",
    ]
    for concept, _ in pick.concepts[:3]:
        title = kb.concepts[concept].title(lang) if concept in kb.concepts else concept
        memory = known.get(concept)
        if memory is None:
            why = "还没练过" if zh else "not practised yet"
        else:
            days = max(0, math.floor((today - memory.last_answered).total_seconds() / 86400))
            score = round(100 * memory.last_ratio)
            why = f"上次得分 {score}%，距今 {days} 天" if zh else f"last scored {score}%, {days} day(s) ago"
        lines.append(f"  - {concept} {title}{'：' if zh else ': '}{why}")
    return lines
