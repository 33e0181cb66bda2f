"""QuickSight expressions: how they parse, what they reference, what they return, and when QuickSight would
refuse them. One parser serves `bcr dashboard validate` and `bcr report`."""

from __future__ import annotations

import re

import pytest

from bcr.quicksight.expressions import (
    Call,
    ExpressionError,
    Field,
    Keyword,
    ListOf,
    Num,
    Op,
    Param,
    Result,
    Str,
    fields,
    infer,
    is_aggregated,
    params,
    parse,
    replace_fields,
)

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
        ("sumOver({total_cost}, [{tenant}], PRE_FILTER)", "DECIMAL", False),  # row level: a visual may sum it
        ("switch({tenant}, 'a', 1, 'b', 2.5, 0)", "DECIMAL", False),
        ("percentileCont({total_cost}, 90)", "DECIMAL", True),
        ("percentileDisc({request_count}, 50)", "INTEGER", True),
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
        ("switch({tenant}, 'a', 1, 'none')", "switch() returns different types: INTEGER, STRING"),
        ("{tenant} * 2", "'*' needs numbers, got STRING"),
        ("toUpperCase({tenant})", "unknown function 'toUpperCase' at position 1"),
        ("ifelse({tenant} = 'a', 1", "expected ')' at position 25, found 'the end'"),
        ("{total_cost} # 2", "unexpected character '#' at position 14"),
    ],
)
def test_what_quicksight_would_refuse_is_refused(expression: str, error: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(error)):
        infer(parse(expression), column, parameter)


def test_references_lists_columns_and_parameters() -> None:
    tree = parse("ifelse({usage_date} >= ${PeriodStart}, {Total Cost}, 0)")
    assert fields(tree) == {"usage_date", "Total Cost"}
    assert params(tree) == {"PeriodStart"}


def test_precedence_fields_params_and_lists() -> None:
    assert parse("1 + 2 * 3 ^ 2") == Op("+", (Num(1), Op("*", (Num(2), Op("^", (Num(3), Num(2)))))))
    assert parse("NOT {a} = 1 AND b OR c") == Op(
        "or", (Op("and", (Op("not", (Op("=", (Field("a"), Num(1))),)), Field("b"))), Field("c"))
    )
    assert parse("{model id} <> ${Model Param}") == Op("<>", (Field("model id"), Param("Model Param")))
    assert parse("runningSum(sum({x}), [{d} DESC], [{p}])") == Call(
        "runningSum",
        (
            Call("sum", (Field("x"),)),
            ListOf((Field("d"),), ("DESC",)),
            ListOf((Field("p"),), (None,)),
        ),
    )
    assert parse("sumOver(sum(x), [], PRE_AGG)").args[-1] == Keyword("PRE_AGG")
    assert parse("'it''s' /* note */ ") == Str("it's")
    assert parse("SUMIF({x}, {y} > 1)").name == "sumIf"  # function names are not case-sensitive


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sum({x}", "expected ')' at position 8"),
        ("1 +", "position 4"),
        ("nosuch({x})", "unknown function 'nosuch' at position 1"),
        ("{x} # 2", "unexpected character '#' at position 5"),
        ("  ", "empty"),
    ],
)
def test_syntax_errors_say_where(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse(text)


def test_aggregation_is_recognised_through_levels() -> None:
    assert is_aggregated(parse("sum({x}) / 2"))
    assert is_aggregated(parse("percentOfTotal(sum({x}), [])"))
    assert not is_aggregated(parse("sumOver({x}, [{y}], PRE_FILTER)"))
    assert not is_aggregated(parse("ifelse({x} > 1, 'a', 'b')"))
    inlined = replace_fields(parse("{ratio} * 100"), {"ratio": parse("sum({a}) / sum({b})")})
    assert is_aggregated(inlined)
