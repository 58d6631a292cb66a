"""Role-play drills: the advisor run in reverse.

A drill starts from a deal (the public deal format) and asks the trainee, step by step, to read
the situation (identify, diagnose) and to choose moves (move, negotiate). The knowledge base is
the examiner: a move is good because the rule it cites fires on the deal as it stands at that
step; a red flag is there because the assessment derives it. A move's consequence is a reaction
rule of the knowledge base, and the next step sees the changed deal, so an earlier choice can
change what the right answer is later.

This module holds the scenario model and the scoring of one step; ``drillsession`` plays a whole
drill and ``storage`` keeps the answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dealcoach.engine import yamlsource
from dealcoach.engine.advising import advice as advice_mod
from dealcoach.engine.advising import assessment as assessment_mod
from dealcoach.engine.advising.whynot import WhyNot
from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.deals.deal import Deal
from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.drills import situation as situation_mod
from dealcoach.engine.matching.runner import Advisor, Outcome
from dealcoach.engine.playbook.kb import KnowledgeBase
from dealcoach.engine.problems import InputError, Problem
from dealcoach.engine.render.templating import display_width, tidy

Chosen = tuple[tuple[str, str], ...]  # (step id, option id) of every option chosen on a path, in order

# Models build their validators on first use (defer_build): every command imports this module,
# only the drill commands validate scenarios, and building eagerly would slow every start-up.
END = "end"  # `next: end` finishes the drill
# The longest option of a move step may be at most this many times the shortest, in either
# language: otherwise "pick the longest, most careful-sounding one" finds the answer.
LENGTH_SPREAD = 1.35
OUTCOMES_KEPT = 64
MAX_POINTS = 5000  # `drill check` explores at most this many step visits per drill
ASKS = {"identify": ("role", "attitude", "relationship", "style"), "diagnose": ("red_flags", "criteria_at_risk")}


class Text(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def __call__(self, lang: Lang) -> str:
        return tidy(self.zh if lang == "zh" else self.en)


class When(BaseModel):
    """A state of the drill on one path: what a prompt or an ending takes for granted.

    Every key that is given must hold: the signals are all up (``signals``) or all down
    (``without``), each named person has one of the attitudes listed, and the trainee chose one of
    the ``chose`` options (and none of the ``avoided`` ones) earlier on the path.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    signals: list[str] = []
    without: list[str] = []
    attitudes: dict[str, list[str]] = {}
    chose: list[str] = []
    avoided: list[str] = []

    def holds(self, deal: Deal, chosen: Chosen) -> bool:
        ids = {option for _, option in chosen}
        attitude = {p.name: p.attitude for p in deal.stakeholders}
        return (
            set(self.signals) <= set(deal.signals)
            and not set(self.without) & set(deal.signals)
            and all(attitude.get(name) in allowed for name, allowed in self.attitudes.items())
            and (not self.chose or bool(ids & set(self.chose)))
            and not ids & set(self.avoided)
        )


class Variant(BaseModel):
    """A prompt told for one state of the drill (who resisted, what was conceded)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    when: When
    prompt: Text


class Option(BaseModel):
    """A move the trainee may choose; ``rule`` is the playbook rule that makes it a good move."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    text: Text
    good: bool
    rule: str | None = None
    about: str | None = None  # the stakeholder the rule's advice must name, when it fires for several
    move: str | None = None
    next: str | None = None

    @model_validator(mode="after")
    def _good_needs_rule(self) -> Option:
        if self.good and not self.rule:
            raise ValueError("a good option must name the rule that makes it good")
        return self


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: Literal["identify", "move", "negotiate", "diagnose"]
    prompt: Text
    assumes: When | None = None  # the state ``prompt`` takes for granted; check proves every path has it
    variants: list[Variant] = []  # prompts for other states: the first whose ``when`` holds is shown
    only_when: When | None = None  # a step for one state (a complaint still open): skipped in any other
    concepts: list[str] = Field(min_length=1)
    ask: str | None = None
    role: str | None = None
    stakeholder: str | None = None
    about: str | None = None  # the person a move step is about: its moves are judged for them
    options: list[Option] = []
    choices: list[str] = []  # diagnose: the red flags or criteria offered, right and wrong ones
    defensible: list[str] = []  # diagnose: choices a good rep could argue for; they cost nothing
    cues: Text | None = None  # identify: what in the person's behaviour gives the answer away
    next: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> Step:
        if self.kind in ("move", "negotiate"):
            if len(self.options) < 2 or not any(o.good for o in self.options):
                raise ValueError("a move step needs at least two options, one of them good")
        elif self.ask not in ASKS[self.kind]:
            raise ValueError(f"'ask' must be one of {', '.join(ASKS[self.kind])} for a {self.kind} step")
        if self.kind == "identify" and self.ask == "role" and not self.role:
            raise ValueError("an identify-role step names the role to find: role: coach")
        if self.kind == "identify" and self.ask != "role" and not self.stakeholder:
            raise ValueError(f"an identify-{self.ask} step names the stakeholder: stakeholder: 张伟")
        if self.kind == "diagnose" and len(self.choices) < 2:
            raise ValueError("a diagnose step offers at least two choices")
        if set(self.defensible) - set(self.choices):
            raise ValueError("'defensible' may list only the step's own choices")
        return self


