"""Translate QuickSight expressions into DuckDB SQL, for row-level work: dataset columns, dimensions and
the values that aggregates sum. Aggregates themselves are composed by the planner (``plan.py``), which
needs them split into parts the page can re-aggregate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bcr.quicksight.expressions import (
    AGGREGATES,
    PRE_LEVELS,
    WINDOWS,
    Call,
    Expr,
    ExpressionError,
    Field,
    Keyword,
    ListOf,
    Null,
    Num,
    Op,
    Param,
    Str,
    window_level,
)


class UnsupportedError(ValueError):
    """Valid QuickSight the preview cannot evaluate: the visual becomes a labelled placeholder."""


# QuickSight period codes (truncDate, dateDiff, addDateTime, extract) → DuckDB date parts.
PERIODS = {
    "YYYY": "year",
    "Q": "quarter",
    "MM": "month",
    "WK": "week",
    "DD": "day",
    "HH": "hour",
    "MI": "minute",
    "SS": "second",
    "MS": "millisecond",
}
_EXTRACT = {**PERIODS, "WD": "dayofweek"}
# Java date patterns (parseDate, formatDate, dataset casts) → strftime, longest first.
_JAVA_DATE = [
    ("yyyy", "%Y"),
    ("yy", "%y"),
    ("MMMM", "%B"),
    ("MMM", "%b"),
    ("MM", "%m"),
    ("dd", "%d"),
    ("HH", "%H"),
    ("hh", "%I"),
    ("mm", "%M"),
    ("ss", "%S"),
    ("SSS", "%g"),
    ("EEEE", "%A"),
    ("EEE", "%a"),
    ("a", "%p"),
]


def java_date_format(pattern: str) -> str:
    out, index = [], 0
    while index < len(pattern):
        for java, strf in _JAVA_DATE:
            if pattern.startswith(java, index):
                out.append(strf)
                index += len(java)
                break
        else:
            out.append("%%" if pattern[index] == "%" else pattern[index])
            index += 1
    return "".join(out)


def literal(value: Any) -> str:
    """A SQL literal for a Python value (strings quoted, None as NULL)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _period(expr: Expr, table: Mapping[str, str], function: str) -> str:
    code = expr.value if isinstance(expr, Str) else expr.name if isinstance(expr, Keyword) else None
    if code is None or code.upper() not in table:
        raise ExpressionError(f"{function}: the period must be one of {', '.join(table)}")
    return table[code.upper()]


