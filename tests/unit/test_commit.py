"""Staged publishing: nothing reaches a table before the commit, and a crash on either side of it is repaired."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bedrock_costs import storage
from bedrock_costs.commit import MANIFEST, STAGING, Publication, PublishError, recover

SCHEMA = "id long, day string"


def _table(spark, out: Path, table: str = "t") -> dict[str, list[int]]:
    """Ids per partition as the table folder holds them now."""
    return {
        folder.name: sorted(row.id for row in spark.read.parquet(str(folder)).collect())
        for folder in sorted((out / table).glob("day=*"))
        if any(folder.glob("*.parquet"))
    }


@pytest.fixture
def out(tmp_path: Path, spark) -> Path:
    """A table ``t`` holding days 1 (ids 1, 2) and 2 (id 3), published by an earlier run."""
    first = Publication(spark, str(tmp_path), "run-0")
    first.stage(spark.createDataFrame([(1, "1"), (2, "1"), (3, "2")], SCHEMA), "t", "day", ["id"])
    first.commit()
    first.publish()
    return tmp_path


def _next_run(spark, out: Path, run_id: str = "run-1") -> Publication:
    """Append id 4 to day 1, replace day 2 with id 5; staged, not committed."""
    publication = Publication(spark, str(out), run_id)
    publication.begin({"run_id": run_id, "started_at": "2026-11-27T10:00:00+00:00"})
    publication.stage(spark.createDataFrame([(4, "1")], SCHEMA), "t", "day", ["id"])
    publication.stage(spark.createDataFrame([(5, "2")], SCHEMA), "t", "day", ["id"], replace=["2"])
    return publication


def test_staged_files_reach_the_table_only_on_publish(out: Path, spark) -> None:
    publication = _next_run(spark, out)
    assert _table(spark, out) == {"day=1": [1, 2], "day=2": [3]}
    final = publication.read_final("t", spark.createDataFrame([], SCHEMA).schema, "day", ["1", "2"])
    assert sorted((r.day, r.id) for r in final.collect()) == [("1", 1), ("1", 2), ("1", 4), ("2", 5)]
    publication.commit()
    publication.publish()
    assert _table(spark, out) == {"day=1": [1, 2, 4], "day=2": [5]}
    assert all("part-run-" in p.name for p in (out / "t").rglob("*.parquet"))
    assert not (out / STAGING / "run-1").exists()


def test_a_run_that_dies_before_its_commit_is_rolled_back_and_recorded(out: Path, spark) -> None:
    _next_run(spark, out)  # ... and the process dies here
    recorded = []

    def record(publication: Publication, started: dict) -> None:
        recorded.append(started["run_id"])
        publication.stage(spark.createDataFrame([(9, "run")], SCHEMA), "log", "day", ["id"])

    (done,) = recover(spark, str(out), record)
    assert (done.run_id, done.action, recorded) == ("run-1", "rolled_back", ["run-1"])
    assert _table(spark, out) == {"day=1": [1, 2], "day=2": [3]}
    assert _table(spark, out, "log") == {"day=run": [9]}
    assert recover(spark, str(out), record) == []  # nothing left to repair


@pytest.mark.parametrize("moved", [0, 1, 2])
def test_a_run_that_dies_while_publishing_is_completed(out: Path, spark, moved: int) -> None:
    publication = _next_run(spark, out)
    publication.commit()
    manifest = json.loads(storage.read_text(spark, f"{out}/{STAGING}/run-1/{MANIFEST}"))
    for relative in manifest["remove"]:  # the process got this far, then died
        storage.delete(spark, f"{out}/{relative}")
    for source, target in manifest["move"][:moved]:
        storage.rename(spark, f"{out}/{source}", f"{out}/{target}")

    (done,) = recover(spark, str(out), lambda *_: pytest.fail("a committed run is not rolled back"))
    assert (done.run_id, done.action) == ("run-1", "completed")
    assert _table(spark, out) == {"day=1": [1, 2, 4], "day=2": [5]}
    assert not (out / STAGING / "run-1").exists()


def test_a_move_copied_but_not_yet_deleted_is_finished(out: Path, spark) -> None:
    """On S3 a move is a copy and a delete: a crash between them leaves both."""
    publication = _next_run(spark, out)
    publication.commit()
    source, target = json.loads(storage.read_text(spark, f"{out}/{STAGING}/run-1/{MANIFEST}"))["move"][0]
    (out / target).parent.mkdir(parents=True, exist_ok=True)
    (out / target).write_bytes((out / source).read_bytes())
    recover(spark, str(out), lambda *_: None)
    assert _table(spark, out) == {"day=1": [1, 2, 4], "day=2": [5]}


def test_publishing_refuses_a_table_someone_else_changed(out: Path, spark) -> None:
    publication = _next_run(spark, out)
    publication.commit()
    intruder = out / "t" / "day=1" / "part-intruder.parquet"
    intruder.write_bytes(next((out / "t" / "day=1").glob("*.parquet")).read_bytes())
    with pytest.raises(PublishError, match="another process"):
        publication.publish()


@pytest.mark.parametrize(("folder", "change"), [("day=1", "added"), ("day=2", "added"), ("day=1", "removed")])
def test_publishing_checks_every_folder_it_touched(out: Path, spark, folder: str, change: str) -> None:
    """Each touched folder (one appended to, one replaced) is checked against what the run expects."""
    publication = _next_run(spark, out)
    publication.commit()
    if change == "removed":  # another process deletes a file this run kept
        kept = next(p for p in (out / "t" / folder).glob("*.parquet") if "run-0" in p.name)
        kept.unlink()
    else:
        (out / "t" / folder / "part-intruder.parquet").write_bytes(b"PAR1")
    with pytest.raises(PublishError, match=f"t/{folder} holds"):
        publication.publish()


def test_staging_and_publishing_list_a_table_in_one_call(out: Path, spark, monkeypatch) -> None:
    """Folder by folder, each listing is a JVM round trip; a table's folders are listed in one glob."""
    one_by_one = []
    real = storage.list_files
    monkeypatch.setattr(storage, "list_files", lambda s, folder: one_by_one.append(folder) or real(s, folder))
    publication = Publication(spark, str(out), "run-2")
    rows = spark.createDataFrame([(6, "1"), (7, "2"), (8, "3")], SCHEMA)
    publication.stage(rows, "t", "day", ["id"], replace=["2"])
    assert publication.committed("t", "day", ["1", "3"]) == [
        str(p) for p in sorted((out / "t" / "day=1").glob("*.parquet"))
    ]
    publication.commit()
    publication.publish()
    assert one_by_one == []
    assert _table(spark, out) == {"day=1": [1, 2, 6], "day=2": [7], "day=3": [8]}