OUTCOMES = {
    "won": ("赢单", "won"),
    "kept": ("守住了客户", "account kept"),
    "share_moved": ("份额有变", "share moved"),
    "stalled": ("项目搁浅", "stalled"),
    "lost": ("丢单", "lost"),
}


class Ending(BaseModel):
    """How the story ends for one kind of result, in the drill author's words.

    An ending fits a result when the trainee scored at least ``at_least`` percent and the path
    ended in the state ``when`` describes; the first that fits, in the file's order, is told.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    outcome: Literal["won", "kept", "share_moved", "stalled", "lost"]
    at_least: int = Field(default=0, ge=0, le=100)
    when: When | None = None
    text: Text

    def fits(self, percent: int, deal: Deal, chosen: Chosen) -> bool:
        return percent >= self.at_least and (self.when is None or self.when.holds(deal, chosen))

    def told(self, lang: Lang) -> str:
        zh, en = OUTCOMES[self.outcome]
        return f"结局（{zh}）：{self.text(lang)}" if lang == "zh" else f"The ending ({en}): {self.text(lang)}"


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    title: Text
    briefing: Text
    minutes: int = Field(default=10, ge=1, le=120)
    pass_mark: int = Field(default=80, ge=1, le=100)  # percent of the points a certified trainee scores
    deal: str | dict[str, Any]
    steps: list[Step] = Field(min_length=1)
    endings: list[Ending] = []

    @model_validator(mode="after")
    def _an_ending_for_every_result(self) -> Scenario:
        last = self.endings[-1] if self.endings else None
        if last is not None and (last.at_least or last.when is not None):
            raise ValueError(
                "the last ending must have neither `at_least` nor `when`: it is told for every result the others miss"
            )
        return self

    def ending(self, percent: int, deal: Deal, chosen: Chosen) -> Ending | None:
        """The ending for a trainee who scored ``percent`` and left the deal in this state."""
        return next((e for e in self.endings if e.fits(percent, deal, chosen)), None)

    @property
    def concepts(self) -> list[str]:
        return list(dict.fromkeys(c for s in self.steps for c in s.concepts))

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def next_step(self, step: Step, option: Option | None) -> Step | None:
        """Where the drill goes after ``step``: the option's or the step's ``next`` (``end`` finishes
        the drill), else the following step in the file."""
        target = (option.next if option else None) or step.next
        if target == END:
            return None
        if target:
            return self.step(target)
        index = [s.id for s in self.steps].index(step.id)  # by id: ``step`` may be told with a variant prompt
        return self.steps[index + 1] if index + 1 < len(self.steps) else None


@dataclass
class Drill:
    """A loaded scenario: its steps, and its starting deal validated like any deal file."""

    name: str
    scenario: Scenario
    deal: Deal
    document: yamlsource.Document | None = None

    def step(self, step_id: str) -> Step:
        return self.scenario.step(step_id)

    def next_step(self, step: Step, option: Option | None) -> Step | None:
        return self.scenario.next_step(step, option)

    def arrive(self, step: Step | None, deal: Deal, chosen: Chosen) -> Step | None:
        """The step the trainee meets on this path when the drill goes to ``step``: steps meant for
        another state are passed over, and the one met is told with the first variant prompt whose
        state holds, else with its own prompt."""
        while step is not None and step.only_when is not None and not step.only_when.holds(deal, chosen):
            step = self.next_step(step, None)
        if step is None:
            return None
        variant = next((v for v in step.variants if v.when.holds(deal, chosen)), None)
        return step.model_copy(update={"prompt": variant.prompt}) if variant else step


def load(path: Path, kb: KnowledgeBase) -> Drill:
    """A drill scenario file, checked against the knowledge base; InputError lists every problem."""
    document = yamlsource.load(str(path))
    try:
        scenario = Scenario.model_validate(document.data)
    except ValidationError as err:
        raise InputError(
            document.problem(tuple(e["loc"]), _message(e)) for e in err.errors(include_url=False)
        ) from None
    deal = _starting_deal(scenario, document, path, kb)
    problems = references(scenario, document, deal, kb)
    if problems:
        raise InputError(problems)
    return Drill(path.stem, scenario, deal, document)


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return f"unknown key {error['loc'][-1]!r}"
    if error["type"] == "missing":
        return f"required key {error['loc'][-1]!r} is missing"
    return str(error["msg"]).removeprefix("Value error, ")


def _starting_deal(scenario: Scenario, document: yamlsource.Document, path: Path, kb: KnowledgeBase) -> Deal:
    if isinstance(scenario.deal, dict):
        prefix = ("deal",)
        positions = {p[1:]: where for p, where in document.positions.items() if p[:1] == prefix}
        return deal_mod.validate(yamlsource.Document(document.file, scenario.deal, positions), kb.vocabulary)
    deal_path = (path.parent / scenario.deal).resolve()
    if not deal_path.is_file():
        raise InputError([document.problem(("deal",), f"no deal file {scenario.deal!r} next to the scenario")])
    return deal_mod.load(str(deal_path), kb.vocabulary)


def references(scenario: Scenario, document: yamlsource.Document, deal: Deal, kb: KnowledgeBase) -> list[Problem]:
    """Ids the scenario uses that the knowledge base or the deal does not have."""
    problems = []
    names = {p.name for p in deal.stakeholders}
    ids = [s.id for s in scenario.steps]
    for i, step in enumerate(scenario.steps):
        at = ("steps", i)
        if ids.count(step.id) > 1:
            problems.append(document.problem((*at, "id"), f"step id {step.id!r} is used twice"))
        problems += [
            document.problem((*at, "concepts", j), f"unknown concept id {c!r}")
            for j, c in enumerate(step.concepts)
            if c not in kb.concepts
        ]
        for key, target in (
            ("next", step.next),
            *((("options", j, "next"), o.next) for j, o in enumerate(step.options)),
        ):
            if target and target != END and target not in ids:
                problems.append(document.problem((*at, *_as_path(key)), f"no step {target!r} in this drill"))
        whens = [((*at, key), getattr(step, key)) for key in ("assumes", "only_when") if getattr(step, key)]
        whens += [((*at, "variants", j, "when"), v.when) for j, v in enumerate(step.variants)]
        problems += [p for where, when in whens for p in _when_problems(when, where, document, deal, scenario, kb)]
        if step.about and step.about not in names:
            problems.append(document.problem((*at, "about"), f"{step.about!r} is not a stakeholder of the deal"))
        if step.stakeholder and step.stakeholder not in names:
            problems.append(
                document.problem((*at, "stakeholder"), f"{step.stakeholder!r} is not a stakeholder of the deal")
            )
        if step.role and step.role not in kb.vocabulary.enums["role"]:
            problems.append(document.problem((*at, "role"), f"unknown role {step.role!r}"))
        enum = {"red_flags": "red_flag", "criteria_at_risk": "criterion"}.get(step.ask or "")
        for j, choice in enumerate(step.choices):
            if enum and choice not in kb.vocabulary.enums[enum]:
                problems.append(
                    document.problem(
                        (*at, "choices", j),
                        f"{choice!r} is not a {enum}; use one of: {', '.join(kb.vocabulary.ids(enum))}",
                    )
                )
        for j, option in enumerate(step.options):
            if option.rule and option.rule not in kb.rule_by_id:
                problems.append(
                    document.problem((*at, "options", j, "rule"), f"no rule {option.rule!r} in the playbook")
                )
            if option.about and option.about not in names:
                problems.append(document.problem((*at, "options", j, "about"), f"{option.about!r} is not in the deal"))
            if option.move and option.move not in kb.vocabulary.enums["move"]:
                problems.append(
                    document.problem(
                        (*at, "options", j, "move"),
                        f"unknown move {option.move!r}; use one of: {', '.join(kb.vocabulary.ids('move'))}",
                    )
                )
    for i, ending in enumerate(scenario.endings):
        if ending.when is not None:
            problems += _when_problems(ending.when, ("endings", i, "when"), document, deal, scenario, kb)
    return problems + _loops(scenario, document)


def _when_problems(
    when: When, at: tuple[Any, ...], document: yamlsource.Document, deal: Deal, scenario: Scenario, kb: KnowledgeBase
) -> list[Problem]:
    """Signals, people, attitudes and options a state names that the drill does not have."""
    signals = kb.vocabulary.enums["signal"]
    attitudes = kb.vocabulary.enums["attitude"]
    names = {p.name for p in deal.stakeholders}
    options = {o.id for s in scenario.steps for o in s.options}
    problems = [
        document.problem((*at, key), f"unknown signal {v!r}; use one of: {', '.join(kb.vocabulary.ids('signal'))}")
        for key in ("signals", "without")
        for v in getattr(when, key)
        if v not in signals
    ]
    for name, allowed in when.attitudes.items():
        if name not in names:
            problems.append(document.problem((*at, "attitudes"), f"{name!r} is not a stakeholder of the deal"))
        problems += [
            document.problem((*at, "attitudes", name), f"unknown attitude {a!r}") for a in allowed if a not in attitudes
        ]
    problems += [
        document.problem((*at, key), f"no option {v!r} in this drill")
        for key in ("chose", "avoided")
        for v in getattr(when, key)
        if v not in options
    ]
    return problems


def _loops(scenario: Scenario, document: yamlsource.Document) -> list[Problem]:
    """A drill must end whatever the trainee chooses: its steps may not lead back to themselves."""
    ids = {s.id for s in scenario.steps}
    if any(t and t != END and t not in ids for s in scenario.steps for t in (s.next, *(o.next for o in s.options))):
        return []  # a dangling `next` is reported above; the graph is not walkable yet

    def visit(step: Step, path: list[str]) -> list[str] | None:
        if step.id in path:
            return [*path[path.index(step.id) :], step.id]
        for option in step.options or [None]:
            following = scenario.next_step(step, option)
            loop = visit(following, [*path, step.id]) if following is not None else None
            if loop:
                return loop
        return None

    loop = visit(scenario.steps[0], [])
    if loop is None:
        return []
    at = ("steps", next(i for i, s in enumerate(scenario.steps) if s.id == loop[-2]))
    return [
        document.problem(
            at,
            f"these steps lead back to each other: {' -> '.join(loop)}; "
            "end one branch with `next: end` or another step",
        )
    ]


def _as_path(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


@dataclass
class Verdict:
    """How one answer scored, and why, in the trainee's language."""

    score: float
    max_score: float
    feedback: list[str]
    concepts: list[str]
    option: Option | None = None
    changes: list[str] = field(default_factory=list)
    summary: str = ""  # one line for the debrief: what the right answer was


