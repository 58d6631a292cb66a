"""The weights of the health score (``kb/assessment.yaml``), kept apart from the assessment itself
so that the knowledge base can load them without depending on the advice machinery."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

DRILL_INPUTS = ("attitude_shift", "contact_made", "signal_raised", "signal_cleared")  # applied by drills
ASSESSMENT_INPUTS = ("criterion", "red_flag", "focus_role", "focus_uncovered")  # derived types the assessment reads


class Scoring(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: int = 100
    criteria: dict[str, int] = {"at_risk": 15, "unknown": 5}
    red_flags: dict[str, int] = {"default": 10}

    def flag_points(self, code: str) -> int:
        return self.red_flags.get(code, self.red_flags.get("default", 0))
