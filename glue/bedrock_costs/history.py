"""The run-history tables, compacted as their days close.

Every run adds one file to ``pipeline_runs`` and one to ``dq_results`` (its row, its rules' results), in the
partition of the day it started. Left alone, an hourly schedule leaves 8,760 one-row files a year, and
every reader pays for each one: the data-quality gate reads the run history on every run, Athena and the
dashboards read it on every query. So each run also rewrites each of the last few closed days (before the
day it started) that holds more than one file into one sorted file, staged with the rest of its output and
published (or discarded) with it: the history costs a file per day plus today's, and a crash mid-way loses
nothing (``commit.py``). ``bcr etl --compact`` does every closed day.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import types as T

from bedrock_costs import storage
from bedrock_costs.commit import Publication
from bedrock_costs.schemas import DQ_RESULTS, PIPELINE_RUNS

RUN_DATE = "run_date"
# Closed days a run looks at: a day is compacted by the first run after it, so this covers a week with no
# successful run; ``bcr etl --compact`` compacts every day.
CLOSED_DAYS_CHECKED = 7
# table -> (schema, file order): the order makes a compacted day's bytes depend on its rows only.
HISTORY_TABLES: dict[str, tuple[T.StructType, Sequence[str]]] = {
    "pipeline_runs": (PIPELINE_RUNS, ("run_id",)),
    "dq_results": (DQ_RESULTS, ("run_id", "ruleset", "rule_name")),
}


def stage_rows(publication: Publication, table: str, rows: DataFrame) -> None:
    """Stage a run's own rows of a history table, ordered as a compacted day is."""
    publication.stage(rows, table, RUN_DATE, HISTORY_TABLES[table][1])


def stage_closed_days(
    publication: Publication, today: str, window: int | None = CLOSED_DAYS_CHECKED
) -> dict[str, list[str]]:
    """Stage one file for each closed day (before ``today``) among the newest ``window`` that holds
    several (all closed days with ``window`` None); return the days compacted, by table.
    """
    compacted = {}
    for table, (schema, order) in HISTORY_TABLES.items():
        stored = storage.partition_folders(publication.spark, storage.table_path(publication.out, table), RUN_DATE)
        closed = sorted(day for day in stored if day < today)
        if window is not None:
            closed = closed[-window:]
        files = publication.committed_by_value(table, RUN_DATE, closed)
        days = [day for day in closed if len(files[day]) > 1]
        if days:
            rows = publication.read_final(table, schema, RUN_DATE, days)
            publication.stage(rows, table, RUN_DATE, order, replace=days)
            compacted[table] = days
    return compacted
