"""Evaluate QuickSight datasets with DuckDB over the local tables: one view per dataset.

A ``RelationalTable`` reads the table folder of the same name (Hive-partitioned Parquet, partition values
kept as strings as in the Glue schema); a ``CustomSql`` runs its Athena SQL with the catalog and database
qualifiers stripped (the local tables have no database), plus a few Presto functions defined as macros.
Joins and ``DataTransforms`` are followed by the same walk ``bcr dashboard validate`` uses
(``bcr.quicksight.datasets.LogicalTables``); each step's SQL is bound as it is added, so an error names the
dataset, the step and the column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from bcr.preview.definitions import DatasetDocument
from bcr.preview.sql import SqlTranslator, UnsupportedError, java_date_format, literal, quote
from bcr.quicksight.datasets import LogicalTables
from bcr.quicksight.documents import DefinitionError
from bcr.quicksight.expressions import Expr, ExpressionError
from bcr.quicksight.placeholders import EXAMPLE

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
# now() while probing for the newest moment in the data: anything derived from it is older than the data.
EARLIEST = "TIMESTAMP '0001-01-01 00:00:00'"


class MissingTableError(DefinitionError):
    """A dataset reads a table the tables folder does not have (yet): its visuals become placeholders."""


@dataclass(frozen=True)
class DatasetView:
    identifier: str
    label: str
    view: str
    columns: dict[str, str]  # column → DuckDB type
    missing: str | None = None  # why the dataset could not be read, when its table is absent


@dataclass(frozen=True)
class Step:
    """A logical table at one step: its SQL and its columns with their DuckDB types."""

    sql: str
    columns: dict[str, str]


def connect(tables: Path) -> tuple[duckdb.DuckDBPyConnection, dict[str, Path]]:
    """An in-memory DuckDB with one view per table folder under ``tables`` that holds Parquet files."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # the tables' timestamps are UTC, as QuickSight shows them
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


def strip_qualifiers(sql: str, tables: list[str], database: str = EXAMPLE.database) -> str:
    """``"bcr"."invocations"``, ``AwsDataCatalog.bcr.invocations``, ``"other".daily_costs`` → ``"invocations"``:
    the local tables have no database. The definitions' own database (its placeholder, resolved) is dropped
    before any table, so a table not written yet is reported as missing; another qualifier is dropped only
    before a table the folder has."""
    own = re.escape(database)
    sql = re.sub(rf'(?:AwsDataCatalog\s*\.\s*)?(?:"{own}"|\b{own})\s*\.\s*', "", sql)
    qualifier = r'(?:"[^"]+"|`[^`]+`|[\w\-]+)'
    for table in sorted(tables, key=len, reverse=True):
        name = re.escape(table)
        sql = re.sub(rf'(?:{qualifier}\s*\.\s*){{1,2}}(?:"{name}"|`{name}`|\b{name}\b)', quote(table), sql)
    return sql


