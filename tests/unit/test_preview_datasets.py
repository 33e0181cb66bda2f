"""Dataset definitions evaluated with DuckDB over small Hive-partitioned tables, and how the definitions
folder is read: files found by shape, dataset identifiers paired through placeholder ARNs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bcr.preview.datasets import build_views, connect, strip_qualifiers
from bcr.preview.definitions import DatasetFile, DefinitionError, load_definitions

NOW = "TIMESTAMP '2026-11-30 00:00:00'"
SOURCE = "arn:aws:quicksight:${Region}:${AccountId}:datasource/athena"


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """daily_costs in the layout `bcr etl` writes: Parquet under usage_date=YYYY-MM-DD folders."""
    root = tmp_path_factory.mktemp("tables")
    con = duckdb.connect()
    con.execute(
        """
        CREATE TABLE daily AS SELECT * FROM (VALUES
          ('2026-11-20', 'anthropic.claude-sonnet-4-5', 'tenant-a', 10, CAST(1.5 AS DECIMAL(38,18))),
          ('2026-11-20', 'amazon.nova-micro-v1:0', NULL, 5, CAST(0.000035 AS DECIMAL(38,18))),
          ('2026-11-21', 'anthropic.claude-sonnet-4-5', 'tenant-b', 7, NULL)
        ) AS t(usage_date, model_id, tenant, request_count, total_cost)
        """
    )
    con.execute(f"COPY daily TO '{root / 'daily_costs'}' (FORMAT parquet, PARTITION_BY (usage_date))")
    (root / "_state").mkdir()  # bookkeeping folders are not tables
    return root


def dataset(physical: dict[str, Any], transforms: list[dict[str, Any]] | None = None) -> DatasetFile:
    body: dict[str, Any] = {"DataSetId": "ds", "Name": "daily", "PhysicalTableMap": {"p": physical}}
    if transforms is not None:
        body["LogicalTableMap"] = {
            "l": {"Alias": "daily", "Source": {"PhysicalTableId": "p"}, "DataTransforms": transforms}
        }
    return DatasetFile(Path("daily.json"), body)


def relational(*columns: tuple[str, str]) -> dict[str, Any]:
    return {
        "RelationalTable": {
            "DataSourceArn": SOURCE,
            "Schema": "${GlueDatabase}",
            "Name": "daily_costs",
            "InputColumns": [{"Name": n, "Type": t} for n, t in columns],
        }
    }


def rows(tables: Path, ds: DatasetFile, order: str = "1") -> tuple[dict[str, str], list[tuple]]:
    con, found = connect(tables)
    view = build_views(con, found, {"daily": ds}, NOW)["daily"]
    return view.columns, con.execute(f"SELECT * FROM {view.view} ORDER BY {order}").fetchall()


def test_relational_table_with_logical_transforms(tables: Path) -> None:
    ds = dataset(
        relational(
            ("usage_date", "STRING"), ("model_id", "STRING"), ("request_count", "INTEGER"), ("total_cost", "DECIMAL")
        ),
        [
            {
                "CastColumnTypeOperation": {
                    "ColumnName": "usage_date",
                    "NewColumnType": "DATETIME",
                    "Format": "yyyy-MM-dd",
                }
            },
            {
                "CreateColumnsOperation": {
                    "Columns": [{"ColumnId": "f", "ColumnName": "family", "Expression": "split({model_id}, '.', 1)"}]
                }
            },
            {"RenameColumnOperation": {"ColumnName": "request_count", "NewColumnName": "requests"}},
            {"FilterOperation": {"ConditionExpression": "{requests} > 5"}},
            {"TagColumnOperation": {"ColumnName": "family", "Tags": [{"ColumnDescription": {"Text": "vendor"}}]}},
            {"ProjectOperation": {"ProjectedColumns": ["usage_date", "family", "requests", "total_cost"]}},
        ],
    )
    columns, result = rows(tables, ds)
    assert columns == {
        "usage_date": "TIMESTAMP",
        "family": "VARCHAR",
        "requests": "BIGINT",
        "total_cost": "DECIMAL(38,18)",  # exact money stays exact
    }
    assert [(r[0].day, r[1], r[2]) for r in result] == [(20, "anthropic", 10), (21, "anthropic", 7)]


def test_custom_sql_runs_with_athena_qualifiers_stripped(tables: Path) -> None:
    sql = (
        'SELECT model_id, sum(request_count) AS requests FROM "${GlueDatabase}"."daily_costs" '
        "WHERE from_iso8601_date(usage_date) >= DATE '2026-11-21' GROUP BY model_id"
    )
    ds = dataset({"CustomSql": {"DataSourceArn": SOURCE, "Name": "q", "SqlQuery": sql}})
    assert rows(tables, ds)[1] == [("anthropic.claude-sonnet-4-5", 7)]
    assert strip_qualifiers(
        "FROM AwsDataCatalog.bcr_prod.invocations i JOIN `db`.`daily_costs`", ["invocations", "daily_costs"]
    ) == ('FROM "invocations" i JOIN "daily_costs"')


@pytest.mark.parametrize(
    ("physical", "transforms", "message"),
    [
        (relational(("tenant_id", "STRING")), None, "input column 'tenant_id' is not in daily_costs"),
        (
            {"CustomSql": {"DataSourceArn": SOURCE, "Name": "q", "SqlQuery": "SELECT nope FROM daily_costs"}},
            None,
            "CustomSql 'q'",
        ),
        ({"S3Source": {"DataSourceArn": SOURCE, "InputColumns": []}}, None, "S3Source sources are not supported"),
        (
            relational(("tenant", "STRING")),
            [
                {
                    "CreateColumnsOperation": {
                        "Columns": [{"ColumnId": "x", "ColumnName": "x", "Expression": "{tenent} + 1"}]
                    }
                }
            ],
            "DataTransforms[0] column 'x'",
        ),
        (
            relational(("tenant", "STRING")),
            [{"ProjectOperation": {"ProjectedColumns": ["model_id"]}}],
            "no column 'model_id'",
        ),
        (
            relational(("tenant", "STRING")),
            [{"CastColumnTypeOperation": {"ColumnName": "usage_date", "NewColumnType": "DATETIME"}}],
            "CastColumnTypeOperation: no column 'usage_date'",
        ),
    ],
)
def test_dataset_errors_name_the_dataset_the_step_and_the_column(
    tables: Path, physical: dict[str, Any], transforms: list[dict[str, Any]] | None, message: str
) -> None:
    with pytest.raises(DefinitionError, match="dataset daily") as error:
        rows(tables, dataset(physical, transforms))
    assert message in str(error.value)


@pytest.mark.parametrize(
    "physical",
    [
        {"RelationalTable": {"DataSourceArn": SOURCE, "Name": "dq_results", "InputColumns": []}},
        {"CustomSql": {"DataSourceArn": SOURCE, "Name": "q", "SqlQuery": "SELECT * FROM ${Database}.dq_results"}},
    ],
)
def test_a_table_not_written_yet_leaves_the_dataset_unavailable_with_the_reason(
    tables: Path, physical: dict[str, Any]
) -> None:
    con, found = connect(tables)
    view = build_views(con, found, {"daily": dataset(physical)}, NOW)["daily"]
    assert view.missing and "dq_results" in view.missing and "tables found: daily_costs" in view.missing


def write(folder: Path, name: str, body: Any) -> None:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(body))


def dashboard(*identifiers: tuple[str, str]) -> dict[str, Any]:
    declarations = [{"Identifier": i, "DataSetArn": arn} for i, arn in identifiers]
    return {
        "DashboardId": "d",
        "Name": "D",
        "Definition": {"DataSetIdentifierDeclarations": declarations, "Sheets": []},
    }


def test_definitions_are_found_by_shape_and_paired_through_placeholders(tmp_path: Path) -> None:
    write(tmp_path, "ds/a.json", {"DataSetId": "${Prefix}-daily-costs", "Name": "Daily costs", "PhysicalTableMap": {}})
    write(tmp_path, "ds/b.json", {"DataSetId": "bcr-invocations", "Name": "inv", "PhysicalTableMap": {}})
    write(tmp_path, "source.json", {"DataSourceId": "athena", "DataSourceParameters": {}})
    write(tmp_path, "notes/placeholders.json", ["not a definition"])
    write(
        tmp_path,
        "dash/main.json",
        dashboard(
            ("costs", "arn:aws:quicksight:{{region}}:<account>:dataset/${Prefix}-daily-costs"),
            ("invocations", "arn:aws:quicksight:${Region}:${AccountId}:dataset/bcr-invocations"),
        ),
    )
    loaded = load_definitions(tmp_path)
    assert loaded.dashboard.dashboard_id == "d"
    assert {k: v.path.name for k, v in loaded.datasets.items()} == {"costs": "a.json", "invocations": "b.json"}
    assert loaded.skipped == ["notes/placeholders.json", "source.json"]


def test_a_bare_definition_file_is_a_dashboard_too(tmp_path: Path) -> None:
    write(tmp_path, "ds.json", {"DataSetId": "x", "Name": "daily", "PhysicalTableMap": {}})
    write(tmp_path, "definition.json", dashboard(("daily", ""))["Definition"])
    assert load_definitions(tmp_path).datasets["daily"].dataset_id == "x"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no dashboard definition"),
        ({"a.json": dashboard(("x", "")), "b.json": dashboard(("x", ""))}, "several dashboards"),
        ({"a.json": dashboard(("costs", "arn:aws:quicksight:r:a:dataset/missing"))}, "matches no single dataset"),
        ({"a.json": "{not json"}, "not readable JSON"),
    ],
)
def test_unusable_definition_folders_are_explained(tmp_path: Path, files: dict[str, Any], message: str) -> None:
    for name, body in files.items():
        if isinstance(body, str):
            (tmp_path / name).write_text(body)
        else:
            write(tmp_path, name, body)
    with pytest.raises(DefinitionError, match=message):
        load_definitions(tmp_path)
