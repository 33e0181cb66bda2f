"""Evaluate a DQDL ruleset on a Spark DataFrame, the way Glue Data Quality would, in as few Spark jobs as
possible.

Evaluation has two phases. Planning asks every rule (composites included) for the measurements it
needs: plain aggregates (row counts, null counts, compliant-row counts, min/max/mean …) are collected
into *one* ``agg`` over the primary dataset, ``where`` clauses becoming conditional aggregates inside it;
value-frequency statistics (uniqueness, distinct counts) take one job per column set; each ``CustomSql``
and ``ReferentialIntegrity`` takes one. Every job of the rulesets evaluated together runs side by side
(``evaluate_together``). Judging then turns the numbers into outcomes. A rule that cannot be planned (a missing
column, a bad ``where`` clause, an unsupported rule type or option) becomes an ERROR result; it never passes
silently and never stops the other rules.

The primary dataset is ``primary`` in ``CustomSql``; other datasets are passed by alias (``sources``) and
are visible to ``CustomSql`` and ``ReferentialIntegrity`` under that alias. A ``CustomSql`` query is analysed
while its ruleset is planned, with the views naming that ruleset's datasets; it keeps them when it runs later,
beside other rulesets' queries that see other datasets as ``primary``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.utils import AnalysisException

from bedrock_costs.quality.dqdl import AnyRule, Composite, Condition, Rule, Ruleset, parse
from bedrock_costs.quality.numbers import History, NoHistory, check_number, describe
from bedrock_costs.quality.predicates import age_predicate, length_predicate, value_predicate
from bedrock_costs.quality.results import ERROR, FAIL, PASS, RuleResult, RulesetResult, fmt

PRIMARY = "primary"
# Spark jobs run at once (see ``_measure``).
_PARALLEL_JOBS = 4


class RuleError(Exception):
    """This rule cannot be evaluated on this data; it becomes an ERROR result with this message."""


@dataclass(frozen=True)
class Verdict:
    outcome: str
    message: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    measured: float | None = None
    expected: str | None = None


Values = Mapping[str, object]
Judge = Callable[[Values], Verdict]


class _Plan:
    """Measurements requested by the rules, run together, then read back by key.

    Each Spark analysis is a driver round trip of tens of milliseconds. A plan that is not ``careful`` has
    every aggregate and where clause the rules ask for analysed at once (``analyses``); only a plan in which
    that fails is made again carefully, analysing each as a rule asks for it, so that the bad one fails its
    own rule only.
    """

    def __init__(self, primary: DataFrame, sources: Mapping[str, DataFrame], careful: bool) -> None:
        self.primary = primary
        self.sources = sources
        self.careful = careful
        self.aggregates: dict[str, Column] = {}
        self.jobs: dict[str, Callable[[], object]] = {}
        self._aggregated: DataFrame | None = None

    def column(self, name: str) -> T.StructField:
        for candidate in self.primary.schema.fields:
            if candidate.name == name:
                return candidate
        raise RuleError(f"column {name!r} does not exist (columns: {', '.join(self.primary.columns)})")

    def where(self, sql: str | None) -> Column:
        if sql is None:
            return F.lit(True)
        try:
            condition = F.expr(sql)
            if self.careful:
                self.primary.where(condition)
        except Exception as exc:
            raise RuleError(f"where clause {sql!r} is not valid: {_first_line(exc)}") from None
        return F.coalesce(condition, F.lit(False))

    def aggregate(self, key: str, column: Column) -> str:
        if key not in self.aggregates:
            if self.careful:
                try:
                    self.primary.agg(column)
                except Exception as exc:
                    raise RuleError(_first_line(exc)) from None
            self.aggregates[key] = column
        return key

    def rows(self, where: Column, where_sql: str | None) -> str:
        return self.aggregate(f"rows|{where_sql}", F.count(F.when(where, 1)))

    def matching(self, where: Column, where_sql: str | None, test: Column, test_key: str) -> str:
        return self.aggregate(f"match|{test_key}|{where_sql}", F.count(F.when(where & test, 1)))

    def job(self, key: str, run: Callable[[], object]) -> str:
        self.jobs.setdefault(key, run)
        return key

    def aggregated(self) -> DataFrame:
        """Every aggregate in one ``agg``. Spark analyses it as it is made: raises when it rejects one."""
        if self._aggregated is None:
            self._aggregated = self.primary.agg(
                *(column.alias(f"m{i}") for i, column in enumerate(self.aggregates.values()))
            )
        return self._aggregated

    def analyses(self) -> bool:
        """Whether Spark accepts every aggregate, and so every where clause, the rules asked for."""
        if self.careful or not self.aggregates:
            return True
        try:
            self.aggregated()
        except Exception:
            return False
        return True

    def aggregate_values(self) -> dict[str, object]:
        (row,) = self.aggregated().collect()
        return dict(zip(self.aggregates, row, strict=True))


def _measure(plans: Sequence[_Plan]) -> list[dict[str, object]]:
    """Every plan's measurements, its aggregate and its jobs, side by side on a few threads: a small Spark job
    spends most of its time being planned and compiled on the driver, which overlaps with another's work.
    """
    if not plans:
        return []
    context = plans[0].primary.sparkSession.sparkContext._jsc.sc()  # type: ignore[attr-defined]
    caller = context.getLocalProperties().clone()  # job group and description go with the jobs

    def in_caller_context(measure: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            context.setLocalProperties(caller)
            return measure()

        return run

    with ThreadPoolExecutor(_PARALLEL_JOBS) as pool:
        submitted = [
            (
                pool.submit(in_caller_context(plan.aggregate_values)) if plan.aggregates else None,
                {key: pool.submit(in_caller_context(run)) for key, run in plan.jobs.items()},
            )
            for plan in plans
        ]
        measured = []
        for aggregate, jobs in submitted:
            values: dict[str, object] = dict(aggregate.result()) if aggregate else {}  # type: ignore[arg-type]
            for key, job in jobs.items():
                try:
                    values[key] = job.result()
                except Exception as exc:
                    values[key] = RuleError(_first_line(exc))
            measured.append(values)
        return measured


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "desc", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, Decimal | int | float):  # bool is an int: a boolean query result is 1.0 or 0.0
        return float(value)
    raise RuleError(f"expected a number, got {value!r}")


def _get(values: Values, key: str) -> object:
    value = values[key]
    if isinstance(value, RuleError):
        raise value
    return value


@dataclass
class _Context:
    plan: _Plan
    now: datetime
    history: Callable[[str], History | None]


# ---- rule types ------------------------------------------------------------------------------------------


def _metric_verdict(
    metric: str, value: float | None, condition: Condition, ctx: _Context, empty: str = "no rows to evaluate"
) -> Verdict:
    """A NUMBER rule: one metric against its condition."""
    if value is None:
        return Verdict(FAIL, f"{metric}: {empty}", {}, None, str(condition))
    history = ctx.history(metric)
    try:
        ok = check_number(value, condition, history)
    except NoHistory as exc:
        return Verdict(ERROR, str(exc), {metric: value}, value, str(condition))
    expected = describe(condition, history)
    message = None if ok else f"{metric} is {fmt(value)}, expected {expected}"
    return Verdict(PASS if ok else FAIL, message, {metric: value}, value, expected)


def _ratio(numerator: object, denominator: object) -> float | None:
    top, bottom = _number(numerator), _number(denominator)
    return None if not bottom else (top or 0.0) / bottom


def _row_count(rule: Rule, ctx: _Context) -> Judge:
    where = ctx.plan.where(rule.where)
    rows = ctx.plan.rows(where, rule.where)
    return lambda v: _metric_verdict("Dataset.*.RowCount", _number(_get(v, rows)), rule.condition, ctx)  # type: ignore[arg-type]


def _column_count(rule: Rule, ctx: _Context) -> Judge:
    count = float(len(ctx.plan.primary.columns))
    return lambda v: _metric_verdict("Dataset.*.ColumnCount", count, rule.condition, ctx)  # type: ignore[arg-type]


def _column_exists(rule: Rule, ctx: _Context) -> Judge:
    name = rule.parameters[0]
    exists = name in ctx.plan.primary.columns
    return lambda v: Verdict(PASS) if exists else Verdict(FAIL, f"column {name!r} does not exist")


def _completeness(rule: Rule, ctx: _Context) -> Judge:
    column = rule.parameters[0]
    ctx.plan.column(column)
    where = ctx.plan.where(rule.where)
    rows = ctx.plan.rows(where, rule.where)
    present = ctx.plan.matching(where, rule.where, F.col(column).isNotNull(), f"notnull|{column}")
    metric = f"Column.{column}.Completeness"

    def judge(v: Values) -> Verdict:
        ratio = _ratio(_get(v, present), _get(v, rows))
        if rule.rule_type == "Completeness":
            return _metric_verdict(metric, ratio, rule.condition, ctx)  # type: ignore[arg-type]
        if ratio is None:
            return Verdict(FAIL, f"{metric}: no rows to evaluate", {}, None, "= 1.0")
        missing = int(_number(_get(v, rows)) or 0) - int(_number(_get(v, present)) or 0)
        message = None if missing == 0 else f"{column} is null in {missing:,} of {fmt(_number(_get(v, rows)))} rows"
        return Verdict(PASS if missing == 0 else FAIL, message, {metric: ratio}, ratio, "= 1.0")

    return judge


def _frequencies(rule: Rule, ctx: _Context, columns: Sequence[str]) -> tuple[str, str]:
    """Rows, distinct and unique values of a column set (rows with a null in it are never unique)."""
    for column in columns:
        ctx.plan.column(column)
    where = ctx.plan.where(rule.where)
    rows = ctx.plan.rows(where, rule.where)
    primary = ctx.plan.primary

    def run() -> tuple[int, int]:
        present = primary.where(where)
        for column in columns:
            present = present.where(F.col(column).isNotNull())
        counts = present.groupBy(*columns).count()
        row = counts.agg(F.count(F.lit(1)).alias("d"), F.sum(F.when(F.col("count") == 1, 1).otherwise(0)).alias("u"))
        stats = row.first()
        return int(stats["d"] or 0), int(stats["u"] or 0)

    return rows, ctx.plan.job(f"freq|{','.join(columns)}|{rule.where}", run)


def _column_label(columns: Sequence[str]) -> str:
    return f"Column.{columns[0]}" if len(columns) == 1 else f"Multicolumn.{','.join(columns)}"


def _uniqueness(rule: Rule, ctx: _Context) -> Judge:
    columns = rule.parameters
    rows, freq = _frequencies(rule, ctx, columns)
    label = _column_label(columns)

    def judge(v: Values) -> Verdict:
        total = _number(_get(v, rows))
        distinct, unique = _get(v, freq)  # type: ignore[misc]
        ratio = _ratio(unique, total)
        metric = f"{label}.Uniqueness"
        if rule.rule_type == "Uniqueness":
            return _metric_verdict(metric, ratio, rule.condition, ctx)  # type: ignore[arg-type]
        if rule.rule_type == "DistinctValuesCount":
            return _metric_verdict(f"{label}.DistinctValuesCount", float(distinct), rule.condition, ctx)  # type: ignore[arg-type]
        if rule.rule_type == "UniqueValueRatio":
            return _metric_verdict(f"{label}.UniqueValueRatio", _ratio(unique, distinct), rule.condition, ctx)  # type: ignore[arg-type]
        return _unique_verdict(metric, ratio, int(total or 0), distinct, unique, ", ".join(columns))

    return judge


def _unique_verdict(metric: str, ratio: float | None, total: int, distinct: int, unique: int, what: str) -> Verdict:
    if ratio is None:
        return Verdict(FAIL, f"{metric}: no rows to evaluate", {}, None, "= 1.0")
    if ratio == 1.0:
        return Verdict(PASS, None, {metric: ratio}, ratio, "= 1.0")
    repeated = distinct - unique
    detail = f"{repeated:,} value(s) of {what} occur more than once" if repeated else f"{what} has null values"
    message = f"{detail} ({total - unique:,} of {total:,} rows are not unique)"
    return Verdict(FAIL, message, {metric: ratio}, ratio, "= 1.0")


def _primary_key(rule: Rule, ctx: _Context) -> Judge:
    columns = rule.parameters
    completeness = [
        _completeness(Rule("IsComplete", (c,), None, rule.where, None, {}, {}, rule.text, rule.position), ctx)
        for c in columns
    ]
    uniqueness = _uniqueness(Rule("IsUnique", columns, None, rule.where, None, {}, {}, rule.text, rule.position), ctx)

    def judge(v: Values) -> Verdict:
        parts = [check(v) for check in (*completeness, uniqueness)]
        metrics = {name: value for part in parts for name, value in part.metrics.items()}
        problems = [part.message for part in parts if part.outcome != PASS and part.message]
        if problems:
            return Verdict(FAIL, "; ".join(problems), metrics, parts[-1].measured, "= 1.0")
        return Verdict(PASS, None, metrics, parts[-1].measured, "= 1.0")

    return judge


_STATISTICS = {"Mean": F.avg, "Sum": F.sum, "StandardDeviation": F.stddev_pop, "Variance": F.var_pop}


def _statistic(rule: Rule, ctx: _Context) -> Judge:
    column = rule.parameters[0]
    field_ = ctx.plan.column(column)
    if not isinstance(field_.dataType, T.NumericType):
        raise RuleError(f"{rule.rule_type} needs a numeric column; {column} is {field_.dataType.simpleString()}")
    where = ctx.plan.where(rule.where)
    key = ctx.plan.aggregate(
        f"{rule.rule_type}|{column}|{rule.where}", _STATISTICS[rule.rule_type](F.when(where, F.col(column)))
    )
    metric = f"Column.{column}.{rule.rule_type}"
    return lambda v: _metric_verdict(metric, _number(_get(v, key)), rule.condition, ctx, "no values to evaluate")  # type: ignore[arg-type]


def _compliance(
    rule: Rule,
    ctx: _Context,
    test: Column,
    test_key: str,
    metric: str,
    what: str,
    extra: Mapping[str, Column] | None = None,
) -> Judge:
    """A row-level rule: the share of rows passing ``test``, all of them or ``with threshold``. ``extra``
    are further metrics reported with it (aggregates over the rows the ``where`` clause selects)."""
    where = ctx.plan.where(rule.where)
    rows = ctx.plan.rows(where, rule.where)
    passing = ctx.plan.matching(where, rule.where, test, test_key)
    extras = {name: ctx.plan.aggregate(f"{name}|{rule.where}", column) for name, column in (extra or {}).items()}

    def judge(v: Values) -> Verdict:
        total, good = _number(_get(v, rows)), _number(_get(v, passing))
        metrics = {name: float(_number(_get(v, key))) for name, key in extras.items() if _get(v, key) is not None}
        ratio = _ratio(good, total)
        if ratio is None:
            return Verdict(FAIL, f"{metric}: no rows to evaluate", metrics, None, str(rule.threshold or "= 1.0"))
        metrics[metric] = ratio
        failed = int(total or 0) - int(good or 0)
        failing = f"{failed:,} of {int(total or 0):,} rows ({failed / (total or 1):.2%}) do not satisfy {what}"
        if rule.threshold is None:
            ok = failed == 0
            return Verdict(PASS if ok else FAIL, None if ok else failing, metrics, ratio, "= 1.0")
        history = ctx.history(metric)
        try:
            ok = check_number(ratio, rule.threshold, history)
        except NoHistory as exc:
            return Verdict(ERROR, str(exc), metrics, ratio, str(rule.threshold))
        expected = describe(rule.threshold, history)
        message = None if ok else f"{failing}: share passing is {fmt(ratio)}, expected {expected}"
        return Verdict(PASS if ok else FAIL, message, metrics, ratio, expected)

    return judge


def _column_values(rule: Rule, ctx: _Context) -> Judge:
    column = rule.parameters[0]
    field_ = ctx.plan.column(column)
    condition: Condition = rule.condition  # type: ignore[assignment]
    try:
        test = value_predicate(column, field_.dataType, condition, ctx.now)
    except (ValueError, NoHistory) as exc:
        raise RuleError(str(exc)) from None
    extra = {}
    if isinstance(field_.dataType, T.NumericType):
        selected = F.when(ctx.plan.where(rule.where), F.col(column))
        extra = {f"Column.{column}.Minimum": F.min(selected), f"Column.{column}.Maximum": F.max(selected)}
    metric = f"Column.{column}.ColumnValues.Compliance"
    return _compliance(rule, ctx, test, f"values|{column}|{condition}", metric, f"{column} {condition}", extra)


def _column_length(rule: Rule, ctx: _Context) -> Judge:
    column = rule.parameters[0]
    ctx.plan.column(column)
    condition: Condition = rule.condition  # type: ignore[assignment]
    try:
        test = length_predicate(column, condition)
    except (ValueError, NoHistory) as exc:
        raise RuleError(str(exc)) from None
    length = F.length(F.col(column).cast("string"))
    where = ctx.plan.where(rule.where)
    lengths = {
        f"Column.{column}.{name}Length": ctx.plan.aggregate(
            f"{name}len|{column}|{rule.where}", function(F.when(where, length))
        )
        for name, function in (("Minimum", F.min), ("Maximum", F.max))
    }
    metric = f"Column.{column}.LengthCompliance"
    judge = _compliance(rule, ctx, test, f"length|{column}|{condition}", metric, f"length({column}) {condition}")

    def with_lengths(v: Values) -> Verdict:
        verdict = judge(v)
        metrics = {name: float(_get(v, key)) for name, key in lengths.items() if _get(v, key) is not None}  # type: ignore[arg-type]
        return Verdict(
            verdict.outcome, verdict.message, {**metrics, **verdict.metrics}, verdict.measured, verdict.expected
        )

    return with_lengths


def _data_freshness(rule: Rule, ctx: _Context) -> Judge:
    column = rule.parameters[0]
    ctx.plan.column(column)
    condition: Condition = rule.condition  # type: ignore[assignment]
    test = age_predicate(column, condition, ctx.now)
    metric = f"Column.{column}.DataFreshness.Compliance"
    what = f"age of {column} {condition} (as of {ctx.now:%Y-%m-%d %H:%M} UTC)"
    return _compliance(rule, ctx, test, f"fresh|{column}|{condition}", metric, what)


@contextmanager
def _views(frames: Mapping[str, DataFrame]) -> Iterator[None]:
    for alias, frame in frames.items():
        frame.createOrReplaceTempView(alias)
    try:
        yield
    finally:
        spark = next(iter(frames.values())).sparkSession
        for alias in frames:
            with suppress(Exception):
                spark.catalog.dropTempView(alias)


def _custom_sql(rule: Rule, ctx: _Context) -> Judge:
    if rule.condition is None:
        raise RuleError("row-level CustomSql (a query without a condition) is not supported by the local evaluator")
    statement = rule.parameters[0]
    try:
        query = ctx.plan.primary.sparkSession.sql(statement)  # analysed now, against this ruleset's views
    except AnalysisException as exc:
        raise RuleError(f"the query does not run: {_first_line(exc)}") from None
    except Exception as exc:
        raise RuleError(f"the query is not valid SQL: {_first_line(exc)}") from None
    if len(query.columns) != 1:
        raise RuleError(f"the query must return one column, it returns {len(query.columns)}")

    def run() -> object:
        rows = query.take(2)
        if len(rows) != 1:
            raise RuleError(f"the query must return one row, it returned {'none' if not rows else 'several'}")
        return rows[0][0]

    key = ctx.plan.job(f"sql|{statement}", run)
    condition: Condition = rule.condition
    return lambda v: _metric_verdict(
        "Dataset.*.CustomSQL", _number(_get(v, key)), condition, ctx, "the query returned NULL"
    )


_REFERENCE = re.compile(r"^(?P<alias>[^.{]+)\.(?:\{(?P<many>[^}]*)\}|(?P<one>.+))$")


def _referential_integrity(rule: Rule, ctx: _Context) -> Judge:
    columns = [c.strip() for c in rule.parameters[0].split(",")]
    reference = _REFERENCE.match(rule.parameters[1].strip())
    if reference is None:
        raise RuleError(f"reference {rule.parameters[1]!r} must look like alias.column or alias.{{col1,col2}}")
    alias = reference["alias"]
    ref_columns = [c.strip() for c in (reference["many"] or reference["one"]).split(",")]
    if len(ref_columns) != len(columns):
        raise RuleError(f"{len(columns)} primary column(s) but {len(ref_columns)} reference column(s)")
    if alias not in ctx.plan.sources:
        given = ", ".join(ctx.plan.sources) or "none"
        raise RuleError(f"no dataset is passed under the alias {alias!r} (given: {given})")
    for column in columns:
        ctx.plan.column(column)
    ref = ctx.plan.sources[alias]
    missing = [c for c in ref_columns if c not in ref.columns]
    if missing:
        raise RuleError(f"{alias} has no column {missing[0]!r}")
    keys = ref.select(*(F.col(r).alias(c) for r, c in zip(ref_columns, columns, strict=True))).distinct()
    rows = ctx.plan.rows(F.lit(True), None)
    primary = ctx.plan.primary
    found = ctx.plan.job(
        f"ri|{columns}|{alias}|{ref_columns}", lambda: primary.select(*columns).join(keys, columns, "left_semi").count()
    )
    metric = f"Column.{alias}.ReferentialIntegrity"

    def judge(v: Values) -> Verdict:
        verdict = _metric_verdict(metric, _ratio(_get(v, found), _get(v, rows)), rule.condition, ctx)  # type: ignore[arg-type]
        if verdict.outcome == FAIL and verdict.measured is not None:
            missing_rows = int(_number(_get(v, rows)) or 0) - int(_get(v, found))  # type: ignore[call-overload]
            message = f"{missing_rows:,} row(s) have {', '.join(columns)} not found in {alias}; {verdict.message}"
            return Verdict(FAIL, message, verdict.metrics, verdict.measured, verdict.expected)
        return verdict

    return judge


HANDLERS: Mapping[str, Callable[[Rule, _Context], Judge]] = {
    "RowCount": _row_count,
    "ColumnCount": _column_count,
    "ColumnExists": _column_exists,
    "Completeness": _completeness,
    "IsComplete": _completeness,
    "Uniqueness": _uniqueness,
    "IsUnique": _uniqueness,
    "DistinctValuesCount": _uniqueness,
    "UniqueValueRatio": _uniqueness,
    "IsPrimaryKey": _primary_key,
    "Mean": _statistic,
    "Sum": _statistic,
    "StandardDeviation": _statistic,
    "Variance": _statistic,
    "ColumnValues": _column_values,
    "ColumnLength": _column_length,
    "DataFreshness": _data_freshness,
    "CustomSql": _custom_sql,
    "ReferentialIntegrity": _referential_integrity,
}
"""Rule types the local evaluator supports; any other is reported as an ERROR, never passed."""


def _plan_rule(rule: AnyRule, ctx: _Context) -> Judge:
    if isinstance(rule, Composite):
        return _plan_composite(rule, ctx)
    handler = HANDLERS.get(rule.rule_type)
    try:
        if handler is None:
            raise RuleError(f"{rule.rule_type} is not supported by the local evaluator (Glue evaluates it on AWS)")
        if rule.options:
            raise RuleError(f"option 'with {next(iter(rule.options))}' is not supported by the local evaluator")
        judge = handler(rule, ctx)
    except RuleError as exc:
        message = str(exc)
        return lambda v: Verdict(ERROR, message)

    def safe(v: Values) -> Verdict:
        try:
            return judge(v)
        except RuleError as exc:
            return Verdict(ERROR, str(exc))

    return safe


def _plan_composite(rule: Composite, ctx: _Context) -> Judge:
    """``and``/``or`` over the parts' outcomes; any part in ERROR makes the whole an ERROR."""
    parts = [(part, _plan_rule(part, ctx)) for part in rule.rules]

    def judge(v: Values) -> Verdict:
        verdicts = [(part, check(v)) for part, check in parts]
        metrics = {name: value for _, verdict in verdicts for name, value in verdict.metrics.items()}
        errors = [f"({part.text}): {verdict.message}" for part, verdict in verdicts if verdict.outcome == ERROR]
        if errors:
            return Verdict(ERROR, "; ".join(errors), metrics)
        passed = [verdict.outcome == PASS for _, verdict in verdicts]
        ok = all(passed) if rule.operator == "and" else any(passed)
        failing = [f"({part.text}): {verdict.message}" for part, verdict in verdicts if verdict.outcome != PASS]
        return Verdict(PASS if ok else FAIL, None if ok else "; ".join(failing), metrics)

    return judge


