"""A dataset document's columns, followed from its Glue tables through joins and data-prep steps.

Each ``RelationalTable`` must name a table the job writes and read only its columns, with the QuickSight
type that fits the column's Spark type (the contract is ``glue/bedrock_costs/schemas.py``; a contract test
holds the template's Glue tables to the same schemas). The logical tables are then followed (joins,
projections, renames, casts, calculated columns) to the columns the dataset hands to analyses, which is
what a dashboard may reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyspark.sql import types as T

from bcr.quicksight.documents import DATASETS_DIR, variant
from bcr.quicksight.expressions import (
    BOOLEAN,
    DATETIME,
    DECIMAL,
    INTEGER,
    STRING,
    ExpressionError,
    Result,
    fields,
    infer,
    parse,
)
from bcr.quicksight.placeholders import EXAMPLE, PlaceholderError, resolve
from bedrock_costs.schemas import TABLE_SCHEMAS

_SCHEMAS_FILE = "glue/bedrock_costs/schemas.py"


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


@dataclass
class Dataset:
    """A dataset's id and the columns it hands to analyses (name -> QuickSight type), after joins and transforms."""

    id: str
    columns: dict[str, str | None]

    @classmethod
    def evaluate(cls, name: str, document: dict[str, Any], data_source_id: str, problems: list[str]) -> Dataset:
        where = f"{DATASETS_DIR}/{name}.json"
        physical = {
            table_id: _physical_columns(table, f"{where} PhysicalTableMap.{table_id}", data_source_id, problems)
            for table_id, table in (document.get("PhysicalTableMap") or {}).items()
        }
        logical = document.get("LogicalTableMap") or {}
        if not logical:
            if len(physical) != 1:
                problems.append(f"{where}: without a LogicalTableMap a dataset reads exactly one physical table")
            columns = next(iter(physical.values()), {})
        else:
            columns = _LogicalTables(logical, physical, where, problems).output()
        return cls(resolved_id(document.get("DataSetId"), f"{where} DataSetId", problems), columns)


def _physical_columns(
    table: dict[str, Any], where: str, data_source_id: str, problems: list[str]
) -> dict[str, str | None]:
    relational = table.get("RelationalTable")
    if relational is None:
        problems.append(f"{where}: only RelationalTable sources can be held to the table contract; use one")
        return {}
    source = resolved_id(relational.get("DataSourceArn"), f"{where}.DataSourceArn", problems)
    if data_source_id and not source.endswith(f":datasource/{data_source_id}"):
        problems.append(f"{where}.DataSourceArn: {source!r} is not the data source of data_source.json")
    table_name = relational.get("Name")
    schema = TABLE_SCHEMAS.get(table_name)
    if schema is None:
        problems.append(f"{where}.Name: {table_name!r} is not a table of {_SCHEMAS_FILE} ({', '.join(TABLE_SCHEMAS)})")
    columns: dict[str, str | None] = {}
    for index, column in enumerate(relational.get("InputColumns") or []):
        name, declared = column.get("Name"), column.get("Type")
        columns[name] = declared
        if schema is None:
            continue
        if name not in schema.fieldNames():
            problems.append(
                f"{where}.InputColumns[{index}]: column {name!r} is not in table {table_name} ({_SCHEMAS_FILE})"
            )
            continue
        expected = spark_to_quicksight(schema[name].dataType)
        if expected is None:
            problems.append(
                f"{where}.InputColumns[{index}]: {table_name}.{name} is {schema[name].dataType.simpleString()}, "
                "which QuickSight cannot read"
            )
        elif declared != expected:
            problems.append(
                f"{where}.InputColumns[{index}]: {table_name}.{name} is "
                f"{schema[name].dataType.simpleString()}, read it as {expected}, not {declared}"
            )
    return columns


