"""The saved Athena queries run on tables the ETL produced and answer what their names promise.

They are written in the SQL common to Athena (Trino) and Spark, so Spark runs them here over temporary views
named like the Glue tables. ``current_date`` is pinned to the day after the corpus, whose dates are fixed.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from aws_template import fresh_template, resources
from pyspark.sql import functions as F

from bedrock_costs import storage
from bedrock_costs.pricing import PRICING_STATUSES
from bedrock_costs.schemas import PUBLISHED_TABLES


@pytest.fixture(scope="module")
def queries() -> dict[str, str]:
    named = resources(fresh_template(), "AWS::Athena::NamedQuery")
    for name, query in named.items():
        assert query["Properties"]["Database"] == {"Ref": "GlueDatabase"}, name
        assert query["Properties"]["WorkGroup"] == {"Ref": "AthenaWorkGroup"}, name
    return {name: query["Properties"]["QueryString"] for name, query in named.items()}


@pytest.fixture(scope="module")
def athena(etl_tables: Path, spark):
    """Run a saved query over the ETL's tables, as of the day after the last usage date."""

    def register() -> None:
        for table in PUBLISHED_TABLES:
            # A declared table the run left without files (request_conflicts here) reads empty, as in Athena.
            frame = storage.read_table(spark, str(etl_tables / table.name), table.schema)
            (frame if frame is not None else spark.createDataFrame([], table.schema)).createOrReplaceTempView(
                table.name
            )

    register()
    last = spark.table("invocations").agg(F.max("usage_date")).first()[0]
    today = (date.fromisoformat(last) + timedelta(days=1)).isoformat()

    def run(sql: str, views: dict | None = None) -> list:
        """``views`` replace tables for one query (to inject a fault)."""
        pinned = re.sub(r"\bcurrent_date\b", f"DATE '{today}'", sql)
        assert pinned != sql, "every saved query is bounded to recent partitions"
        for name, frame in (views or {}).items():
            frame.createOrReplaceTempView(name)
        try:
            return spark.sql(pinned).collect()
        finally:
            register()

    return run


def test_the_top_questions_are_saved(queries: dict[str, str]) -> None:
    assert set(queries) >= {"SpendByModelQuery", "SpendByTenantQuery", "SpendByPrincipalQuery", "UnpricedRequestsQuery"}
    for name, sql in queries.items():
        assert re.search(r"WHERE date\((usage|run)_date\) >= current_date - INTERVAL '30' DAY", sql), name


def test_spend_by_model_matches_the_ledger(queries: dict[str, str], athena, spark) -> None:
    answer = {
        (row.model_id, row.inference_scope): row.cost_usd
        for row in athena(queries["SpendByModelQuery"])
        if row.cost_usd is not None
    }
    ledger = spark.table("invocations").groupBy("model_id", "inference_scope").agg(F.sum("total_cost").alias("cost"))
    expected = {(row.model_id, row.inference_scope): row.cost for row in ledger.collect() if row.cost is not None}
    assert answer == expected and sum(expected.values()) > Decimal(0)


def test_spend_by_tenant_and_by_caller_add_up_to_the_total(queries: dict[str, str], athena, spark) -> None:
    total = spark.table("invocations").agg(F.sum("total_cost")).first()[0]
    tenants = athena(queries["SpendByTenantQuery"])
    callers = athena(queries["SpendByPrincipalQuery"])
    assert sum(row.cost_usd or 0 for row in tenants) == total
    assert sum(row.cost_usd or 0 for row in callers) == total
    assert "(untagged)" in {row.tenant for row in tenants}
    assert sum(row.requests for row in callers) == spark.table("invocations").count()


def test_unpriced_requests_are_every_null_cost_except_failed_calls(queries: dict[str, str], athena, spark) -> None:
    rows = athena(queries["UnpricedRequestsQuery"])
    null_cost = spark.table("invocations").where("total_cost IS NULL").count()
    assert sum(row.requests for row in rows) == null_cost > 0
    assert {row.pricing_status for row in rows} <= set(PRICING_STATUSES) - {"priced", "not_billed"}


def test_runs_not_reconciled_are_listed(queries: dict[str, str], athena, spark) -> None:
    sql = queries["RunsNotReconciledQuery"]
    assert athena(sql) == []
    runs = spark.table("pipeline_runs")
    broken = runs.limit(1).withColumn("reconciled", F.lit(False)).withColumn("rows_written", F.col("rows_written") - 1)
    (row,) = athena(sql, {"pipeline_runs": runs.unionByName(broken)})
    assert row.unaccounted_lines == 1
    # A run that failed a step publishes nothing, whatever its counts say: listed with its error.
    failed = runs.limit(1).withColumns(
        {"run_id": F.lit("20261202T000000Z-failed"), "status": F.lit("failed"), "error": F.lit("x.parquet is damaged")}
    )
    (row,) = athena(sql, {"pipeline_runs": runs.unionByName(failed)})
    assert (row.run_id, row.status, row.error, row.unaccounted_lines) == (
        "20261202T000000Z-failed",
        "failed",
        "x.parquet is damaged",
        0,
    )