def _backing(option: Option, given: list[advice_mod.Advice], step: Step) -> advice_mod.Advice | None:
    """The advice that makes ``option`` a good move: its rule's (or the item that speaks for its
    topic, when the rule's advice was folded into it), for the person the option or its step is
    ``about`` (a style rule fires for everyone of that style, and the step is about one)."""
    about = option.about or step.about
    direct = [(item, item.stakeholders) for item in given if item.rule == option.rule]
    # A folded rule speaks in its own words (the host item's text is about someone else).
    folded = [(f, f.stakeholders) for item in given for f in item.folded_items if f.rule == option.rule]
    return next((item for item, names in direct + folded if about is None or about in names), None)


class Examiner:
    """Scores answers on the deal as it stands, using the knowledge base's own conclusions."""

    def __init__(self, kb: KnowledgeBase, advisor: Advisor | None = None, explain: bool = False):
        self.kb = kb
        self.advisor = advisor or Advisor(kb)
        self.explain = explain  # rule ids and the conditions that failed: for trainers, not trainees
        self._outcomes: dict[str, Outcome] = {}  # the playbook's run on a deal state, reused by its questions

    def outcome(self, deal: Deal) -> Outcome:
        """The playbook's conclusions on ``deal`` (kept for the few latest states: a step shows its
        choices, then judges the answer, on the same deal)."""
        key = deal.model_dump_json()
        if key not in self._outcomes:
            if len(self._outcomes) >= OUTCOMES_KEPT:
                self._outcomes.pop(next(iter(self._outcomes)))
            self._outcomes[key] = self.advisor.run(deal, keep_facts=True)
        return self._outcomes[key]

    def choices(self, step: Step, deal: Deal, lang: Lang) -> list[tuple[str, str]]:
        """The numbered choices shown for a step: (answer id, text)."""
        vocabulary = self.kb.vocabulary
        if step.kind in ("move", "negotiate"):
            return [(o.id, o.text(lang)) for o in step.options]
        if step.kind == "diagnose":
            enum = "red_flag" if step.ask == "red_flags" else "criterion"
            return [(c, vocabulary.label(enum, c, lang)) for c in self._offered(step, deal)]
        if step.ask == "role":
            return [(p.name, p.name) for p in deal.stakeholders]
        enum = {"attitude": "attitude", "relationship": "relationship_class", "style": "style"}[step.ask or ""]
        return [(v, vocabulary.label(enum, v, lang)) for v in vocabulary.ids(enum) if v != "unknown"]

    def situation(self, step: Step, deal: Deal, lang: Lang) -> list[str]:
        """What the trainee is told before a question the playbook decides from the deal's facts."""
        ask = step.ask if step.kind in ("diagnose", "identify") else None
        return situation_mod.told(ask, step.stakeholder, deal, self.kb, lang)

    def _offered(self, step: Step, deal: Deal) -> list[str]:
        """A red-flag step offers its authored choices and every flag the deal shows now: a flag
        the trainee's own earlier moves raised must be there to be spotted."""
        if step.ask != "red_flags":
            return list(step.choices)
        raised = sorted(self._flags(self.outcome(deal)))
        return list(dict.fromkeys([*step.choices, *raised]))

    @staticmethod
    def _flags(outcome: Outcome) -> dict[str, list[str]]:
        """The red flags the deal shows, each with the people it is about."""
        flags: dict[str, list[str]] = {}
        for fact_type, values in outcome.derivations:
            if fact_type == "red_flag":
                v = dict(values)
                flags.setdefault(v["code"], []).append(v.get("stakeholder") or "")
        return flags

    def _conclusions(
        self, step: Step, outcome: Outcome, lang: Lang
    ) -> tuple[list[advice_mod.Advice], assessment_mod.Assessment | None]:
        """What a step is judged on, built once per answer: the advice for a move, the
        assessment for a diagnosis."""
        given = advice_mod.build(outcome, self.kb, lang) if step.kind in ("move", "negotiate") else []
        health = assessment_mod.assess(outcome, self.kb, lang) if step.kind == "diagnose" else None
        return given, health

    def expected(self, step: Step, deal: Deal, outcome: Outcome) -> set[str]:
        """The right answer(s) on this deal state, as the knowledge base sees it."""
        return self._right(step, deal, outcome, *self._conclusions(step, outcome, "en"))

    def _right(
        self,
        step: Step,
        deal: Deal,
        outcome: Outcome,
        given: list[advice_mod.Advice],
        health: assessment_mod.Assessment | None,
    ) -> set[str]:
        derived = [(t, dict(v)) for t, v in outcome.derivations]
        if step.kind in ("move", "negotiate"):
            return {o.id for o in step.options if _backing(o, given, step) is not None}
        if step.ask == "red_flags":
            return set(self._flags(outcome))
        if step.ask == "criteria_at_risk":
            assert health is not None
            return {c for c, status in health.criteria.items() if status == "at_risk"} & set(step.choices)
        if step.ask == "role":
            return {p.name for p in deal.stakeholders if step.role in p.roles}
        person = next(p for p in deal.stakeholders if p.name == step.stakeholder)
        if step.ask == "relationship":
            return {v["class"] for t, v in derived if t == "relationship" and v["stakeholder"] == person.name}
        return {getattr(person, step.ask or "")}

    def judge(self, step: Step, deal: Deal, answer: list[str], lang: Lang) -> Verdict:
        outcome = self.outcome(deal)
        given, health = self._conclusions(step, outcome, lang)
        right = self._right(step, deal, outcome, given, health)
        if step.kind in ("move", "negotiate"):
            return self._move(step, outcome, given, answer[0], right, lang)
        if step.kind == "diagnose":
            assert health is not None
            return self._diagnose(step, answer, right, health, self._flags(outcome), lang)
        return self._identify(step, deal, answer[0], right, lang)

    def _labels(self, step: Step, ids: set[str] | list[str], deal: Deal, lang: Lang) -> str:
        text = dict(self.choices(step, deal, lang))
        return ("、" if lang == "zh" else ", ").join(text.get(i, i) for i in sorted(ids)) or (
            "无" if lang == "zh" else "none"
        )

    def _concept_line(self, concepts: list[str], lang: Lang) -> str:
        titles = ("；" if lang == "zh" else "; ").join(
            f"{c} {self.kb.concepts[c].title(lang)}" for c in concepts if c in self.kb.concepts
        )
        return ("要点：" if lang == "zh" else "Playbook: ") + titles

    def _identify(self, step: Step, deal: Deal, answer: str, right: set[str], lang: Lang) -> Verdict:
        zh = lang == "zh"
        shown = self._labels(step, right, deal, lang)
        if answer in right:
            lines = [("答对了：" if zh else "Right: ") + shown]
        else:
            lines = [("不对。正确答案：" if zh else "Not quite. The answer: ") + shown]
        if step.cues is not None:
            lines.append(("看点：" if zh else "The cues: ") + step.cues(lang))
        lines.append(self._concept_line(step.concepts, lang))
        summary = ("正确答案：" if zh else "The answer: ") + shown
        return Verdict(1.0 if answer in right else 0.0, 1.0, lines, list(step.concepts), summary=summary)

    def _diagnose(
        self,
        step: Step,
        answer: list[str],
        right: set[str],
        health: assessment_mod.Assessment,
        flags: dict[str, list[str]],
        lang: Lang,
    ) -> Verdict:
        """Scored by a rubric: each right choice earns its share, a defensible one costs nothing,
        each wrong one takes a share back (never below zero)."""
        zh = lang == "zh"
        chosen = set(answer)
        hits, missed = chosen & right, right - chosen
        fair, wrong = (chosen - right) & set(step.defensible), chosen - right - set(step.defensible)
        score = max(0.0, (len(hits) - len(wrong)) / len(right)) if right else (0.0 if wrong else 1.0)
        enum = "red_flag" if step.ask == "red_flags" else "criterion"
        sep = "、" if zh else ", "

        def label(ids: set[str]) -> str:
            return sep.join(self._flag_label(enum, i, flags, lang) for i in sorted(ids))

        lines = []
        if hits:
            lines.append(("看准了：" if zh else "Spotted: ") + label(hits))
        if missed:
            lines.append(("漏掉了：" if zh else "Missed: ") + label(missed))
        if fair:
            lines.append(
                (
                    "说得通，但这里手册不把它算作危险信号："
                    if zh
                    else "Defensible, though the playbook does not count it here: "
                )
                + label(fair)
            )
        if wrong:
            lines.append(("这些在本单并不成立：" if zh else "Not the case in this deal: ") + label(wrong))
        if not right and not chosen:
            lines.append("判断正确：没有这类问题。" if zh else "Right: there is none here.")
        if self.explain:
            lines += [
                ("依据：" if zh else "Because: ") + item["because"] for item in health.deductions if item["because"]
            ]
        lines.append(self._concept_line(step.concepts, lang))
        summary = ("应选：" if zh else "The flags: ") + (label(right) or ("无" if zh else "none"))
        return Verdict(round(score, 2), 1.0, lines, list(step.concepts), summary=summary)

    def _flag_label(self, enum: str, code: str, flags: dict[str, list[str]], lang: Lang) -> str:
        """A flag in words, with the people it is about: 有分量的对手（赵国栋）."""
        text = self.kb.vocabulary.label(enum, code, lang)
        people = [p for p in flags.get(code, []) if p]
        if not people:
            return text
        return f"{text}（{'、'.join(people)}）" if lang == "zh" else f"{text} ({', '.join(people)})"

    def _move(
        self, step: Step, outcome: Outcome, given: list[advice_mod.Advice], answer: str, right: set[str], lang: Lang
    ) -> Verdict:
        zh = lang == "zh"
        option = next(o for o in step.options if o.id == answer)
        concepts = list(dict.fromkeys([*step.concepts, *self._rule_concepts(option.rule)]))
        if answer in right:
            lines = [
                ("好棋。" if zh else "Good move. ")
                + ("手册的建议：" if zh else "The playbook says: ")
                + _backing(option, given, step).text
            ]
            if self.explain:
                lines.append(("规则：" if zh else "Rule: ") + str(option.rule))
            score = 1.0
        else:
            lines = ["这一步不够好。" if zh else "Not the best move."]
            if option.rule in self.kb.rule_by_id:
                lines.append(
                    "这一招手册里有，但它适合的是别的局面，不是眼下这一步。"
                    if zh
                    else "It is a playbook move, but for another situation than the one in front of you."
                )
            if self.explain and option.rule in self.kb.rule_by_id:
                lines += [
                    line.strip()
                    for line in WhyNot(self.kb, outcome, lang).explain(self.kb.rule_by_id[option.rule], brief=True)
                ]
            better = [o for o in step.options if o.id in right]
            for other in better:
                backing = _backing(other, given, step)
                lines.append(("更好的一步：" if zh else "Better: ") + other.text(lang))
                lines.append(("手册的建议：" if zh else "The playbook says: ") + backing.text)
                if self.explain:
                    lines.append(("规则：" if zh else "Rule: ") + str(other.rule))
                concepts += [c for c in self._rule_concepts(other.rule) if c not in concepts]
            if not better:
                lines.append(
                    "之前的选择改变了局面，这里已没有手册推荐的动作。"
                    if zh
                    else "Earlier choices changed the situation; no move offered here is one the playbook backs now."
                )
            score = 0.0
        lines.append(self._concept_line(concepts, lang))
        better = [o.text(lang) for o in step.options if o.id in right]
        summary = ("更好的一步：" if zh else "Better: ") + (" / ".join(better) or "—")
        return Verdict(score, 1.0, lines, concepts, option, summary=summary)

    def _rule_concepts(self, rule_id: str | None) -> list[str]:
        return list(self.kb.rule_by_id[rule_id].model.concepts) if rule_id in self.kb.rule_by_id else []

    def consequences(self, deal: Deal, move: str, lang: Lang) -> tuple[Deal, list[str]]:
        """Apply the reaction rules' conclusions for ``move`` to the deal; describe each change."""
        outcome = self.advisor.run(deal, moves=(move,))
        data = deal.model_dump(mode="json", exclude_none=True)
        people = {p["name"]: p for p in data["stakeholders"]}
        words = []
        zh = lang == "zh"
        vocabulary = self.kb.vocabulary
        for fact_type, values in sorted(outcome.derivations):
            v = dict(values)
            if fact_type == "attitude_shift" and people[v["stakeholder"]].get("attitude") != v["attitude"]:
                people[v["stakeholder"]]["attitude"] = v["attitude"]
                new = vocabulary.label("attitude", v["attitude"], lang)
                words.append(f"{v['stakeholder']}的态度变为{new}" if zh else f"{v['stakeholder']} is now {new}")
            elif fact_type == "contact_made" and not people[v["stakeholder"]].get("contacted"):
                people[v["stakeholder"]]["contacted"] = True
                words.append(f"你见到了{v['stakeholder']}" if zh else f"you got to meet {v['stakeholder']}")
            elif fact_type == "signal_raised" and v["signal"] not in data["signals"]:
                data["signals"].append(v["signal"])
                words.append(("新情况：" if zh else "new: ") + vocabulary.label("signal", v["signal"], lang))
            elif fact_type == "signal_cleared" and v["signal"] in data["signals"]:
                data["signals"].remove(v["signal"])
                words.append(("已化解：" if zh else "resolved: ") + vocabulary.label("signal", v["signal"], lang))
        return deal_mod.validate(yamlsource.Document("drill", data), vocabulary), words


