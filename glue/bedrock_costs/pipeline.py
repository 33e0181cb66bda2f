"""The ETL run: new log objects in, merged and reconciled tables out.

Every input line ends in exactly one place: a fact row, a dropped duplicate or a quarantined record,
and ``pipeline_runs`` records the counts so the equation can be checked per run. Runs are incremental
(objects already processed are skipped) and idempotent (rows merge into their date partitions with the
row already stored winning over a re-delivery, and partitions are rewritten sorted), so re-running any
window, or re-reading the same objects, leaves the tables exactly as they were.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from bedrock_costs import storage
from bedrock_costs.aggregate import conform, daily_costs, invocation_tags
from bedrock_costs.catalog import PriceRow
from bedrock_costs.discover import LogObject
from bedrock_costs.lookup import join_lookup
from bedrock_costs.normalize import with_models, with_principals
from bedrock_costs.offloaded import with_offloaded_ttl
from bedrock_costs.parse import REJECT_REASONS, parse_lines
from bedrock_costs.pricing import UNPRICED_STATUSES, price_invocations
from bedrock_costs.profiles import ResolvedProfile
from bedrock_costs.read import ObjectReader, TailReader, check_files, file_stats, number_lines, read_lines, source_key
from bedrock_costs.schemas import INVOCATIONS, PIPELINE_RUNS, PROCESSED_FILES, REJECTED_RECORDS
from bedrock_costs.tags import DEFAULT_TAG_ALIASES, with_semantic_tags


@dataclass(frozen=True)
class EtlSettings:
    """What one run does; everything else comes from the data."""

    out: str
    since: date | None = None
    until: date | None = None
    reprocess: bool = False
    tag_aliases: Mapping[str, Sequence[str]] = field(default_factory=lambda: dict(DEFAULT_TAG_ALIASES))


@dataclass
class RunSummary:
    """Counts of one run; ``reconciled`` says lines read = rows written + duplicates + rejected lines."""

    run_id: str
    started_at: datetime
    finished_at: datetime | None = None
    files_discovered: int = 0
    files_new: int = 0
    lines_read: int = 0
    rows_written: int = 0
    duplicates_dropped: int = 0
    unpriced_rows: int = 0
    affected_dates: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    corrupt_files: list[str] = field(default_factory=list)

    @property
    def files_corrupt(self) -> int:
        return len(self.corrupt_files)

    @property
    def rejected_lines(self) -> int:
        """Rejected *lines*; a damaged object's own record is not a line."""
        return sum(n for code, n in self.rejects_by_reason.items() if code != "corrupt_gzip")

    @property
    def reconciled(self) -> bool:
        return self.lines_read == self.rows_written + self.duplicates_dropped + self.rejected_lines


@contextmanager
def _timed(summary: RunSummary, stage: str, progress: Callable[[str], None]) -> Iterator[None]:
    progress(stage)
    start = time.perf_counter()
    yield
    summary.stage_seconds[stage] = round(time.perf_counter() - start, 3)


def new_objects(spark: SparkSession, out: str, objects: Sequence[LogObject], reprocess: bool) -> list[LogObject]:
    """Objects not yet processed with this size (a rewritten object is read again; duplicates drop).

    The comparison runs in Spark and only the new keys come back, so the driver never holds the whole
    processing history.
    """
    if reprocess or not objects:
        return list(objects)
    state = storage.read_table(spark, storage.table_path(out, storage.STATE), PROCESSED_FILES)
    if state is None:
        return list(objects)
    by_key = {(source_key(obj.path), obj.size): obj for obj in objects}
    candidates = spark.createDataFrame(list(by_key), "source_file string, size long")
    fresh = candidates.join(state.select("source_file", "size"), ["source_file", "size"], "left_anti").collect()
    return sorted(by_key[(row["source_file"], row["size"])] for row in fresh)


def enrich(
    batch: DataFrame,
    catalog: Sequence[PriceRow],
    profiles: Mapping[str, ResolvedProfile],
    tag_aliases: Mapping[str, Sequence[str]],
) -> DataFrame:
    """Parsed requests → ledger rows: model, principal, semantic tags, prices. One row per request."""
    modelled = with_principals(with_models(batch, profiles))
    tagged = with_semantic_tags(modelled, "request_metadata", tag_aliases)
    return price_invocations(tagged, catalog)


