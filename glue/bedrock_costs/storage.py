"""Where the tables live and how partitions are replaced: the same calls for a local folder and S3."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from bedrock_costs.schemas import PUBLISHED_TABLES

TABLES = tuple(table.name for table in PUBLISHED_TABLES)
STATE = "_state/processed_files"


def table_path(root: str, table: str) -> str:
    return f"{root.rstrip('/')}/{table}"


def partition_path(root: str, column: str, value: str) -> str:
    return f"{root}/{column}={value}"


def _file_system(spark: SparkSession, path: str) -> tuple[Any, Any]:
    """Hadoop's file system for ``path`` (local, or S3 on Glue) and the Hadoop path itself."""
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path  # type: ignore[attr-defined]


def path_exists(spark: SparkSession, path: str) -> bool:
    """Ask Hadoop's file system (local, or S3 on Glue) whether ``path`` exists."""
    fs, hadoop_path = _file_system(spark, path)
    return bool(fs.exists(hadoop_path))


def partition_folders(spark: SparkSession, root: str, column: str) -> dict[str, str]:
    """``value → folder`` of every ``column=value`` partition directly under ``root`` ({} before the first write)."""
    fs, hadoop_path = _file_system(spark, root)
    if not fs.exists(hadoop_path):
        return {}
    folders = {}
    for status in fs.listStatus(hadoop_path):
        key, separator, value = status.getPath().getName().partition("=")
        if status.isDirectory() and separator and key == column and value:
            folders[value] = f"{status.getPath().toString()}/"
    return folders


def read_table(spark: SparkSession, root: str, schema: T.StructType) -> DataFrame | None:
    """A whole (small) table, or ``None`` before its first write."""
    if not path_exists(spark, root):
        return None
    return spark.read.schema(schema).parquet(root)


def read_partitions(
    spark: SparkSession, root: str, schema: T.StructType, column: str, values: Sequence[str]
) -> DataFrame | None:
    """Only the named partitions that exist, without listing the table's whole history."""
    paths = [partition_path(root, column, value) for value in values]
    existing = [path for path in paths if path_exists(spark, path)]
    return read_paths(spark, root, schema, existing) if existing else None


def read_paths(spark: SparkSession, root: str, schema: T.StructType, paths: Sequence[str]) -> DataFrame:
    """Partition folders of one table, read with its schema and partition column."""
    return spark.read.schema(schema).option("basePath", root).parquet(*paths)


def replace_partitions(df: DataFrame, root: str, column: str, order: Sequence[str]) -> None:
    """Overwrite exactly the partitions present in ``df``, one sorted file each, so re-runs are identical.

    Dynamic overwrite stages the new files and swaps partitions at commit, after every task has read its
    input, so ``df`` may be built from the partitions it replaces.
    """
    (
        df.repartition(column)
        .sortWithinPartitions(*order)
        .write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .partitionBy(column)
        .parquet(root)
    )


def append(df: DataFrame, root: str, column: str) -> None:
    df.coalesce(1).write.mode("append").partitionBy(column).parquet(root)


def dates_in(df: DataFrame, column: str) -> list[str]:
    return sorted(row[0] for row in df.select(column).distinct().collect() if row[0] is not None)


def count_where(df: DataFrame | None, condition: F.Column | None = None) -> int:
    if df is None:
        return 0
    return (df if condition is None else df.where(condition)).count()
