"""Table files are written in a fixed order, so the same rows always give the same bytes."""

from __future__ import annotations

import hashlib
import random
import re
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


# Names a listing's one-string description could be misread on: separators of that description and of paths.
AWKWARD = ("plain", "with space", "comma, space", "semi; colon", "brace}{", "isDirectory=true", "day=2026-11-20")


@pytest.mark.parametrize("described", [True, False], ids=["from-description", "entry-by-entry"])
def test_listings_name_every_entry_whatever_its_name(spark, tmp_path: Path, monkeypatch, described: bool) -> None:
    if described:  # the fast path must read every name itself
        monkeypatch.setattr(storage, "_entries_one_by_one", lambda _statuses: pytest.fail("fell back"))
    else:  # the fallback when the description cannot be read
        monkeypatch.setattr(storage, "_STATUS", re.compile("never matches"))
    for name in AWKWARD:
        (tmp_path / f"{name} folder").mkdir()
        (tmp_path / f"{name} file").write_bytes(b"x")
    for hidden in ("_SUCCESS", ".part.crc", "_staging"):
        (tmp_path / hidden).mkdir() if hidden == "_staging" else (tmp_path / hidden).write_bytes(b"")
    assert storage.list_folders(spark, str(tmp_path)) == sorted(f"{name} folder" for name in AWKWARD)
    assert storage.list_files(spark, str(tmp_path)) == sorted(f"{tmp_path}/{name} file" for name in AWKWARD)
    folders = storage.partition_folders(spark, str(tmp_path), "day")
    assert folders == {"2026-11-20 folder": f"file:{tmp_path}/day=2026-11-20 folder/"}
    assert storage.list_files(spark, str(tmp_path / "missing")) == []


def test_many_folders_listed_in_one_call_give_what_listing_each_gives(spark, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "pipeline_runs"
    layout = {
        "run_date=2026-11-20": ["part-b.parquet", "part-a.parquet", "_SUCCESS", ".part-a.parquet.crc"],
        "run_date=2026-11-21": ["part-c.parquet"],
        "run_date=2026-11-22": [],  # empty
        "run_date=a,b": ["part-d.parquet"],  # no glob can name it as it is: listed on its own
    }
    for folder, files in layout.items():
        (root / folder / "nested").mkdir(parents=True)  # a folder is no file
        for name in files:
            (root / folder / name).write_bytes(b"x")
    (root / "run_date=2026-11-23").mkdir()  # listed by nobody
    names = [*layout, "run_date=2026-11-24"]  # the last does not exist
    expected = {name: storage.list_files(spark, f"{root}/{name}") for name in names}
    assert expected["run_date=2026-11-20"] == [
        f"{root}/run_date=2026-11-20/{n}" for n in ("part-a.parquet", "part-b.parquet")
    ]

    one_by_one = []
    list_files = storage.list_files
    monkeypatch.setattr(storage, "list_files", lambda s, folder: one_by_one.append(folder) or list_files(s, folder))
    assert storage.list_files_of(spark, str(root), names) == expected
    assert one_by_one == [f"{root}/run_date=a,b"]
