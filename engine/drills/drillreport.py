"""A trainee's progress over time: attempts, and scores by concept and by topic, weakest first."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from typing import Any

from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.drills.storage import Session
from dealcoach.engine.playbook.kb import KnowledgeBase


def _topic(concept: str) -> str:
    return concept.rstrip("0123456789")


def _scores(totals: dict[str, list[float]], title: Any) -> list[dict[str, Any]]:
    rows = [
        {"id": key, "title": title(key), "score": s, "max": m, "percent": round(100 * s / m) if m else 0}
        for key, (s, m) in totals.items()
    ]
    return sorted(rows, key=lambda r: (r["percent"], r["id"]))


def progress(sessions: list[Session], kb: KnowledgeBase) -> list[dict[str, Any]]:
    by_trainee: dict[str, list[Session]] = defaultdict(list)
    for session in sessions:
        by_trainee[session.trainee].append(session)
    report = []
    for trainee, own in sorted(by_trainee.items()):
        concepts: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        topics: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        attempts = []
        for session in own:
            for answer in session.answers:
                for concept in answer.concepts:
                    for table, key in ((concepts, concept), (topics, _topic(concept))):
                        table[key][0] += answer.score
                        table[key][1] += answer.max_score
            attempts.append(
                {
                    "drill": session.drill,
                    "started_at": session.started_at,
                    "finished": session.finished_at is not None,
                    "score": sum(a.score for a in session.answers),
                    "max": sum(a.max_score for a in session.answers),
                    "answers": len(session.answers),
                }
            )
        report.append(
            {
                "trainee": trainee,
                "attempts": attempts,
                "concepts": _scores(concepts, lambda c: kb.concepts[c].en if c in kb.concepts else c),
                "topics": _scores(topics, lambda t: kb.topics.get(t, t)),
            }
        )
    return report


def render(report: list[dict[str, Any]], kb: KnowledgeBase, fmt: str, lang: Lang) -> str:
    if fmt == "json":
        return json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        return _csv(report)
    return _text(report, kb, lang)


def _csv(report: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["trainee", "kind", "id", "title", "score", "max", "percent", "when"])
    for trainee in report:
        for attempt in trainee["attempts"]:
            percent = round(100 * attempt["score"] / attempt["max"]) if attempt["max"] else 0
            writer.writerow(
                [
                    trainee["trainee"],
                    "attempt",
                    attempt["drill"],
                    "finished" if attempt["finished"] else "unfinished",
                    attempt["score"],
                    attempt["max"],
                    percent,
                    attempt["started_at"],
                ]
            )
        for kind in ("concepts", "topics"):
            for row in trainee[kind]:
                writer.writerow(
                    [
                        trainee["trainee"],
                        kind[:-1],
                        row["id"],
                        row["title"],
                        row["score"],
                        row["max"],
                        row["percent"],
                        "",
                    ]
                )
    return out.getvalue()


def _text(report: list[dict[str, Any]], kb: KnowledgeBase, lang: Lang) -> str:
    zh = lang == "zh"
    if not report:
        return "还没有演练记录。\n" if zh else "No drills played yet.\n"
    lines = []
    for trainee in report:
        lines.append(f"{trainee['trainee']}: {len(trainee['attempts'])} {'次演练' if zh else 'attempt(s)'}")
        for attempt in trainee["attempts"]:
            state = "" if attempt["finished"] else (" （未完成）" if zh else " (unfinished)")
            lines.append(
                f"  {attempt['started_at']}  {attempt['drill']}: {attempt['score']:g}/{attempt['max']:g}{state}"
            )
        lines.append("  按要点（最弱在前）：" if zh else "  By concept, weakest first:")
        for row in trainee["concepts"]:
            title = kb.concepts[row["id"]].title(lang) if row["id"] in kb.concepts else row["id"]
            lines.append(f"    {row['percent']:>3}%  {row['id']} {title}")
        lines.append("  按主题（最弱在前）：" if zh else "  By topic, weakest first:")
        for row in trainee["topics"]:
            lines.append(f"    {row['percent']:>3}%  {row['id']} {row['title']}")
    return "\n".join(lines) + "\n"
