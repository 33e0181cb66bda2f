"""Where the tables live, and the file operations a run needs, through Hadoop's FileSystem.

Every call goes through the JVM's ``FileSystem`` for the path's scheme, so the same code works on a local
folder (tests, ``bcr etl``) and on S3 (the Glue job); nothing here uses ``os`` on a table path.
"""

from __future__ import annotations

import re
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
    qualified = str(fs.makeQualified(hadoop_path).toString())
    folders = {}
    for name, is_folder in _listing(spark, root):
        key, separator, value = name.partition("=")
        if is_folder and separator and key == column and value:
            folders[value] = f"{qualified}/{name}/"
    return folders


# How every Hadoop FileStatus describes itself (FileStatus.toString, kept by its subclasses).
_STATUS = re.compile(r"FileStatus\{path=(.+?); isDirectory=(true|false)")


def _listing(spark: SparkSession, folder: str) -> list[tuple[str, bool]]:
    """(name, is a folder) of each entry of ``folder``.

    The entries are read from the listing's one-string description: a py4j call per entry attribute
    would cost about 1.5 ms an entry, which a year of daily partitions turns into seconds. The entry
    count guards the parse; the entry-by-entry read is the fallback.
    """
    fs, hadoop_path = _file_system(spark, folder)
    if not fs.exists(hadoop_path):
        return []
    entries = [
        (path.rsplit("/", 1)[-1], is_folder) for path, is_folder in _described(spark, fs.listStatus(hadoop_path))
    ]
    return [(name, is_folder) for name, is_folder in entries if not _bookkeeping(name)]


def _bookkeeping(name: str) -> bool:
    """Hidden and underscore names are Spark's and Hadoop's bookkeeping (_SUCCESS, .crc), never data."""
    return name.startswith(("_", "."))


def _described(spark: SparkSession, statuses: Any) -> list[tuple[str, bool]]:
    """(path, is a folder) of each of Hadoop's ``FileStatus[]``, read from the array's one-string description."""
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    text = str(jvm.org.apache.commons.lang3.ArrayUtils.toString(statuses))
    entries = [(path, kind == "true") for path, kind in _STATUS.findall(text)]
    return entries if len(entries) == len(statuses) else _entries_one_by_one(statuses)


def _entries_one_by_one(statuses: Any) -> list[tuple[str, bool]]:
    return [(str(s.getPath().toString()), bool(s.isDirectory())) for s in statuses]


def list_files(spark: SparkSession, folder: str) -> list[str]:
    """Data files directly in ``folder``, sorted; empty when the folder does not exist."""
    return sorted(f"{folder}/{name}" for name, is_folder in _listing(spark, folder) if not is_folder)


# Partition folder names a glob can name as they are (no glob syntax, comma, colon or slash).
_PLAIN_NAME = re.compile(r"[\w.=-]+")


def list_files_of(spark: SparkSession, root: str, names: Sequence[str]) -> dict[str, list[str]]:
    """``list_files`` of each folder ``root/name``, in one file-system call (a glob naming them all).

    Each call into the JVM costs milliseconds: the run history's 101 date folders, listed one by one, took
    1.4 s of a no-new-data run. Names a glob cannot name as they are are listed one by one.
    """
    plain = sorted({name for name in names if _PLAIN_NAME.fullmatch(name)})
    listed = {name: list_files(spark, f"{root}/{name}") for name in names if name not in plain}
    if not plain:
        return listed
    fs, pattern = _file_system(spark, f"{root}/{{{','.join(plain)}}}/*")
    statuses = fs.globStatus(pattern)  # None when nothing matches
    found: dict[str, list[str]] = {name: [] for name in plain}
    for path, is_folder in _described(spark, statuses) if statuses else []:
        folder, _, name = path.rpartition("/")
        parent = folder.rsplit("/", 1)[-1]
        if not is_folder and parent in found and not _bookkeeping(name):
            found[parent].append(f"{root}/{parent}/{name}")
    return listed | {name: sorted(files) for name, files in found.items()}


def list_folders(spark: SparkSession, folder: str) -> list[str]:
    """Names of the sub-folders of ``folder``, sorted; empty when it does not exist."""
    return sorted(name for name, is_folder in _listing(spark, folder) if is_folder)


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