def _count(call: Call, low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(call.args) <= high:
        wanted = str(low) if low == high else f"{low} to {high}"
        raise ExpressionError(f"{call.name} takes {wanted} arguments, got {len(call.args)}")


class SqlTranslator:
    """Row-level QuickSight → DuckDB SQL. ``column`` maps a field name to SQL (it raises for unknown
    names); ``params`` gives literal values where parameters are allowed (rolling dates)."""

    def __init__(
        self,
        column: Callable[[str], str],
        now: str,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.column = column
        self.now = now
        self.params = params

    def __call__(self, expr: Expr) -> str:
        return self.sql(expr)

    def sql(self, expr: Expr) -> str:
        if isinstance(expr, Num):
            return repr(expr.value)
        if isinstance(expr, Str):
            return literal(expr.value)
        if isinstance(expr, Null):
            return "NULL"
        if isinstance(expr, Field):
            return self.column(expr.name)
        if isinstance(expr, Param):
            if self.params is None or expr.name not in self.params:
                raise ExpressionError(f"parameter ${{{expr.name}}} is not declared")
            return literal(self.params[expr.name])
        if isinstance(expr, Keyword):
            raise ExpressionError(f"{expr.name} is not a value here")
        if isinstance(expr, ListOf):
            return ", ".join(self.sql(item) for item in expr.items)
        if isinstance(expr, Op):
            return self._op(expr)
        return self._call(expr)

    def _op(self, expr: Op) -> str:
        args = [self.sql(arg) for arg in expr.args]
        if expr.op == "neg":
            return f"(-{args[0]})"
        if expr.op == "not":
            return f"(NOT {args[0]})"
        if expr.op == "^":
            return f"power({args[0]}, {args[1]})"
        if expr.op == "/":
            return f"(CAST({args[0]} AS DOUBLE) / NULLIF({args[1]}, 0))"
        op = {"and": "AND", "or": "OR"}.get(expr.op, expr.op)
        return f"({args[0]} {op} {args[1]})"

    def _call(self, call: Call) -> str:
        name, args = call.name, call.args
        if name in AGGREGATES:
            raise ExpressionError(f"{name}() aggregates rows and cannot be used in a row-level expression")
        if name in WINDOWS:
            return self._window(call)
        method = getattr(self, f"_f_{name}", None)
        if method is not None:
            return method(call)
        template = _TEMPLATES.get(name)
        if template is not None:
            _count(call, template.count("{"))
            return template.format(*(self.sql(arg) for arg in args))
        simple = _SIMPLE.get(name)
        if simple is None:
            raise UnsupportedError(f"function {name}() is not supported by the preview")
        sql_name, low, high = simple
        _count(call, low, high)
        return f"{sql_name}({', '.join(self.sql(arg) for arg in args)})"

    def _window(self, call: Call) -> str:
        level = window_level(call)
        if level not in PRE_LEVELS:
            raise ExpressionError(f"{call.name}() at {level} aggregates and cannot be used in a row-level expression")
        functions = {"sumOver": "SUM", "avgOver": "AVG", "countOver": "COUNT", "minOver": "MIN", "maxOver": "MAX"}
        if call.name not in functions:
            raise UnsupportedError(f"{call.name}() at {level} is not supported by the preview")
        measure = self.sql(call.args[0])
        partition = call.args[1] if len(call.args) > 2 else None
        by = f"PARTITION BY {self.sql(partition)}" if isinstance(partition, ListOf) and partition.items else ""
        return f"({functions[call.name]}({measure}) OVER ({by}))"

    # --- functions that are not a plain rename ---------------------------------------------------

    def _f_ifelse(self, call: Call) -> str:
        if len(call.args) < 3 or len(call.args) % 2 == 0:
            raise ExpressionError("ifelse takes condition, value pairs and a final else value (an odd number ≥ 3)")
        pairs = zip(call.args[:-1:2], call.args[1:-1:2], strict=True)
        whens = " ".join(f"WHEN {self.sql(c)} THEN {self.sql(v)}" for c, v in pairs)
        return f"(CASE {whens} ELSE {self.sql(call.args[-1])} END)"

    def _f_switch(self, call: Call) -> str:
        if len(call.args) < 4 or len(call.args) % 2 != 0:
            raise ExpressionError("switch takes a value, value/result pairs and a default")
        pairs = zip(call.args[1:-1:2], call.args[2:-1:2], strict=True)
        whens = " ".join(f"WHEN {self.sql(v)} THEN {self.sql(r)}" for v, r in pairs)
        return f"(CASE {self.sql(call.args[0])} {whens} ELSE {self.sql(call.args[-1])} END)"

    def _f_in(self, call: Call, negate: bool = False) -> str:
        _count(call, 2)
        value, values = self.sql(call.args[0]), self.sql(call.args[1])
        if isinstance(call.args[1], ListOf):
            return f"({value} {'NOT IN' if negate else 'IN'} ({values}))"
        return f"({'NOT ' if negate else ''}list_contains({values}, {value}))"  # a multi-valued parameter

    def _f_notIn(self, call: Call) -> str:
        return self._f_in(call, negate=True)

    def _f_contains(self, call: Call, sql_function: str = "contains") -> str:
        _count(call, 2, 3)
        text, part = self.sql(call.args[0]), self.sql(call.args[1])
        if len(call.args) == 3 and isinstance(call.args[2], Keyword) and call.args[2].name == "CASE_INSENSITIVE":
            text, part = f"lower({text})", f"lower({part})"
        return f"{sql_function}({text}, {part})"

    def _f_startsWith(self, call: Call) -> str:
        return self._f_contains(call, "starts_with")

    def _f_endsWith(self, call: Call) -> str:
        return self._f_contains(call, "suffix")

    def _f_locate(self, call: Call) -> str:
        _count(call, 2, 3)
        text, part = self.sql(call.args[0]), self.sql(call.args[1])
        if len(call.args) == 2:
            return f"strpos({text}, {part})"
        start = self.sql(call.args[2])
        found = f"strpos(substring({text}, {start}), {part})"
        return f"(CASE WHEN {found} = 0 THEN 0 ELSE {found} + {start} - 1 END)"

    def _f_now(self, call: Call) -> str:
        _count(call, 0)
        return self.now

    def _f_truncDate(self, call: Call) -> str:
        _count(call, 2)
        part = _period(call.args[0], PERIODS, "truncDate")
        return f"date_trunc('{part}', CAST({self.sql(call.args[1])} AS TIMESTAMP))"

    def _f_dateDiff(self, call: Call) -> str:
        _count(call, 2, 3)
        part = _period(call.args[2], PERIODS, "dateDiff") if len(call.args) == 3 else "day"
        first, second = (f"CAST({self.sql(arg)} AS TIMESTAMP)" for arg in call.args[:2])
        return f"date_diff('{part}', {first}, {second})"

    def _f_addDateTime(self, call: Call) -> str:
        _count(call, 3)
        part = _period(call.args[1], PERIODS, "addDateTime")
        amount = f"CAST({self.sql(call.args[0])} AS BIGINT)"
        if part == "quarter":
            part, amount = "month", f"({amount} * 3)"
        interval = f"to_{'milliseconds' if part == 'millisecond' else part + 's'}({amount})"
        return f"(CAST({self.sql(call.args[2])} AS TIMESTAMP) + {interval})"

    def _f_extract(self, call: Call) -> str:
        _count(call, 2)
        part = _period(call.args[0], _EXTRACT, "extract")
        value = f"date_part('{part}', CAST({self.sql(call.args[1])} AS TIMESTAMP))"
        return f"({value} + 1)" if part == "dayofweek" else value  # QuickSight counts Sunday as 1

    def _f_parseDate(self, call: Call) -> str:
        _count(call, 1, 3)
        pattern = call.args[1].value if len(call.args) > 1 and isinstance(call.args[1], Str) else "yyyy-MM-dd"
        return f"try_strptime({self.sql(call.args[0])}, {literal(java_date_format(pattern))})"

    def _f_formatDate(self, call: Call) -> str:
        _count(call, 1, 2)
        pattern = call.args[1].value if len(call.args) > 1 and isinstance(call.args[1], Str) else "MM/dd/yyyy"
        return f"strftime(CAST({self.sql(call.args[0])} AS TIMESTAMP), {literal(java_date_format(pattern))})"


# QuickSight name → DuckDB SQL with its arguments in {0}, {1}, … (one placeholder per argument).
_TEMPLATES: dict[str, str] = {
    "isNull": "({0} IS NULL)",
    "isNotNull": "({0} IS NOT NULL)",
    "toString": "CAST({0} AS VARCHAR)",
    "log": "log10({0})",
    "mod": "({0} % {1})",
    "parseInt": "TRY_CAST({0} AS BIGINT)",
    "parseDecimal": "TRY_CAST({0} AS DOUBLE)",
    "intToDecimal": "CAST({0} AS DOUBLE)",
    "decimalToInt": "CAST(trunc({0}) AS BIGINT)",
    "epochDate": "CAST(to_timestamp({0}) AS TIMESTAMP)",
}
# QuickSight name → (DuckDB name, min args, max args) for plain renames.
_SIMPLE: dict[str, tuple[str, int, int]] = {
    "coalesce": ("coalesce", 1, 99),
    "nullIf": ("nullif", 2, 2),
    "concat": ("concat", 1, 99),
    "toLower": ("lower", 1, 1),
    "toUpper": ("upper", 1, 1),
    "trim": ("trim", 1, 1),
    "ltrim": ("ltrim", 1, 1),
    "rtrim": ("rtrim", 1, 1),
    "left": ("left", 2, 2),
    "right": ("right", 2, 2),
    "substring": ("substring", 3, 3),
    "strlen": ("length", 1, 1),
    "replace": ("replace", 3, 3),
    "split": ("split_part", 3, 3),
    "abs": ("abs", 1, 1),
    "ceil": ("ceil", 1, 1),
    "floor": ("floor", 1, 1),
    "round": ("round", 1, 2),
    "sqrt": ("sqrt", 1, 1),
    "exp": ("exp", 1, 1),
    "ln": ("ln", 1, 1),
}
