"""Playing a drill: one session, its answers, the changing deal, and the debrief.

The session is rebuilt from what the store holds (the drill as it was at the start, and every
answer so far), so resuming after a crash replays the same consequences and lands on the same
step. Parsing an answer never raises for a typo: it returns a message for the re-prompt.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dealcoach.engine import yamlsource
from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.deals.deal import Deal
from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.drills import coaching
from dealcoach.engine.drills.drill import Chosen, Drill, Examiner, Scenario, Step, Verdict
from dealcoach.engine.drills.storage import Answer, Session, SessionBusyError, StorageError, Store, now
from dealcoach.engine.playbook.kb import KnowledgeBase, scenarios_dir
from dealcoach.engine.problems import InputError, shorten

NONE_WORDS = {"none", "no", "0", "无", "没有"}
STUDY_PLAN = 3  # concepts in a debrief's study plan: the weakest first; more would not get studied


def spec_of(drill: Drill, layers: list[str] | None = None, seed: int | None = None) -> dict[str, Any]:
    """What the store keeps of a drill: the scenario and its starting deal, as plain data, and the
    company layers it was played with (``--resume`` names them if they are missing), and the seed that
    ordered its choices (so a resumed session shows every choice where it was)."""
    scenario = drill.scenario.model_dump(mode="json")
    scenario["deal"] = drill.deal.model_dump(mode="json", exclude_none=True)
    return {"name": drill.name, "scenario": scenario, "layers": layers or [], "seed": seed}


def attempt_seed(trainee: str, drill: str, attempt: int) -> int:
    """The order of the choices for a trainee's n-th attempt at a drill.

    Derived rather than drawn at random, so a run is reproducible from the database alone, yet
    every attempt (and every trainee) sees the options in a different order: "the right one is
    number 1" is not something a trainee can learn.
    """
    digest = hashlib.sha256(f"{trainee}\0{drill}\0{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def shuffled(choices: list[tuple[str, str]], seed: int | None, step_id: str) -> list[tuple[str, str]]:
    """The choices of one step in the session's order; ``None`` (sessions stored before choices
    were shuffled) keeps the authored order those sessions were shown."""
    if seed is None:
        return choices
    order = list(choices)
    random.Random(f"{seed}:{step_id}").shuffle(order)
    return order


def start(
    kb: KnowledgeBase,
    store: Store,
    drill: Drill,
    trainee: str,
    lang: Lang,
    examiner: Examiner | None = None,
    *,
    seed: int | None = None,
    source: str | None = None,
) -> Play:
    """A new session in ``store``, claimed by this process, whether it is played in a terminal or a
    browser: the choices are in the order of the trainee's next attempt (unless ``seed`` says
    otherwise), and the company layers it is played with are kept for ``--resume``."""
    if seed is None:
        attempt = sum(1 for s in store.sessions(trainee) if s.drill == drill.name)
        seed = attempt_seed(trainee, drill.name, attempt)
    play = Play.begin(kb, drill, lang, examiner, seed=seed)
    layers = [str(d.resolve()) for d in kb.layers[1:]]
    play.session_id = store.start(trainee, drill.name, lang, spec_of(drill, layers, seed), source)
    play.store = store
    return play


def bundled() -> dict[str, Path]:
    """The drills that ship with dealcoach, by name."""
    return {p.stem: p for p in sorted((scenarios_dir() / "drills").glob("*.yaml"))}


def drill_from_spec(spec: dict[str, Any], kb: KnowledgeBase) -> Drill:
    scenario = Scenario.model_validate(spec["scenario"])
    deal = deal_mod.validate(yamlsource.Document(spec["name"], scenario.deal), kb.vocabulary)
    return Drill(spec["name"], scenario, deal)


@dataclass
class Turn:
    step: Step
    verdict: Verdict
    answer: list[str]


@dataclass
class Play:
    kb: KnowledgeBase
    drill: Drill
    lang: Lang
    examiner: Examiner
    deal: Deal
    step: Step | None
    turns: list[Turn] = field(default_factory=list)
    session_id: int | None = None
    store: Store | None = None
    unsaved: list[Answer] = field(default_factory=list)  # answered, not yet in the store (it failed)
    storage_problem: str | None = None  # why the last attempt to save failed
    seed: int | None = None

    @classmethod
    def begin(
        cls, kb: KnowledgeBase, drill: Drill, lang: Lang, examiner: Examiner | None = None, seed: int | None = None
    ) -> Play:
        first = drill.arrive(drill.scenario.steps[0], drill.deal, ())
        return cls(kb, drill, lang, examiner or Examiner(kb), drill.deal, first, seed=seed)

    @classmethod
    def resume(cls, kb: KnowledgeBase, session: Session, store: Store, examiner: Examiner | None = None) -> Play:
        """Rebuild a session by replaying its stored answers (no feedback is shown for them), after
        claiming it for this process (:class:`SessionBusyError` if another has it open). A session
        that cannot be replayed is a :class:`StorageError` that says why, and which layers it used."""
        store.claim(session.id)
        layers = session.spec.get("layers") or []
        needs = f"; it was started with {' '.join(f'--kb {d}' for d in layers)}" if layers else ""
        try:
            drill = drill_from_spec(session.spec, kb)
            play = cls.begin(kb, drill, session.lang, examiner, session.spec.get("seed"))  # type: ignore[arg-type]
            for stored in session.answers:
                play._replay(stored)
        except (InputError, ValidationError, KeyError, TypeError, ValueError, IndexError) as err:
            detail = "; ".join(map(str, err.problems)) if isinstance(err, InputError) else str(err)
            if isinstance(err, KeyError):
                detail = f"the stored drill has no {err}"
            raise StorageError(f"session {session.id} cannot be resumed: {shorten(detail, 300)}{needs}") from None
        play.session_id, play.store = session.id, store
        return play

    def _replay(self, stored: Answer) -> None:
        if self.step is None:
            raise ValueError(f"an answer is stored for step {stored.position + 1}, after the drill's last step")
        allowed = {choice for choice, _ in self.choices()}
        if (
            not isinstance(stored.answer, list)
            or not set(stored.answer) <= allowed
            or (not stored.answer and self.step.kind != "diagnose")
        ):
            raise ValueError(f"the stored answer {stored.answer!r} to step {stored.position + 1} matches no option")
        self._apply(stored.answer)

    @property
    def finished(self) -> bool:
        return self.step is None

    def choices(self) -> list[tuple[str, str]]:
        assert self.step is not None
        return shuffled(self.examiner.choices(self.step, self.deal, self.lang), self.seed, self.step.id)

    def parse(self, raw: str) -> list[str] | str:
        """The answer ids ``raw`` stands for, or a message saying what is allowed."""
        assert self.step is not None
        choices = self.choices()
        zh = self.lang == "zh"
        allowed = f"1-{len(choices)}"
        if self.step.kind == "diagnose":
            text = raw.strip().lower()
            if text in NONE_WORDS:
                return []
            parts = [p for p in text.replace("，", ",").replace("、", ",").replace(" ", ",").split(",") if p]
            picked = [self._pick(p, choices) for p in parts]
            if not parts or None in picked:
                return (
                    f"请输入 {allowed} 之间的编号，用逗号分隔；都没有就输入 none"
                    if zh
                    else f"enter numbers from {allowed}, separated by commas, or none"
                )
            return list(dict.fromkeys(p for p in picked if p is not None))
        picked_one = self._pick(raw.strip(), choices)
        if picked_one is None:
            return f"请输入 {allowed} 之间的一个编号" if zh else f"enter one number from {allowed}"
        return [picked_one]

    @staticmethod
    def _pick(text: str, choices: list[tuple[str, str]]) -> str | None:
        if text.isdigit() and 1 <= int(text) <= len(choices):
            return choices[int(text) - 1][0]
        for choice_id, label in choices:
            if text.casefold() in (choice_id.casefold(), label.casefold()):
                return choice_id
        return None

    def answer(self, answer: list[str]) -> tuple[Verdict, list[str]]:
        """Score an answer, store it, apply its consequences, and move on; returns the changes."""
        assert self.step is not None
        step = self.step
        verdict, changes = self._apply(answer)
        if self.store is not None and self.session_id is not None:
            self.unsaved.append(
                Answer(len(self.turns) - 1, step.id, answer, verdict.score, verdict.max_score, verdict.concepts, now())
            )
            self.save()
        return verdict, changes

    def save(self) -> None:
        """Store every answer not stored yet, in order. A storage failure (a full disk) keeps them
        here and says why in ``storage_problem``; the next answer tries again. Another process
        taking the session over is not retried: :class:`SessionBusyError` stops the drill."""
        assert self.store is not None and self.session_id is not None
        try:
            while self.unsaved:
                self.store.record(self.session_id, self.unsaved[0])
                self.unsaved.pop(0)
            if self.finished:
                self.store.finish(self.session_id)
            self.storage_problem = None
        except SessionBusyError:
            raise
        except StorageError as err:
            self.storage_problem = str(err)

    def _apply(self, answer: list[str]) -> tuple[Verdict, list[str]]:
        assert self.step is not None
        verdict = self.examiner.judge(self.step, self.deal, answer, self.lang)
        changes: list[str] = []
        if verdict.option is not None and verdict.option.move:
            self.deal, changes = self.examiner.consequences(self.deal, verdict.option.move, self.lang)
        verdict.changes = changes
        self.turns.append(Turn(self.step, verdict, answer))
        self.step = self.drill.arrive(self.drill.next_step(self.step, verdict.option), self.deal, self.chosen)
        return verdict, changes

    @property
    def chosen(self) -> Chosen:
        """The options chosen so far, with their steps: what the drill's states test."""
        return tuple((t.step.id, t.verdict.option.id) for t in self.turns if t.verdict.option is not None)

    def ending(self) -> str | None:
        """How the story ends for this result, in the drill's words (None if the drill tells none)."""
        most = sum(t.verdict.max_score for t in self.turns)
        percent = round(100 * sum(t.verdict.score for t in self.turns) / most) if most else 0
        found = self.drill.scenario.ending(percent, self.deal, self.chosen)
        return found.told(self.lang) if found else None

    def debrief(self) -> Debrief:
        """The debrief of the steps answered so far; :class:`InputError` if the knowledge base's
        notes or competencies have problems."""
        debrief = Debrief.of(self.turns, self.kb, self.lang, coaching.load(self.kb))
        debrief.pass_mark = self.drill.scenario.pass_mark
        debrief.explain = self.examiner.explain
        return debrief


