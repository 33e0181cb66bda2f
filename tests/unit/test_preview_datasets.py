"""Dataset definitions evaluated with DuckDB over small Hive-partitioned tables, and how the preview reads a
definitions folder: the `bcr dashboard` layout, placeholders resolved, each declared identifier paired with
datasets/<identifier>.json."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bcr.preview.datasets import EARLIEST, build_views, connect, newest_moment, strip_qualifiers
from bcr.preview.definitions import DatasetDocument, load_dashboard
from bcr.quicksight.documents import DefinitionError, dumps

NOW = "TIMESTAMP '2026-11-30 00:00:00'"
# Documents as the preview sees them: placeholders resolved with the example environment.
SOURCE = "arn:aws:quicksight:us-east-1:111122223333:datasource/bcr-athena"


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


def dataset(physical: dict[str, Any], transforms: list[dict[str, Any]] | None = None) -> DatasetDocument:
    body: dict[str, Any] = {"DataSetId": "ds", "Name": "daily", "PhysicalTableMap": {"p": physical}}
    if transforms is not None:
        body["LogicalTableMap"] = {
            "l": {"Alias": "daily", "Source": {"PhysicalTableId": "p"}, "DataTransforms": transforms}
        }
    return DatasetDocument("daily", body)


def relational(*columns: tuple[str, str]) -> dict[str, Any]:
    return {
        "RelationalTable": {
            "DataSourceArn": SOURCE,
            "Schema": "bcr",
            "Name": "daily_costs",
            "InputColumns": [{"Name": n, "Type": t} for n, t in columns],
        }
    }


def rows(tables: Path, ds: DatasetDocument, order: str = "1") -> tuple[dict[str, str], list[tuple]]:
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
        'SELECT model_id, sum(request_count) AS requests FROM "bcr"."daily_costs" '
        "WHERE from_iso8601_date(usage_date) >= DATE '2026-11-21' GROUP BY model_id"
    )
    ds = dataset({"CustomSql": {"DataSourceArn": SOURCE, "Name": "q", "SqlQuery": sql}})
    assert rows(tables, ds)[1] == [("anthropic.claude-sonnet-4-5", 7)]
    assert strip_qualifiers(
        "FROM AwsDataCatalog.bcr_prod.invocations i JOIN `db`.`daily_costs`", ["invocations", "daily_costs"]
    ) == ('FROM "invocations" i JOIN "daily_costs"')
    assert strip_qualifiers('FROM "bcr"."dq_results" JOIN bcr.invocations', ["invocations"]) == (
        'FROM "dq_results" JOIN invocations'
    )


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
        {
            "CustomSql": {
                "DataSourceArn": SOURCE,
                "Name": "q",
                "SqlQuery": "SELECT * FROM AwsDataCatalog.bcr.dq_results",
            }
        },
    ],
)
def test_a_table_not_written_yet_leaves_the_dataset_unavailable_with_the_reason(
    tables: Path, physical: dict[str, Any]
) -> None:
    con, found = connect(tables)
    view = build_views(con, found, {"daily": dataset(physical)}, NOW)["daily"]
    assert view.missing and "dq_results" in view.missing and "tables found: daily_costs" in view.missing


def test_the_newest_moment_is_in_the_data_not_derived_from_now(tables: Path) -> None:
    """`bcr report --as-of latest` probes the datasets with now() at the earliest time for this reason."""
    ds = dataset(
        relational(("usage_date", "STRING"), ("request_count", "INTEGER")),
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
                    "Columns": [
                        {"ColumnId": "n", "ColumnName": "next_week", "Expression": "addDateTime(7, 'DD', now())"}
                    ]
                }
            },
        ],
    )
    con, found = connect(tables)
    assert newest_moment(con, build_views(con, found, {"daily": ds}, EARLIEST)) == dt.datetime(2026, 11, 21)
    assert newest_moment(con, build_views(con, found, {"daily": ds}, NOW)) == dt.datetime(2026, 12, 7)
    undated = dataset(relational(("request_count", "INTEGER")))
    assert newest_moment(con, build_views(con, found, {"daily": undated}, EARLIEST)) is None


def write(folder: Path, name: str, body: Any) -> None:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(dumps(body))


def dashboard(*identifiers: str) -> dict[str, Any]:
    arn = "arn:${AWS::Partition}:quicksight:${AWS::Region}:${AWS::AccountId}:dataset/${AWS::StackName}-"
    declarations = [{"Identifier": i, "DataSetArn": {"Fn::Sub": arn + i}} for i in identifiers]
    return {
        "DashboardId": {"Fn::Sub": "${AWS::StackName}-costs"},
        "Name": "Costs",
        "Definition": {"DataSetIdentifierDeclarations": declarations, "Sheets": []},
    }


def definitions(folder: Path, board: dict[str, Any], *datasets: str) -> Path:
    write(folder, "data_source.json", {"DataSourceId": "athena", "Name": "athena", "Type": "ATHENA"})
    write(folder, "dashboard.json", board)
    for name in datasets:
        write(folder, f"datasets/{name}.json", {"DataSetId": {"Fn::Sub": "${AWS::StackName}-" + name}, "Name": name})
    return folder


def test_each_declared_identifier_is_paired_with_its_file_and_placeholders_are_resolved(tmp_path: Path) -> None:
    loaded = load_dashboard(definitions(tmp_path, dashboard("costs", "invocations"), "costs", "invocations", "old"))
    assert (loaded.id, loaded.name) == ("bcr-costs", "Costs")  # the example stack name stands in
    assert {k: v.body["DataSetId"] for k, v in loaded.datasets.items()} == {
        "costs": "bcr-costs",
        "invocations": "bcr-invocations",
    }
    assert loaded.datasets["costs"].label == "costs (datasets/costs.json)"
    declared = loaded.definition["DataSetIdentifierDeclarations"][0]["DataSetArn"]
    assert declared == "arn:aws:quicksight:us-east-1:111122223333:dataset/bcr-costs"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"board": dashboard("costs"), "datasets": ["spend"]},
            "DataSetIdentifier 'costs' has no file datasets/costs.json",
        ),
        ({"board": dashboard(), "datasets": ["costs"]}, "declares no DataSetIdentifierDeclarations"),
        (
            {"board": {**dashboard("costs"), "Name": {"Fn::GetAtt": ["X", "Name"]}}, "datasets": ["costs"]},
            "use Ref or Fn::Sub",
        ),
        ({"board": dashboard("costs"), "datasets": []}, "holds no dataset definitions"),
    ],
)
def test_unusable_definition_folders_are_explained(tmp_path: Path, files: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        load_dashboard(definitions(tmp_path, files["board"], *files["datasets"]))


def test_a_damaged_or_missing_definitions_folder_is_explained(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="is not a folder of QuickSight definitions"):
        load_dashboard(tmp_path / "nowhere")
    definitions(tmp_path, dashboard("costs"), "costs")
    (tmp_path / "dashboard.json").write_text("{not json")
    with pytest.raises(DefinitionError, match=r"dashboard\.json is not valid JSON"):
        load_dashboard(tmp_path)
