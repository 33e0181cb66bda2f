"""Numbers in conditions, dynamic ones included, and the check of a metric against a condition.

A dynamic rule compares a metric with its own past: ``RowCount > 0.8 * avg(last(7))``. ``last(k)`` is the
rule's metric in the previous ``k`` evaluations (newest first), taken from a history the caller passes;
without history such a rule cannot be judged and says so. The comparison semantics are Glue's:
``between`` excludes both bounds, ``=`` is exact, arithmetic runs left to right.
"""

from __future__ import annotations

import operator
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from bedrock_costs.quality.dqdl import Arithmetic, Call, Condition, Literal, Number

History = Callable[[int], Sequence[float]]  # last(k) of the rule's metric, newest first


class NoHistory(ValueError):
    """A dynamic threshold needs past values the history does not hold."""


_AGGREGATES: dict[str, Callable[[Sequence[float]], float]] = {
    "avg": statistics.fmean,
    "average": statistics.fmean,
    "median": statistics.median,
    "max": max,
    "min": min,
    "sum": sum,
    "std": statistics.pstdev,
    "stddev": statistics.pstdev,
}
_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
# Comparison operators of DQDL; they work on floats and on Spark columns alike.
COMPARATORS: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    "!=": operator.ne,
}


def number_value(number: Number, history: History | None) -> float:
    """Evaluate a condition operand to a float."""
    value = _evaluate(number, history)
    if isinstance(value, list):
        if len(value) != 1:
            raise ValueError(f"{number} is a list of {len(value)} values; reduce it with avg(), max() …")
        return value[0]
    return value


def _evaluate(number: Number, history: History | None) -> float | list[float]:
    if isinstance(number, Literal):
        return number.value
    if isinstance(number, Arithmetic):
        left, right = number_value(number.left, history), number_value(number.right, history)
        return _OPERATORS[number.operator](left, right)
    return _call(number, history)


def _call(call: Call, history: History | None) -> float | list[float]:
    name = call.name.lower()
    if name == "last":
        count = int(number_value(call.args[0], history)) if call.args else 1
        if history is None:
            raise NoHistory(f"{call} needs the results of previous evaluations; none were given")
        values = list(history(count))
        if not values:
            raise NoHistory(f"{call}: no previous value of this rule's metric is recorded yet")
        return values
    if name == "index":
        values = _evaluate(call.args[0], history)
        position = int(number_value(call.args[1], history))
        if not isinstance(values, list) or not 0 <= position < len(values):
            raise NoHistory(f"{call}: position {position} is not among the recorded values")
        return values[position]
    if name == "abs":
        return abs(number_value(call.args[0], history))
    if name in _AGGREGATES:
        values = _evaluate(call.args[0], history) if len(call.args) == 1 else None
        if not isinstance(values, list):
            raise ValueError(f"{call}: {name}() takes one list such as last(10)")
        return _AGGREGATES[name](values)
    raise ValueError(f"unknown function {call.name}()")


def check_number(value: float, condition: Condition, history: History | None = None) -> bool:
    """Does a metric satisfy a numeric condition (Glue semantics: exclusive ``between``, exact ``=``)?"""
    bounds = [number_value(op, history) for op in condition.operands]  # type: ignore[arg-type]
    op = condition.operator
    if op == "between":
        inside = bounds[0] < value < bounds[1]
        return not inside if condition.negated else inside
    if op == "in":
        found = value in bounds
        return not found if condition.negated else found
    return bool(COMPARATORS[op](value, bounds[0]))


def describe(condition: Condition, history: History | None = None) -> str:
    """The condition as written, with dynamic operands resolved when the history allows it."""
    if not condition.is_dynamic or history is None:
        return str(condition)
    try:
        resolved = ", ".join(f"{op} = {number_value(op, history):.6g}" for op in condition.operands)  # type: ignore[arg-type]
    except (NoHistory, ValueError):
        return str(condition)
    return f"{condition} ({resolved})"
