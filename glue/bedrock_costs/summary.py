"""Readable summaries of a run and of the cost tables (what `bcr etl` and `bcr demo` print), in the package so
a Glue interactive session prints the same."""

from __future__ import annotations

from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bedrock_costs import storage
from bedrock_costs.pipeline import RunSummary
from bedrock_costs.pricing import PRICING_STATUSES
from bedrock_costs.schemas import INVOCATIONS


def usd(value: Decimal | None) -> str:
    """Dollars with enough places to show sub-cent Bedrock costs."""
    if value is None:
        return "n/a"
    return f"${value:,.6f}" if abs(value) < 1 else f"${value:,.2f}"


def print_run(summary: RunSummary, out: str) -> None:
    """What one run read, wrote, dropped and quarantined, and whether the counts reconcile."""
    print(f"run {summary.run_id} ({summary.mode}): {summary.status}")
    for recovered in summary.recovered_runs:
        print(f"  earlier run {recovered}")
    if summary.mode == "ingest":
        print(
            f"  objects: {summary.files_discovered} found, {summary.files_new} new, "
            f"{summary.files_retried} damaged ones retried, {summary.files_corrupt} damaged"
        )
        verdict = "reconciled" if summary.balanced else "NOT RECONCILED"
        print(
            f"  lines: {summary.lines_read} read = {summary.rows_written} new rows + {summary.redelivered} "
            f"re-delivered in the batch + {summary.already_stored} already stored + {summary.rejected_lines} "
            f"rejected -> {verdict}"
        )
    if summary.conflicts:
        print(f"  conflicting copies of one request id: {summary.conflicts} (see request_conflicts)")
    if summary.mode == "reprice":
        print(
            f"  repriced rows: {summary.rows_repriced}; window total {usd(summary.window_cost_before)} -> "
            f"{usd(summary.window_cost_after)} (change {usd(summary.window_cost_change)})"
        )
    if summary.rejects_by_reason:
        reasons = ", ".join(f"{code} {n}" for code, n in sorted(summary.rejects_by_reason.items()))
        print(f"  quarantined: {reasons} (see {storage.table_path(out, 'rejected_records')})")
    for source_file in summary.corrupt_files:
        print(f"  damaged object: {source_file}")
    if summary.unpriced_rows:
        print(f"  unpriced requests: {summary.unpriced_rows} (kept with null cost; see pricing_status)")
    if summary.affected_dates:
        print(f"  dates updated: {summary.affected_dates[0]} .. {summary.affected_dates[-1]}")
    if summary.compacted_dates:
        print(f"  dates compacted into one file: {len(summary.compacted_dates)}")
    for problem in summary.problems:
        print(f"  CHECK FAILED: {problem}")
    print_quality(summary)
    if summary.error:
        print(f"  error: {summary.error}")
    timing = ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in summary.stage_seconds.items())
    print(f"  time: {timing}")


def print_quality(summary: RunSummary) -> None:
    """The data-quality gate's verdict: rules passed, and each rule that did not (dq_results has them all)."""
    quality = summary.quality
    if quality is None:
        print("  data quality: not evaluated")
        return
    passed = quality.rules_evaluated - len(quality.failures)
    verdict = {"passed": "passed", "warned": "FAILED, published anyway", "failed": "FAILED, nothing published"}
    print(
        f"  data quality: {passed}/{quality.rules_evaluated} rules passed -> {verdict[quality.outcome]} "
        f"(policy {quality.policy}; see dq_results)"
    )
    for ruleset, rule in quality.failures:
        why = f": {rule.message}" if rule.message else ""
        print(f"    {rule.outcome} {ruleset} {rule.name} {' '.join(rule.rule.split())[:100]}{why}")


def _top(table: DataFrame, column: str, title: str, limit: int = 8) -> None:
    rows = (
        table.groupBy(F.coalesce(F.col(column), F.lit("(none)")).alias("key"))
        .agg(F.sum("total_cost").alias("cost"), F.count(F.lit(1)).alias("requests"))
        .orderBy(F.col("cost").desc_nulls_last(), "key")
        .limit(limit)
        .collect()
    )
    print(f"\n{title}")
    for row in rows:
        print(f"  {row['key'][:60]:<60} {usd(row['cost']):>14} {row['requests']:>8} req")


def print_costs(spark: SparkSession, out: str) -> None:
    """Spend by model, tenant and principal, cache savings, and what could not be priced."""
    table = spark.read.schema(INVOCATIONS).parquet(storage.table_path(out, "invocations"))
    totals = table.agg(
        F.sum("total_cost").alias("cost"),
        F.sum("cache_savings").alias("savings"),
        F.count(F.lit(1)).alias("requests"),
        F.min("usage_date").alias("first"),
        F.max("usage_date").alias("last"),
    ).first()
    print(
        f"\nTotal spend {usd(totals['cost'])} over {totals['requests']} requests, {totals['first']} .. {totals['last']}"
    )
    print(f"Prompt caching saved {usd(totals['savings'])} against uncached input prices")
    _top(table, "model_id", "Spend by model")
    _top(table, "tenant", "Spend by tenant (requestMetadata)")
    _top(table, "principal_name", "Spend by caller (IAM role or user)")
    statuses = table.groupBy("pricing_status").count().orderBy("pricing_status").collect()
    print("\nPricing status")
    for row in statuses:
        flag = "" if row["pricing_status"] in ("priced", "not_billed") else "  <- not in the totals above"
        print(f"  {row['pricing_status']:<20} {row['count']:>8}  {PRICING_STATUSES[row['pricing_status']]}{flag}")
    print("\nTables (Parquet, partitioned by usage_date):")
    for name in storage.TABLES:
        print(f"  {storage.table_path(out, name)}")
