"""What a drill says reads as a coach writes: people by name (never 他/她, never he or she), no
internal scores, Chinese punctuation inside Chinese text. Checked on everything a trainee reads in
every bundled drill, on every path, and in a drill made from every example deal."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.drills import drill, drillgen
from dealcoach.engine.playbook import kb as kb_mod
from tests.conftest import SCENARIOS

DRILLS = sorted((SCENARIOS / "drills").glob("*.yaml"))
DEALS = kb_mod.example_deals()

PRONOUN_ZH = re.compile(r"(?<!其)[他她](?![们人])")  # 其他 (other), 他们 (they), 他人 (others) name nobody
PRONOUN_EN = re.compile(r"\b(he|she|him|his|her|hers|himself|herself)\b", re.IGNORECASE)
SCORE = re.compile(r"(影响力|influence)\s*(是|为|of|:|：)?\s*\d|\d\s*/\s*5\b", re.IGNORECASE)
HAN = r"[\u4e00-\u9fff]"
ASCII_PUNCT = re.compile(rf"{HAN}[,;:?!()]|[,;:?!()]{HAN}|{HAN}\.(?!\w)")

Text = tuple[str, str, str]  # (where, language, text)


def problems(texts: Iterator[Text]) -> list[str]:
    found = []
    for where, lang, text in texts:
        if lang == "zh":
            checks = [
                (PRONOUN_ZH, "他/她 for a person"),
                (SCORE, "an internal score"),
                (ASCII_PUNCT, "ASCII punctuation"),
            ]
        else:
            checks = [(PRONOUN_EN, "he/she for a person"), (SCORE, "an internal score")]
        found += [f"{where} [{lang}] {why}: {text}" for pattern, why in checks if pattern.search(text)]
    return found


def authored(scenario: drill.Scenario, name: str) -> Iterator[Text]:
    """Every sentence the drill's author wrote for the trainee."""
    for lang in ("zh", "en"):
        yield f"{name} title", lang, scenario.title(lang)
        yield f"{name} briefing", lang, scenario.briefing(lang)
        for step in scenario.steps:
            yield f"{name} {step.id}", lang, step.prompt(lang)
            for variant in step.variants:
                yield f"{name} {step.id} variant", lang, variant.prompt(lang)
            if step.cues is not None:
                yield f"{name} {step.id} cues", lang, step.cues(lang)
            for option in step.options:
                yield f"{name} {step.id}.{option.id}", lang, option.text(lang)
        for ending in scenario.endings:
            yield f"{name} ending {ending.outcome}", lang, ending.told(lang)


def feedback(loaded: drill.Drill, examiner: drill.Examiner, points: list[drill.Point]) -> Iterator[Text]:
    """The feedback on every answer at every step, in each state a path reaches it in."""
    seen = set()
    for point in points:
        key = (point.step.id, point.deal.model_dump_json())
        if key in seen:
            continue
        seen.add(key)
        for lang in ("zh", "en"):
            choices = [c for c, _ in examiner.choices(point.step, point.deal, lang)]
            answers = [[c] for c in choices] if point.step.kind != "diagnose" else [choices[:2], []]
            for answer in answers:
                verdict = examiner.judge(point.step, point.deal, answer, lang)
                for line in [*verdict.feedback, verdict.summary]:
                    yield f"{loaded.name} {point.step.id} {answer}", lang, line
            for _, label in examiner.choices(point.step, point.deal, lang):
                yield f"{loaded.name} {point.step.id} choice", lang, label


@pytest.fixture(scope="module")
def examiner(builtin):
    return drill.Examiner(builtin)


@pytest.mark.parametrize("path", DRILLS, ids=lambda p: p.stem)
def test_a_bundled_drill_reads_as_a_coach_writes_on_every_path(path, builtin, examiner):
    loaded = drill.load(path, builtin)
    points, _ = drill.walk(loaded, examiner)
    found = problems(authored(loaded.scenario, loaded.name)) + problems(feedback(loaded, examiner, points))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", DEALS, ids=lambda p: p.stem)
def test_a_drill_made_from_a_deal_reads_as_a_coach_writes(path, builtin, examiner):
    made = drillgen.from_deal(deal_mod.load(str(path), builtin.vocabulary), builtin, path.stem)
    points, _ = drill.walk(made, examiner)
    found = problems(authored(made.scenario, made.name)) + problems(feedback(made, examiner, points))
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("lang", "text", "why"),
    [
        ("zh", "他还在挑方案的毛病", "他/她"),
        ("zh", "赵国栋影响力是5，却站在对手一边", "an internal score"),
        ("zh", "先问清预算,再谈方案", "ASCII punctuation"),
        ("en", "Ask her what she needs", "he/she"),
    ],
)
def test_the_language_check_catches_what_a_coach_would_not_write(lang, text, why):
    assert why in problems(iter([("sample", lang, text)]))[0]


def test_the_language_check_lets_plain_words_through():
    samples = [
        ("zh", "其他人都同意；他们的方案也好，别替他人做主。"),
        ("en", "Ask 王敏 what they need; there is a help desk."),
    ]
    assert problems(iter(("sample", lang, text) for lang, text in samples)) == []
