"""The weights of the health score (``kb/assessment.yaml``), kept apart from the assessment itself
so that the knowledge base can load them without depending on the advice machinery."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

CRITERIA = ("need", "process", "budget", "relationship", "worth")
DRILL_INPUTS = ("attitude_shift", "contact_made", "signal_raised", "signal_cleared")  # applied by drills
ASSESSMENT_INPUTS = ("criterion", "red_flag", "focus_role", "focus_uncovered")  # derived types the assessment reads


class Scoring(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: int = 100
    criteria: dict[str, int] = {"at_risk": 15, "unknown": 5}
    criterion_at_risk: dict[str, int] = {}  # a criterion at risk that weighs other than criteria.at_risk
    red_flags: dict[str, int] = {"default": 10}

    @field_validator("criterion_at_risk")
    @classmethod
    def _known_criteria(cls, weights: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(weights) - set(CRITERIA))
        if unknown:
            raise ValueError(f"{', '.join(unknown)} is not a criterion; use one of: {', '.join(CRITERIA)}")
        return weights

    def flag_points(self, code: str) -> int:
        return self.red_flags.get(code, self.red_flags.get("default", 0))

    def criterion_points(self, name: str, status: str) -> int:
        """What a criterion in this status costs; at risk, a criterion may weigh more than the others."""
        if status == "at_risk" and name in self.criterion_at_risk:
            return self.criterion_at_risk[name]
        return self.criteria.get(status, 0)
