"""Checks a run must pass before it publishes anything: each side counted from its own source.

The line equation uses counts that no other count is derived from (lines read by Spark, quarantine rows,
re-deliveries found in the batch, ids found in the ledger, rows read back from the staged files), so a
lost or doubled row breaks it. Per date, the ledger as it will be published is compared with what it held
before and with the roll-ups built from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from bedrock_costs.schemas import COST, COST_COLUMNS, TOKEN_COLUMNS

# What daily_costs must add up to, per date: requests, every token class, every cost class.
_SUMMED = (*TOKEN_COLUMNS, *COST_COLUMNS)


class ReconciliationError(RuntimeError):
    """The run's counts do not add up: nothing was published."""


@dataclass(frozen=True)
class DateTotals:
    """One date of the ledger: rows, the sums daily_costs must match, and its invocation_tags rows."""

    rows: int
    sums: tuple[Decimal | int | None, ...]
    tag_rows: int = 0


_SUM_TYPES: dict[str, T.DataType] = {**dict.fromkeys(TOKEN_COLUMNS, T.LongType()), **dict.fromkeys(COST_COLUMNS, COST)}


def _by_date(df: DataFrame, table: str, rows: Column, sums: bool, tag_rows: Column | None = None) -> DataFrame:
    """One row per ``usage_date`` of ``table``: rows, the summed classes (null when ``sums`` is off), tag rows."""
    summed = [(F.sum(name) if sums else F.lit(None)).cast(_SUM_TYPES[name]).alias(name) for name in _SUMMED]
    return df.groupBy("usage_date").agg(
        F.lit(table).alias("_table"),
        rows.cast("long").alias("_rows"),
        *summed,
        (F.lit(0) if tag_rows is None else tag_rows).cast("long").alias("_tags"),
    )


def _ledger_by_date(invocations: DataFrame) -> DataFrame:
    metadata = F.col("request_metadata")
    keys = F.sum(F.when(metadata.isNull(), 0).otherwise(F.size(metadata)))
    return _by_date(invocations, "invocations", F.count(F.lit(1)), True, keys)


def _collect(df: DataFrame) -> dict[str, dict[str, DateTotals]]:
    found: dict[str, dict[str, DateTotals]] = {}
    for r in df.collect():
        totals = DateTotals(int(r["_rows"] or 0), tuple(r[name] for name in _SUMMED), int(r["_tags"] or 0))
        found.setdefault(r["_table"], {})[r["usage_date"]] = totals
    return found


def ledger_totals(invocations: DataFrame) -> dict[str, DateTotals]:
    """Per ``usage_date``: rows, sums of every token and cost class, and how many tag rows it implies."""
    return _collect(_ledger_by_date(invocations)).get("invocations", {})


def published_totals(
    invocations: DataFrame, daily: DataFrame, tags: DataFrame
) -> tuple[dict[str, DateTotals], dict[str, DateTotals], dict[str, int]]:
    """In one Spark job, per ``usage_date``: the ledger's totals (``ledger_totals``), the same sums from
    ``daily_costs`` (its ``request_count`` as rows), and the rows of ``invocation_tags``.
    """
    union = (
        _ledger_by_date(invocations)
        .unionByName(_by_date(daily, "daily_costs", F.sum("request_count"), True))
        .unionByName(_by_date(tags, "invocation_tags", F.count(F.lit(1)), False))
    )
    found = _collect(union)
    tag_rows = {day: totals.rows for day, totals in found.get("invocation_tags", {}).items()}
    return found.get("invocations", {}), found.get("daily_costs", {}), tag_rows


def row_counts(df: DataFrame, column: str = "usage_date") -> dict[str, int]:
    return {r[column]: int(r["count"]) for r in df.groupBy(column).count().collect()}


def check_dates(
    dates: list[str],
    before: Mapping[str, int],
    written: Mapping[str, int],
    after: Mapping[str, DateTotals],
    daily: Mapping[str, DateTotals],
    tags: Mapping[str, int],
) -> list[str]:
    """Problems with the dates a run publishes (empty when they all hold):
    rows after = rows before + rows written; daily_costs = invocations; invocation_tags = metadata keys.
    """
    problems = []
    for day in dates:
        final = after.get(day, DateTotals(0, (None,) * len(_SUMMED)))
        expected = before.get(day, 0) + written.get(day, 0)
        if final.rows != expected:
            problems.append(
                f"{day}: invocations would hold {final.rows} rows, expected {before.get(day, 0)} before "
                f"+ {written.get(day, 0)} written = {expected}"
            )
        rolled = daily.get(day, DateTotals(0, (None,) * len(_SUMMED)))
        if rolled.rows != final.rows:
            problems.append(f"{day}: daily_costs counts {rolled.rows} requests, invocations {final.rows}")
        for name, ours, theirs in zip(_SUMMED, final.sums, rolled.sums, strict=True):
            if (ours or 0) != (theirs or 0):
                problems.append(f"{day}: daily_costs {name} is {theirs}, invocations sum to {ours}")
        if tags.get(day, 0) != final.tag_rows:
            problems.append(
                f"{day}: invocation_tags holds {tags.get(day, 0)} rows, requestMetadata has {final.tag_rows} keys"
            )
    return problems


def check_unchanged(dates: list[str], before: Mapping[str, DateTotals], after: Mapping[str, DateTotals]) -> list[str]:
    """A rewrite (repricing, compaction) keeps every row and every token of every date it touches."""
    problems = []
    tokens = len(TOKEN_COLUMNS)
    for day in dates:
        old, new = before.get(day), after.get(day)
        if old is None or new is None or old.rows != new.rows or old.sums[:tokens] != new.sums[:tokens]:
            problems.append(f"{day}: rewriting changed the rows or tokens ({old} -> {new})")
    return problems