def check(drill: Drill, kb: KnowledgeBase, examiner: Examiner | None = None) -> list[Problem]:
    """Is the drill consistent with the knowledge base, and can it be won whatever the trainee chose?

    Along the main path (the first good option at every move), every option marked good must be
    backed by a rule that gives advice at that point, and every option marked poor must not.
    Along every path (every option at every step, up to :data:`MAX_POINTS` step visits), each step
    must have an answer the playbook backs, and its prompt must fit the state the path reached.
    The roles, people and flags a step asks about must be there; every step must be reachable, and
    every move must have a reaction rule.
    """
    examiner = examiner or Examiner(kb)
    document = drill.document or yamlsource.Document(drill.name, None)
    steps = drill.scenario.steps
    where = {s.id: ("steps", i) for i, s in enumerate(steps)}
    problems = _unreachable(drill, document, where)
    reacting = {
        t.value for r in kb.rules for b in r.branches for p in b.patterns if p.fact_type == "move" for t in p.tests
    }
    for i, step in enumerate(steps):
        for j, option in enumerate(step.options):
            if option.move and option.move not in reacting:
                problems.append(
                    document.problem(
                        ("steps", i, "options", j, "move"), f"no reaction rule answers the move {option.move!r}"
                    )
                )
    problems += [p for i, step in enumerate(steps) for p in _unbalanced(step, document, ("steps", i))]
    points, complete = walk(drill, examiner)
    main = _main_path(drill, examiner)
    judged: dict[tuple[str, str], set[str]] = {}
    found: dict[tuple[str, str, str], list[Chosen]] = {}
    for point in points:
        state = point.deal.model_dump_json()
        on_main = point.chosen == main[: len(point.chosen)]
        if (point.step.id, state) not in judged or on_main:
            outcome = examiner.outcome(point.deal)
            judged[point.step.id, state] = examiner.expected(point.step, point.deal, outcome)
            if on_main:  # the authored marks hold here; their problems say more than "unwinnable"
                problems += _step_problems(
                    point.step, judged[point.step.id, state], outcome, document, where[point.step.id], kb
                )
        for message in _path_problems(point, judged[point.step.id, state], on_main):
            found.setdefault((point.step.id, state, message), []).append(point.chosen)
    for (step_id, _, message), paths in found.items():
        more = f" (and {len(paths) - 1} other path(s) to the same state)" if len(paths) > 1 else ""
        problems.append(document.problem(where[step_id], f"on the path {_describe(paths[0])}{more}: {message}"))
    met = {point.step.id for point in points}
    problems += [
        document.problem(
            where[s.id], f"step {s.id!r} is met on no path: no path reaches it in the state its only_when asks for"
        )
        for s in steps
        if complete and s.only_when is not None and s.id not in met
    ]
    if not complete:
        problems.append(
            document.problem(
                (),
                f"its paths visit more than {MAX_POINTS} steps; check explored only the first {MAX_POINTS}: "
                "join branches with `next:` or split the drill",
            )
        )
    return problems


