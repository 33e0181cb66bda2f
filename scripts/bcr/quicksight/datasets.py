"""A dataset document followed from its tables through joins and data-prep steps to the columns it hands on.

:class:`LogicalTables` is the one walk over a dataset's ``LogicalTableMap``: from its one final table down
to the physical tables, then back up through joins and ``DataTransforms`` in order, checking at every
step that the columns a step names exist. What a table *is* at each step is up to a subclass: here its
column types, followed from the Glue tables (:class:`ColumnTypes`, for ``bcr dashboard validate``); in
``bcr.preview.datasets`` its DuckDB SQL over the local Parquet tables.

Each ``RelationalTable`` must name a table the job writes and read only its columns, with the QuickSight
type that fits the column's Spark type (the contract is ``glue/bedrock_costs/schemas.py``; a contract test
holds the template's Glue tables to the same schemas).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pyspark.sql import types as T

from bcr.quicksight.documents import dataset_file, variant
from bcr.quicksight.expressions import (
    BOOLEAN,
    DATETIME,
    DECIMAL,
    INTEGER,
    STRING,
    Expr,
    ExpressionError,
    Result,
    fields,
    infer,
    parse,
)
from bcr.quicksight.placeholders import EXAMPLE, PlaceholderError, resolve
from bedrock_costs.schemas import TABLE_SCHEMAS

_SCHEMAS_FILE = "glue/bedrock_costs/schemas.py"
Table = TypeVar("Table")


class LogicalTables(Generic[Table]):
    """The walk over one dataset's logical tables; subclasses build a ``Table`` at each step.

    ``problem`` reports what is wrong at a path of the document: the validator collects every problem and
    goes on with what is left, the preview raises on the first.
    """

    expression_errors: tuple[type[Exception], ...] = (ExpressionError,)

    def __init__(self, document: Mapping[str, Any], where: str = "") -> None:
        self.document, self.where = document, where
        self.physical_tables: Mapping[str, Any] = document.get("PhysicalTableMap") or {}
        self.logical_tables: Mapping[str, Any] = document.get("LogicalTableMap") or {}
        self.done: dict[str, Table] = {}

    # --- what a subclass says ------------------------------------------------------------------------

    def problem(self, where: str, message: str) -> None:
        raise NotImplementedError

    def empty(self) -> Table:
        """What a step that could not be followed hands on, after its problem was reported."""
        raise NotImplementedError

    def columns(self, table: Table) -> Mapping[str, Any]:
        raise NotImplementedError

    def physical(self, table_id: str, spec: Mapping[str, Any], where: str) -> Table:
        raise NotImplementedError

    def join(self, left: Table, right: Table, kind: str, condition: Expr, where: str) -> Table:
        raise NotImplementedError

    def project(self, table: Table, names: list[str], where: str) -> Table:
        raise NotImplementedError

    def rename(self, table: Table, old: str, new: str, where: str) -> Table:
        raise NotImplementedError

    def cast(self, table: Table, name: str, new_type: str, date_format: str | None, where: str) -> Table:
        raise NotImplementedError

    def create(self, table: Table, name: str, expression: Expr, where: str) -> Table:
        raise NotImplementedError

    def filter(self, table: Table, condition: Expr, where: str) -> Table:
        raise NotImplementedError

    # --- the walk ------------------------------------------------------------------------------------

    def at(self, path: str) -> str:
        return f"{self.where} {path}".strip()

    def fail(self, where: str, message: str) -> Table:
        self.problem(where, message)
        return self.empty()

    def output(self) -> Table:
        """The table the dataset hands to analyses."""
        if not self.logical_tables:
            if len(self.physical_tables) != 1:
                return self.fail(self.at(""), "without a LogicalTableMap a dataset reads exactly one physical table")
            table_id, spec = next(iter(self.physical_tables.items()))
            return self.physical(table_id, spec, self.at(f"PhysicalTableMap.{table_id}"))
        operands = {
            operand
            for table in self.logical_tables.values()
            for operand in _join_operands((table.get("Source") or {}).get("JoinInstruction"))
        }
        roots = [table_id for table_id in self.logical_tables if table_id not in operands]
        if len(roots) != 1:
            return self.fail(self.at("LogicalTableMap"), f"expected one final table, found {roots or 'none'}")
        return self.logical(roots[0], ())

    def logical(self, table_id: str, visiting: tuple[str, ...]) -> Table:
        if table_id in self.done:
            return self.done[table_id]
        where = self.at(f"LogicalTableMap.{table_id}")
        if table_id in visiting or table_id not in self.logical_tables:
            return self.fail(where, "joins itself" if table_id in visiting else "is not defined")
        spec = self.logical_tables[table_id]
        source = spec.get("Source") or {}
        if "PhysicalTableId" in source:
            physical_id = source["PhysicalTableId"]
            if physical_id not in self.physical_tables:
                table = self.fail(f"{where}.Source", f"no physical table {physical_id!r}")
            else:
                spec_where = self.at(f"PhysicalTableMap.{physical_id}")
                table = self.physical(physical_id, self.physical_tables[physical_id], spec_where)
        elif "JoinInstruction" in source:
            table = self._join(source["JoinInstruction"], f"{where}.Source.JoinInstruction", (*visiting, table_id))
        else:
            table = self.fail(f"{where}.Source", "neither a physical table nor a join")
        for index, step in enumerate(spec.get("DataTransforms") or []):
            table = self._transform(table, step, f"{where}.DataTransforms[{index}]")
        self.done[table_id] = table
        return table

    def _join(self, join: Mapping[str, Any], where: str, visiting: tuple[str, ...]) -> Table:
        left = self.logical(join.get("LeftOperand", ""), visiting)
        right = self.logical(join.get("RightOperand", ""), visiting)
        left_columns, right_columns = self.columns(left), self.columns(right)
        for name in sorted(set(left_columns) & set(right_columns)):
            self.problem(where, f"column {name!r} is on both sides; rename one before joining")
        try:
            condition = parse(join.get("OnClause", ""))
        except ExpressionError as exc:
            return self.fail(f"{where}.OnClause", str(exc))
        missing = sorted(fields(condition) - {*left_columns, *right_columns})
        for name in missing:
            self.problem(f"{where}.OnClause", f"no column {name!r} on either side")
        if missing:
            return self.empty()
        return self.join(left, right, str(join.get("Type", "INNER")), condition, where)

    def _transform(self, table: Table, step: Mapping[str, Any], where: str) -> Table:
        operation, body = variant(step)
        columns = self.columns(table)

        def present(name: str) -> bool:
            if name in columns:
                return True
            known = ", ".join(columns) or "none"
            self.problem(where, f"{operation}: no column {name!r} at this step (columns: {known})")
            return False

        if operation == "ProjectOperation":
            kept = [name for name in body.get("ProjectedColumns") or [] if present(name)]
            return self.project(table, kept, where)
        if operation == "RenameColumnOperation":
            old, new = str(body.get("ColumnName", "")), str(body.get("NewColumnName", ""))
            if not present(old):
                return table
            if new in columns:
                self.problem(where, f"{operation}: column {new!r} already exists")
            return self.rename(table, old, new, where)
        if operation == "CastColumnTypeOperation":
            name = str(body.get("ColumnName", ""))
            if not present(name):
                return table
            return self.cast(table, name, str(body.get("NewColumnType")), body.get("Format"), where)
        if operation in ("TagColumnOperation", "UntagColumnOperation"):
            present(str(body.get("ColumnName", "")))
            return table
        if operation == "CreateColumnsOperation":
            for column in body.get("Columns") or []:
                name, text = str(column.get("ColumnName")), str(column.get("Expression", ""))
                try:
                    table = self.create(table, name, parse(text), f"{where} column {name!r}")
                except self.expression_errors as exc:
                    self.problem(f"{where} column {name!r}", f"{text!r}: {exc}")
            return table
        if operation == "FilterOperation":
            text = str(body.get("ConditionExpression", ""))
            try:
                return self.filter(table, parse(text), where)
            except self.expression_errors as exc:
                self.problem(where, f"{text!r}: {exc}")
                return table
        return table  # OverrideDatasetParameterOperation and the like change no columns and no rows


def _join_operands(join: Mapping[str, Any] | None) -> tuple[str, ...]:
    return (join.get("LeftOperand", ""), join.get("RightOperand", "")) if join else ()


# --- the validator's view: column types from the Glue tables ---------------------------------------------


def spark_to_quicksight(data_type: T.DataType) -> str | None:
    """The QuickSight input column type that reads a Parquet/Glue column of this Spark type (None: unreadable)."""
    if isinstance(data_type, T.StringType):
        return STRING
    if isinstance(data_type, T.IntegerType | T.LongType | T.ShortType):
        return INTEGER
    if isinstance(data_type, T.DecimalType | T.DoubleType | T.FloatType):
        return DECIMAL
    if isinstance(data_type, T.TimestampType | T.DateType):
        return DATETIME
    if isinstance(data_type, T.BooleanType):
        return BOOLEAN
    return None


def resolved_id(value: Any, where: str, problems: list[str]) -> str:
    """An id or ARN with the example values filled in, to compare documents; a bad placeholder is reported."""
    try:
        resolved = resolve(value, EXAMPLE.values(), where)
    except PlaceholderError as exc:
        problems.append(str(exc))
        return ""
    return resolved if isinstance(resolved, str) else ""


Columns = dict[str, str | None]


class ColumnTypes(LogicalTables[Columns]):
    """Each step's columns as QuickSight types; every problem is collected and the walk goes on."""

    def __init__(self, document: Mapping[str, Any], where: str, data_source_id: str, problems: list[str]) -> None:
        super().__init__(document, where)
        self.problems = problems
        # Every physical table is held to the table contract, whether a logical table reads it or not.
        self.physical_columns = {
            table_id: self._physical_columns(spec, self.at(f"PhysicalTableMap.{table_id}"), data_source_id)
            for table_id, spec in self.physical_tables.items()
        }

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def empty(self) -> Columns:
        return {}

    def columns(self, table: Columns) -> Columns:
        return table

    def physical(self, table_id: str, spec: Mapping[str, Any], where: str) -> Columns:
        return dict(self.physical_columns[table_id])

    def join(self, left: Columns, right: Columns, kind: str, condition: Expr, where: str) -> Columns:
        return {**left, **right}

    def project(self, table: Columns, names: list[str], where: str) -> Columns:
        return {name: table[name] for name in names}

    def rename(self, table: Columns, old: str, new: str, where: str) -> Columns:
        return {(new if name == old else name): kind for name, kind in table.items()}

    def cast(self, table: Columns, name: str, new_type: str, date_format: str | None, where: str) -> Columns:
        return {**table, name: new_type}

    def create(self, table: Columns, name: str, expression: Expr, where: str) -> Columns:
        return {**table, name: self._infer(table, expression).type}

    def filter(self, table: Columns, condition: Expr, where: str) -> Columns:
        self._infer(table, condition)
        return table

    @staticmethod
    def _infer(table: Columns, expression: Expr) -> Result:
        def column(name: str) -> Result:
            if name not in table:
                raise ExpressionError(f"unknown column {{{name}}}")
            return Result(table[name])

        def parameter(name: str) -> str:
            raise ExpressionError(f"dataset expressions cannot use analysis parameter ${{{name}}}")

        return infer(expression, column, parameter)

    def _physical_columns(self, spec: Mapping[str, Any], where: str, data_source_id: str) -> Columns:
        relational = spec.get("RelationalTable")
        if relational is None:
            self.problem(where, "only RelationalTable sources can be held to the table contract; use one")
            return {}
        source = resolved_id(relational.get("DataSourceArn"), f"{where}.DataSourceArn", self.problems)
        if data_source_id and not source.endswith(f":datasource/{data_source_id}"):
            self.problem(f"{where}.DataSourceArn", f"{source!r} is not the data source of data_source.json")
        table_name = relational.get("Name")
        schema = TABLE_SCHEMAS.get(table_name)
        if schema is None:
            known = ", ".join(TABLE_SCHEMAS)
            self.problem(f"{where}.Name", f"{table_name!r} is not a table of {_SCHEMAS_FILE} ({known})")
        columns: Columns = {}
        for index, column in enumerate(relational.get("InputColumns") or []):
            name, declared = column.get("Name"), column.get("Type")
            columns[name] = declared
            if schema is None:
                continue
            at = f"{where}.InputColumns[{index}]"
            if name not in schema.fieldNames():
                self.problem(at, f"column {name!r} is not in table {table_name} ({_SCHEMAS_FILE})")
                continue
            spark_type = schema[name].dataType
            expected = spark_to_quicksight(spark_type)
            if expected is None:
                self.problem(at, f"{table_name}.{name} is {spark_type.simpleString()}, which QuickSight cannot read")
            elif declared != expected:
                self.problem(
                    at, f"{table_name}.{name} is {spark_type.simpleString()}, read it as {expected}, not {declared}"
                )
        return columns


@dataclass
class Dataset:
    """A dataset's id and the columns it hands to analyses (name -> QuickSight type), after joins and transforms."""

    id: str
    columns: Columns

    @classmethod
    def evaluate(cls, name: str, document: dict[str, Any], data_source_id: str, problems: list[str]) -> Dataset:
        where = dataset_file(name)
        columns = ColumnTypes(document, where, data_source_id, problems).output()
        return cls(resolved_id(document.get("DataSetId"), f"{where} DataSetId", problems), columns)
