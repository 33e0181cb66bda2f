"""The DQDL parser: Glue's syntax and semantics, and errors that point at the rule and the position."""

from __future__ import annotations

import pytest

from bedrock_costs.quality.dqdl import Call, Composite, DQDLError, Keyword, Now, Rule, Text, parse
from bedrock_costs.quality.numbers import NoHistory, check_number, number_value


def rule(text: str) -> Rule | Composite:
    return parse(f"Rules = [ {text} ]").rules[0]


def test_a_rule_has_type_parameters_condition_where_and_threshold() -> None:
    parsed = rule('ColumnValues "pricing_status" = "priced" where "status = \'success\'" with threshold >= 0.95')
    assert isinstance(parsed, Rule)
    assert (parsed.rule_type, parsed.parameters, parsed.where) == (
        "ColumnValues",
        ("pricing_status",),
        "status = 'success'",
    )
    assert str(parsed.condition) == '= "priced"'
    assert str(parsed.threshold) == ">= 0.95"


def test_values_keywords_dates_and_durations() -> None:
    listed = rule('ColumnValues "x" not in ["a", NULL, EMPTY, WHITESPACES_ONLY]').condition
    assert listed.negated and listed.operands == (
        Text("a"),
        Keyword("NULL"),
        Keyword("EMPTY"),
        Keyword("WHITESPACES_ONLY"),
    )
    dated = rule('ColumnValues "t" between "2026-01-01" and (now() - 3 hours)').condition
    assert dated.operands == (Text("2026-01-01"), Now(-10800, "(now() - 3 hours)"))
    fresh = rule('DataFreshness "t" between 2 days and 30 hours').condition
    assert [op.seconds for op in fresh.operands] == [172800, 108000]


def test_composites_nest_and_and_binds_tighter_than_or() -> None:
    parsed = rule('(IsComplete "a") and (IsUnique "a") or ((RowCount > 0) and (ColumnExists "b"))')
    assert isinstance(parsed, Composite) and parsed.operator == "or"
    first, second = parsed.rules
    assert isinstance(first, Composite) and first.operator == "and" and len(first.rules) == 2
    assert isinstance(second, Composite) and [r.rule_type for r in second.rules] == ["RowCount", "ColumnExists"]


def test_dynamic_numbers_use_the_rule_history_and_arithmetic_runs_left_to_right() -> None:
    condition = rule("RowCount > 0.8 * avg(last(3))").condition
    (operand,) = condition.operands
    assert condition.is_dynamic
    history = [100.0, 200.0, 300.0, 10_000.0]
    assert number_value(operand, lambda k: history[:k]) == pytest.approx(160.0)
    # As in Glue, one precedence level: 1 + 2 * 3 is (1 + 2) * 3.
    assert number_value(rule("RowCount > 1 + 2 * 3").condition.operands[0], None) == 9
    assert number_value(rule("RowCount > index(last(3), 1)").condition.operands[0], lambda k: history[:k]) == 200
    with pytest.raises(NoHistory):
        number_value(operand, lambda k: [])
    assert isinstance(operand.right, Call)


def test_between_excludes_its_bounds_and_equality_is_exact() -> None:
    between = rule("RowCount between 1 and 10").condition
    assert not check_number(1, between) and check_number(5, between) and not check_number(10, between)
    assert check_number(10, rule("RowCount not between 1 and 10").condition)
    assert check_number(3, rule("RowCount in [1, 3]").condition)
    assert not check_number(0.30000000000000004, rule('Mean "x" = 0.3').condition)


def test_document_sections_variables_and_labels() -> None:
    document = parse(
        """
        Metadata = { "Version": "1.0" }
        DataSources = { "Primary": "invocations", "AdditionalDataSources": ["pricing"] }
        statuses = ["priced", "not_billed"]
        Rules = [
            # a comment
            ColumnValues "pricing_status" in $statuses labels=["team"="finops"],
            Completeness of "tenant" > 0.5
        ]
        Analyzers = [ AllStatistics "total_cost" ]
        """
    )
    assert document.metadata == {"Version": "1.0"}
    assert document.data_sources["AdditionalDataSources"] == ["pricing"]
    first, second = document.rules
    assert first.condition.operands == (Text("priced"), Text("not_billed")) and first.labels == {"team": "finops"}
    assert second.parameters == ("tenant",)
    assert [a.rule_type for a in document.analyzers] == ["AllStatistics"]
    assert parse("Rules = [ ]").rules == ()


@pytest.mark.parametrize(
    ("source", "line", "column", "reason", "rule_text"),
    [
        (
            'Rules = [\n  IsComplete "a",\n  ColumnValues "x" >>= 0\n]',
            3,
            21,
            "unexpected '>='",
            'ColumnValues "x" >>= 0',
        ),
        ('Rules = [ IsComplete "a", IsCompete "b" ]', 1, 27, "unknown rule type 'IsCompete'", 'IsCompete "b"'),
        ("Rules = [\n  RowCount\n]", 2, 3, "RowCount needs a condition", "RowCount"),
        ('Rules = [ IsComplete "a" > 0.5 ]', 1, 11, "takes no condition", 'IsComplete "a" > 0.5'),
        ('Rules = [ Mean "a" "b" > 1 ]', 1, 11, "Mean takes 1 parameter(s), got 2", 'Mean "a" "b" > 1'),
        ("Rules = [ RowCount > 1 with threshold > 0.5 ]", 1, 11, "does not support 'with threshold'", "RowCount"),
        ('Rules = [ ColumnCount > 1 where "x > 0" ]', 1, 11, "does not support a where clause", "ColumnCount"),
        ('Rules = [ DataFreshness "t" > 3 ]', 1, 11, "use durations", 'DataFreshness "t" > 3'),
        ('Rules = [ ColumnValues "x" in ["a" "b"] ]', 1, 36, "unexpected '\"b\"'", 'ColumnValues "x" in ["a" "b"]'),
        ('Rules = [ ColumnValues "x" = "open ]', 1, 30, "quoted string is not closed", 'ColumnValues "x" = "open ]'),
        ('Rules = [ IsComplete "a"', 1, 25, "ends before it is complete", 'IsComplete "a"'),
    ],
)
def test_errors_name_line_column_and_rule(source: str, line: int, column: int, reason: str, rule_text: str) -> None:
    with pytest.raises(DQDLError) as caught:
        parse(source)
    error = caught.value
    assert (error.line, error.column) == (line, column)
    assert reason in error.reason
    assert error.rule_text.startswith(rule_text)
    assert f"line {line}, column {column}" in str(error)
