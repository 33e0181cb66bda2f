"""Register the partitions the job wrote in the Glue Data Catalog, so Athena sees new data at once.

A crawler would bill a 10-minute minimum per run and re-list every partition of every table; the job already
knows where the tables live. After each run it compares each declared table's partition folders (listed
through Spark's file system, S3 on Glue) with the partitions in the catalog and registers the missing ones
with the table's own storage descriptor. That also repairs a run that stopped between writing and
registering. Schemas are never changed here: the template declares them, and a contract test keeps them
equal to ``schemas.py``.

Thin boto3 layer: the Glue client is injected.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyspark.sql import SparkSession

from bedrock_costs.storage import partition_folders

_BATCH = 100  # BatchCreatePartition takes at most 100 partitions per call


class PartitionRegistrationError(RuntimeError):
    """The catalog does not hold a table as declared, or Glue refused a partition; told in one line."""


def registered_values(glue: Any, database: str, table: str) -> set[str]:
    """Values of the partitions the catalog already has (single-key tables)."""
    pages = glue.get_paginator("get_partitions").paginate(
        DatabaseName=database, TableName=table, ExcludeColumnSchema=True
    )
    return {partition["Values"][0] for page in pages for partition in page.get("Partitions", [])}


def register_new_partitions(
    glue: Any, spark: SparkSession, database: str, tables: Iterable[str]
) -> dict[str, list[str]]:
    """Register every partition folder the catalog lacks; return the new values per table."""
    added: dict[str, list[str]] = {}
    for table in tables:
        try:
            definition = glue.get_table(DatabaseName=database, Name=table)["Table"]
        except glue.exceptions.EntityNotFoundException as exc:
            raise PartitionRegistrationError(
                f"table {database}.{table} is not in the Glue Data Catalog: deploy template.yaml"
            ) from exc
        keys = [key["Name"] for key in definition.get("PartitionKeys", [])]
        if len(keys) != 1:
            raise PartitionRegistrationError(f"table {database}.{table} must have one partition key, not {keys}")
        descriptor = definition["StorageDescriptor"]
        folders = partition_folders(spark, descriptor["Location"], keys[0])
        missing = sorted(folders.keys() - registered_values(glue, database, table))
        for start in range(0, len(missing), _BATCH):
            _create(glue, database, table, descriptor, {v: folders[v] for v in missing[start : start + _BATCH]})
        if missing:
            added[table] = missing
    return added


def _create(glue: Any, database: str, table: str, descriptor: dict, folders: dict[str, str]) -> None:
    response = glue.batch_create_partition(
        DatabaseName=database,
        TableName=table,
        PartitionInputList=[
            {"Values": [value], "StorageDescriptor": {**descriptor, "Location": location}}
            for value, location in folders.items()
        ],
    )
    # A partition registered meanwhile (a retried run) is fine; any other refusal is not.
    errors = [
        error
        for error in response.get("Errors", [])
        if error.get("ErrorDetail", {}).get("ErrorCode") != "AlreadyExistsException"
    ]
    if errors:
        detail = errors[0].get("ErrorDetail", {})
        raise PartitionRegistrationError(
            f"Glue refused {len(errors)} partition(s) of {database}.{table}, e.g. {errors[0].get('PartitionValues')}:"
            f" {detail.get('ErrorCode')}: {detail.get('ErrorMessage')}"
        )
