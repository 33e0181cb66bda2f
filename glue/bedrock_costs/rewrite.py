"""Stage: stored dates rewritten (repricing, compaction) and the roll-ups of every date a run changes.

A rewritten date becomes one sorted file with exactly the rows it held, and its ``invocation_tags`` and
``daily_costs`` are rebuilt from it. Whatever a run changes, it checks the dates as they will be published
(``reconcile.check_dates``) before anything is published.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bedrock_costs import storage
from bedrock_costs.aggregate import conform, daily_costs, invocation_tags
from bedrock_costs.commit import Publication
from bedrock_costs.parse import parse_lines
from bedrock_costs.reconcile import check_dates, check_unchanged, ledger_totals, published_totals
from bedrock_costs.schemas import DAILY_COSTS, INVOCATION_TAGS, INVOCATIONS

LEDGER_ORDER = ("event_time", "request_id")
TAG_ORDER = ("tag_key", "tag_value", "request_id")
DAILY_ORDER = ("account_id", "model_id")
_LINEAGE = ("source_file", "line_number", "run_id", "ingested_at")

Enrich = Callable[[DataFrame], DataFrame]


@dataclass
class Rewrite:
    """What a repricing or compaction changed."""

    dates: list[str] = field(default_factory=list)
    rows_repriced: int = 0
    cost_before: Decimal | None = None
    cost_after: Decimal | None = None
    problems: list[str] = field(default_factory=list)


def derived_columns(spark: SparkSession) -> list[str]:
    """Ledger columns enrichment computes (the rest is the parsed record, its lineage and its date).

    Asked of the parser itself, so a column added to either side is classified without a second list.
    """
    empty = spark.createDataFrame([], "source_file string, row_id long, line_bytes int, value string")
    parsed = set(parse_lines(empty).columns) | set(_LINEAGE) | {"usage_date"}
    return [name for name in INVOCATIONS.fieldNames() if name not in parsed]


def repriced(stored: DataFrame, enrich: Enrich) -> DataFrame:
    """Stored ledger rows with model, principal, tags and prices computed again by ``enrich``; ids, tokens
    and lineage kept. ``_changed`` says whether a row differs from its stored version; ``_was_total_cost``
    is the stored cost.
    """
    derived = set(derived_columns(stored.sparkSession))
    base = stored.select(*(F.col(c).alias(f"_was_{c}") if c in derived else F.col(c) for c in stored.columns))
    types = {f.name: f.dataType for f in INVOCATIONS.fields}
    changed = functools.reduce(
        operator.or_, (~F.col(c).cast(types[c]).eqNullSafe(F.col(f"_was_{c}")) for c in sorted(derived))
    )
    return enrich(base).withColumn("_changed", changed)


def stored_regions(spark: SparkSession, out: str, since: date | None, until: date | None) -> list[str]:
    """Source regions of the stored rows in a usage-date window: whose inference profiles a repricing needs."""
    stored = storage.read_table(spark, storage.table_path(out, "invocations"), INVOCATIONS)
    if stored is None:
        return []
    held = storage.partition_folders(spark, storage.table_path(out, "invocations"), "usage_date")
    window = F.col("usage_date").isin([day for day in held if _within(day, since, until)])
    return sorted(r[0] for r in stored.where(window).select("region").distinct().collect() if r[0])


def _within(day: str, since: date | None, until: date | None) -> bool:
    return (since is None or day >= since.isoformat()) and (until is None or day <= until.isoformat())


def stage_rewritten(publication: Publication, rows: DataFrame, dates: list[str]) -> None:
    """Replace ``dates`` of ``invocations`` by ``rows`` (one sorted file each), and their ``invocation_tags``."""
    on_dates = F.col("usage_date").isin(dates)
    publication.stage(rows.where(on_dates), "invocations", "usage_date", LEDGER_ORDER, replace=dates)
    final = publication.read_final("invocations", INVOCATIONS, "usage_date", dates)
    publication.stage(invocation_tags(final), "invocation_tags", "usage_date", TAG_ORDER, replace=dates)


def finish_dates(
    publication: Publication, dates: list[str], before: Mapping[str, int], written: Mapping[str, int]
) -> list[str]:
    """Stage the ``daily_costs`` of ``dates`` from their rows as they will be published, then check the
    dates: ledger rows = before + written, roll-ups = ledger (``reconcile.check_dates``). Returns problems.
    """
    final = publication.read_final("invocations", INVOCATIONS, "usage_date", dates)
    publication.stage(daily_costs(final), "daily_costs", "usage_date", DAILY_ORDER, replace=dates)
    daily = publication.read_final("daily_costs", DAILY_COSTS, "usage_date", dates)
    tags = publication.read_final("invocation_tags", INVOCATION_TAGS, "usage_date", dates)
    return check_dates(dates, before, written, *published_totals(final, daily, tags))


def rewrite_dates(publication: Publication, since: date | None, until: date | None, enrich: Enrich | None) -> Rewrite:
    """Reprice (with ``enrich``) or compact (without) the stored dates in ``[since, until]`` (all when open).

    Repricing rewrites the dates where a row changes, compaction the dates held in more than one file; a
    second run with the same inputs finds nothing to do and changes nothing.
    """
    spark = publication.spark
    root = storage.table_path(publication.out, "invocations")
    held = storage.partition_folders(spark, root, "usage_date")
    dates = [day for day in sorted(held) if _within(day, since, until)]
    result = Rewrite()
    if not dates:
        return result
    committed = publication.committed_by_value("invocations", "usage_date", dates)
    stored = storage.read_files(spark, root, INVOCATIONS, [f for files in committed.values() for f in files])
    before = ledger_totals(stored)
    if enrich is None:
        result.dates = [day for day, files in committed.items() if len(files) > 1]
        rows = stored
    else:
        redone = repriced(stored, enrich)
        stats = redone.groupBy("usage_date").agg(
            F.sum(F.col("_changed").cast("long")).alias("changed"),
            F.sum("_was_total_cost").alias("was"),
            F.sum(F.col("total_cost").cast(INVOCATIONS["total_cost"].dataType)).alias("now"),
        )
        by_date = {r["usage_date"]: r for r in stats.collect()}
        result.rows_repriced = sum(int(r["changed"] or 0) for r in by_date.values())
        result.cost_before = sum((r["was"] or Decimal(0) for r in by_date.values()), Decimal(0))
        result.cost_after = sum((r["now"] or Decimal(0) for r in by_date.values()), Decimal(0))
        result.dates = sorted(day for day, r in by_date.items() if r["changed"])
        rows = conform(redone, INVOCATIONS)
    if result.dates:
        stage_rewritten(publication, rows, result.dates)
        counts = {day: before[day].rows for day in result.dates}
        result.problems += finish_dates(publication, result.dates, counts, {})
        final = publication.read_final("invocations", INVOCATIONS, "usage_date", result.dates)
        result.problems += check_unchanged(result.dates, before, ledger_totals(final))
    return result