@dataclass
class Debrief:
    score: float
    max_score: float
    by_concept: dict[str, tuple[float, float]]
    by_competency: dict[str, tuple[float, float]]
    turns: list[Turn]
    costly: list[Turn]
    review: list[str]  # the concepts to study, weakest first
    lang: Lang
    notes: coaching.Coaching  # the concepts in plain words, and the competencies they belong to
    pass_mark: int | None = None  # percent; the drill's own, when the debrief is of a whole drill
    explain: bool = False  # trainers: the rules behind each concept of the study plan

    @classmethod
    def of(cls, turns: list[Turn], kb: KnowledgeBase, lang: Lang, notes: coaching.Coaching) -> Debrief:
        """``notes`` places each concept in its competency, and later explains the study plan."""
        by_concept: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        by_competency: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for turn in turns:
            for concept in turn.verdict.concepts:
                _add(by_concept[concept], turn.verdict)
            # once per step and competency: a step citing two of its concepts is still one step
            for competency in dict.fromkeys(notes.competency_of(c).id for c in turn.verdict.concepts):
                _add(by_competency[competency], turn.verdict)
        costly = sorted(
            (t for t in turns if t.verdict.score < t.verdict.max_score),
            key=lambda t: t.verdict.score - t.verdict.max_score,
        )
        weak = sorted(
            (c for c, (s, m) in by_concept.items() if s < m),
            key=lambda c: (by_concept[c][0] / by_concept[c][1], by_concept[c][0] - by_concept[c][1]),
        )
        return cls(
            sum(t.verdict.score for t in turns),
            sum(t.verdict.max_score for t in turns),
            {c: (s, m) for c, (s, m) in by_concept.items()},
            {c: (s, m) for c, (s, m) in by_competency.items()},
            turns,
            costly,
            weak,
            lang,
            notes,
        )

    def lines(self, kb: KnowledgeBase, practice: dict[str, list[str]] | None = None, drill: str = "") -> list[str]:
        zh = self.lang == "zh"
        out = [
            ("总分：" if zh else "Score: ")
            + f"{self.score:g}/{self.max_score:g}{_percent(self.score, self.max_score, zh)}"
        ]
        if self.pass_mark is not None:
            passed = percent(self.score, self.max_score) >= self.pass_mark
            if zh:
                out.append(f"{'合格' if passed else '尚未合格'}（及格线 {self.pass_mark}%）")
            else:
                out.append(f"{'Certified' if passed else 'Not yet certified'} (pass mark {self.pass_mark}%)")
        out += ["", "各项能力得分：" if zh else "By competency:"]
        for competency, (score, most) in sorted(
            self.by_competency.items(), key=lambda kv: (kv[1][0] / kv[1][1], kv[0])
        ):
            name = self.notes.competencies.get(competency, coaching.OTHER_COMPETENCY).title(self.lang)
            out.append(f"  {name}{'：' if zh else ': '}{score:g}/{most:g}{_percent(score, most, zh)}")
        if self.costly:
            out += ["", "失分最多的几步：" if zh else "The moves that cost most:"]
            for turn in self.costly[:3]:
                out.append(f"  - {turn.step.prompt(self.lang)}")
                out.append(f"    {turn.verdict.summary}")
        plan = self.plan(practice or {})
        if plan:
            out += ["", "学习计划：" if zh else "Study plan:"]
            for concept in plan:
                out += self._plan_item(kb, concept, (practice or {}).get(concept, []), drill)
        return out

    def plan(self, practice: dict[str, list[str]]) -> list[str]:
        """The concepts to study, weakest first, at most :data:`STUDY_PLAN`: those a drill practises,
        so every one comes with somewhere to practise it (the weakest of all when no drill does)."""
        return ([c for c in self.review if practice.get(c)] or self.review)[:STUDY_PLAN]

    def _plan_item(self, kb: KnowledgeBase, concept: str, drills: list[str], drill: str) -> list[str]:
        """One concept to study: its name, what it means in plain words, and where to practise it
        (another drill if one practises it, else this one again)."""
        zh = self.lang == "zh"
        lines = [f"  - {concept} {kb.concepts[concept].title(self.lang)}"]
        note = self.notes.note(concept, self.lang)
        if note:
            lines.append(f"    {note}")
        where = next((d for d in drills if d != drill), drills[0] if drills else None)
        if where:
            lines.append(("    练习：" if zh else "    Practise: ") + f"dealcoach drill run {where}")
        rules = self._rules_behind(kb, concept)
        if self.explain and rules:
            lines.append(("    规则：" if zh else "    Rules: ") + ("、" if zh else ", ").join(rules))
        return lines

    def _rules_behind(self, kb: KnowledgeBase, concept: str) -> list[str]:
        """The rules of this drill's steps that apply ``concept``: the ones its moves were judged by."""
        rules = kb.rule_by_id
        steps = [t.step for t in self.turns if concept in t.verdict.concepts]
        cited = (o.rule for step in steps for o in step.options if o.rule in rules)
        return sorted({rule for rule in cited if concept in rules[rule].model.concepts})


def _add(total: list[float], verdict: Verdict) -> None:
    total[0] += verdict.score
    total[1] += verdict.max_score


def percent(score: float, most: float) -> int:
    """The share of the points scored, rounded as shown: a verdict never contradicts the number
    printed beside it."""
    return round(100 * score / most) if most else 0


def _percent(score: float, most: float, zh: bool) -> str:
    return f"（{percent(score, most)}%）" if zh else f" ({percent(score, most)}%)"


def practice(directory: Path) -> dict[str, list[str]]:
    """Which drills in ``directory`` practise each concept, read from their steps. A file that
    does not parse is left out here (``drill check`` reports it)."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yamlsource.load(str(path)).data
        except InputError:
            continue
        steps = data.get("steps") if isinstance(data, dict) else None
        for step in steps if isinstance(steps, list) else []:
            for concept in step.get("concepts", []) if isinstance(step, dict) else []:
                if isinstance(concept, str) and path.stem not in found[concept]:
                    found[concept].append(path.stem)
    return dict(found)