@dataclass(frozen=True)
class Target:
    """A ruleset and the data it is evaluated on: ``primary``, the other datasets by alias (as Glue's
    additional data sources), and the previous values of each metric, newest first, for dynamic rules such
    as ``RowCount > avg(last(3))`` (none: such rules are errors)."""

    name: str
    primary: DataFrame
    ruleset: Ruleset | str
    sources: Mapping[str, DataFrame] = field(default_factory=dict)
    history: Mapping[str, Sequence[float]] | None = None


@dataclass(frozen=True)
class _Planned:
    name: str
    ctx: _Context
    judges: list[tuple[AnyRule, Judge]]


def _planned(target: Target, now: datetime) -> _Planned:
    parsed = parse(target.ruleset) if isinstance(target.ruleset, str) else target.ruleset
    past, history = target.history or {}, target.history is not None

    def planned(careful: bool) -> _Planned:
        ctx = _Context(
            _Plan(target.primary, target.sources, careful),
            now,
            lambda metric: (lambda k: list(past.get(metric, ()))[:k]) if history else None,
        )
        return _Planned(target.name, ctx, [(rule, _plan_rule(rule, ctx)) for rule in parsed.rules])

    with _views({PRIMARY: target.primary, **target.sources}):
        plan = planned(careful=False)
        # Every where clause ends up in an aggregate (its rule's row count), so this checks them all.
        return plan if plan.ctx.plan.analyses() else planned(careful=True)


