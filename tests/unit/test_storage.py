"""Table files are written in a fixed order, so the same rows always give the same bytes."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import duckdb
import pytest

from bedrock_costs import storage

pytestmark = pytest.mark.spark


def _rows(spark, seed: int):
    """30,000 rows over three days, in an order (and a split into tasks) that depends on ``seed``."""
    rows = [(str(n % 3), (n * 7919) % 1000, hashlib.sha256(str(n).encode()).hexdigest()) for n in range(30_000)]
    random.Random(seed).shuffle(rows)
    return spark.createDataFrame(rows, "day string, moment long, request_id string").repartition(3 + seed)


def _files(root: Path) -> dict[str, Path]:
    return {path.parent.name: path for path in sorted(root.rglob("*.parquet"))}


def test_each_partition_is_one_file_sorted_by_the_order_columns(spark, tmp_path: Path) -> None:
    storage.write_partitioned(_rows(spark, 1), str(tmp_path / "t"), "day", ["moment", "request_id"])
    files = _files(tmp_path / "t")
    assert sorted(files) == ["day=0", "day=1", "day=2"] and len(list((tmp_path / "t").rglob("*.parquet"))) == 3
    for path in files.values():
        rows = duckdb.sql(f"select moment, request_id from read_parquet('{path}')").fetchall()
        assert len(rows) == 10_000 and rows == sorted(rows)  # an independent check of the order


def test_the_same_rows_in_another_order_give_the_same_bytes(spark, tmp_path: Path) -> None:
    for seed, name in ((1, "a"), (2, "b")):
        storage.write_partitioned(_rows(spark, seed), str(tmp_path / name), "day", ["moment", "request_id"])
    digest = {
        name: {day: hashlib.sha256(p.read_bytes()).hexdigest() for day, p in _files(tmp_path / name).items()}
        for name in "ab"
    }
    assert digest["a"] == digest["b"]
