"""Stage: the quarantine — one ``rejected_records`` entry per rejected line and per damaged object.

The objects a run reads end up with exactly the entries of this read: entries already stored for the
same (file, line, reason) are kept as they are (a re-read adds nothing), and entries this read no longer
produces are removed, so a clean retry of a damaged object replaces its quarantine entries.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bedrock_costs import storage
from bedrock_costs.aggregate import conform
from bedrock_costs.commit import Publication
from bedrock_costs.parse import REJECT_REASONS
from bedrock_costs.read import FileCheck
from bedrock_costs.schemas import REJECTED_RECORDS


def rejected_records(
    numbered: DataFrame, damaged: Sequence[FileCheck], delivered: Mapping[str, str], stamp: Mapping[str, Column]
) -> DataFrame:
    """Rejected lines of ``numbered`` (parsed, with line numbers) and one entry per damaged object.

    ``delivered`` maps each object read to its delivery date (its hour folder, parsed by discovery).
    """
    spark = numbered.sparkSession
    reason = F.create_map(*(F.lit(v) for kv in REJECT_REASONS.items() for v in kv))
    lines = numbered.where(F.col("reject_reason").isNotNull()).select(
        "source_file",
        "line_number",
        F.col("reject_reason").alias("reason_code"),
        reason[F.col("reject_reason")].alias("reason"),
        F.when(F.col("request_id") != "", F.col("request_id")).alias("request_id"),
    )
    corrupt = spark.createDataFrame(
        [(c.source_file, None, "corrupt_gzip", c.reason(), None) for c in damaged],
        "source_file string, line_number long, reason_code string, reason string, request_id string",
    )
    dates = spark.createDataFrame(list(delivered.items()), "source_file string, delivery_date string")
    stamped = lines.unionByName(corrupt).select("*", *(v.alias(k) for k, v in stamp.items()))
    return conform(stamped.join(F.broadcast(dates), "source_file", "left"), REJECTED_RECORDS)


def stage_quarantine(
    publication: Publication,
    numbered: DataFrame,
    damaged: Sequence[FileCheck],
    delivered: Mapping[str, str],
    stamp: Mapping[str, Column],
    rejected_lines: int | None = None,
) -> tuple[dict[str, int], list[str]]:
    """Stage the run's ``rejected_records``; return (rejects by reason code, problems with the staging).

    ``rejected_lines``: how many lines of ``numbered`` are rejected, when already counted. With none, no
    damaged object and no stored entries for these deliveries, there is nothing to stage or check.
    """
    dates = sorted(set(delivered.values()))
    if rejected_lines == 0 and not damaged and not publication.committed("rejected_records", "delivery_date", dates):
        return {}, []
    rejected = rejected_records(numbered, damaged, delivered, stamp).cache()
    counts = rejected.groupBy("reason_code", "delivery_date").count().collect()
    by_reason: dict[str, int] = {}
    for row in counts:
        by_reason[row["reason_code"]] = by_reason.get(row["reason_code"], 0) + int(row["count"])
    problems = _stage(publication, rejected, delivered, {r["delivery_date"] for r in counts}, sum(by_reason.values()))
    rejected.unpersist()
    return by_reason, problems


def _stage(
    publication: Publication, rejected: DataFrame, delivered: Mapping[str, str], rejected_dates: set[str], total: int
) -> list[str]:
    """Rewrite only the delivery dates whose entries change, and check the objects' entries afterwards."""
    spark = publication.spark
    dates = sorted(set(delivered.values()))
    committed = publication.committed("rejected_records", "delivery_date", dates)
    objects = F.broadcast(spark.createDataFrame([(key,) for key in delivered], "source_file string"))
    if committed:
        existing = storage.read_files(
            spark, storage.table_path(publication.out, "rejected_records"), REJECTED_RECORDS, committed
        )
        ours = existing.join(objects, "source_file", "left_semi")
        key = ["source_file", "line_number", "reason_code"]
        same = functools.reduce(operator.and_, (rejected[k].eqNullSafe(ours[k]) for k in key))
        fresh = rejected.join(ours, same, "left_anti")
        gone = ours.join(rejected, same, "left_anti")
        changed = fresh.select("delivery_date").union(gone.select("delivery_date")).distinct().collect()
        changed_dates = sorted(row[0] for row in changed)
        kept = ours.join(rejected, same, "left_semi")
        merged = existing.join(objects, "source_file", "left_anti").unionByName(kept).unionByName(fresh)
    else:  # nothing stored for these deliveries: every entry is new
        changed_dates, merged = sorted(rejected_dates), rejected
    if not changed_dates:
        return []
    publication.stage(
        merged.where(F.col("delivery_date").isin(changed_dates)),
        "rejected_records",
        "delivery_date",
        ["source_file", "line_number"],
        replace=changed_dates,
    )
    final = publication.read_final("rejected_records", REJECTED_RECORDS, "delivery_date", dates)
    held = final.join(objects, "source_file", "left_semi").count()
    if held != total:
        return [f"rejected_records would hold {held} entries for this run's objects, the run rejected {total}"]
    return []