class _LogicalTables:
    """Columns of each logical table: its source (a physical table or a join) and then its transforms."""

    def __init__(
        self,
        logical: Mapping[str, Any],
        physical: Mapping[str, dict[str, str | None]],
        where: str,
        problems: list[str],
    ) -> None:
        self.logical, self.physical, self.where, self.problems = logical, physical, where, problems
        self.done: dict[str, dict[str, str | None]] = {}

    def output(self) -> dict[str, str | None]:
        operands = {
            operand
            for table in self.logical.values()
            for operand in _join_operands((table.get("Source") or {}).get("JoinInstruction"))
        }
        roots = [table_id for table_id in self.logical if table_id not in operands]
        if len(roots) != 1:
            self.problems.append(f"{self.where} LogicalTableMap: expected one final table, found {roots or 'none'}")
            return {}
        return self.columns(roots[0], ())

    def columns(self, table_id: str, visiting: tuple[str, ...]) -> dict[str, str | None]:
        if table_id in self.done:
            return self.done[table_id]
        where = f"{self.where} LogicalTableMap.{table_id}"
        if table_id in visiting or table_id not in self.logical:
            self.problems.append(f"{where}: {'joins itself' if table_id in visiting else 'is not defined'}")
            return {}
        table = self.logical[table_id]
        source = table.get("Source") or {}
        if "PhysicalTableId" in source:
            if source["PhysicalTableId"] not in self.physical:
                self.problems.append(f"{where}.Source: no physical table {source['PhysicalTableId']!r}")
            columns = dict(self.physical.get(source["PhysicalTableId"], {}))
        elif "JoinInstruction" in source:
            columns = self.join(source["JoinInstruction"], f"{where}.Source.JoinInstruction", (*visiting, table_id))
        else:
            self.problems.append(f"{where}.Source: neither a physical table nor a join")
            columns = {}
        for index, transform in enumerate(table.get("DataTransforms") or []):
            _transform(columns, transform, f"{where}.DataTransforms[{index}]", self.problems)
        self.done[table_id] = columns
        return columns

    def join(self, join: Mapping[str, Any], where: str, visiting: tuple[str, ...]) -> dict[str, str | None]:
        left = self.columns(join.get("LeftOperand", ""), visiting)
        right = self.columns(join.get("RightOperand", ""), visiting)
        for name in sorted(set(left) & set(right)):
            self.problems.append(f"{where}: column {name!r} is on both sides; rename one before joining")
        columns = {**left, **right}
        try:
            used = fields(parse(join.get("OnClause", "")))
        except ExpressionError as exc:
            self.problems.append(f"{where}.OnClause: {exc}")
            used = set()
        for name in sorted(used - set(columns)):
            self.problems.append(f"{where}.OnClause: no column {name!r} on either side")
        return columns


def _join_operands(join: Mapping[str, Any] | None) -> tuple[str, ...]:
    return (join.get("LeftOperand", ""), join.get("RightOperand", "")) if join else ()


def _transform(columns: dict[str, str | None], transform: Mapping[str, Any], where: str, problems: list[str]) -> None:
    """Apply one data-prep step to ``columns`` in place, reporting any column it names that is not there."""

    def need(name: str, what: str) -> bool:
        if name in columns:
            return True
        problems.append(f"{where}: {what} column {name!r} does not exist at this step")
        return False

    operation, body = variant(transform)
    if operation == "ProjectOperation":
        kept = [name for name in body.get("ProjectedColumns", []) if need(name, "projected")]
        for name in list(columns):
            if name not in kept:
                del columns[name]
    elif operation == "RenameColumnOperation":
        if need(body.get("ColumnName", ""), "renamed"):
            if body.get("NewColumnName") in columns:
                problems.append(f"{where}: column {body['NewColumnName']!r} already exists")
            columns[body.get("NewColumnName", "")] = columns.pop(body["ColumnName"])
    elif operation == "CastColumnTypeOperation":
        if need(body.get("ColumnName", ""), "cast"):
            columns[body["ColumnName"]] = body.get("NewColumnType")
    elif operation in ("TagColumnOperation", "UntagColumnOperation"):
        need(body.get("ColumnName", ""), "tagged")
    elif operation in ("CreateColumnsOperation", "FilterOperation"):
        created = body.get("Columns") or [{"ColumnName": None, "Expression": body.get("ConditionExpression", "")}]
        for column in created:
            try:
                result = infer(parse(column.get("Expression", "")), lambda name: _column(columns, name), _no_parameter)
            except ExpressionError as exc:
                problems.append(f"{where}: {exc}")
                continue
            if column.get("ColumnName"):
                columns[column["ColumnName"]] = result.type


def _column(columns: Mapping[str, str | None], name: str) -> Result:
    if name not in columns:
        raise ExpressionError(f"unknown column {{{name}}}")
    return Result(columns[name])


def _no_parameter(name: str) -> str:
    raise ExpressionError(f"dataset expressions cannot use analysis parameter ${{{name}}}")
