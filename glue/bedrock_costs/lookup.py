"""Apply a plain-Python function to a column by way of a small broadcast lookup table.

Model ids, principals and price keys have few distinct values even in billions of rows, so computing
them once per distinct value in the driver is cheaper than a Python UDF, keeps the logic testable as
ordinary functions, and keeps a single implementation for the Glue job and the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T


def distinct_values(df: DataFrame, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The distinct combinations of ``columns``, sorted for deterministic lookup tables."""
    return sorted_keys(tuple(row) for row in df.select(*columns).distinct().collect())


def sorted_keys(keys: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Key tuples in a fixed order (``None`` last), whatever order they were gathered in."""
    return sorted(set(keys), key=lambda values: tuple((v is None, str(v)) for v in values))


def join_lookup(
    df: DataFrame,
    keys: Sequence[str],
    compute: Callable[..., Sequence[Any]],
    outputs: T.StructType,
    values: Iterable[tuple[Any, ...]] | None = None,
) -> DataFrame:
    """Add ``outputs`` columns to ``df``, computed by ``compute(*key_values)`` once per distinct key.

    Null keys are matched null-safely, so ``compute`` also decides what a missing value means. ``values``
    are the distinct keys when the caller gathered them already (a superset is fine); else a Spark job
    finds them.
    """
    spark = df.sparkSession
    schema = T.StructType([T.StructField(f"_k{i}", df.schema[key].dataType) for i, key in enumerate(keys)])
    schema = T.StructType(schema.fields + outputs.fields)
    table = spark.createDataFrame([(*k, *compute(*k)) for k in keys_of(df, keys, values)], schema)
    condition = [df[key].eqNullSafe(table[f"_k{i}"]) for i, key in enumerate(keys)]
    joined = df.join(F.broadcast(table), condition, "left")
    return joined.drop(*(f"_k{i}" for i in range(len(keys))))


def keys_of(df: DataFrame, columns: Sequence[str], values: Iterable[tuple[Any, ...]] | None) -> list[tuple[Any, ...]]:
    """``values`` in lookup order, or the distinct combinations of ``columns`` when none were gathered."""
    return distinct_values(df, columns) if values is None else sorted_keys(values)