class _DuckDbSteps(LogicalTables[Step]):
    """Each step of one dataset as DuckDB SQL; the first problem ends the report with the dataset named."""

    expression_errors = (ExpressionError, UnsupportedError)

    def __init__(self, con: duckdb.DuckDBPyConnection, tables: dict[str, Path], dataset: DatasetDocument, now: str):
        super().__init__(dataset.body)
        self.con, self.tables, self.dataset, self.now = con, tables, dataset, now

    def error(self, where: str, message: str) -> DefinitionError:
        return DefinitionError(f"dataset {self.dataset.label}: {where}: {message}")

    def problem(self, where: str, message: str) -> None:
        raise self.error(where, message)

    def empty(self) -> Step:
        return Step("", {})

    def columns(self, table: Step) -> dict[str, str]:
        return table.columns

    def bind(self, where: str, sql: str) -> Step:
        try:
            return Step(sql, describe(self.con, sql))
        except duckdb.CatalogException as exc:
            table = re.search(r"Table with name (\S+) does not exist", str(exc))
            if table is None:
                raise self.error(where, str(exc).splitlines()[0]) from exc
            raise self.missing(where, table.group(1)) from exc
        except duckdb.Error as exc:
            raise self.error(where, str(exc).splitlines()[0]) from exc

    def missing(self, where: str, table: str) -> MissingTableError:
        found = ", ".join(self.tables) or "none"
        return MissingTableError(
            f"dataset {self.dataset.label}: {where}: table {table!r} has no Parquet folder (tables found: {found})"
        )

    def physical(self, table_id: str, spec: dict[str, Any], where: str) -> Step:
        if "RelationalTable" in spec:
            table = spec["RelationalTable"]
            name = str(table.get("Name", ""))
            matches = [t for t in self.tables if t.lower() == name.lower()]
            if not matches:
                raise self.missing(where, name)
            source = self.bind(where, f"SELECT * FROM {quote(matches[0])}")
            return self._typed(where, source, table.get("InputColumns") or [], name)
        if "CustomSql" in spec:
            custom = spec["CustomSql"]
            query = strip_qualifiers(str(custom.get("SqlQuery", "")).strip().rstrip(";"), list(self.tables))
            source = self.bind(f"{where} (CustomSql {custom.get('Name', '')!r})", query)
            return self._typed(where, source, custom.get("Columns") or [], "the query")
        kind = next(iter(spec), "empty")
        return self.fail(where, f"{kind} sources are not supported by the preview (RelationalTable, CustomSql are)")

    def _typed(self, where: str, source: Step, columns: list[dict[str, Any]], what: str) -> Step:
        """Select the declared input columns with the declared types."""
        if not columns:
            return source
        selected = []
        for column in columns:
            name, kind = str(column.get("Name")), str(column.get("Type"))
            if name not in source.columns:
                raise self.error(where, f"input column {name!r} is not in {what} (it has: {', '.join(source.columns)})")
            selected.append(f"{_cast(quote(name), source.columns[name], kind)} AS {quote(name)}")
        return self.bind(where, f"SELECT {', '.join(selected)} FROM ({source.sql})")

    def sql(self, table: Step, expression: Expr) -> str:
        def column(name: str) -> str:
            if name not in table.columns:
                raise ExpressionError(f"column {name!r} does not exist here (columns: {', '.join(table.columns)})")
            return quote(name)

        return SqlTranslator(column, self.now)(expression)

    def join(self, left: Step, right: Step, kind: str, condition: Expr, where: str) -> Step:
        both = Step("", {**left.columns, **right.columns})
        try:
            on = self.sql(both, condition)
        except self.expression_errors as exc:
            return self.fail(f"{where}.OnClause", str(exc))
        join = {"INNER": "INNER", "LEFT": "LEFT", "RIGHT": "RIGHT", "OUTER": "FULL OUTER"}[kind]
        return self.bind(where, f"SELECT * FROM ({left.sql}) {join} JOIN ({right.sql}) ON {on}")

    def project(self, table: Step, names: list[str], where: str) -> Step:
        return self.bind(f"{where} (ProjectOperation)", f"SELECT {', '.join(map(quote, names))} FROM ({table.sql})")

    def rename(self, table: Step, old: str, new: str, where: str) -> Step:
        sql = f"SELECT * EXCLUDE ({quote(old)}), {quote(old)} AS {quote(new)} FROM ({table.sql})"
        return self.bind(f"{where} (RenameColumnOperation)", sql)

    def cast(self, table: Step, name: str, new_type: str, date_format: str | None, where: str) -> Step:
        cast = _cast(quote(name), table.columns[name], new_type, date_format)
        return self.bind(
            f"{where} (CastColumnTypeOperation)", f"SELECT * REPLACE ({cast} AS {quote(name)}) FROM ({table.sql})"
        )

    def create(self, table: Step, name: str, expression: Expr, where: str) -> Step:
        return self.bind(where, f"SELECT *, {self.sql(table, expression)} AS {quote(name)} FROM ({table.sql})")

    def filter(self, table: Step, condition: Expr, where: str) -> Step:
        return self.bind(
            f"{where} (FilterOperation)", f"SELECT * FROM ({table.sql}) WHERE {self.sql(table, condition)}"
        )


def _cast(sql: str, source_type: str, kind: str, fmt: str | None = None) -> str:
    """A column read as a QuickSight type: numbers as DOUBLE (exact DECIMALs stay), dates parsed."""
    if kind == "DECIMAL":
        return sql if source_type.startswith("DECIMAL") else f"TRY_CAST({sql} AS DOUBLE)"
    if kind == "DATETIME" and source_type == "VARCHAR":
        return f"try_strptime({sql}, {literal(java_date_format(fmt))})" if fmt else f"TRY_CAST({sql} AS TIMESTAMP)"
    target = _INPUT_TYPES.get(kind)
    if target is None:
        return sql
    return sql if source_type == target else f"TRY_CAST({sql} AS {target})"


def build_views(
    con: duckdb.DuckDBPyConnection,
    tables: dict[str, Path],
    datasets: dict[str, DatasetDocument],
    now: str,
) -> dict[str, DatasetView]:
    """One DuckDB view per dataset identifier; a dataset whose table is absent is kept with the reason."""
    views: dict[str, DatasetView] = {}
    for number, (identifier, dataset) in enumerate(sorted(datasets.items())):
        try:
            step = _DuckDbSteps(con, tables, dataset, now).output()
        except MissingTableError as exc:
            views[identifier] = DatasetView(identifier, dataset.label, "", {}, missing=str(exc))
            continue
        view = f"dataset_{number}"
        con.execute(f"CREATE OR REPLACE VIEW {view} AS {step.sql}")
        views[identifier] = DatasetView(identifier, dataset.label, view, step.columns)
    return views


def newest_moment(con: duckdb.DuckDBPyConnection, views: dict[str, DatasetView]) -> datetime | None:
    """The newest date or time in any date column of the datasets (None when they hold none)."""
    found: list[datetime] = []
    for view in views.values():
        dates = [quote(name) for name, kind in view.columns.items() if kind.startswith(("TIMESTAMP", "DATE"))]
        if view.missing or not dates:
            continue
        row = con.execute(f"SELECT {', '.join(f'max(CAST({d} AS TIMESTAMP))' for d in dates)} FROM {view.view}")
        found += [value for value in row.fetchall()[0] if value is not None]
    return max(found, default=None)
