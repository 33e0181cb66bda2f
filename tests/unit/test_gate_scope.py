"""What the data-quality gate reads: the dates a run writes plus the newest date of the dated tables, and the
newest run dates of the run history, so its cost follows the run's data rather than the length of the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bedrock_costs.commit import Publication
from bedrock_costs.quality import gate
from bedrock_costs.quality.gate import final_tables
from bedrock_costs.schemas import INVOCATIONS, PIPELINE_RUNS

pytestmark = pytest.mark.spark

STORED_DAYS = ("2026-11-20", "2026-11-21", "2026-11-22")


def _rows(spark, schema, rows: list[tuple[str, str]], key: str, partition: str) -> DataFrame:
    """Rows of a table's full schema with only its key and partition set."""
    given = spark.createDataFrame(rows, f"{key} string, {partition} string")
    return given.select(
        *(F.col(f.name) if f.name in given.columns else F.lit(None).cast(f.dataType).alias(f.name) for f in schema)
    )


def _stage_ledger(spark, publication: Publication, rows: list[tuple[str, str]]) -> None:
    ledger = _rows(spark, INVOCATIONS, rows, "request_id", "usage_date")
    publication.stage(ledger, "invocations", "usage_date", ["request_id"])


@pytest.fixture
def out(tmp_path: Path, spark) -> Path:
    """Three stored days of ledger (two requests each) and two days of run history."""
    first = Publication(spark, str(tmp_path), "run-0")
    ledger = [(f"{day}-{n}", day) for day in STORED_DAYS for n in (1, 2)]
    _stage_ledger(spark, first, ledger)
    runs = [("run-a", "2026-11-21"), ("run-b", "2026-11-22")]
    first.stage(_rows(spark, PIPELINE_RUNS, runs, "run_id", "run_date"), "pipeline_runs", "run_date", ["run_id"])
    first.commit()
    first.publish()
    return tmp_path


def _read(spark, out: Path, staged: list[tuple[str, str]]) -> dict[str, set[tuple[str, str]]]:
    run = Publication(spark, str(out), "run-1")
    if staged:
        _stage_ledger(spark, run, staged)
    frames = final_tables(run, ["invocations", "pipeline_runs"])
    return {
        "invocations": {(r.usage_date, r.request_id) for r in frames["invocations"].collect()},
        "pipeline_runs": {(r.run_date, r.run_id) for r in frames["pipeline_runs"].collect()},
    }


def test_a_late_request_for_an_old_date_is_gated_with_that_date_and_the_newest(out: Path, spark) -> None:
    found = _read(spark, out, [("late", "2026-11-20")])
    assert {day for day, _ in found["invocations"]} == {"2026-11-20", "2026-11-22"}  # never the 21st
    assert ("2026-11-20", "late") in found["invocations"] and len(found["invocations"]) == 5
    assert found["pipeline_runs"] == {("2026-11-21", "run-a"), ("2026-11-22", "run-b")}  # both within the window


def test_a_run_that_writes_nothing_still_reads_the_newest_date_for_freshness(out: Path, spark) -> None:
    found = _read(spark, out, [])
    assert found["invocations"] == {("2026-11-22", "2026-11-22-1"), ("2026-11-22", "2026-11-22-2")}


def test_a_run_that_opens_a_new_date_reads_only_that_date(out: Path, spark) -> None:
    found = _read(spark, out, [("new", "2026-11-23")])
    assert found["invocations"] == {("2026-11-23", "new")}


def test_the_run_history_is_read_for_its_newest_run_dates_only(
    out: Path, spark, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gate, "RUN_HISTORY_DATES", 1)
    assert _read(spark, out, [])["pipeline_runs"] == {("2026-11-22", "run-b")}
