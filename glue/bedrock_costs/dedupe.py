"""Stage: one request id, one row, across the whole ledger.

Bedrock delivers at least once, and a re-delivered record may carry another timestamp (so another date)
than the copy already stored. A batch is therefore checked against the ids of *every* stored date, never
only the dates it touches. Which copy is kept is fixed, whatever the partitioning: a stored copy always
wins (a published number does not change behind the reader's back); within a batch, the first copy by
(source_file, line_number). A dropped copy whose contents differ from the kept one is a *conflict*,
recorded with the fields that differ.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# What a re-delivery must repeat exactly: everything billing or reporting reads from the record.
CONTENT_COLUMNS = (
    "event_time",
    "account_id",
    "region",
    "inference_region",
    "operation",
    "status",
    "error_code",
    "model_id_raw",
    "service_tier",
    "principal_arn",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "request_metadata",
)
STORED_KEPT = "stored_copy_kept"
FIRST_KEPT = "first_delivery_kept"
_LINE = ["request_id", "source_file", "line_number"]


@dataclass
class Deduped:
    """A batch split against itself and the ledger; every accepted line is in exactly one count."""

    rows: DataFrame  # the first copy of each id the ledger does not hold: what the run adds
    redelivered: int  # later copies of an id within the batch
    already_stored: int  # first copies of ids the ledger holds already
    conflicts: DataFrame | None  # dropped copies whose contents differ from the kept copy (None: no copies)
    _cached: list[DataFrame]

    def release(self) -> None:
        """Free what the split cached, once the run has written its rows."""
        for df in self._cached:
            df.unpersist()


def later_copies(accepted: DataFrame) -> list[tuple[str, str, int]]:
    """(request_id, source_file, line_number) of every copy of an id after its first within the batch.

    Re-deliveries are rare, so one aggregation brings back only the repeated ids' copies and the driver
    ranks them; the wide rows never move through a shuffle.
    """
    copies = F.collect_list(F.struct("source_file", "line_number")).alias("copies")
    repeated = accepted.groupBy("request_id").agg(copies).where(F.size("copies") > 1).collect()
    return [
        (row["request_id"], source_file, int(line_number))
        for row in repeated
        for source_file, line_number in sorted((c["source_file"], c["line_number"]) for c in row["copies"])[1:]
    ]


def _comparable(column: str) -> Column:
    """Maps compare as their sorted entries (Spark cannot compare maps)."""
    value = F.col(column)
    return F.array_sort(F.map_entries(value)) if column == "request_metadata" else value


def differences(kept: DataFrame, dropped: DataFrame, resolution: str) -> DataFrame:
    """Pairs (kept copy, dropped copy) of one id whose contents differ, with the differing fields."""
    k = kept.select(
        "request_id",
        "usage_date",
        F.col("source_file").alias("kept_source_file"),
        F.col("line_number").alias("kept_line_number"),
        *(_comparable(c).alias(f"_k_{c}") for c in CONTENT_COLUMNS),
    )
    d = dropped.select(
        "request_id",
        F.col("usage_date").alias("dropped_usage_date"),
        F.col("source_file").alias("dropped_source_file"),
        F.col("line_number").alias("dropped_line_number"),
        *(_comparable(c).alias(f"_d_{c}") for c in CONTENT_COLUMNS),
    )
    differing = F.array_compact(
        F.array(*(F.when(~F.col(f"_k_{c}").eqNullSafe(F.col(f"_d_{c}")), F.lit(c)) for c in CONTENT_COLUMNS))
    )
    pairs = k.join(d, "request_id").withColumn("differing_fields", differing)
    return pairs.where(F.size("differing_fields") > 0).select(
        "request_id",
        "kept_source_file",
        "kept_line_number",
        "dropped_source_file",
        "dropped_line_number",
        "dropped_usage_date",
        "differing_fields",
        F.lit(resolution).alias("resolution"),
        "usage_date",
    )


def dedupe(accepted: DataFrame, stored: DataFrame | None) -> Deduped:
    """Split ``accepted`` (parsed requests with ``usage_date``) against itself and the ``stored`` ledger.

    ``stored`` is the whole ``invocations`` table (``None`` before its first write); only its
    ``request_id`` column is read, plus the stored copies of the ids the batch repeats.
    """
    spark = accepted.sparkSession
    losers = later_copies(accepted)
    loser_rows = spark.createDataFrame(losers, "request_id string, source_file string, line_number long")
    batch = accepted.join(F.broadcast(loser_rows), _LINE, "left_anti") if losers else accepted
    repeated = loser_rows.select("request_id").distinct()
    conflicts = []
    cached = []
    already_stored = 0
    fresh = batch
    if stored is not None:
        index = stored.select("request_id", F.col("usage_date").alias("_stored_date"))
        found = batch.select("request_id").join(index, "request_id").cache()
        cached.append(found)
        already_stored = found.count()
        if already_stored:
            fresh = batch.join(found.select("request_id"), "request_id", "left_anti")
            dates = sorted(r[0] for r in found.select("_stored_date").distinct().collect())
            kept = stored.where(F.col("usage_date").isin(dates)).join(
                found.select("request_id"), "request_id", "left_semi"
            )
            every_copy = accepted.join(found.select("request_id"), "request_id", "left_semi")
            conflicts.append(differences(kept, every_copy, STORED_KEPT))
            repeated = repeated.join(found.select("request_id"), "request_id", "left_anti")
    if losers:
        kept = batch.join(F.broadcast(repeated), "request_id", "left_semi")
        dropped = accepted.join(F.broadcast(loser_rows), _LINE, "left_semi").join(repeated, "request_id", "left_semi")
        conflicts.append(differences(kept, dropped, FIRST_KEPT))
    found_conflicts = functools.reduce(DataFrame.unionByName, conflicts) if conflicts else None
    return Deduped(fresh, len(losers), already_stored, found_conflicts, cached)
