"""Row-level conditions as Spark columns: what ``ColumnValues``, ``ColumnLength`` and ``DataFreshness`` test.

A row passes when its predicate is true; a NULL value fails unless the condition names ``NULL`` (as in
Glue, ``ColumnValues "x" in ["a", NULL]`` is how nulls are allowed). Dates and times compare as
timestamps in UTC: a quoted ``"2026-11-20"``, ``now()`` and ``(now() - 3 hours)`` all work against
timestamp, date and ``YYYY-MM-DD`` text columns. ``matches`` must match the whole value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from bedrock_costs.quality.dqdl import Condition, Duration, Keyword, Now, Operand, Text
from bedrock_costs.quality.numbers import COMPARATORS, History, number_value


def _timestamp(operand: Operand, now: datetime) -> Column:
    if isinstance(operand, Now):
        moment = (now + timedelta(seconds=operand.offset_seconds)).astimezone(UTC).replace(tzinfo=None)
        return F.lit(moment).cast("timestamp")
    if isinstance(operand, Text):
        return F.lit(operand.value).cast("timestamp")
    raise ValueError(f"{operand} is not a date or time")


def _is_time(dtype: T.DataType) -> bool:
    return isinstance(dtype, T.TimestampType | T.TimestampNTZType | T.DateType)


def _operand_column(operand: Operand, dtype: T.DataType, now: datetime, history: History | None) -> Column:
    if isinstance(operand, Now) or (_is_time(dtype) and isinstance(operand, Text)):
        return _timestamp(operand, now)
    if isinstance(operand, Text):
        return F.lit(operand.value)
    if isinstance(operand, Duration | Keyword):
        raise ValueError(f"{operand} cannot be compared with a column value here")
    return F.lit(number_value(operand, history))  # type: ignore[arg-type]


def _keyword_test(value: Column, keyword: Keyword) -> Column:
    if keyword.name == "NULL":
        return value.isNull()
    if keyword.name == "EMPTY":
        return value.cast("string") == F.lit("")
    return (F.length(value.cast("string")) > 0) & (F.trim(value.cast("string")) == F.lit(""))


def _test(value: Column, condition: Condition, operands: Sequence[Column]) -> Column:
    """The condition's operator applied to ``value``; a null outcome fails, ``not`` negates the rest."""
    op = condition.operator
    if op == "between":
        test = (value > operands[0]) & (value < operands[1])
    elif op == "in":
        test = _any([value == operand for operand in operands])
    else:
        test = COMPARATORS[op](value, operands[0])
    test = F.coalesce(test, F.lit(False))
    return ~test if condition.negated else test


def _any(tests: list[Column]) -> Column:
    result = F.coalesce(tests[0], F.lit(False))
    for test in tests[1:]:
        result = result | F.coalesce(test, F.lit(False))
    return result


def value_predicate(
    column: str, dtype: T.DataType, condition: Condition, now: datetime, history: History | None = None
) -> Column:
    """True for rows whose ``column`` satisfies ``condition``; never null (a null value fails)."""
    value = F.col(column)
    if any(isinstance(op, Now) for op in condition.operands) and not _is_time(dtype):
        value, dtype = value.cast("timestamp"), T.TimestampType()  # e.g. usage_date 'YYYY-MM-DD' vs now()
    op, operands = condition.operator, condition.operands
    if op == "matches":
        test = F.coalesce(value.cast("string").rlike(f"^(?:{operands[0].value})$"), F.lit(False))  # type: ignore[union-attr]
        return ~test if condition.negated else test
    keywords = [operand for operand in operands if isinstance(operand, Keyword)]
    if keywords and op not in ("=", "!=", "in"):
        raise ValueError(f"{keywords[0]} can only be used with =, != or in")
    values = [_operand_column(o, dtype, now, history) for o in operands if not isinstance(o, Keyword)]
    if not keywords:
        return _test(value, condition, values)
    tests = [_keyword_test(value, keyword) for keyword in keywords]
    if values:
        tests.append(_test(value, Condition("in", tuple(o for o in operands if not isinstance(o, Keyword))), values))
    matched = _any(tests)
    return ~matched if condition.negated or op == "!=" else matched


def age_predicate(column: str, condition: Condition, now: datetime) -> Column:
    """``DataFreshness``: the row's age (now minus its time) satisfies a duration condition."""
    moment = F.lit(now.astimezone(UTC).replace(tzinfo=None)).cast("timestamp")
    age = moment.cast("double") - F.col(column).cast("timestamp").cast("double")
    return _test(age, condition, [F.lit(float(op.seconds)) for op in condition.operands])  # type: ignore[union-attr]


def length_predicate(column: str, condition: Condition, history: History | None = None) -> Column:
    """``ColumnLength``: the value's length satisfies a numeric condition; a null has no length and fails."""
    bounds = [F.lit(number_value(op, history)) for op in condition.operands]  # type: ignore[arg-type]
    return _test(F.length(F.col(column).cast("string")), condition, bounds)