def duplicate_rows(accepted: DataFrame) -> list[tuple[str, str, int]]:
    """(request_id, source_file, line_number) of every re-delivery within the batch: all but the first
    occurrence of an id by (source_file, line_number).

    Re-deliveries are rare, so only the repeated ids are collected and ranked in the driver; the wide rows
    never move through a shuffle.
    """
    repeated = accepted.groupBy("request_id").count().where("count > 1").select("request_id")
    occurrences = (
        accepted.join(F.broadcast(repeated), "request_id")
        .select("request_id", "source_file", "line_number")
        .orderBy("request_id", "source_file", "line_number")
        .collect()
    )
    losers = []
    for index, row in enumerate(occurrences):
        if index > 0 and occurrences[index - 1]["request_id"] == row["request_id"]:
            losers.append((row["request_id"], row["source_file"], int(row["line_number"])))
    return losers


def drop_rows(df: DataFrame, rows: Sequence[tuple[str, str, int]]) -> DataFrame:
    """``df`` without the given (request_id, source_file, line_number) rows."""
    if not rows:
        return df
    keys = ["request_id", "source_file", "line_number"]
    table = df.sparkSession.createDataFrame(rows, "request_id string, source_file string, line_number long")
    return df.join(F.broadcast(table), keys, "left_anti")


def _rejected_rows(numbered: DataFrame, corrupt: DataFrame) -> DataFrame:
    reason = F.create_map(*(F.lit(v) for kv in REJECT_REASONS.items() for v in kv))
    lines = numbered.where(F.col("reject_reason").isNotNull()).select(
        "source_file",
        "line_number",
        F.col("reject_reason").alias("reason_code"),
        reason[F.col("reject_reason")].alias("reason"),
        F.when(F.col("request_id") != "", F.col("request_id")).alias("request_id"),
    )
    return lines.unionByName(corrupt)


def run_pipeline(
    spark: SparkSession,
    objects: Sequence[LogObject],
    settings: EtlSettings,
    catalog: Sequence[PriceRow],
    profiles: Mapping[str, ResolvedProfile],
    read_tails: TailReader,
    progress: Callable[[str], None] = lambda _stage: None,
    read_object: ObjectReader | None = None,
) -> RunSummary:
    """Process the objects not seen before and merge them into the tables under ``settings.out``.

    ``read_object`` reads a whole object (a log object whose gzip trailer disagrees with what was read, an
    offloaded response body); without it such objects count as damaged and such bodies as unreachable.
    """
    started = datetime.now(UTC).replace(microsecond=0)
    summary = RunSummary(run_id=f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}", started_at=started)
    summary.files_discovered = len(objects)
    out = settings.out
    with _timed(summary, "select new objects", progress):
        todo = new_objects(spark, out, objects, settings.reprocess)
    summary.files_new = len(todo)
    if todo:
        _process(spark, todo, settings, catalog, profiles, read_tails, summary, progress, read_object)
    summary.finished_at = datetime.now(UTC).replace(microsecond=0)
    _record_run(spark, settings, summary)
    return summary


def _process(
    spark: SparkSession,
    todo: Sequence[LogObject],
    settings: EtlSettings,
    catalog: Sequence[PriceRow],
    profiles: Mapping[str, ResolvedProfile],
    read_tails: TailReader,
    summary: RunSummary,
    progress: Callable[[str], None],
    read_object: ObjectReader | None,
) -> None:
    out = settings.out
    stamp = {"run_id": F.lit(summary.run_id), "ingested_at": F.lit(summary.started_at).cast("timestamp")}
    with _timed(summary, "read and parse", progress):
        # A few large partitions: every later pass over the cached lines then costs a few tasks, not one
        # per handful of small log objects.
        slots = 4 * spark.sparkContext.defaultParallelism
        parsed = parse_lines(read_lines(spark, todo)).coalesce(slots).cache()
        stats = file_stats(parsed)
        checks = check_files(todo, read_tails(todo), stats, read_object)
    summary.lines_read = sum(s.lines for s in stats.values())
    broken = [check for check in checks if not check.complete]
    summary.corrupt_files = [check.source_file for check in broken]
    numbered = number_lines(parsed, stats)

    with _timed(summary, "quarantine", progress):
        corrupt = spark.createDataFrame(
            [(c.source_file, None, "corrupt_gzip", c.reason(), None) for c in broken],
            "source_file string, line_number long, reason_code string, reason string, request_id string",
        )
        # The delivery date is the object's hour folder, already parsed by discovery.
        delivered = {source_key(o.path): o.delivery_date.isoformat() for o in todo}
        rejected = join_lookup(
            _rejected_rows(numbered, corrupt).select("*", *(v.alias(k) for k, v in stamp.items())),
            ["source_file"],
            lambda source_file: (delivered.get(source_file),),
            T.StructType([T.StructField("delivery_date", T.StringType())]),
        )
        rejected = conform(rejected, REJECTED_RECORDS).cache()
        reasons = rejected.groupBy("reason_code").count().collect()
        summary.rejects_by_reason = {r["reason_code"]: int(r["count"]) for r in reasons}
        _merge_rejected(spark, out, rejected)
        rejected.unpersist()

    with _timed(summary, "dedupe and price", progress):
        accepted = numbered.where(F.col("reject_reason").isNull()).withColumn(
            "usage_date", F.date_format("event_time", "yyyy-MM-dd")
        )
        redelivered = duplicate_rows(accepted)
        # Every lookup below scans the batch once more: cache it without the line-numbering join.
        batch = drop_rows(accepted, redelivered).cache()
        batch_rows = summary.lines_read - summary.rejected_lines - len(redelivered)
        summary.affected_dates = storage.dates_in(accepted, "usage_date")
        ledger = conform(
            enrich(with_offloaded_ttl(batch, read_object), catalog, profiles, settings.tag_aliases).select(
                "*", *(v.alias(k) for k, v in stamp.items())
            ),
            INVOCATIONS,
        )

    if summary.affected_dates:
        _merge_ledger(spark, out, ledger, batch_rows, len(redelivered), summary, progress)
    else:
        summary.duplicates_dropped = len(redelivered)
    processed = spark.createDataFrame(
        [(source_key(o.path), o.size, summary.run_id, source_key(o.path) in summary.corrupt_files) for o in todo],
        PROCESSED_FILES,
    )
    storage.append(
        processed.withColumn("run_date", F.lit(summary.started_at.date().isoformat())),
        storage.table_path(out, storage.STATE),
        "run_date",
    )
    batch.unpersist()
    parsed.unpersist()


