"""Calculated-field expressions: what they reference, what they return, and when QuickSight would refuse them."""

from __future__ import annotations

import re

import pytest

from bcr.quicksight.expressions import ExpressionError, Result, infer, parse, references

COLUMNS = {
    "usage_date": Result("DATETIME"),
    "total_cost": Result("DECIMAL"),
    "request_count": Result("INTEGER"),
    "tenant": Result("STRING"),
    "cost_per_request": Result("DECIMAL", aggregated=True),
}
PARAMETERS = {"PeriodStart": "DATETIME", "PeriodEnd": "DATETIME", "TagKey": "STRING"}


def column(name: str) -> Result:
    if name not in COLUMNS:
        raise ExpressionError(f"unknown column {{{name}}}")
    return COLUMNS[name]


def parameter(name: str) -> str:
    if name not in PARAMETERS:
        raise ExpressionError(f"unknown parameter ${{{name}}}")
    return PARAMETERS[name]


@pytest.mark.parametrize(
    ("expression", "kind", "aggregated"),
    [
        ("ifelse({usage_date} >= ${PeriodStart} AND {usage_date} <= ${PeriodEnd}, {total_cost}, 0)", "DECIMAL", False),
        ("ifelse(isNull({total_cost}), 0, {request_count})", "INTEGER", False),
        ("sum({total_cost}) / sum({request_count}) * 1000", "DECIMAL", True),
        ("dateDiff(max({usage_date}), now(), 'HH')", "INTEGER", True),
        ("addDateTime(dateDiff(${PeriodEnd}, ${PeriodStart}, 'DD') - 1, 'DD', ${PeriodStart})", "DATETIME", False),
        ("ifelse({tenant} = ${TagKey}, 'match', NULL)", "STRING", False),
        ("coalesce({request_count}, 0) + 1", "INTEGER", False),
        ("{cost_per_request} * 2", "DECIMAL", True),
        ("NOT in({tenant}, ['internal', 'test'])", "BOOLEAN", False),
        ("sumOver(sum({total_cost}), [{tenant}], PRE_AGG)", "DECIMAL", True),
    ],
)
def test_result_type_and_aggregation(expression: str, kind: str, aggregated: bool) -> None:
    result = infer(parse(expression), column, parameter)
    assert (result.type, result.aggregated) == (kind, aggregated)


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("sum({total_costs})", "unknown column {total_costs}"),
        ("{total_cost} > ${PeriodBegin}", "unknown parameter ${PeriodBegin}"),
        ("sum({total_cost}) + {request_count}", "'+' mixes aggregated and row-level values"),
        ("sum({cost_per_request})", "sum() of an already aggregated value"),
        ("ifelse({request_count} > 1, 'many', 0)", "ifelse() returns different types: INTEGER, STRING"),
        ("{tenant} * 2", "'*' needs numbers, got STRING"),
        ("toUpperCase({tenant})", "unknown function toUpperCase()"),
        ("ifelse({tenant} = 'a', 1", "ends too early"),
        ("{total_cost} # 2", "cannot read '# 2'"),
    ],
)
def test_what_quicksight_would_refuse_is_refused(expression: str, error: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(error)):
        infer(parse(expression), column, parameter)


def test_references_lists_columns_and_parameters() -> None:
    tree = parse("ifelse({usage_date} >= ${PeriodStart}, {Total Cost}, 0)")
    assert references(tree, "column") == {"usage_date", "Total Cost"}
    assert references(tree, "param") == {"PeriodStart"}
