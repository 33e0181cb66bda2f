"""Evaluate QuickSight datasets with DuckDB over the local tables: one view per dataset.

A ``RelationalTable`` reads the table folder of the same name (Hive-partitioned Parquet, partition values
kept as strings as in the Glue schema); a ``CustomSql`` runs its Athena SQL with the catalog and database
qualifiers stripped (the local tables have no database), plus a few Presto functions defined as macros.
The logical table's ``DataTransforms`` then apply in order, each checked as it is added so an error names
the dataset, the step and the column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from bcr.preview.definitions import DatasetFile, DefinitionError
from bcr.preview.sql import SqlTranslator, UnsupportedError, java_date_format, literal, quote
from bcr.quicksight.expressions import ExpressionError, parse

# Presto/Athena functions a CustomSql may use that DuckDB names differently.
_PRESTO_MACROS = (
    "CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMP)",
    "CREATE MACRO from_iso8601_date(s) AS CAST(s AS DATE)",
    "CREATE MACRO date_parse(s, f) AS strptime(s, f)",  # Presto's %i (minutes) is not translated
    "CREATE MACRO date_format(t, f) AS strftime(t, f)",
    "CREATE MACRO approx_percentile(x, p) AS approx_quantile(x, p)",
    "CREATE MACRO cardinality(x) AS len(x)",
)
_INPUT_TYPES = {
    "STRING": "VARCHAR",
    "INTEGER": "BIGINT",
    "DATETIME": "TIMESTAMP",
    "BIT": "BOOLEAN",
    "BOOLEAN": "BOOLEAN",
    "JSON": "VARCHAR",
    "SEMISTRUCT": "VARCHAR",
}


class MissingTableError(DefinitionError):
    """A dataset reads a table the tables folder does not have (yet): its visuals become placeholders."""


@dataclass(frozen=True)
class DatasetView:
    identifier: str
    label: str
    view: str
    columns: dict[str, str]  # column → DuckDB type
    missing: str | None = None  # why the dataset could not be read, when its table is absent


def connect(tables: Path) -> tuple[duckdb.DuckDBPyConnection, dict[str, Path]]:
    """An in-memory DuckDB with one view per table folder under ``tables`` that holds Parquet files."""
    con = duckdb.connect()
    for macro in _PRESTO_MACROS:
        con.execute(macro)
    found: dict[str, Path] = {}
    for folder in sorted(p for p in tables.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        if next(folder.rglob("*.parquet"), None) is None:
            continue
        pattern = literal(str(folder / "**" / "*.parquet"))
        con.execute(
            f"CREATE VIEW {quote(folder.name)} AS SELECT * FROM read_parquet({pattern}, hive_partitioning = true, "
            "hive_types_autocast = false, union_by_name = true)"
        )
        found[folder.name] = folder
    return con, found


def describe(con: duckdb.DuckDBPyConnection, query: str) -> dict[str, str]:
    """Column names and types of a query, by binding it (no rows are read)."""
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE {query}").fetchall()}


def strip_qualifiers(sql: str, tables: list[str]) -> str:
    """``"db"."invocations"``, ``AwsDataCatalog.${Database}.invocations`` … → ``"invocations"``."""
    placeholder = r'(?:AwsDataCatalog\s*\.\s*)?"?(?:\$\{[^}]*\}|\{\{[^}]*\}\})"?\s*\.\s*'
    sql = re.sub(placeholder, "", sql)  # a database given as a placeholder qualifies any table
    qualifier = r'(?:"[^"]+"|`[^`]+`|[\w${}\-]+)'
    for table in sorted(tables, key=len, reverse=True):
        name = re.escape(table)
        sql = re.sub(rf'(?:{qualifier}\s*\.\s*){{1,2}}(?:"{name}"|`{name}`|\b{name}\b)', quote(table), sql)
    return sql


class _Builder:
    """Builds one dataset's SQL step by step; every step is bound at once so errors say where."""

    def __init__(self, con: duckdb.DuckDBPyConnection, tables: dict[str, Path], dataset: DatasetFile, now: str):
        self.con, self.tables, self.dataset, self.now = con, tables, dataset, now

    def fail(self, where: str, problem: str) -> DefinitionError:
        return DefinitionError(f"dataset {self.dataset.label} ({self.dataset.path.name}): {where}: {problem}")

    def bind(self, where: str, query: str) -> dict[str, str]:
        try:
            return describe(self.con, query)
        except duckdb.CatalogException as exc:
            table = re.search(r"Table with name (\S+) does not exist", str(exc))
            if table is None:
                raise self.fail(where, str(exc).splitlines()[0]) from exc
            raise self.missing(where, table.group(1)) from exc
        except duckdb.Error as exc:
            raise self.fail(where, str(exc).splitlines()[0]) from exc

    def missing(self, where: str, table: str) -> MissingTableError:
        found = ", ".join(self.tables) or "none"
        return MissingTableError(
            f"dataset {self.dataset.label}: {where}: table {table!r} has no Parquet folder (tables found: {found})"
        )

    def physical(self, table_id: str) -> tuple[str, dict[str, str]]:
        tables = self.dataset.body.get("PhysicalTableMap") or {}
        if table_id not in tables:
            raise self.fail("LogicalTableMap", f"physical table {table_id!r} is not in PhysicalTableMap")
        spec = tables[table_id]
        where = f"PhysicalTableMap.{table_id}"
        if "RelationalTable" in spec:
            return self._relational(where, spec["RelationalTable"])
        if "CustomSql" in spec:
            return self._custom_sql(where, spec["CustomSql"])
        kind = next(iter(spec), "empty")
        raise self.fail(where, f"{kind} sources are not supported by the preview (RelationalTable, CustomSql are)")

    def _relational(self, where: str, table: dict[str, Any]) -> tuple[str, dict[str, str]]:
        name = str(table.get("Name", ""))
        matches = [t for t in self.tables if t.lower() == name.lower()]
        if not matches:
            raise self.missing(where, name)
        source = quote(matches[0])
        available = self.bind(where, f"SELECT * FROM {source}")
        return self._typed(where, f"SELECT * FROM {source}", available, table.get("InputColumns") or [], name)

    def _custom_sql(self, where: str, custom: dict[str, Any]) -> tuple[str, dict[str, str]]:
        query = strip_qualifiers(str(custom.get("SqlQuery", "")).strip().rstrip(";"), list(self.tables))
        available = self.bind(f"{where} (CustomSql {custom.get('Name', '')!r})", query)
        return self._typed(where, query, available, custom.get("Columns") or [], "the query")

    def _typed(
        self, where: str, query: str, available: dict[str, str], columns: list[dict[str, Any]], source: str
    ) -> tuple[str, dict[str, str]]:
        """Select the declared input columns with the declared types."""
        if not columns:
            return query, available
        selected = []
        for column in columns:
            name, kind = str(column.get("Name")), str(column.get("Type"))
            if name not in available:
                raise self.fail(where, f"input column {name!r} is not in {source} (it has: {', '.join(available)})")
            selected.append(f"{self._cast(quote(name), available[name], kind)} AS {quote(name)}")
        sql = f"SELECT {', '.join(selected)} FROM ({query})"
        return sql, self.bind(where, sql)

    @staticmethod
    def _cast(sql: str, source_type: str, kind: str, fmt: str | None = None) -> str:
        if kind == "DECIMAL":
            return sql if source_type.startswith("DECIMAL") else f"TRY_CAST({sql} AS DOUBLE)"
        if kind == "DATETIME" and source_type == "VARCHAR":
            return f"try_strptime({sql}, {literal(java_date_format(fmt))})" if fmt else f"TRY_CAST({sql} AS TIMESTAMP)"
        target = _INPUT_TYPES.get(kind)
        if target is None:
            return sql
        return sql if source_type == target else f"TRY_CAST({sql} AS {target})"

    def logical(self, table_id: str, seen: frozenset[str] = frozenset()) -> tuple[str, dict[str, str]]:
        tables = self.dataset.body.get("LogicalTableMap") or {}
        if table_id in seen:
            raise self.fail(f"LogicalTableMap.{table_id}", "the logical tables refer to each other in a cycle")
        spec = tables[table_id]
        source = spec.get("Source") or {}
        where = f"LogicalTableMap.{table_id}"
        if "PhysicalTableId" in source:
            query, columns = self.physical(str(source["PhysicalTableId"]))
        elif "JoinInstruction" in source:
            query, columns = self._join(where, source["JoinInstruction"], seen | {table_id})
        else:
            raise self.fail(where, "only PhysicalTableId and JoinInstruction sources are supported")
        for index, step in enumerate(spec.get("DataTransforms") or []):
            query, columns = self._transform(f"{where}.DataTransforms[{index}]", step, query, columns)
        return query, columns

    def _join(self, where: str, join: dict[str, Any], seen: frozenset[str]) -> tuple[str, dict[str, str]]:
        left, left_columns = self.logical(str(join.get("LeftOperand")), seen)
        right, right_columns = self.logical(str(join.get("RightOperand")), seen)
        both = {**left_columns, **right_columns}
        condition = self._expression(where + ".OnClause", str(join.get("OnClause", "")), both)
        kind = {"INNER": "INNER", "LEFT": "LEFT", "RIGHT": "RIGHT", "OUTER": "FULL OUTER"}[str(join.get("Type"))]
        sql = f"SELECT * FROM ({left}) {kind} JOIN ({right}) ON {condition}"
        return sql, self.bind(where, sql)

    def _expression(self, where: str, text: str, columns: dict[str, str]) -> str:
        def column(name: str) -> str:
            if name not in columns:
                raise ExpressionError(f"column {name!r} does not exist here (columns: {', '.join(columns)})")
            return quote(name)

        try:
            return SqlTranslator(column, self.now)(parse(text))
        except (ExpressionError, UnsupportedError) as exc:
            raise self.fail(where, f"{text!r}: {exc}") from exc

    def _transform(
        self, where: str, step: dict[str, Any], query: str, columns: dict[str, str]
    ) -> tuple[str, dict[str, str]]:
        kind, body = next(iter(step.items()))
        if kind == "ProjectOperation":
            names = body.get("ProjectedColumns") or []
            missing = [n for n in names if n not in columns]
            if missing:
                raise self.fail(where, f"ProjectOperation: no column {missing[0]!r} (columns: {', '.join(columns)})")
            sql = f"SELECT {', '.join(quote(n) for n in names)} FROM ({query})"
        elif kind == "FilterOperation":
            condition = self._expression(where, str(body.get("ConditionExpression", "")), columns)
            sql = f"SELECT * FROM ({query}) WHERE {condition}"
        elif kind == "CreateColumnsOperation":
            created = []
            for column in body.get("Columns") or []:
                name = str(column.get("ColumnName"))
                sql = self._expression(f"{where} column {name!r}", str(column.get("Expression", "")), columns)
                created.append(f"{sql} AS {quote(name)}")
            sql = f"SELECT *, {', '.join(created)} FROM ({query})" if created else query
        elif kind == "RenameColumnOperation":
            old, new = str(body.get("ColumnName")), str(body.get("NewColumnName"))
            self._require(where, kind, old, columns)
            sql = f"SELECT * EXCLUDE ({quote(old)}), {quote(old)} AS {quote(new)} FROM ({query})"
        elif kind == "CastColumnTypeOperation":
            name = str(body.get("ColumnName"))
            self._require(where, kind, name, columns)
            cast = self._cast(quote(name), columns[name], str(body.get("NewColumnType")), body.get("Format"))
            sql = f"SELECT * REPLACE ({cast} AS {quote(name)}) FROM ({query})"
        else:  # TagColumnOperation, UntagColumnOperation, OverrideDatasetParameterOperation: no effect on rows
            return query, columns
        return sql, self.bind(f"{where} ({kind})", sql)

    def _require(self, where: str, kind: str, name: str, columns: dict[str, str]) -> None:
        if name not in columns:
            raise self.fail(where, f"{kind}: no column {name!r} (columns: {', '.join(columns)})")

    def build(self) -> tuple[str, dict[str, str]]:
        logical = self.dataset.body.get("LogicalTableMap") or {}
        if not logical:
            physical = list(self.dataset.body.get("PhysicalTableMap") or {})
            if len(physical) != 1:
                raise self.fail("LogicalTableMap", "needed when there is more than one physical table")
            return self.physical(physical[0])
        referenced = {
            str(spec.get("Source", {}).get("JoinInstruction", {}).get(side))
            for spec in logical.values()
            for side in ("LeftOperand", "RightOperand")
        }
        roots = [table_id for table_id in logical if table_id not in referenced]
        if len(roots) != 1:
            raise self.fail("LogicalTableMap", f"expected one final logical table, found {len(roots)}")
        return self.logical(roots[0])


def build_views(
    con: duckdb.DuckDBPyConnection,
    tables: dict[str, Path],
    datasets: dict[str, DatasetFile],
    now: str,
) -> dict[str, DatasetView]:
    """One DuckDB view per dataset identifier; a dataset whose table is absent is kept with the reason."""
    views: dict[str, DatasetView] = {}
    for number, (identifier, dataset) in enumerate(sorted(datasets.items())):
        try:
            query, columns = _Builder(con, tables, dataset, now).build()
        except MissingTableError as exc:
            views[identifier] = DatasetView(identifier, dataset.label, "", {}, missing=str(exc))
            continue
        view = f"dataset_{number}"
        con.execute(f"CREATE VIEW {view} AS {query}")
        views[identifier] = DatasetView(identifier, dataset.label, view, columns)
    return views