def _merge_ledger(
    spark: SparkSession,
    out: str,
    ledger: DataFrame,
    batch_rows: int,
    redelivered: int,
    summary: RunSummary,
    progress: Callable[[str], None],
) -> None:
    """Merge the batch's ledger rows into their date partitions, then rebuild the roll-ups of those dates."""
    with _timed(summary, "merge invocations", progress):
        root = storage.table_path(out, "invocations")
        existing = storage.read_partitions(spark, root, INVOCATIONS, "usage_date", summary.affected_dates)
        before = storage.count_where(existing)
        merged = (
            ledger
            if existing is None
            else existing.unionByName(ledger.join(existing.select("request_id"), "request_id", "left_anti"))
        )
        storage.replace_partitions(merged, root, "usage_date", ["event_time", "request_id"])
        written = [storage.partition_path(root, "usage_date", day) for day in summary.affected_dates]
        final = storage.read_paths(spark, root, INVOCATIONS, written)
        summary.rows_written = final.count() - before
        summary.duplicates_dropped = redelivered + (batch_rows - summary.rows_written)
        summary.unpriced_rows = storage.count_where(
            final, (F.col("run_id") == summary.run_id) & F.col("pricing_status").isin(*UNPRICED_STATUSES)
        )

    with _timed(summary, "aggregate", progress):
        storage.replace_partitions(
            daily_costs(final), storage.table_path(out, "daily_costs"), "usage_date", ["account_id", "model_id"]
        )
        storage.replace_partitions(
            invocation_tags(final),
            storage.table_path(out, "invocation_tags"),
            "usage_date",
            ["tag_key", "tag_value", "request_id"],
        )


def _merge_rejected(spark: SparkSession, out: str, rejected: DataFrame) -> None:
    """Rejects merge like facts, keyed by (file, line, reason), so re-reading a file adds nothing."""
    dates = storage.dates_in(rejected, "delivery_date")
    if not dates:
        return
    root = storage.table_path(out, "rejected_records")
    existing = storage.read_partitions(spark, root, REJECTED_RECORDS, "delivery_date", dates)
    key = ["source_file", "line_number", "reason_code"]
    merged = rejected
    if existing is not None:
        fresh = rejected.join(existing.select(*key), [rejected[k].eqNullSafe(existing[k]) for k in key], "left_anti")
        merged = existing.unionByName(fresh)
    storage.replace_partitions(merged, root, "delivery_date", ["source_file", "line_number"])


def _record_run(spark: SparkSession, settings: EtlSettings, summary: RunSummary) -> None:
    row = (
        summary.run_id,
        summary.started_at,
        summary.finished_at,
        settings.since.isoformat() if settings.since else None,
        settings.until.isoformat() if settings.until else None,
        summary.files_discovered,
        summary.files_new,
        summary.files_corrupt,
        summary.lines_read,
        summary.rows_written,
        summary.duplicates_dropped,
        summary.rejected_lines,
        summary.unpriced_rows,
        summary.reconciled,
        summary.affected_dates,
        summary.stage_seconds,
        summary.started_at.date().isoformat(),
    )
    storage.append(
        spark.createDataFrame([row], PIPELINE_RUNS), storage.table_path(settings.out, "pipeline_runs"), "run_date"
    )
