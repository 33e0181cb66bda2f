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


# EvaluateDataQuality's ``ruleOutcomes`` say Passed/Failed (and Error when a rule could not run).
_GLUE_OUTCOMES = {"passed": PASS, "pass": PASS, "failed": FAIL, "fail": FAIL, "error": ERROR}


def from_rule_outcomes(ruleset: str, rows: Sequence[Mapping[str, object]], evaluated_at: datetime) -> RulesetResult:
    """Glue's ``ruleOutcomes`` rows (Rule, Outcome, FailureReason, EvaluatedMetrics) as a ``RulesetResult``.

    Rules are named ``Rule_<n>`` in ruleset order, as ``GetDataQualityResult`` names them; a rule with one
    metric reports it as the measured value. An outcome Glue did not document is an ERROR, never a pass.
    """
    results = []
    for number, row in enumerate(rows, start=1):
        raw = str(row.get("Outcome") or "")
        outcome = _GLUE_OUTCOMES.get(raw.lower(), ERROR)
        message = row.get("FailureReason") or (None if raw.lower() in _GLUE_OUTCOMES else f"outcome {raw!r}")
        metrics = {str(k): float(v) for k, v in dict(row.get("EvaluatedMetrics") or {}).items() if v is not None}
        results.append(
            RuleResult(
                name=f"Rule_{number}",
                rule=str(row.get("Rule") or ""),
                outcome=outcome,
                message=str(message) if message else None,
                metrics=metrics,
                measured=next(iter(metrics.values())) if len(metrics) == 1 else None,
            )
        )
    return RulesetResult(ruleset, results, evaluated_at)
