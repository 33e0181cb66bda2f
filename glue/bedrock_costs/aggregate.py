"""Stage: roll the per-request ledger up into the tables dashboards read."""

from __future__ import annotations

from decimal import Decimal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bedrock_costs.schemas import COST, COST_COLUMNS, DAILY_COSTS, DAILY_GROUP_KEYS, INVOCATION_TAGS, TOKEN_COLUMNS

# The daily latency percentiles: the share of a group's requests at or below each.
LATENCY_PERCENTILES = {"latency_ms_p50": Decimal("0.5"), "latency_ms_p90": Decimal("0.9")}


def conform(df: DataFrame, schema: object) -> DataFrame:
    """Select and cast to a table's contract: column order and types exactly as in ``schemas.py``."""
    return df.select(*(F.col(field.name).cast(field.dataType).alias(field.name) for field in schema.fields))


def daily_costs(invocations: DataFrame) -> DataFrame:
    """One row per (usage_date, account, region, model, scope, tier, operation, principal, semantic tags,
    pricing_status): request/error counts, every token class, every cost class (USD), cache savings and
    latency statistics. Sums of unpriced groups stay null: their requests are visible, never $0.
    """
    grouped = invocations.groupBy("usage_date", *DAILY_GROUP_KEYS).agg(
        F.count(F.lit(1)).alias("request_count"),
        F.sum(F.when(F.col("status") == "error", 1).otherwise(0)).alias("error_count"),
        F.sum(F.when(F.col("guardrail_intervened"), 1).otherwise(0)).alias("guardrail_intervened_count"),
        *(F.sum(name).alias(name) for name in TOKEN_COLUMNS),
        *(F.sum(name).cast(COST).alias(name) for name in COST_COLUMNS),
        F.avg("latency_ms").alias("latency_ms_avg"),
        F.array_sort(F.collect_list("latency_ms")).alias("_latencies"),
        F.max("latency_ms").alias("latency_ms_max"),
    )
    latencies = F.col("_latencies")
    percentiles = {name: nearest_rank(latencies, share) for name, share in LATENCY_PERCENTILES.items()}
    return conform(grouped.withColumns(percentiles), DAILY_COSTS)


def nearest_rank(ordered: Column, share: Decimal) -> Column:
    """The value at rank ⌈share × n⌉ of an ascending array (null when it is empty): an actual latency, exact.

    ``percentile_approx`` gives the same value on a group of under 10,000 requests and is costlier: its
    sketch per group made it most of a date's roll-up. The share is a decimal so that share × n is exact.
    """
    n = F.size(ordered)
    rank = F.ceil(n * F.lit(share)).cast("int")
    return F.when(n > 0, F.element_at(ordered, rank))


def invocation_tags(invocations: DataFrame) -> DataFrame:
    """One row per (request, caller tag): every ``requestMetadata`` key stays analysable, not just the
    semantic columns. A request's cost repeats on each of its tags, so sum cost per tag key, never
    across keys.
    """
    exploded = invocations.select(
        "usage_date",
        "request_id",
        F.explode("request_metadata").alias("tag_key", "tag_value"),
        "total_cost",
        "total_tokens",
        "pricing_status",
    )
    return conform(exploded, INVOCATION_TAGS)
