"""The deal file (``../shared/spec/deal-format.md``, version 1) as a validated model.

Enumerated fields are plain strings checked against the vocabulary, which is passed in the
validation context: the set of allowed values is knowledge-base data (a company layer may add
signals), so it cannot be frozen into Python enums. Whatever the user wrote (an id, a Chinese
label, an alias, any case), the model holds the canonical id.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from dealcoach.engine import yamlsource
from dealcoach.engine.deals.vocabulary import Vocabulary
from dealcoach.engine.problems import InputError, Path, Problem, quote, shorten
from dealcoach.engine.yamlsource import Document


def _term(enum: str) -> BeforeValidator:
    """Accept any spelling of a value of ``enum`` and store its id."""

    def check(value: Any, info: ValidationInfo) -> str:
        vocabulary: Vocabulary = info.context["vocabulary"]
        term = vocabulary.normalise(enum, value)
        if term is None:
            guess = vocabulary.closest(enum, value)
            hint = f"did you mean {guess!r}? " if guess else ""
            raise PydanticCustomError(
                "term",
                "{value} is not allowed; {hint}use one of: {allowed}",
                {"value": quote(value), "hint": hint, "allowed": vocabulary.allowed(enum)},
            )
        return term

    return BeforeValidator(check)


def _tristate(value: Any, info: ValidationInfo) -> bool | None:
    """true / false / unknown (or 是 / 否 / 未知); an omitted value is unknown (None)."""
    if value is None or isinstance(value, bool):
        return value
    term = info.context["vocabulary"].normalise("tristate", value)
    if term is None:
        raise PydanticCustomError(
            "tristate", "{value} is not allowed; use true, false or unknown", {"value": quote(value)}
        )
    return {"true": True, "false": False}.get(term)


def Term(enum: str) -> Any:  # noqa: N802 - reads like a type in the model below
    return Annotated[str, _term(enum)]


TriState = Annotated[bool | None, BeforeValidator(_tristate)]
Name = Annotated[str, Field(min_length=1)]
# Strict: a number is written as a number. `value: true`, `amount: yes` (YAML's true) or
# `value: "3000000"` (a string) are refused rather than read as 1 or as a number.
Amount = Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)]
Percent = Annotated[StrictFloat, Field(ge=0, le=100, allow_inf_nan=False)]
Days = Annotated[StrictInt, Field(ge=0)]
# Bounds (README, "Limits and exit codes"): the engine's work grows faster than linearly with the
# people in a deal, so a deal far beyond any real one is refused instead of running for minutes.
MAX_STAKEHOLDERS = 200
MAX_COMPETITORS = 50
MAX_NEEDS = 200
MAX_SIGNALS = 100


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Account(_Model):
    name: Name
    tier: Term("tier") = "other"
    industry: str | None = None
    procurement: Term("procurement") = "unknown"
    purchase_pattern: Term("purchase_pattern") = "unknown"
    financial_health: Term("financial_health") = "unknown"
    phase: Term("phase") = "establish"
    loyalty: Term("loyalty") | None = None
    satisfaction: Annotated[StrictInt, Field(ge=1, le=5)] | None = None
    months_since_last_order: Annotated[StrictInt, Field(ge=0)] | None = None
    restricted: StrictBool = False
    # Extensions (README, "Optional fields beyond the spec"): the share quadrant (C1).
    market_share: Percent | None = None
    our_share: Percent | None = None


class Budget(_Model):
    status: Term("budget_status") = "unknown"
    amount: Amount | None = None
    funding: Term("funding") = "unknown"


class Decision(_Model):
    process_known: TriState = None
    timeframe_known: TriState = None
    criteria_known: TriState = None


class Info(_Model):
    steps: TriState = None
    buying_process: TriState = None
    organization: TriState = None
    decision_structure: TriState = None
    finances: TriState = None
    rationale: TriState = None
    resources: TriState = None
    competitors: TriState = None
    success_factors: TriState = None


class Competitor(_Model):
    name: Name
    strength: Term("strength") = "unknown"
    incumbent: StrictBool = False


class Need(_Model):
    text: Name
    kind: Term("need_kind") = "explicit"
    type: Term("need_type") = "unknown"
    owner: str | None = None


class Stakeholder(_Model):
    name: Name
    title: str | None = None
    roles: list[Term("role")] = []
    attitude: Term("attitude") = "unknown"
    style: Term("style") = "unknown"
    influence: Annotated[StrictInt, Field(ge=1, le=5)] = 3
    contacted: StrictBool = False
    org_need_met: TriState = None
    personal_need_met: TriState = None
    reports_to: str | None = None
    favors: str | None = None
    # Extensions: response mode to change (Miller Heiman) and activity recency.
    receptivity: Term("receptivity") = "unknown"
    days_since_contact: Days | None = None


class Rep(_Model):
    style: Term("style") = "unknown"


class Deal(_Model):
    name: Name
    account: Account
    stage: Term("stage") = "unknown"
    value: Amount | None = None
    currency: str = "CNY"
    solution_fit: Term("solution_fit") = "unknown"
    budget: Budget = Budget()
    decision: Decision = Decision()
    position: Term("position") = "unknown"
    competitors: Annotated[list[Competitor], Field(max_length=MAX_COMPETITORS)] = []
    info: Info = Info()
    needs: Annotated[list[Need], Field(max_length=MAX_NEEDS)] = []
    stakeholders: Annotated[list[Stakeholder], Field(max_length=MAX_STAKEHOLDERS)] = []
    rep: Rep = Rep()
    signals: Annotated[list[Term("signal")], Field(max_length=MAX_SIGNALS)] = []
    days_in_stage: Days | None = None  # extension: how long the deal has sat in its stage
    offering: Term("offering") = "unknown"  # extension: what we sell, so advice uses words that fit it
    owner: str | None = None  # extension: the rep who owns the deal, for the pipeline review's per-owner view
    notes: Any = None
    extra: Any = None


def validate(document: Document, vocabulary: Vocabulary) -> Deal:
    """The deal in ``document``, or :class:`InputError` listing every problem in it."""
    problems = _reference_problems(document)
    if not isinstance(document.data, dict):
        raise InputError(
            [document.problem((), "a deal file must be a mapping with keys such as name, account, stakeholders")]
        )
    try:
        deal = Deal.model_validate(document.data, context={"vocabulary": vocabulary})
    except ValidationError as err:
        problems += [_describe(document, error) for error in err.errors(include_url=False)]
    if problems:
        raise InputError(problems)
    return deal


def load(source: str, vocabulary: Vocabulary, *, text: str | None = None) -> Deal:
    """Read and validate a deal file (``-`` for standard input)."""
    return validate(yamlsource.load(source, text=text), vocabulary)


def _reference_problems(document: Document) -> list[Problem]:
    """Names that must refer to a stakeholder: checked on the raw data, so that they are reported
    together with any field errors rather than after the user has fixed those. Names compare as
    the model stores them, trimmed; a name that is not text is the model's problem, not this one's."""
    data = document.data if isinstance(document.data, dict) else {}
    people = [p for p in _list(data.get("stakeholders")) if isinstance(p, dict)]
    names = [_name(p.get("name")) for p in people]
    known = ", ".join(dict.fromkeys(n for n in names if n)) or "none are listed"
    problems = []
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name and name in seen:
            problems.append(
                document.problem(
                    ("stakeholders", index, "name"), f"{quote(name)} is listed twice; names must be unique"
                )
            )
        seen.add(name or "")
    references = [(("stakeholders", i, "reports_to"), p.get("reports_to")) for i, p in enumerate(people)]
    references += [
        (("needs", i, "owner"), n.get("owner")) for i, n in enumerate(_list(data.get("needs"))) if isinstance(n, dict)
    ]
    for path, name in references:
        if isinstance(name, str) and _name(name) not in seen:
            problems.append(
                document.problem(
                    path, f"{quote(name)} is not a stakeholder of this deal; stakeholders: {shorten(known, 200)}"
                )
            )
    return problems


def _name(value: Any) -> str | None:
    """A name as the model keeps it (trimmed), or None for a value that is not text."""
    return value.strip() if isinstance(value, str) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _describe(document: Document, error: dict[str, Any]) -> Problem:
    path: Path = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return document.problem(path, _unknown_key(path))
    if kind == "missing":
        return document.problem(path, f"required key {path[-1]!r} is missing")
    message = error["msg"]
    if kind == "too_long":
        return document.problem(
            path, f"{message[0].lower()}{message[1:]}; split the deal or leave out the least important"
        )
    if kind not in ("term", "tristate"):
        message = f"{message[0].lower()}{message[1:]}; got {quote(error['input'])}"
    return document.problem(path, message)


def _unknown_key(path: Path) -> str:
    allowed = _allowed_keys(path[:-1])
    key = str(path[-1])
    hint = difflib.get_close_matches(key, allowed, n=1)
    suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
    return f"unknown key {key!r}{suggestion} (allowed: {', '.join(allowed)})"


def _allowed_keys(parent: Path) -> list[str]:
    """The keys a model accepts at ``parent`` (indices of lists are skipped)."""
    model: type[BaseModel] = Deal
    for part in parent:
        if isinstance(part, int):
            continue
        model = _model_of(model.model_fields[str(part)].annotation) or model
    return list(model.model_fields)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation) if get_origin(annotation) else ():
        found = _model_of(arg)
        if found:
            return found
    return None
