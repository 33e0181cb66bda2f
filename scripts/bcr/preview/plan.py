"""Plan each visual as a small cube the page can re-aggregate.

A visual's cube is grouped by everything the page may need to regroup or filter on — the visual's
dimensions, the columns of every filter in its scope, the columns a parameter-driven condition reads, and
the values a distinct count counts — with dates cut to the coarsest grain any of those needs (a day unless
a visual asks for hours). Every aggregate is split into parts that combine across cube rows: sums, counts,
minima and maxima (an average is a sum over a count, a variance three sums). Visuals with the same grain on
the same dataset share one cube, and string values are stored once per column in a dictionary. That keeps
the page small: its size follows the number of distinct combinations, not the number of requests.

Expressions the page evaluates (aggregate-level calculated fields, window functions, filter conditions that
read parameters) become small JSON trees, evaluated by ``assets/report.js``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from bcr.preview.fields import DatasetFields
from bcr.preview.sql import SqlTranslator, UnsupportedError, quote
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
    is_aggregated,
    name_set,
    params,
    window_level,
)

GRANULARITIES = ("YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "HOUR", "MINUTE", "SECOND", "MILLISECOND")
ISO = "%Y-%m-%dT%H:%M:%S"
JS_SCALARS = name_set(
    "ifelse coalesce isNull isNotNull nullIf concat toString toLower toUpper trim ltrim rtrim left right substring "
    "strlen replace split contains startsWith endsWith in notIn abs ceil floor round sqrt exp ln log mod parseInt "
    "parseDecimal intToDecimal decimalToInt now truncDate dateDiff addDateTime extract switch"
)
JS_WINDOWS = name_set(
    "sumOver avgOver countOver minOver maxOver percentOfTotal runningSum rank denseRank "
    "periodOverPeriodDifference periodOverPeriodPercentDifference periodOverPeriodLastValue"
)
_IF_AGGREGATES = {"sumIf": "sum", "avgIf": "avg", "countIf": "count", "distinct_countIf": "distinct_count"}
_IF_AGGREGATES |= {"minIf": "min", "maxIf": "max", "stdevIf": "stdev", "stdevpIf": "stdevp"}
_IF_AGGREGATES |= {"varIf": "var", "varpIf": "varp", "medianIf": "median"}
_COMBINE = {"sum": ("SUM", "sum"), "count": ("COUNT", "sum"), "min": ("MIN", "min"), "max": ("MAX", "max")}
# Percentiles: "cont" interpolates between the two nearest values (percentileCont; the field wells'
# percentile and median aggregations), "disc" takes the first value whose cumulative share reaches it
# (percentileDisc, percentile). Both as DuckDB's quantile_cont and quantile_disc.
QUANTILES = {"median": "cont", "percentileCont": "cont", "percentileDisc": "disc", "percentile": "disc"}


def kind_of(duckdb_type: str) -> str:
    """``date``, ``number``, ``bool`` or ``string``: how the page compares and formats a value."""
    if duckdb_type.startswith(("TIMESTAMP", "DATE")):
        return "date"
    if duckdb_type == "BOOLEAN":
        return "bool"
    numeric = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER")
    if duckdb_type.startswith((*numeric, "UBIGINT", "DOUBLE", "FLOAT", "REAL", "DECIMAL")):
        return "number"
    return "string"


def _quantile_arguments(function: str, args: tuple[Expr, ...]) -> tuple[tuple[Expr, ...], float]:
    """The measure of median(measure) or percentile…(measure, percentile) and the percentile as a fraction."""
    count = 1 if function == "median" else 2
    if len(args) > count:
        raise UnsupportedError(f"{function}() with a group-by level is not evaluated in the page")
    if len(args) < count:
        raise ExpressionError(f"{function} takes {'a value' if count == 1 else 'a value and a percentile'}")
    if function == "median":
        return args, 0.5
    percentile = args[1]
    if not isinstance(percentile, Num) or not 0 <= percentile.value <= 100:
        raise ExpressionError(f"the percentile of {function}() must be a number from 0 to 100")
    return args[:1], percentile.value / 100


def finer(first: str, second: str) -> str:
    return first if GRANULARITIES.index(first) >= GRANULARITIES.index(second) else second


@dataclass
class Cube:
    dataset: str
    dims: tuple[str, ...]
    measures: set[str] = field(default_factory=set)


class CubeRegistry:
    """Every grouping column and aggregate any visual needs, named once per dataset, and the cubes."""

    def __init__(self, con: duckdb.DuckDBPyConnection, datasets: dict[str, DatasetFields], now_sql: str) -> None:
        self.con, self.datasets, self.now_sql = con, datasets, now_sql
        self.dims: dict[tuple[str, str], str] = {}
        self.dim_sql: dict[str, str] = {}
        self.measures: dict[tuple[str, str], str] = {}
        self.measure_sql: dict[str, str] = {}
        self.cubes: list[Cube] = []
        self._types: dict[tuple[str, str], str] = {}

    def type_of(self, dataset: str, sql: str) -> str:
        """The DuckDB type of an expression over the dataset; binding errors become expression errors."""
        key = (dataset, sql)
        if key not in self._types:
            view = self.datasets[dataset].view.view
            try:
                self._types[key] = self.con.execute(f"DESCRIBE SELECT {sql} AS v FROM {view}").fetchall()[0][1]
            except duckdb.Error as exc:
                raise ExpressionError(str(exc).splitlines()[0]) from exc
        return self._types[key]

    def dim(self, dataset: str, sql: str) -> str:
        key = (dataset, sql)
        if key not in self.dims:
            name = f"d{len(self.dims)}"
            self.dims[key], self.dim_sql[name] = name, sql
        return self.dims[key]

    def measure(self, dataset: str, sql: str) -> str:
        self.type_of(dataset, sql)  # binds the aggregate: a wrong column or type fails here
        key = (dataset, sql)
        if key not in self.measures:
            name = f"m{len(self.measures)}"
            self.measures[key], self.measure_sql[name] = name, sql
        return self.measures[key]

    def cube(self, dataset: str, dims: list[str], measures: set[str]) -> int:
        wanted = tuple(sorted(dims))
        for index, cube in enumerate(self.cubes):
            if cube.dataset == dataset and cube.dims == wanted:
                cube.measures |= measures
                return index
        self.cubes.append(Cube(dataset, wanted, set(measures)))
        return len(self.cubes) - 1


class VisualCompiler:
    """Turns one visual's fields, filters and calculated fields into a cube and page expressions."""

    def __init__(
        self,
        registry: CubeRegistry,
        dataset: str,
        date_grain: str,
        parameters: dict[str, Any],
    ) -> None:
        self.registry, self.dataset, self.date_grain, self.parameters = registry, dataset, date_grain, parameters
        self.fields = registry.datasets[dataset]
        self.grain: list[str] = []
        self.measure_keys: set[str] = set()
        self.atoms: list[Any] = []
        self.dim_exprs: list[Expr] = []  # the visual's dimensions, for fields used outside aggregates

    # --- SQL over the dataset view --------------------------------------------------------------

    def sql(self, expr: Expr, with_defaults: bool = False) -> str:
        columns = self.fields.view.columns

        def column(name: str) -> str:
            if name not in columns:
                raise ExpressionError(f"no column {name!r} in dataset {self.dataset}")
            return quote(name)

        defaults = {name: spec.get("default") for name, spec in self.parameters.items()} if with_defaults else None
        return SqlTranslator(column, self.registry.now_sql, defaults)(expr)

    def _grain(self, sql: str, kind: str, truncate: bool = True) -> list[Any]:
        if kind == "date" and truncate:
            sql = f"strftime(date_trunc('{self.date_grain.lower()}', CAST({sql} AS TIMESTAMP)), '{ISO}')"
        elif kind == "date":
            sql = f"strftime(CAST({sql} AS TIMESTAMP), '{ISO}')"
        key = self.registry.dim(self.dataset, sql)
        if key not in self.grain:
            self.grain.append(key)
        return ["g", key]

    # --- row level: dimensions and filters ------------------------------------------------------

    def row(self, expr: Expr, truncate: bool = True) -> tuple[list[Any], str]:
        """A row-level expression as a page tree over cube columns, and its kind. Dates are cut to the
        visual's date grain unless ``truncate`` is false (rows shown as they are)."""
        if is_aggregated(expr):
            raise ExpressionError("an aggregated expression cannot be a dimension or a filter column")
        if not params(expr):
            sql = self.sql(expr)
            kind = kind_of(self.registry.type_of(self.dataset, sql))
            return self._grain(sql, kind, truncate), kind
        kind = kind_of(self.registry.type_of(self.dataset, self.sql(expr, with_defaults=True)))
        return self._js(expr, "row"), kind

    # --- aggregate level: measures --------------------------------------------------------------

    def measure(self, expr: Expr) -> list[Any]:
        if not is_aggregated(expr):
            raise ExpressionError("a measure must aggregate (sum, count, …) or be an aggregated calculated field")
        return self._js(expr, "measure")

    def _js(self, expr: Expr, context: str) -> list[Any]:
        if isinstance(expr, Num):
            return ["n", expr.value]
        if isinstance(expr, Str):
            return ["s", expr.value]
        if isinstance(expr, Null):
            return ["null"]
        if isinstance(expr, Keyword):
            return ["k", expr.name]
        if isinstance(expr, Param):
            if expr.name not in self.parameters:
                raise ExpressionError(f"parameter ${{{expr.name}}} is not declared in ParameterDeclarations")
            return ["p", expr.name]
        if isinstance(expr, ListOf):
            return ["list", [self._js(item, context) for item in expr.items]]
        if isinstance(expr, Op):
            return ["op", expr.op, *(self._js(arg, context) for arg in expr.args)]
        if isinstance(expr, Field):
            if context == "row":
                return self.row(expr)[0]
            return ["dim", self._dim_index(expr)]
        if expr.name in AGGREGATES:
            if context == "row":
                raise ExpressionError(f"{expr.name}() cannot be used in a row-level expression")
            self.atoms.append(self._atom(expr))
            return ["a", len(self.atoms) - 1]
        if expr.name in WINDOWS:
            return self._window(expr, context)
        if expr.name not in JS_SCALARS:
            raise UnsupportedError(f"{expr.name}() is not evaluated in the page (only in SQL, without parameters)")
        return ["f", expr.name, [self._js(arg, context) for arg in expr.args]]

    def _dim_index(self, expr: Expr) -> int:
        for index, dim in enumerate(self.dim_exprs):
            if dim == expr:
                return index
        name = expr.name if isinstance(expr, Field) else str(expr)
        raise ExpressionError(f"{name!r} is neither aggregated nor one of the visual's dimensions")

    def row_count(self) -> int:
        """An atom counting the dataset rows behind each group (an unaggregated table repeats rows)."""
        key = self.registry.measure(self.dataset, "COUNT(*)")
        self.measure_keys.add(key)
        self.atoms.append(["c", key, "sum"])
        return len(self.atoms) - 1

    def _atom(self, call: Call) -> list[Any]:
        function, cond, args = call.name, None, call.args
        if function in _IF_AGGREGATES:
            if len(args) != 2:
                raise ExpressionError(f"{function} takes a value and a condition")
            function, cond, args = _IF_AGGREGATES[function], args[1], args[:1]
        fraction = None
        if function in QUANTILES:
            args, fraction = _quantile_arguments(function, args)
        elif len(args) != 1:
            raise ExpressionError(f"{function} takes one argument, got {len(args)}")
        arg = args[0]
        if is_aggregated(arg) or (cond is not None and is_aggregated(cond)):
            raise ExpressionError(f"{call.name}() cannot aggregate an aggregate")
        return self._plan(function, arg, cond, fraction)

    def _plan(self, function: str, arg: Expr, cond: Expr | None, fraction: float | None = None) -> list[Any]:
        if function == "avg":
            return ["ratio", self._plan("sum", arg, cond), self._plan("count", arg, cond)]
        if function in {"var", "varp", "stdev", "stdevp"}:
            square = Op("*", (Call("intToDecimal", (arg,)), Call("intToDecimal", (arg,))))
            parts = [self._plan("sum", arg, cond), self._plan("sum", square, cond), self._plan("count", arg, cond)]
            return ["var", *parts, function in {"var", "stdev"}, function.startswith("stdev")]
        if cond is not None and params(cond):
            return ["when", self.row(cond)[0], self._plan(function, arg, None, fraction)]
        if params(arg):
            if function in QUANTILES:
                raise UnsupportedError(f"a parameter inside {function}() is not evaluated in the page")
            return self._branches(function, arg, cond)
        value = self.sql(arg)
        if cond is not None:
            value = f"(CASE WHEN {self.sql(cond)} THEN {value} END)"
        if function == "distinct_count":
            kind = kind_of(self.registry.type_of(self.dataset, value))
            return ["d", self._grain(value, kind, truncate=False)[1]]
        if function in QUANTILES:
            # Exact: each cube row carries its values with their counts, which the page merges.
            key = self.registry.measure(self.dataset, f"histogram({value})")
            self.measure_keys.add(key)
            return ["q", key, fraction, QUANTILES[function]]
        sql_function, combine = _COMBINE[function]
        key = self.registry.measure(self.dataset, f"{sql_function}({value})")
        self.measure_keys.add(key)
        return ["c", key, combine]

    def _branches(self, function: str, arg: Expr, cond: Expr | None) -> list[Any]:
        """``sum(ifelse({x} = ${P}, {a}, {b}))``: the condition is evaluated per cube row, each branch
        aggregated separately; only the conditions may read parameters."""
        if not (isinstance(arg, Call) and arg.name == "ifelse" and len(arg.args) % 2 == 1):
            raise UnsupportedError("a parameter inside an aggregated value is supported only in ifelse conditions")
        pairs = list(zip(arg.args[:-1:2], arg.args[1:-1:2], strict=True))
        if any(params(value) for _, value in pairs) or params(arg.args[-1]):
            raise UnsupportedError("a parameter inside an aggregated value is supported only in ifelse conditions")
        cases = [[self.row(condition)[0], self._plan(function, value, cond)] for condition, value in pairs]
        return ["case", cases, self._plan(function, arg.args[-1], cond)]

    def _window(self, call: Call, context: str) -> list[Any]:
        level = window_level(call)
        if level in PRE_LEVELS:
            raise UnsupportedError(
                f"{call.name}() at {level} is supported only inside row-level SQL, without parameters"
            )
        if context == "row":
            raise ExpressionError(f"{call.name}() aggregates and cannot be a dimension or a filter column")
        if call.name not in JS_WINDOWS:
            raise UnsupportedError(f"{call.name}() is not supported by the preview")
        args = [arg for arg in call.args if not (isinstance(arg, Keyword) and arg.name == "POST_AGG_FILTER")]
        spec: dict[str, Any] = {}
        if call.name in {"rank", "denseRank"}:
            order = args[0] if args and isinstance(args[0], ListOf) else ListOf((), ())
            spec["order"] = [
                [self._js(i, context), d or "ASC"] for i, d in zip(order.items, order.directions, strict=True)
            ]
            spec["part"] = self._partition(args[1] if len(args) > 1 else None)
            return ["w", call.name, spec]
        if not args:
            raise ExpressionError(f"{call.name} needs a measure")
        spec["m"] = self._js(args[0], context)
        if call.name.startswith("periodOverPeriod"):
            if len(args) < 2 or not isinstance(args[1], Field):
                raise ExpressionError(f"{call.name} needs the visual's date field as its second argument")
            spec["date"] = self._dim_index(args[1])
            spec["period"] = args[2].name if len(args) > 2 and isinstance(args[2], Keyword) else None
            spec["offset"] = args[3].value if len(args) > 3 and isinstance(args[3], Num) else 1
        elif call.name == "runningSum":
            order = args[1] if len(args) > 1 and isinstance(args[1], ListOf) else ListOf((), ())
            spec["order"] = [
                [self._js(i, context), d or "ASC"] for i, d in zip(order.items, order.directions, strict=True)
            ]
            spec["part"] = self._partition(args[2] if len(args) > 2 else None)
        else:
            spec["part"] = self._partition(args[1] if len(args) > 1 else None)
        return ["w", call.name, spec]

    def _partition(self, expr: Expr | None) -> list[int]:
        if expr is None:
            return []
        if not isinstance(expr, ListOf):
            raise ExpressionError("the partition must be a list in [ ]")
        return [self._dim_index(item) for item in expr.items]

    def finish(self) -> int:
        return self.registry.cube(self.dataset, self.grain, self.measure_keys)
