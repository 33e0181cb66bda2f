"""The run history is compacted as its days close: a closed day with several files becomes one sorted file,
with the same rows, in the same commit as the run's other output; today's files and one-file days are left
alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import functions as F

from bedrock_costs import storage
from bedrock_costs.commit import Publication
from bedrock_costs.history import stage_closed_days
from bedrock_costs.schemas import DQ_RESULTS, PIPELINE_RUNS

pytestmark = pytest.mark.spark

TODAY = "2026-11-23"
# run_date -> the runs that wrote to it, one publication (one file) each, in this order.
RUNS = {
    "2026-11-20": ["run-20-b", "run-20-a"],
    "2026-11-21": ["run-21-c", "run-21-a", "run-21-b"],
    "2026-11-22": ["run-22-a"],
    TODAY: ["run-23-a", "run-23-b"],
}


def _publish_run(spark, out: Path, run_id: str, day: str) -> None:
    """A run's own history rows: its pipeline_runs row and two dq_results rows, other columns null."""
    run = Publication(spark, str(out), run_id)
    for table, schema, rules in (("pipeline_runs", PIPELINE_RUNS, [None]), ("dq_results", DQ_RESULTS, ["R2", "R1"])):
        given = spark.createDataFrame(
            [(run_id, rule, day) for rule in rules], "run_id string, rule_name string, run_date string"
        )
        rows = given.select(
            *(F.col(f.name) if f.name in given.columns else F.lit(None).cast(f.dataType).alias(f.name) for f in schema)
        )
        run.stage(rows, table, "run_date", ["run_id"])
    run.commit()
    run.publish()


def _files(out: Path, table: str) -> dict[str, list[str]]:
    return {
        folder.name.partition("=")[2]: sorted(f.name for f in folder.glob("*.parquet"))
        for folder in sorted((out / table).iterdir())
        if folder.is_dir()
    }


def _rows(spark, out: Path, table: str) -> list[tuple]:
    return sorted(tuple(str(v) for v in row) for row in spark.read.parquet(str(out / table)).collect())


@pytest.fixture
def out(tmp_path: Path, spark) -> Path:
    for day, run_ids in RUNS.items():
        for run_id in run_ids:
            _publish_run(spark, tmp_path, run_id, day)
    return tmp_path


def _compact(spark, out: Path, window: int | None) -> dict[str, list[str]]:
    run = Publication(spark, str(out), "run-compactor")
    compacted = stage_closed_days(run, TODAY, window)
    run.commit()
    run.publish()
    return compacted


def test_each_closed_day_with_several_files_becomes_one_sorted_file(out: Path, spark) -> None:
    before = {table: (_files(out, table), _rows(spark, out, table)) for table in ("pipeline_runs", "dq_results")}
    assert _compact(spark, out, None) == {
        "pipeline_runs": ["2026-11-20", "2026-11-21"],
        "dq_results": ["2026-11-20", "2026-11-21"],
    }
    for table, (files, rows) in before.items():
        after = _files(out, table)
        assert {day: len(names) for day, names in after.items()} == {
            "2026-11-20": 1,
            "2026-11-21": 1,
            "2026-11-22": 1,
            TODAY: 2,
        }
        assert after["2026-11-22"] == files["2026-11-22"] and after[TODAY] == files[TODAY]  # not rewritten
        assert _rows(spark, out, table) == rows  # no row lost, none added
    day = out / "pipeline_runs" / "run_date=2026-11-21"
    assert [r.run_id for r in spark.read.parquet(str(day)).collect()] == ["run-21-a", "run-21-b", "run-21-c"]
    results = out / "dq_results" / "run_date=2026-11-20"
    assert [(r.run_id, r.rule_name) for r in spark.read.parquet(str(results)).collect()] == [
        ("run-20-a", "R1"),
        ("run-20-a", "R2"),
        ("run-20-b", "R1"),
        ("run-20-b", "R2"),
    ]
    assert _compact(spark, out, None) == {}  # nothing left to do


def test_a_run_looks_only_at_the_newest_closed_days(out: Path, spark) -> None:
    assert _compact(spark, out, 2) == {"pipeline_runs": ["2026-11-21"], "dq_results": ["2026-11-21"]}
    assert len(_files(out, "pipeline_runs")["2026-11-20"]) == 2  # older than the window: left for --compact


def test_a_compaction_that_is_not_committed_changes_nothing(out: Path, spark) -> None:
    files = _files(out, "pipeline_runs")
    run = Publication(spark, str(out), "run-dies")
    assert stage_closed_days(run, TODAY, None)
    run.discard()  # the run failed before its manifest
    assert _files(out, "pipeline_runs") == files


def test_the_closed_days_of_a_table_are_looked_at_in_one_listing(out: Path, spark, monkeypatch) -> None:
    """Every run looks at up to a week of closed days per history table: one file-system call each, not one
    per day (each is a JVM round trip).
    """
    listings: list[tuple[str, list[str]]] = []
    real = storage.list_files_of

    def recorded(session, root: str, names: list[str]) -> dict[str, list[str]]:
        listings.append((root, sorted(names)))
        return real(session, root, names)

    monkeypatch.setattr(storage, "list_files_of", recorded)
    stage_closed_days(Publication(spark, str(out), "run-compactor"), TODAY, None)
    closed = [f"run_date={day}" for day in sorted(RUNS) if day < TODAY]
    for table in ("pipeline_runs", "dq_results"):
        assert [names for root, names in listings if root == f"{out}/{table}" and names] == [closed]
