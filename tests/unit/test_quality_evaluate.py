"""The local evaluator: every rule type passes on data that satisfies it and fails on data that does not,
all rules of a ruleset share one aggregate job (analysed once), rulesets evaluated together each see their
own data, and nothing unsupported or broken passes silently."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bedrock_costs.quality.evaluate import HANDLERS, Target, evaluate_ruleset, evaluate_together
from bedrock_costs.quality.results import ERROR, FAIL, PASS

pytestmark = pytest.mark.spark

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)

# (rule that holds on DATA, rule that does not), one pair per supported rule type and form.
PAIRS = [
    ("RowCount = 5", "RowCount > 5"),
    ("RowCount = 2 where \"tenant = 'acme'\"", "RowCount = 5 where \"tenant = 'acme'\""),
    ("ColumnCount = 6", "ColumnCount < 6"),
    ('ColumnExists "tokens"', 'ColumnExists "tokenz"'),
    ('IsComplete "request_id"', 'IsComplete "tenant"'),
    ('IsComplete "tenant" where "tokens < 150"', 'IsComplete "tenant" where "tokens >= 0"'),
    ('Completeness "tenant" between 0.5 and 0.7', 'Completeness "tenant" > 0.7'),
    ('IsUnique "request_id"', 'IsUnique "tenant"'),
    ('Uniqueness "tenant" < 0.5', 'Uniqueness "request_id" < 1.0'),
    ('IsPrimaryKey "request_id"', 'IsPrimaryKey "tenant"'),
    ('IsPrimaryKey "request_id" "day"', 'IsPrimaryKey "tenant" "day"'),
    ('DistinctValuesCount "tenant" = 2', 'DistinctValuesCount "tenant" > 2'),
    ('UniqueValueRatio "tenant" = 0.5', 'UniqueValueRatio "tenant" = 1'),
    ('Mean "tokens" = 220', 'Mean "tokens" < 220'),
    ('Sum "cost" between 1.099 and 1.101', 'Sum "cost" > 2'),
    ('StandardDeviation "tokens" < 200', 'StandardDeviation "tokens" < 100'),
    ('ColumnValues "tokens" >= 0', 'ColumnValues "tokens" > 100'),
    ('ColumnValues "tokens" > 100 with threshold >= 0.6', 'ColumnValues "tokens" > 100 with threshold > 0.6'),
    ('ColumnValues "tokens" between -1 and 1000', 'ColumnValues "tokens" between 0 and 1000'),
    ('ColumnValues "tokens" in [0, 100, 200, 300, 500]', 'ColumnValues "tokens" not in [0, 100]'),
    ('ColumnValues "tenant" in ["acme", "globex", NULL]', 'ColumnValues "tenant" in ["acme", "globex"]'),
    ('ColumnValues "tenant" != NULL where "tokens < 150"', 'ColumnValues "tenant" = NULL'),
    ('ColumnValues "request_id" matches "req-[0-9]+"', 'ColumnValues "request_id" matches "req-[0-9][0-9]"'),
    ('ColumnValues "request_id" not matches "x.*"', 'ColumnValues "request_id" not matches "req.*"'),
    ('ColumnValues "event_time" <= now()', 'ColumnValues "event_time" < (now() - 2 days)'),
    ('ColumnValues "event_time" > (now() - 3 days)', 'ColumnValues "event_time" > (now() - 36 hours)'),
    ('ColumnValues "event_time" > (now() - 26 hours) with threshold > 0', 'ColumnValues "event_time" > now()'),
    ('ColumnValues "day" between "2026-11-19" and "2026-11-23"', 'ColumnValues "day" >= "2026-11-22"'),
    ('ColumnValues "day" > (now() - 4 days)', 'ColumnValues "day" >= (now() - 1 days)'),
    ('ColumnLength "request_id" = 5', 'ColumnLength "request_id" > 5'),
    ('ColumnLength "tenant" between 3 and 7 where "tenant is not null"', 'ColumnLength "tenant" between 3 and 7'),
    ('DataFreshness "event_time" <= 3 days', 'DataFreshness "event_time" <= 24 hours'),
    (
        'CustomSql "select count(*) from primary where tokens < 0" = 0',
        'CustomSql "select max(tokens) from primary" < 500',
    ),
    ('CustomSql "select count(*) from primary p join ref r on p.tenant = r.name" = 2', 'CustomSql "select 1" = 2'),
    ('ReferentialIntegrity "tenant" "ref.{name}" = 0.4', 'ReferentialIntegrity "tenant" "ref.{name}" = 1.0'),
    (
        'ReferentialIntegrity "tenant,day" "ref.{name,day}" = 0.2',
        'ReferentialIntegrity "tenant,day" "ref.name,day" = 1',
    ),
    ('(IsComplete "request_id") and (RowCount = 5)', '(IsComplete "request_id") and (RowCount = 4)'),
    ('(IsComplete "tenant") or (RowCount = 5)', '(IsComplete "tenant") or (RowCount = 4)'),
    ('((IsComplete "tenant") or (RowCount = 5)) and (Mean "tokens" > 0)', '(IsUnique "tenant") or (Sum "tokens" = 0)'),
    ("RowCount > 0.9 * avg(last(3))", "RowCount > max(last(3))"),
]


@pytest.fixture(scope="module")
def data(spark):
    rows = [
        ("req-1", "acme", 0, Decimal("0.1"), "2026-11-20", datetime(2026, 11, 20, 10)),
        ("req-2", "acme", 100, Decimal("0.2"), "2026-11-21", datetime(2026, 11, 21, 10)),
        ("req-3", None, 200, Decimal("0.3"), "2026-11-21", datetime(2026, 11, 21, 18)),
        ("req-4", "globex", 300, Decimal("0.0"), "2026-11-22", datetime(2026, 11, 22, 9)),
        ("req-5", None, 500, Decimal("0.5"), "2026-11-22", datetime(2026, 11, 22, 23)),
    ]
    schema = "request_id string, tenant string, tokens long, cost decimal(38,18), day string, event_time timestamp"
    primary = spark.createDataFrame(rows, schema)
    reference = spark.createDataFrame([("acme", "2026-11-20"), ("initech", "2026-11-21")], "name string, day string")
    return primary, {"ref": reference}


@pytest.fixture(scope="module")
def outcomes(data):
    primary, sources = data
    rules = [rule for pair in PAIRS for rule in pair]
    result = evaluate_ruleset(
        primary,
        "Rules = [\n" + ",\n".join(rules) + "\n]",
        sources=sources,
        now=NOW,
        history={"Dataset.*.RowCount": [5, 4, 6, 2]},
    )
    return {r.rule: r for r in result.results}


@pytest.mark.parametrize(("holds", "breaks"), PAIRS)
def test_rule_passes_when_it_holds_and_fails_when_it_does_not(outcomes, holds: str, breaks: str) -> None:
    assert outcomes[holds].outcome == PASS, outcomes[holds].message
    failed = outcomes[breaks]
    assert failed.outcome == FAIL, failed.message
    assert failed.message


def test_every_supported_rule_type_is_covered() -> None:
    covered = {pair[0].split()[0].lstrip("(") for pair in PAIRS}
    assert set(HANDLERS) - {"Variance"} <= covered


def test_results_carry_glue_metric_names_and_readable_reasons(outcomes) -> None:
    assert outcomes['IsComplete "request_id"'].metrics == {"Column.request_id.Completeness": 1.0}
    assert outcomes["RowCount = 5"].to_glue() == {
        "Name": outcomes["RowCount = 5"].name,
        "Description": "RowCount = 5",
        "Result": "PASS",
        "EvaluatedMetrics": {"Dataset.*.RowCount": 5.0},
    }
    failed = outcomes['ColumnValues "tokens" > 100']
    assert (
        failed.metrics["Column.tokens.Minimum"] == 0 and failed.metrics["Column.tokens.ColumnValues.Compliance"] == 0.6
    )
    assert failed.message == "2 of 5 rows (40.00%) do not satisfy tokens > 100"
    assert outcomes['IsUnique "tenant"'].message.startswith("1 value(s) of tenant occur more than once")
    dynamic = outcomes["RowCount > 0.9 * avg(last(3))"]
    assert dynamic.expected == "> 0.9 * avg(last(3)) (0.9 * avg(last(3)) = 4.5)"


def test_aggregate_rules_share_one_spark_job(spark, data) -> None:
    primary, _ = data
    rules = [
        'IsComplete "request_id"',
        'Completeness "tenant" > 0.1',
        "RowCount > 1",
        "RowCount > 1 where \"tenant = 'acme'\"",
        'Mean "tokens" > 0',
        'Sum "cost" > 0',
        'StandardDeviation "tokens" > 0',
        'ColumnValues "tokens" >= 0',
        'ColumnValues "tenant" in ["acme", "globex", NULL]',
        'ColumnLength "request_id" = 5',
        'DataFreshness "event_time" <= 5 days',
        '(IsComplete "day") and (ColumnValues "day" matches "2026-.*")',
    ]
    tracker = spark.sparkContext.statusTracker()

    def jobs(group: str, action) -> int:
        spark.sparkContext.setJobGroup(group, group)
        try:
            action()
        finally:
            spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
        return len(tracker.getJobIdsForGroup(group))

    one_aggregate = jobs("dq-one-aggregate", lambda: primary.agg(F.count(F.lit(1))).collect())
    results = []
    evaluation = jobs(
        "dq-ruleset", lambda: results.append(evaluate_ruleset(primary, "Rules = [" + ", ".join(rules) + "]", now=NOW))
    )
    assert results[0].passed, [r.message for r in results[0].results if not r.passed]
    assert evaluation == one_aggregate


def test_rulesets_evaluated_together_each_see_their_own_primary(data) -> None:
    primary, sources = data
    acme = primary.where("tenant = 'acme'")
    # The same statement, over two primaries: its jobs run after both rulesets were planned, side by side.
    rules = 'Rules = [ CustomSql "select count(*) from primary" = {n}, RowCount = {n}, IsUnique "request_id" ]'
    whole, part = evaluate_together(
        [Target("whole", primary, rules.format(n=5), sources), Target("acme", acme, rules.format(n=2), sources)],
        now=NOW,
    )
    assert (whole.ruleset, part.ruleset) == ("whole", "acme")
    assert whole.passed and part.passed, [(r.rule, r.message) for r in (*whole.results, *part.results)]


def test_a_ruleset_is_analysed_once_and_a_bad_clause_fails_only_its_rule(monkeypatch, data) -> None:
    primary, _ = data
    analysed = []
    agg = DataFrame.agg

    def counting(self, *columns):
        if self is primary:
            analysed.append(len(columns))
        return agg(self, *columns)

    monkeypatch.setattr(DataFrame, "agg", counting)
    valid = [
        'IsComplete "request_id"',
        "RowCount = 2 where \"tenant = 'acme'\"",
        'ColumnValues "tokens" between -1 and 1000',
        'Mean "tokens" = 220',
        'ColumnLength "request_id" = 5',
    ]
    good = evaluate_ruleset(primary, "Rules = [" + ", ".join(valid) + "]", now=NOW)
    assert good.passed, [(r.rule, r.message) for r in good.results]
    assert len(analysed) == 1 and analysed[0] > len(valid), analysed  # one agg holding every aggregate

    bad = 'RowCount > 0 where "no_such_column > 1"'
    mixed = evaluate_ruleset(primary, "Rules = [" + ", ".join([*valid[:2], bad, *valid[2:]]) + "]", now=NOW)
    outcomes = {r.rule: (r.outcome, r.message) for r in mixed.results}
    assert outcomes.pop(bad)[0] == ERROR
    assert "where clause" in mixed.results[2].message and "no_such_column" in mixed.results[2].message
    assert outcomes == {r.rule: (r.outcome, r.message) for r in good.results}


def test_what_cannot_be_evaluated_is_an_error_never_a_pass(data) -> None:
    primary, sources = data
    rules = [
        'Entropy "tokens" > 1',
        'IsComplete "no_such_column"',
        'RowCount > 0 where "no_such_column > 1"',
        'CustomSql "select count(*) from nowhere" = 0',
        'CustomSql "select request_id from primary"',
        'ReferentialIntegrity "tenant" "missing.{name}" = 1',
        "RowCount > avg(last(3))",
        '(IsComplete "request_id") or (Entropy "tokens" > 1)',
        'ColumnValues "tokens" = 1 with ignoreCase = "true"',
        'CustomSql "select tokens from primary" = 0',
    ]
    result = evaluate_ruleset(primary, "Rules = [" + ", ".join(rules) + "]", sources=sources, now=NOW)
    outcomes = {r.rule: (r.outcome, r.message) for r in result.results}
    assert all(outcome == ERROR for outcome, _ in outcomes.values()), outcomes
    assert "not supported" in outcomes['Entropy "tokens" > 1'][1]
    assert "'no_such_column' does not exist" in outcomes['IsComplete "no_such_column"'][1]
    assert "needs the results of previous evaluations" in outcomes["RowCount > avg(last(3))"][1]
    assert "one row" in outcomes['CustomSql "select tokens from primary" = 0'][1]
    assert "alias 'missing'" in outcomes['ReferentialIntegrity "tenant" "missing.{name}" = 1'][1]


def test_empty_dataset_fails_ratio_rules_instead_of_passing(spark, data) -> None:
    primary, _ = data
    result = evaluate_ruleset(
        primary.limit(0), 'Rules = [ IsComplete "tenant", ColumnValues "tokens" >= 0, RowCount = 0 ]', now=NOW
    )
    assert [r.outcome for r in result.results] == [FAIL, FAIL, PASS]
    assert "no rows to evaluate" in result.results[0].message
