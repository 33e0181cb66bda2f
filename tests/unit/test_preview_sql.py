"""QuickSight expressions translated into DuckDB SQL, evaluated on literal rows and held to QuickSight's semantics."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pytest

from bcr.preview.sql import SqlTranslator, UnsupportedError, java_date_format, quote
from bcr.quicksight.expressions import ExpressionError, parse

ROW = {
    "cost": "CAST(0.25 AS DECIMAL(38,18))",
    "requests": "CAST(8 AS BIGINT)",
    "tenant": "CAST(NULL AS VARCHAR)",
    "model id": "'anthropic.claude-sonnet-4-5'",
    "day": "TIMESTAMP '2026-11-22 13:45:00'",
    "text day": "'22/11/2026'",
}


def evaluate(text: str, params: dict[str, Any] | None = None) -> Any:
    """Translate and run one expression over a single literal row."""
    columns = ", ".join(f"{sql} AS {quote(name)}" for name, sql in ROW.items())

    def column(name: str) -> str:
        if name not in ROW:
            raise ExpressionError(f"no column {name!r}")
        return quote(name)

    sql = SqlTranslator(column, "TIMESTAMP '2026-11-30 12:00:00'", params)(parse(text))
    return duckdb.execute(f"SELECT {sql} FROM (SELECT {columns})").fetchall()[0][0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{cost} * {requests}", 2.0),
        ("{requests} / 0", None),  # QuickSight: division by zero is null, not an error
        ("7 / 2", 3.5),
        ("ifelse({requests} > 10, 'big', {requests} > 5, 'medium', 'small')", "medium"),
        ("coalesce({tenant}, '(untagged)')", "(untagged)"),
        ("isNull({tenant}) AND isNotNull({cost})", True),
        ("split({model id}, '.', 1)", "anthropic"),
        ("contains({model id}, 'CLAUDE', CASE_INSENSITIVE)", True),
        ("contains({model id}, 'CLAUDE')", False),
        ("in({requests}, [1, 8])", True),
        ("notIn(toString({requests}), ['8'])", False),
        ("strlen(toUpper(left({model id}, 9)))", 9),
        ("dateDiff({day}, now(), 'DD')", 8),
        ("dateDiff({day}, now())", 8),
        ("truncDate('MM', {day})", dt.datetime(2026, 11, 1)),
        ("addDateTime(-30, 'DD', truncDate('DD', now()))", dt.datetime(2026, 10, 31)),
        ("addDateTime(1, 'Q', {day})", dt.datetime(2027, 2, 22, 13, 45)),
        ("extract('WD', {day})", 1),  # 2026-11-22 is a Sunday: QuickSight counts it as 1
        ("extract('HH', {day})", 13),
        ("parseDate({text day}, 'dd/MM/yyyy')", dt.datetime(2026, 11, 22)),
        ("formatDate({day}, 'yyyy-MM-dd HH:mm')", "2026-11-22 13:45"),
        ("round({cost} * 10, 1)", 2.5),
        ("switch({requests}, 8, 'eight', 'other')", "eight"),
        ("sumOver({requests}, [{model id}], PRE_FILTER)", 8),
    ],
)
def test_sql_translation_matches_quicksight_semantics(text: str, expected: Any) -> None:
    result = evaluate(text)
    if isinstance(expected, float):
        assert float(result) == pytest.approx(expected)
    else:
        assert result == expected


def test_parameters_are_literals_in_rolling_dates() -> None:
    assert evaluate("addDateTime(-1, 'DD', ${Start})", {"Start": "2026-11-01 00:00:00"}) == dt.datetime(2026, 10, 31)
    assert evaluate("in({model id}, ${Models})", {"Models": ["a", "anthropic.claude-sonnet-4-5"]}) is True
    with pytest.raises(ExpressionError, match="not declared"):
        evaluate("${Missing} + 1", {})


def test_misuse_is_an_error_and_the_unsupported_is_said_so() -> None:
    with pytest.raises(ExpressionError, match="cannot be used in a row-level expression"):
        evaluate("sum({cost}) + 1")
    with pytest.raises(ExpressionError, match="no column 'nope'"):
        evaluate("{nope} + 1")
    with pytest.raises(ExpressionError, match="ifelse takes"):
        evaluate("ifelse({cost} > 1, 1)")
    with pytest.raises(ExpressionError, match="truncDate: the period"):
        evaluate("truncDate('fortnight', {day})")
    with pytest.raises(UnsupportedError, match="parseJson"):
        evaluate("parseJson({model id}, 'a')")


def test_java_date_patterns() -> None:
    assert java_date_format("yyyy-MM-dd'T'HH:mm:ss") == "%Y-%m-%d'T'%H:%M:%S"
    assert java_date_format("MMM d, yyyy") == "%b d, %Y"
