"""`bcr quality results`: Glue's recorded results, grouped per ruleset, failures first, with their trend.

The Glue client is a real boto3 client with botocore's Stubber: every request is validated against the
service model on disk, and the responses have the shape ``GetDataQualityResult`` documents.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from bcr import quality_results
from bcr.cli import main
from bcr.quality_results import fetch_results, review

START = datetime(2026, 11, 20, 6, 5, tzinfo=UTC)
PRICED_RULE = (
    'ColumnValues "pricing_status" = "priced" where "pricing_status not in (\'not_billed\', \'not_token_priced\')" '
    "with threshold >= 0.95"
)


def _rule(name: str, description: str, result: str, metrics: dict[str, float], message: str | None = None) -> dict:
    rule: dict[str, Any] = {"Name": name, "Description": description, "Result": result, "EvaluatedMetrics": metrics}
    if message:
        rule["EvaluationMessage"] = message
    return rule


def _result(result_id: str, day: int, context: str, priced_share: float) -> dict[str, Any]:
    started = START + timedelta(days=day)
    passed = priced_share >= 0.95
    return {
        "ResultId": result_id,
        "Score": 1.0 if passed else 0.5,
        "DataSource": {"GlueTable": {"DatabaseName": "bedrock_costs", "TableName": "invocations"}},
        "EvaluationContext": context,
        "StartedOn": started,
        "CompletedOn": started + timedelta(minutes=2),
        "JobName": "bedrock-costs-etl",
        "JobRunId": f"jr_{result_id}",
        "RuleResults": [
            _rule("Rule_1", 'IsPrimaryKey "request_id"', "PASS", {"Column.request_id.Uniqueness": 1.0}),
            _rule(
                "Rule_2",
                PRICED_RULE,
                "PASS" if passed else "FAIL",
                {"Column.pricing_status.ColumnValues.Compliance": priced_share},
                None if passed else "Value: 0.81 does not meet the constraint requirement!",
            ),
        ],
        "AggregatedMetrics": {"TotalRulesProcessed": 2.0, "TotalRulesPassed": 2.0 if passed else 1.0},
    }


RESULTS = [
    _result("dqresult-1", 0, "invocations", 0.97),
    _result("dqresult-2", 1, "invocations", 0.96),
    _result("dqresult-3", 2, "invocations", 0.81),
    _result("dqresult-4", 2, "daily_costs", 1.0),
]


def stubbed_client(results: list[dict[str, Any]], job_name: str | None = None) -> tuple[Any, Stubber]:
    client = boto3.client("glue", region_name="us-east-1")
    stubber = Stubber(client)
    descriptions = [
        {"ResultId": r["ResultId"], "DataSource": r["DataSource"], "JobName": r["JobName"], "StartedOn": r["StartedOn"]}
        for r in results
    ]
    criteria: dict[str, Any] = {"StartedAfter": ANY}
    if job_name:
        criteria["JobName"] = job_name
    stubber.add_response(
        "list_data_quality_results",
        {"Results": descriptions[:2], "NextToken": "page-2"},
        {"Filter": criteria, "MaxResults": 100},
    )
    stubber.add_response(
        "list_data_quality_results",
        {"Results": descriptions[2:]},
        {"Filter": criteria, "MaxResults": 100, "NextToken": "page-2"},
    )
    newest = [r["ResultId"] for r in sorted(results, key=lambda r: r["StartedOn"], reverse=True)]
    stubber.add_response("batch_get_data_quality_result", {"Results": results}, {"ResultIds": newest})
    return client, stubber


def test_fetch_pages_through_the_list_and_gets_every_result_in_batches() -> None:
    client, stubber = stubbed_client(RESULTS, job_name="bedrock-costs-etl")
    with stubber:
        results = fetch_results(client, START - timedelta(days=1), "bedrock-costs-etl")
    stubber.assert_no_pending_responses()
    assert sorted(r["ResultId"] for r in results) == ["dqresult-1", "dqresult-2", "dqresult-3", "dqresult-4"]


def test_review_puts_failing_rulesets_first_and_shows_the_failed_rules_trend() -> None:
    reviews = review(RESULTS, runs=5)
    assert [r.ruleset for r in reviews] == ["invocations", "daily_costs"]
    invocations = reviews[0]
    assert invocations.latest.result_id == "dqresult-3"
    (failed,) = invocations.latest.failed
    assert failed["Description"] == PRICED_RULE
    assert invocations.trend(failed) == [0.97, 0.96, 0.81]
    assert [r.ruleset for r in review(RESULTS, runs=2, rulesets=["daily_costs"])] == ["daily_costs"]
    assert len(review(RESULTS, runs=2)[0].runs) == 2


def test_results_command_prints_failures_with_measured_value_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = stubbed_client(RESULTS)
    monkeypatch.setattr(quality_results, "glue_client", lambda region, profile: client)
    with stubber:
        assert main(["quality", "results", "--runs", "3"]) == 1
    out = capsys.readouterr().out
    first, *rest = out.splitlines()
    assert first.startswith("invocations: latest 2026-11-22 06:05 UTC, score 0.5, 1 of 2 rules did not pass")
    assert f"  FAIL  {PRICED_RULE}" in rest
    assert "        measured: Column.pricing_status.ColumnValues.Compliance = 0.81" in rest
    assert "        last 3 runs (oldest first): 0.97 → 0.96 → 0.81" in rest
    assert any(line.startswith("daily_costs: latest") and "all rules passed" in line for line in rest)


def test_results_command_reports_aws_errors_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client = boto3.client("glue", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error("list_data_quality_results", "AccessDeniedException", "not authorized", 400)
    monkeypatch.setattr(quality_results, "glue_client", lambda region, profile: client)
    with stubber:
        assert main(["quality", "results"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bcr quality results: An error occurred (AccessDeniedException)") and "Traceback" not in err
    assert main(["quality", "results", "--runs", "0"]) == 2
