"""Run the rulesets on the cost tables: each ruleset on its table, the other tables beside it by alias.

The aliases are the table names (``invocations``, ``daily_costs``, ``invocation_tags``,
``rejected_records``, ``pipeline_runs``) plus ``pricing``, the price catalog with one row per
``price_key``. The Glue job passes the same aliases as additional data sources, so a ``CustomSql`` that
joins ``invocations`` or ``pricing`` means the same thing on AWS and here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession

from bedrock_costs import storage
from bedrock_costs.catalog import PriceRow
from bedrock_costs.quality.results import ERROR, RuleResult, RulesetResult
from bedrock_costs.quality.rulesets import RulesetDefinition
from bedrock_costs.schemas import TABLE_SCHEMAS

PRICING = "pricing"
_PRICING_SCHEMA = "price_key string, model_id string, region string, scope string, service_tier string, unit string"


def catalog_frame(spark: SparkSession, catalog: Sequence[PriceRow]) -> DataFrame:
    """The price catalog as the ``pricing`` dataset: one row per ``price_key``."""
    rows = [(r.price_key, r.model_id, r.region, r.scope, r.service_tier, r.unit) for r in catalog]
    return spark.createDataFrame(rows, _PRICING_SCHEMA)


def read_tables(spark: SparkSession, root: str) -> dict[str, DataFrame]:
    """Every cost table that exists under ``root``, read with its contract schema."""
    frames = {}
    for name, schema in TABLE_SCHEMAS.items():
        frame = storage.read_table(spark, storage.table_path(root, name), schema)
        if frame is not None:
            frames[name] = frame
    return frames


def table_datasets(spark: SparkSession, root: str, catalog: Sequence[PriceRow]) -> dict[str, DataFrame]:
    """What the rulesets see: every cost table under ``root``, plus the price catalog as ``pricing`` (none
    when there are no tables).
    """
    frames = read_tables(spark, root)
    if frames:
        frames[PRICING] = catalog_frame(spark, catalog)
    return frames


def evaluate_rulesets(
    definitions: Sequence[RulesetDefinition],
    datasets: Mapping[str, DataFrame],
    now: datetime | None = None,
    history: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
) -> list[RulesetResult]:
    """Each ruleset on the dataset named like its table, every other dataset available by alias, all their
    Spark jobs side by side.

    A ruleset whose table is missing reports one ERROR instead of passing. ``history`` holds past
    metric values per ruleset name, for dynamic rules.
    """
    # The parser needs lark, which the Glue job does not install: it imports this module for the datasets
    # only and evaluates with Glue's own engine (tests/contract/test_glue_boundary.py).
    from bedrock_costs.quality.dqdl import parse
    from bedrock_costs.quality.evaluate import Target, evaluate_together

    moment = now or datetime.now(UTC)
    targets = [
        Target(
            definition.name,
            datasets[definition.table],
            parse(definition.dqdl),
            {alias: frame for alias, frame in datasets.items() if alias != definition.table},
            (history or {}).get(definition.name),
        )
        for definition in definitions
        if definition.table in datasets
    ]
    evaluated = iter(evaluate_together(targets, moment))
    return [
        next(evaluated)
        if definition.table in datasets
        else RulesetResult(
            definition.name,
            [RuleResult("Rule_0", f"table {definition.table}", ERROR, f"table {definition.table} not found")],
            moment,
        )
        for definition in definitions
    ]