@dataclass(frozen=True)
class Point:
    """Where a path stands: the step reached, the deal as the path left it, the options chosen."""

    step: Step
    deal: Deal
    chosen: Chosen


def walk(drill: Drill, examiner: Examiner, limit: int | None = None) -> tuple[list[Point], bool]:
    """Every step on every path through the drill, in the authored order of the options, each
    told for its state; and whether the walk finished within ``limit`` (:data:`MAX_POINTS`) step visits."""
    limit = MAX_POINTS if limit is None else limit
    points: list[Point] = []
    moved: dict[tuple[str, str], Deal] = {}  # a move played on the same deal has the same consequences
    first = drill.arrive(drill.scenario.steps[0], drill.deal, ())
    stack: list[tuple[Step, Deal, Chosen]] = [(first, drill.deal, ())] if first else []
    while stack:
        if len(points) == limit:
            return points, False
        step, deal, chosen = stack.pop()
        points.append(Point(step, deal, chosen))
        for option in list(reversed(step.options)) or [None]:
            after, now = deal, chosen
            if option is not None:
                now = (*chosen, (step.id, option.id))
                if option.move:
                    key = (deal.model_dump_json(), option.move)
                    if key not in moved:
                        moved[key] = examiner.consequences(deal, option.move, "en")[0]
                    after = moved[key]
            following = drill.arrive(drill.next_step(step, option), after, now)
            if following is not None:
                stack.append((following, after, now))
    return points, True


