"""Stage: roll the per-request ledger up into the tables dashboards read."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bedrock_costs.schemas import COST, COST_COLUMNS, DAILY_COSTS, DAILY_GROUP_KEYS, INVOCATION_TAGS, TOKEN_COLUMNS


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
        F.percentile_approx("latency_ms", [0.5, 0.9]).alias("_latency_pcts"),
        F.max("latency_ms").alias("latency_ms_max"),
    )
    pcts = F.col("_latency_pcts")
    return conform(grouped.withColumns({"latency_ms_p50": pcts[0], "latency_ms_p90": pcts[1]}), DAILY_COSTS)


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