def _judged(planned: _Planned, values: Values) -> RulesetResult:
    results = []
    for index, (rule, judge) in enumerate(planned.judges, start=1):
        verdict = judge(values)
        results.append(
            RuleResult(
                name=f"Rule_{index}",
                rule=rule.text,
                outcome=verdict.outcome,
                message=verdict.message,
                metrics=dict(verdict.metrics),
                measured=verdict.measured,
                expected=verdict.expected,
                labels=dict(rule.labels),
            )
        )
    return RulesetResult(planned.name, results, planned.ctx.now)


def evaluate_together(targets: Sequence[Target], now: datetime | None = None) -> list[RulesetResult]:
    """Evaluate every target's ruleset, all their Spark jobs side by side; one result per target, in order.

    ``now`` is the moment ``now()`` and ``DataFreshness`` refer to (default: the current UTC time). Parse
    errors raise :class:`~bedrock_costs.quality.dqdl.DQDLError` before anything runs; every other problem is
    a rule result.
    """
    moment = now or datetime.now(UTC)
    plans = [_planned(target, moment) for target in targets]
    return [_judged(plan, values) for plan, values in zip(plans, _measure([p.ctx.plan for p in plans]), strict=True)]


def evaluate_ruleset(
    primary: DataFrame,
    ruleset: Ruleset | str,
    *,
    name: str = "ruleset",
    sources: Mapping[str, DataFrame] | None = None,
    now: datetime | None = None,
    history: Mapping[str, Sequence[float]] | None = None,
) -> RulesetResult:
    """Evaluate every rule of ``ruleset`` on ``primary`` (see ``Target`` and ``evaluate_together``)."""
    (result,) = evaluate_together([Target(name, primary, ruleset, sources or {}, history)], now)
    return result