def _main_path(drill: Drill, examiner: Examiner) -> Chosen:
    """The options of the all-correct path: the first good option at every move."""
    chosen: Chosen = ()
    deal = drill.deal
    step = drill.arrive(drill.scenario.steps[0], deal, chosen)
    while step is not None:
        option = next((o for o in step.options if o.good), None)
        if option is not None:
            chosen = (*chosen, (step.id, option.id))
            if option.move:
                deal, _ = examiner.consequences(deal, option.move, "en")
        step = drill.arrive(drill.next_step(step, option), deal, chosen)
    return chosen


def _path_problems(point: Point, right: set[str], on_main: bool) -> list[str]:
    """What is wrong with a step where this path reaches it: nothing to win (the main path's own
    check says more there), or a prompt that takes for granted a state the path did not reach."""
    step, problems = point.step, []
    if on_main:
        pass
    elif step.kind in ("move", "negotiate") and not right:
        problems.append(
            "no option is one the playbook backs here; give this state its own step (`only_when:`), "
            "add an option for it, or lead this path elsewhere with `next:`"
        )
    elif step.kind == "identify" and not right:
        problems.append(f"nobody or nothing answers this step ({step.ask})")
    told = any(v.when.holds(point.deal, point.chosen) for v in step.variants)
    if step.assumes is not None and not told and not step.assumes.holds(point.deal, point.chosen):
        problems.append(
            f"the prompt takes for granted {_state(step.assumes)}, which this path does not reach; "
            "add a variant prompt for this state"
        )
    return problems


