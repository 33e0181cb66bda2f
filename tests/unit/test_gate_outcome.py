"""The gate's verdict and records, from crafted results (no Spark): what each policy makes of a failed rule,
the one-line error naming the rules, the dq_results rows, and Glue's ruleOutcomes read back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from bedrock_costs.quality.gate import FAIL, WARN, DataQualityFailed, GateOutcome, QualityGate
from bedrock_costs.quality.results import ERROR, PASS, RuleResult, RulesetResult, from_rule_outcomes
from bedrock_costs.quality.results import FAIL as RULE_FAIL
from bedrock_costs.quality.rulesets import TemplateError, fetch_rulesets
from bedrock_costs.schemas import DQ_RESULTS

AT = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
PRICED = 'ColumnValues "pricing_status" = "priced" with threshold >= 0.95'


def _results(*outcomes: str) -> list[RulesetResult]:
    rules = [
        RuleResult(f"Rule_{n}", f"{PRICED} -- {n}", outcome, None if outcome == PASS else f"why {n}", {"m": 0.5}, 0.5)
        for n, outcome in enumerate(outcomes, start=1)
    ]
    return [RulesetResult("invocations", rules, AT), RulesetResult("daily_costs", [rules[0]], AT)]


def test_all_passing_rules_pass_under_either_policy() -> None:
    for policy in (FAIL, WARN):
        outcome = GateOutcome(policy, "local", _results(PASS, PASS), AT)
        assert (outcome.outcome, outcome.rules_evaluated, outcome.failures) == ("passed", 3, [])
        outcome.enforce()


def test_a_failed_rule_fails_the_run_under_fail_and_names_the_rule() -> None:
    outcome = GateOutcome(FAIL, "local", _results(PASS, RULE_FAIL, ERROR), AT)
    assert outcome.outcome == "failed"
    with pytest.raises(DataQualityFailed) as raised:
        outcome.enforce()
    message = str(raised.value)
    assert "\n" not in message  # the run's error is one line
    assert message.startswith("data quality failed (policy fail): 2 of 4 rules did not pass")
    assert "invocations Rule_2 FAIL" in message and "why 2" in message and "invocations Rule_3 ERROR" in message


def test_a_failed_rule_only_warns_under_warn() -> None:
    outcome = GateOutcome(WARN, "glue", _results(RULE_FAIL), AT)
    assert outcome.outcome == "warned"
    outcome.enforce()  # publishes
    assert "data quality warned (policy warn)" in outcome.describe()


def test_the_error_names_a_few_rules_and_counts_the_rest() -> None:
    outcome = GateOutcome(FAIL, "local", _results(*[RULE_FAIL] * 8), AT)
    message = outcome.describe()
    assert "Rule_5 FAIL" in message and "Rule_6 FAIL" not in message
    assert message.endswith("; and 4 more (see dq_results)")  # 8 + the daily_costs one = 9 failures, 5 named


def test_dq_results_rows_have_the_contract_shape_and_one_row_per_rule() -> None:
    outcome = GateOutcome(WARN, "local", _results(PASS, RULE_FAIL), AT)
    rows = outcome.rows("run-1", "2026-12-02")
    assert len(rows) == 3 and all(len(row) == len(DQ_RESULTS.fields) for row in rows)
    record = dict(zip(DQ_RESULTS.fieldNames(), rows[1], strict=True))
    assert record == {
        "run_id": "run-1",
        "ruleset": "invocations",
        "rule_name": "Rule_2",
        "rule": f"{PRICED} -- 2",
        "outcome": RULE_FAIL,
        "failure_reason": "why 2",
        "measured_value": 0.5,
        "expected": None,
        "evaluated_metrics": json.dumps({"m": 0.5}),
        "policy": WARN,
        "engine": "local",
        "evaluated_at": AT,
        "run_date": "2026-12-02",
    }
    assert dict(zip(DQ_RESULTS.fieldNames(), rows[0], strict=True))["failure_reason"] is None


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="'block': use one of fail, warn"):
        QualityGate([], [], "block")


def test_glue_rule_outcomes_read_back_as_rule_results() -> None:
    rows = [
        {"Rule": 'IsComplete "a"', "Outcome": "Passed", "FailureReason": None, "EvaluatedMetrics": {"c": 1.0}},
        {"Rule": "RowCount > 5", "Outcome": "Failed", "FailureReason": "Value: 3 does not meet the constraint"},
        {"Rule": 'Mean "x" > 1', "Outcome": "Skipped", "EvaluatedMetrics": {"a": 1.0, "b": 2.0}},
    ]
    result = from_rule_outcomes("invocations", rows, AT)
    assert [(r.name, r.outcome) for r in result.results] == [("Rule_1", PASS), ("Rule_2", RULE_FAIL), ("Rule_3", ERROR)]
    assert result.results[0].measured == 1.0 and result.results[2].measured is None
    assert result.results[1].message == "Value: 3 does not meet the constraint"
    assert result.results[2].message == "outcome 'Skipped'"  # never silently passed


def test_rulesets_are_read_from_glue_by_name() -> None:
    glue = boto3.client("glue", region_name="us-east-1")
    text = "Rules = [ RowCount > 0 ]"
    table = {"TableName": "invocations", "DatabaseName": "db"}
    with Stubber(glue) as stub:
        name = "bcr-invocations"
        answer = {"Name": name, "Ruleset": text, "TargetTable": table}
        stub.add_response("get_data_quality_ruleset", answer, {"Name": name})
        stub.add_response("get_data_quality_ruleset", {"Name": "bcr-x", "Ruleset": text}, {"Name": "bcr-x"})
        (definition,) = fetch_rulesets(glue, [name])
        assert (definition.name, definition.table, definition.aws_name, definition.dqdl) == (
            "invocations",
            "invocations",
            name,
            text,
        )
        with pytest.raises(TemplateError, match="bcr-x has no target table"):
            fetch_rulesets(glue, ["bcr-x"])


def test_an_unmeasurable_metric_is_null_not_nan() -> None:
    rule = RuleResult("Rule_1", 'Mean "x" > 1', RULE_FAIL, "no rows", {"Column.x.Mean": float("nan")}, float("nan"))
    (row,) = GateOutcome(WARN, "local", [RulesetResult("invocations", [rule], AT)], AT).rows("r", "2026-12-02")
    record = dict(zip(DQ_RESULTS.fieldNames(), row, strict=True))
    assert record["measured_value"] is None
    assert json.loads(record["evaluated_metrics"]) == {"Column.x.Mean": None}
