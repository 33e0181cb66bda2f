"""Registering new partitions in the Glue Data Catalog: tables as the template declares them, moto's Glue."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from aws_template import default_refs, fresh_template, resolve
from botocore.stub import Stubber
from moto import mock_aws

from bedrock_costs.partitions import PartitionRegistrationError, register_new_partitions
from bedrock_costs.schemas import INVOCATION_TAGS

DATABASE = "bedrock_costs"


@pytest.fixture
def glue(tmp_path: Path) -> Iterator[object]:
    """moto's Glue holding the template's database and tables, located under ``tmp_path``."""
    tpl = fresh_template()
    refs = default_refs(tpl, DataBucket="unused", GlueDatabase=DATABASE)
    with mock_aws():
        client = boto3.client("glue", region_name="us-east-1")
        client.create_database(DatabaseInput={"Name": DATABASE})
        for resource in tpl["Resources"].values():
            if resource["Type"] == "AWS::Glue::Table":
                table_input = resolve(resource["Properties"]["TableInput"], refs)
                name = table_input["Name"]
                table_input["StorageDescriptor"]["Location"] = (tmp_path / "tables" / name).as_uri() + "/"
                client.create_table(DatabaseName=DATABASE, TableInput=table_input)
        yield client


def write_tags(spark, root: Path, *days: str) -> None:
    rows = [(f"req-{day}", "team", "search", Decimal("0.5"), 10, "priced", day) for day in days]
    # Partitions appear next to the ones already there, as a run's published files do.
    spark.createDataFrame(rows, INVOCATION_TAGS).write.mode("append").partitionBy("usage_date").parquet(str(root))


def partitions(glue, table: str) -> dict[str, str]:
    found = glue.get_partitions(DatabaseName=DATABASE, TableName=table)["Partitions"]
    return {p["Values"][0]: p["StorageDescriptor"]["Location"] for p in found}


def test_written_partitions_become_catalog_partitions_once(spark, glue, tmp_path: Path) -> None:
    root = tmp_path / "tables" / "invocation_tags"
    write_tags(spark, root, "2026-11-20", "2026-11-21")
    added = register_new_partitions(glue, spark, DATABASE, ["invocation_tags", "invocations"])
    assert added == {"invocation_tags": ["2026-11-20", "2026-11-21"]}
    registered = partitions(glue, "invocation_tags")
    assert sorted(registered) == ["2026-11-20", "2026-11-21"]
    for day, location in registered.items():
        assert location.rstrip("/").endswith(f"invocation_tags/usage_date={day}")
        assert any(path.suffix == ".parquet" for path in (root / f"usage_date={day}").iterdir())
    # The partition carries the table's own columns and formats.
    table = glue.get_table(DatabaseName=DATABASE, Name="invocation_tags")["Table"]["StorageDescriptor"]
    partition = glue.get_partition(DatabaseName=DATABASE, TableName="invocation_tags", PartitionValues=["2026-11-20"])
    assert partition["Partition"]["StorageDescriptor"]["Columns"] == table["Columns"]
    assert partition["Partition"]["StorageDescriptor"]["SerdeInfo"] == table["SerdeInfo"]
    assert register_new_partitions(glue, spark, DATABASE, ["invocation_tags"]) == {}


def test_only_new_dates_are_added_and_other_folders_ignored(spark, glue, tmp_path: Path) -> None:
    root = tmp_path / "tables" / "invocation_tags"
    write_tags(spark, root, "2026-11-20")
    register_new_partitions(glue, spark, DATABASE, ["invocation_tags"])
    write_tags(spark, root, "2026-11-22")
    for odd in ("_state", ".spark-staging-1", "other=1", "usage_date="):
        (root / odd).mkdir()
    (root / "usage_date=2026-11-30.txt").write_text("a file, not a partition")
    assert register_new_partitions(glue, spark, DATABASE, ["invocation_tags"]) == {"invocation_tags": ["2026-11-22"]}
    assert sorted(partitions(glue, "invocation_tags")) == ["2026-11-20", "2026-11-22"]


def test_many_partitions_are_registered_in_batches(spark, glue, tmp_path: Path) -> None:
    root = tmp_path / "tables" / "pipeline_runs"
    days = [datetime.fromordinal(datetime(2026, 1, 1).toordinal() + n).date().isoformat() for n in range(205)]
    for day in days:
        (root / f"run_date={day}").mkdir(parents=True)
    assert register_new_partitions(glue, spark, DATABASE, ["pipeline_runs"]) == {"pipeline_runs": days}
    pages = glue.get_paginator("get_partitions").paginate(DatabaseName=DATABASE, TableName="pipeline_runs")
    assert sum(len(page["Partitions"]) for page in pages) == 205


def test_a_table_missing_from_the_catalog_is_one_clear_error(spark, glue) -> None:
    glue.delete_table(DatabaseName=DATABASE, Name="dq_results")  # a new table the stack does not declare yet
    with pytest.raises(PartitionRegistrationError, match=r"bedrock_costs.dq_results is not in the Glue Data Catalog"):
        register_new_partitions(glue, spark, DATABASE, ["dq_results"])


def test_glue_refusals_fail_except_partitions_registered_meanwhile(spark, tmp_path: Path) -> None:
    root = tmp_path / "t"
    (root / "usage_date=2026-11-20").mkdir(parents=True)
    (root / "usage_date=2026-11-21").mkdir(parents=True)
    client = boto3.client("glue", region_name="us-east-1")
    table = {
        "Name": "t",
        "PartitionKeys": [{"Name": "usage_date", "Type": "string"}],
        "StorageDescriptor": {"Location": root.as_uri() + "/", "Columns": [{"Name": "a", "Type": "string"}]},
    }

    def refuse(code: str) -> list[dict]:
        error = {"ErrorCode": code, "ErrorMessage": "no"}
        return [{"PartitionValues": ["2026-11-21"], "ErrorDetail": error}]

    for code, outcome in (("AlreadyExistsException", None), ("ResourceNumberLimitExceededException", "Glue refused")):
        with Stubber(client) as stub:
            stub.add_response("get_table", {"Table": table}, {"DatabaseName": DATABASE, "Name": "t"})
            stub.add_response("get_partitions", {"Partitions": []})
            stub.add_response("batch_create_partition", {"Errors": refuse(code)})
            if outcome is None:
                assert register_new_partitions(client, spark, DATABASE, ["t"]) == {"t": ["2026-11-20", "2026-11-21"]}
            else:
                with pytest.raises(PartitionRegistrationError, match=rf"{outcome} 1 partition\(s\) of {DATABASE}.t"):
                    register_new_partitions(client, spark, DATABASE, ["t"])