def _state(when: When) -> str:
    parts = [f"{key} {', '.join(map(str, getattr(when, key)))}" for key in ("signals", "without", "chose", "avoided")]
    parts += [f"{name} {'/'.join(allowed)}" for name, allowed in when.attitudes.items()]
    return "; ".join(p for p in parts if not p.endswith(" "))


def _describe(chosen: Chosen) -> str:
    return " > ".join(f"{step}={option}" for step, option in chosen) or "(before any choice)"


def _unbalanced(step: Step, document: yamlsource.Document, at: tuple[Any, ...]) -> list[Problem]:
    """A move step whose options differ so much in length that the length gives the answer away."""
    problems = []
    for lang in ("zh", "en"):
        widths = {o.id: display_width(o.text(lang)) for o in step.options}
        if widths and max(widths.values()) > LENGTH_SPREAD * min(widths.values()):
            longest, shortest = max(widths, key=widths.__getitem__), min(widths, key=widths.__getitem__)
            problems.append(
                document.problem(
                    (*at, "options"),
                    f"the options differ too much in length ({lang}: {longest!r} is {widths[longest]} columns, "
                    f"{shortest!r} {widths[shortest]}); keep the longest within {LENGTH_SPREAD} times the "
                    "shortest so length does not give the answer away",
                )
            )
    return problems


