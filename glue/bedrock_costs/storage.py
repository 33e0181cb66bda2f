"""Where the tables live, and the file operations a run needs, through Hadoop's FileSystem.

Every call goes through the JVM's ``FileSystem`` for the path's scheme, so the same code works on a local
folder (tests, ``bcr etl``) and on S3 (the Glue job); nothing here uses ``os`` on a table path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from bedrock_costs.schemas import PUBLISHED_TABLES

TABLES = tuple(table.name for table in PUBLISHED_TABLES)
STATE = "_state/processed_files"


def table_path(root: str, table: str) -> str:
    return f"{root.rstrip('/')}/{table}"


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


def _listing(spark: SparkSession, folder: str) -> list[Any]:
    fs, hadoop_path = _file_system(spark, folder)
    if not fs.exists(hadoop_path):
        return []
    # Hidden and underscore names are Spark's and Hadoop's bookkeeping (_SUCCESS, .crc), never data.
    return [s for s in fs.listStatus(hadoop_path) if not s.getPath().getName().startswith(("_", "."))]


def list_files(spark: SparkSession, folder: str) -> list[str]:
    """Data files directly in ``folder``, sorted; empty when the folder does not exist."""
    return sorted(f"{folder}/{s.getPath().getName()}" for s in _listing(spark, folder) if not s.isDirectory())


def list_folders(spark: SparkSession, folder: str) -> list[str]:
    """Names of the sub-folders of ``folder``, sorted; empty when it does not exist."""
    return sorted(s.getPath().getName() for s in _listing(spark, folder) if s.isDirectory())


def rename(spark: SparkSession, source: str, target: str) -> None:
    """Move one file into place (on S3 a copy and a delete); the target's folder is created if missing
    (only then: on S3 a created folder is a marker object, and an existing prefix needs none).
    """
    fs, src = _file_system(spark, source)
    _, dst = _file_system(spark, target)
    if not fs.exists(dst.getParent()):
        fs.mkdirs(dst.getParent())
    if not fs.rename(src, dst):
        raise OSError(f"could not move {source} to {target}")


def delete(spark: SparkSession, path: str, recursive: bool = False) -> bool:
    """Delete a file (or a folder with ``recursive``); ``False`` if it was not there."""
    fs, hadoop_path = _file_system(spark, path)
    return bool(fs.delete(hadoop_path, recursive))


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Write a small UTF-8 file whole: written next to its place and moved in, so a reader never sees half."""
    fs, target = _file_system(spark, path)
    _, temp = _file_system(spark, f"{path}.tmp")
    stream = fs.create(temp, True)
    try:
        stream.write(text.encode("utf-8"))
    finally:
        stream.close()
    fs.delete(target, False)
    if not fs.rename(temp, target):
        raise OSError(f"could not write {path}")


def read_text(spark: SparkSession, path: str) -> str | None:
    """A small UTF-8 file's text, or ``None`` when it does not exist."""
    fs, hadoop_path = _file_system(spark, path)
    if not fs.exists(hadoop_path):
        return None
    stream = fs.open(hadoop_path)
    try:
        jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
        return str(jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
    finally:
        stream.close()


def read_table(spark: SparkSession, root: str, schema: T.StructType) -> DataFrame | None:
    """A whole table, or ``None`` before its first write."""
    if not path_exists(spark, root):
        return None
    return spark.read.schema(schema).parquet(root)


def read_files(spark: SparkSession, base: str, schema: T.StructType, files: Sequence[str]) -> DataFrame:
    """Given files of one table (partition column taken from their folder names below ``base``)."""
    if not files:
        return spark.createDataFrame([], schema)
    return spark.read.schema(schema).option("basePath", base).parquet(*files)


def write_partitioned(df: DataFrame, root: str, column: str, order: Sequence[str]) -> None:
    """One sorted file per partition value: the same rows always give the same bytes.

    The partition column leads the sort: Spark's writer sorts by it anyway, and a sort that does not start
    with it would be replaced by the writer's, leaving rows in whatever order the shuffle delivered them.
    """
    sorted_rows = df.repartition(column).sortWithinPartitions(column, *order)
    sorted_rows.write.mode("overwrite").partitionBy(column).parquet(root)
