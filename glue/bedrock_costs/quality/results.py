"""Rule results in the shape Glue Data Quality reports them (``RuleResults`` of ``GetDataQualityResult``).

Local and AWS results then read the same way: ``Name`` (``Rule_1`` …), ``Description`` (the rule text),
``Result`` (PASS, FAIL or ERROR), ``EvaluationMessage`` (why it did not pass) and ``EvaluatedMetrics``
named like Glue names them (``Dataset.*.RowCount``, ``Column.request_id.Completeness`` …).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

PASS, FAIL, ERROR = "PASS", "FAIL", "ERROR"


def fmt(value: float | None) -> str:
    """A metric for people: whole numbers without decimals, ratios with four significant decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.6g}" if abs(value) >= 1 else f"{value:.4g}"


@dataclass(frozen=True)
class RuleResult:
    """One top-level rule's outcome. ``measured``/``expected`` are the value and condition a person compares."""

    name: str
    rule: str
    outcome: str
    message: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    measured: float | None = None
    expected: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.outcome == PASS

    def to_glue(self) -> dict[str, object]:
        """The ``DataQualityRuleResult`` structure of the Glue API."""
        result: dict[str, object] = {
            "Name": self.name,
            "Description": self.rule,
            "Result": self.outcome,
            "EvaluatedMetrics": dict(self.metrics),
        }
        if self.message:
            result["EvaluationMessage"] = self.message
        if self.labels:
            result["Labels"] = dict(self.labels)
        return result


@dataclass(frozen=True)
class RulesetResult:
    """All rules of one ruleset evaluated on one dataset at one time."""

    ruleset: str
    results: Sequence[RuleResult]
    evaluated_at: datetime

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def score(self) -> float:
        """Share of rules that passed, as Glue's ``Score``."""
        return sum(r.passed for r in self.results) / len(self.results) if self.results else 1.0

    def failures_first(self) -> list[RuleResult]:
        order = {ERROR: 0, FAIL: 0, PASS: 1}
        return sorted(self.results, key=lambda r: order[r.outcome])

    def to_json(self) -> dict[str, object]:
        return {
            "RulesetName": self.ruleset,
            "Score": self.score,
            "EvaluatedOn": self.evaluated_at.isoformat(),
            "RuleResults": [result.to_glue() | self._extra(result) for result in self.results],
        }

    @staticmethod
    def _extra(result: RuleResult) -> dict[str, object]:
        return {"MeasuredValue": result.measured, "Expected": result.expected}