def _step_problems(
    step: Step, right: set[str], outcome: Outcome, document: yamlsource.Document, at: tuple[Any, ...], kb: KnowledgeBase
) -> list[Problem]:
    if step.kind == "identify" and not right:
        return [document.problem(at, f"on the main path nobody or nothing answers this step ({step.ask})")]
    problems = []
    for j, option in enumerate(step.options):
        backed = option.id in right
        if option.good and not backed:
            reason = "; ".join(
                line.strip() for line in WhyNot(kb, outcome, "en").explain(kb.rule_by_id[option.rule])[1:]
            )
            problems.append(
                document.problem(
                    (*at, "options", j),
                    f"option {option.id!r} is marked good, but rule "
                    f"{option.rule} gives no advice at this point ({reason})",
                )
            )
        if not option.good and backed:
            problems.append(
                document.problem(
                    (*at, "options", j),
                    f"option {option.id!r} is marked poor, but rule {option.rule} gives advice at this point",
                )
            )
    return problems


def _unreachable(drill: Drill, document: yamlsource.Document, where: dict[str, tuple[Any, ...]]) -> list[Problem]:
    steps = drill.scenario.steps
    seen, queue = {steps[0].id}, [steps[0]]
    while queue:
        step = queue.pop()
        for option in step.options or [None]:
            following = drill.next_step(step, option)
            if following is not None and following.id not in seen:
                seen.add(following.id)
                queue.append(following)
    return [document.problem(where[s.id], f"step {s.id!r} can never be reached") for s in steps if s.id not in seen]
