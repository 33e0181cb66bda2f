"""The ETL run: new log objects in, checked and published tables out.

Every input line ends in exactly one place (a new ledger row, a later copy of an id within the batch, a
copy of an id the ledger already holds, or a quarantined record) and each is counted from its own source,
so ``lines_read = rows_written + redelivered + already_stored + rejected`` can fail. A run stages its files,
checks them against what the tables held before (``reconcile.py``) and publishes only when everything adds
up (``commit.py``); otherwise it publishes nothing, and ``pipeline_runs`` records why.

Runs hold the output's lock (``lock.py``), are incremental (objects already read are skipped, damaged ones
are read again a few times) and idempotent: a run adds only ids new to the whole ledger, as new files, so
re-running any window leaves the tables as they were. The same machinery rewrites stored dates: repricing
(the current catalog and profile map applied to stored rows) and compaction (a date into one sorted file).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from bedrock_costs import storage
from bedrock_costs.aggregate import conform, invocation_tags
from bedrock_costs.catalog import PriceRow
from bedrock_costs.commit import Publication, recover
from bedrock_costs.dedupe import dedupe
from bedrock_costs.discover import LogObject
from bedrock_costs.history import CLOSED_DAYS_CHECKED, stage_closed_days, stage_rows
from bedrock_costs.lock import DEFAULT_STALE_AFTER, LockOwner, LockStore, hold, lock_store_for
from bedrock_costs.normalize import model_columns, with_models, with_principals
from bedrock_costs.offloaded import needs_body, with_offloaded_ttl
from bedrock_costs.parse import parse_lines
from bedrock_costs.pricing import UNPRICED_STATUSES, price_band, price_invocations
from bedrock_costs.profiles import ResolvedProfile
from bedrock_costs.quality.gate import SKIPPED, DataQualityFailed, GateOutcome, QualityGate
from bedrock_costs.quarantine import stage_quarantine
from bedrock_costs.read import ObjectReader, TailReader, check_files, file_stats, number_lines, read_lines, source_key
from bedrock_costs.reconcile import ReconciliationError, row_counts
from bedrock_costs.rewrite import LEDGER_ORDER, TAG_ORDER, finish_dates, rewrite_dates, stage_rewritten
from bedrock_costs.schemas import INVOCATIONS, PIPELINE_RUNS, PROCESSED_FILES, REQUEST_CONFLICTS
from bedrock_costs.tags import DEFAULT_TAG_ALIASES, with_semantic_tags

INGEST, REPRICE, COMPACT = "ingest", "reprice", "compact"
# A damaged object is read this many times in all (each run that lists it), then left quarantined until
# a run passes retry_damaged.
DAMAGED_READS = 3
# The processed-object state is partitioned by the objects' delivery date, so a run reads only its dates.
STATE_PARTITION = "delivery_date"


def usage_date() -> F.Column:
    """A ledger row's date: the UTC date of its event."""
    return F.date_format("event_time", "yyyy-MM-dd")


@dataclass(frozen=True)
class EtlSettings:
    """What one run does; everything else comes from the data."""

    out: str
    since: date | None = None
    until: date | None = None
    reprocess: bool = False
    retry_damaged: bool = False
    mode: str = INGEST
    break_lock: bool = False
    lock_stale_after: timedelta = DEFAULT_STALE_AFTER
    # A date is compacted into one file when a run would leave it with more files than this.
    compact_at_files: int = 24
    tag_aliases: Mapping[str, Sequence[str]] = field(default_factory=lambda: dict(DEFAULT_TAG_ALIASES))


@dataclass
class RunSummary:
    """Counts of one run, each from its own source; ``reconciled`` is the line equation plus every check."""

    run_id: str
    started_at: datetime
    mode: str = INGEST
    status: str = "running"
    error: str | None = None
    finished_at: datetime | None = None
    files_discovered: int = 0
    files_new: int = 0
    files_retried: int = 0
    lines_read: int = 0
    rows_written: int = 0
    redelivered: int = 0
    already_stored: int = 0
    conflicts: int = 0
    unpriced_rows: int = 0
    rows_repriced: int = 0
    window_cost_before: Decimal | None = None
    window_cost_after: Decimal | None = None
    affected_dates: list[str] = field(default_factory=list)
    compacted_dates: list[str] = field(default_factory=list)
    recovered_runs: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    corrupt_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    quality: GateOutcome | None = None  # the data-quality gate's evaluation, when it ran

    @property
    def dq_outcome(self) -> str:
        return self.quality.outcome if self.quality else SKIPPED

    @property
    def files_corrupt(self) -> int:
        return len(self.corrupt_files)

    @property
    def rejected_lines(self) -> int:
        """Rejected *lines*; a damaged object's own record is not a line."""
        return sum(n for code, n in self.rejects_by_reason.items() if code != "corrupt_gzip")

    @property
    def duplicates_dropped(self) -> int:
        return self.redelivered + self.already_stored

    @property
    def balanced(self) -> bool:
        return self.lines_read == self.rows_written + self.redelivered + self.already_stored + self.rejected_lines

    @property
    def reconciled(self) -> bool:
        return self.balanced and not self.problems

    @property
    def window_cost_change(self) -> Decimal | None:
        if self.window_cost_before is None and self.window_cost_after is None:
            return None
        return (self.window_cost_after or Decimal(0)) - (self.window_cost_before or Decimal(0))


class RunFailed(RuntimeError):
    """The run did not publish (or could not finish publishing); ``summary.error`` says why."""

    def __init__(self, summary: RunSummary) -> None:
        super().__init__(f"run {summary.run_id} failed: {summary.error}")
        self.summary = summary


@contextmanager
def _timed(summary: RunSummary, stage: str, progress: Callable[[str], None]) -> Iterator[None]:
    progress(stage)
    start = time.perf_counter()
    yield
    summary.stage_seconds[stage] = round(time.perf_counter() - start, 3)


def select_objects(
    spark: SparkSession, out: str, objects: Sequence[LogObject], reprocess: bool, retry_damaged: bool = False
) -> tuple[list[LogObject], int]:
    """(objects to read, how many of them are damaged ones read again); see ``objects_to_read``.

    The state is kept per delivery date (an object's hour folder), and only the dates of the listed objects
    are read: a run's cost follows its objects, not the length of the history. Spark sums up each object's
    reads and the comparison is a dictionary lookup: no job ships the listing to the executors.
    """
    if reprocess or not objects:
        return list(objects), 0
    root = storage.table_path(out, storage.STATE)
    days = sorted({obj.delivery_date.isoformat() for obj in objects})
    files = [f for day in days for f in storage.list_files(spark, f"{root}/{STATE_PARTITION}={day}")]
    return objects_to_read(objects, _reads_by_object(spark, root, files) if files else {}, retry_damaged)


ReadHistory = Mapping[tuple[str, int], tuple[bool, int]]
"""``(source_file, size) -> (any read clean, reads)``: the processed-object state, summed up per object."""


def objects_to_read(
    objects: Iterable[LogObject], history: ReadHistory, retry_damaged: bool
) -> tuple[list[LogObject], int]:
    """(objects to read, how many of them are damaged ones read again).

    An object is read when it was never read with this size (a rewritten object is read again; its
    requests then count as already stored), or when every read of it so far was damaged and it has been
    read fewer than ``DAMAGED_READS`` times (always, with ``retry_damaged``).
    """
    todo, retried = [], 0
    for obj in sorted(objects):
        clean, reads = history.get((source_key(obj.path), obj.size), (None, 0))
        if reads == 0:
            todo.append(obj)
        elif not clean and (retry_damaged or reads < DAMAGED_READS):
            todo.append(obj)
            retried += 1
    return todo, retried


def _reads_by_object(spark: SparkSession, root: str, files: Sequence[str]) -> ReadHistory:
    """The ``ReadHistory`` of the given processed-object state files."""
    state = storage.read_files(spark, root, PROCESSED_FILES, files)
    grouped = state.groupBy("source_file", "size").agg(
        F.max(~F.col("corrupt")).alias("clean"), F.count(F.lit(1)).alias("reads")
    )
    return {(r["source_file"], r["size"]): (r["clean"], r["reads"]) for r in grouped.collect()}


def lookup_keys(catalog: Sequence[PriceRow]) -> dict[str, F.Column]:
    """What ``enrich`` and the offloaded-body read look up, per accepted line, as arrays for ``file_stats``
    to gather with the line counts (one Spark job instead of one per lookup).
    """
    accepted = F.col("reject_reason").isNull()

    def key(*columns: str | F.Column) -> F.Column:
        return F.when(accepted, F.array(F.struct(*columns)))

    return {
        "models": key("model_id_raw"),
        "principals": key("principal_arn"),
        "metadata": F.when(accepted, F.transform(F.map_keys("request_metadata"), lambda k: F.struct(k))),
        "prices": key("model_id_raw", "region", "service_tier", usage_date(), price_band(catalog)),
        "bodies": F.when(accepted & needs_body(), F.array(F.struct("output_body_s3_path"))),
    }


def enrich(
    batch: DataFrame,
    catalog: Sequence[PriceRow],
    profiles: Mapping[str, ResolvedProfile],
    tag_aliases: Mapping[str, Sequence[str]],
    keys: Mapping[str, Iterable[tuple]] | None = None,
) -> DataFrame:
    """Parsed requests → ledger rows: model, principal, semantic tags, prices. One row per request.

    ``keys``: what ``lookup_keys`` gathered from the batch; without them each lookup finds its own keys.
    """
    if keys is None:
        modelled = with_principals(with_models(batch, profiles))
        return price_invocations(with_semantic_tags(modelled, "request_metadata", tag_aliases), catalog)
    modelled = with_principals(with_models(batch, profiles, keys["models"]), keys["principals"])
    tagged = with_semantic_tags(modelled, "request_metadata", tag_aliases, [k for (k,) in keys["metadata"]])
    prices = []
    for raw, region, tier, day, band in keys["prices"]:
        model = model_columns(raw, profiles)
        prices.append((model["model_id"], region, model["inference_scope"], tier, day, band))
    return price_invocations(tagged, catalog, prices)


def run_pipeline(
    spark: SparkSession,
    objects: Sequence[LogObject],
    settings: EtlSettings,
    catalog: Sequence[PriceRow],
    profiles: Mapping[str, ResolvedProfile],
    read_tails: TailReader,
    progress: Callable[[str], None] = lambda _stage: None,
    lock: LockStore | None = None,
    read_object: ObjectReader | None = None,
    quality_gate: QualityGate | None = None,
) -> RunSummary:
    """Run ``settings.mode`` on the tables under ``settings.out`` holding its lock.

    Raises ``LockHeld`` when another run holds the lock, and ``RunFailed`` when the run failed a check or
    a step (nothing published, a ``failed`` row recorded). ``read_object`` reads a whole object (a log
    object whose gzip trailer disagrees with what was read, an offloaded response body); without it such
    objects count as damaged and such bodies as unreachable. ``quality_gate`` checks what the run would
    publish before it commits (quality/gate.py); under policy ``fail`` a failed rule fails the run.
    """
    started = datetime.now(UTC).replace(microsecond=0)
    summary = RunSummary(run_id=f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}", started_at=started)
    summary.mode = settings.mode
    summary.files_discovered = len(objects)
    owner = LockOwner.current(summary.run_id)
    store = lock or lock_store_for(settings.out)
    with hold(store, owner, settings.break_lock, settings.lock_stale_after, progress):
        publication = Publication(spark, settings.out, summary.run_id)
        try:
            with _timed(summary, "recover", progress):
                recovered = recover(spark, settings.out, _stage_interrupted)
            summary.recovered_runs = [f"{r.run_id}: {r.action}" for r in recovered]
            publication.begin(
                {"run_id": summary.run_id, "host": owner.host, "pid": owner.pid, "mode": settings.mode}
                | {"started_at": started.isoformat(), **_window(settings)}
            )
            if settings.mode == INGEST:
                _ingest(
                    spark, objects, settings, catalog, profiles, read_tails, summary, publication, progress, read_object
                )
            else:
                _rewrite(settings, catalog, profiles, summary, publication, progress)
            if not summary.reconciled:
                raise ReconciliationError(_mismatch(summary))
            with _timed(summary, "compact run history", progress):
                window = None if settings.mode == COMPACT else CLOSED_DAYS_CHECKED
                stage_closed_days(publication, started.date().isoformat(), window)
            if quality_gate is not None:
                with _timed(summary, "data quality", progress):
                    summary.quality = quality_gate.check(publication, _run_frame(publication, settings, summary))
                summary.quality.enforce()
        except Exception as exc:
            raise _fail(spark, settings, summary, publication, exc, progress) from exc
        summary.status = "succeeded"
        summary.finished_at = datetime.now(UTC).replace(microsecond=0)
        _stage_run(publication, _window(settings), summary)
        publication.commit()
        try:
            with _timed(summary, "publish", progress):
                publication.publish()
        except Exception as exc:
            summary.status = "failed"
            summary.error = f"committed but not fully published ({describe(exc)}); the next run completes it"
            raise RunFailed(summary) from exc
    return summary


def _window(settings: EtlSettings) -> dict[str, str | None]:
    return {
        "window_since": settings.since.isoformat() if settings.since else None,
        "window_until": settings.until.isoformat() if settings.until else None,
    }


def _mismatch(summary: RunSummary) -> str:
    if summary.balanced:
        return "; ".join(summary.problems)
    equation = (
        f"lines read {summary.lines_read} != rows written {summary.rows_written} + re-delivered "
        f"{summary.redelivered} + already stored {summary.already_stored} + rejected {summary.rejected_lines}"
    )
    return "; ".join([equation, *summary.problems])


def describe(exc: BaseException) -> str:
    """One line for a failure: the deepest Java cause of a Spark error (it names the file), else the message."""
    java = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    text = str(exc)
    if java is not None:
        try:
            while java.getCause() is not None:
                java = java.getCause()
            text = str(java.toString())
        except Exception:  # py4j may be gone when the JVM died; keep the Python message then
            text = str(exc)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    # "java.lang.RuntimeException: file:/… is not a Parquet file": the class name tells a reader nothing.
    return re.sub(r"^(?:[\w$]+\.)+[\w$]*(?:Exception|Error): ", "", lines[0])[:600]


def _fail(
    spark: SparkSession,
    settings: EtlSettings,
    summary: RunSummary,
    publication: Publication,
    exc: Exception,
    progress: Callable[[str], None],
) -> RunFailed:
    """Publish nothing but a ``failed`` pipeline_runs row; the caller raises the returned ``RunFailed``."""
    summary.status = "failed"
    summary.error = describe(exc)
    summary.finished_at = datetime.now(UTC).replace(microsecond=0)
    if isinstance(exc, DataQualityFailed):  # the counts add up; the data broke a rule under policy fail
        summary.problems.append("data-quality rules failed under policy fail")
    elif summary.reconciled:  # a step failed before the counts could be checked: nothing was proven
        summary.problems.append("the run failed before its counts were checked")
    try:
        publication.discard()
        record = Publication(spark, settings.out, summary.run_id)
        _stage_run(record, _window(settings), summary)
        record.commit()
        record.publish()
    except Exception as record_error:
        progress(f"could not record the failed run in pipeline_runs: {describe(record_error)}")
    return RunFailed(summary)


def _run_row(window: Mapping[str, str | None], summary: RunSummary) -> tuple:
    return (
        summary.run_id,
        summary.mode,
        summary.status,
        summary.error,
        summary.started_at,
        summary.finished_at,
        window["window_since"],
        window["window_until"],
        summary.files_discovered,
        summary.files_new,
        summary.files_retried,
        summary.files_corrupt,
        summary.lines_read,
        summary.rows_written,
        summary.redelivered,
        summary.already_stored,
        summary.duplicates_dropped,
        summary.rejected_lines,
        summary.conflicts,
        summary.unpriced_rows,
        summary.rows_repriced,
        summary.window_cost_before,
        summary.window_cost_after,
        summary.window_cost_change,
        summary.reconciled,
        summary.affected_dates,
        summary.compacted_dates,
        summary.recovered_runs,
        summary.stage_seconds,
        summary.dq_outcome,
        summary.quality.rules_evaluated if summary.quality else None,
        len(summary.quality.failures) if summary.quality else None,
        summary.started_at.date().isoformat(),
    )


def _run_frame(publication: Publication, settings: EtlSettings, summary: RunSummary) -> DataFrame:
    """The run's pipeline_runs row as it will be published if it passes the gate."""
    row = _run_row(_window(settings), replace(summary, status="succeeded"))
    return publication.spark.createDataFrame([row], PIPELINE_RUNS)


def _stage_run(publication: Publication, window: Mapping[str, str | None], summary: RunSummary) -> None:
    row = publication.spark.createDataFrame([_run_row(window, summary)], PIPELINE_RUNS)
    stage_rows(publication, "pipeline_runs", row)
    if summary.quality is not None:  # the rules' results go with the run's row, published or failed
        summary.quality.stage(publication, summary.run_id, summary.started_at.date().isoformat())


def _stage_interrupted(publication: Publication, started: dict) -> None:
    """The row of a run that died before committing, staged by the run that rolled it back."""
    summary = RunSummary(
        run_id=str(started.get("run_id", publication.run_id)),
        started_at=datetime.fromisoformat(started["started_at"]),
        mode=str(started.get("mode", INGEST)),
        status="interrupted",
        error=f"the process (pid {started.get('pid')} on {started.get('host')}) ended before committing; "
        "nothing was published and the next run rolled it back",
    )
    summary.problems.append("the run ended before its counts were checked")
    _stage_run(publication, {key: started.get(key) for key in ("window_since", "window_until")}, summary)


def _ingest(
    spark: SparkSession,
    objects: Sequence[LogObject],
    settings: EtlSettings,
    catalog: Sequence[PriceRow],
    profiles: Mapping[str, ResolvedProfile],
    read_tails: TailReader,
    summary: RunSummary,
    publication: Publication,
    progress: Callable[[str], None],
    read_object: ObjectReader | None,
) -> None:
    with _timed(summary, "select new objects", progress):
        todo, summary.files_retried = select_objects(
            spark, settings.out, objects, settings.reprocess, settings.retry_damaged
        )
    summary.files_new = len(todo) - summary.files_retried
    if not todo:
        return
    stamp = {"run_id": F.lit(summary.run_id), "ingested_at": F.lit(summary.started_at).cast("timestamp")}
    with _timed(summary, "read and parse", progress):
        parsed = parse_lines(read_lines(spark, todo)).cache()
        stats = file_stats(parsed, lookup_keys(catalog), {"rejected": F.col("reject_reason").isNotNull()})
        checks = check_files(todo, read_tails(todo), stats, read_object)
    summary.lines_read = sum(s.lines for s in stats.values())
    keys = {name: set().union(*(s.distinct[name] for s in stats.values())) for name in lookup_keys(catalog)}
    broken = [check for check in checks if not check.complete]
    summary.corrupt_files = [check.source_file for check in broken]
    numbered = number_lines(parsed, stats)

    with _timed(summary, "quarantine", progress):
        # The delivery date is the object's hour folder, already parsed by discovery.
        delivered = {source_key(o.path): o.delivery_date.isoformat() for o in todo}
        rejected = sum(s.counted["rejected"] for s in stats.values())
        summary.rejects_by_reason, problems = stage_quarantine(
            publication, numbered, broken, delivered, stamp, rejected
        )
        summary.problems += problems

    with _timed(summary, "dedupe and price", progress):
        accepted = numbered.where(F.col("reject_reason").isNull()).withColumn("usage_date", usage_date())
        # Before dedupe: a re-delivery is compared with the stored copy as that copy was stored, its
        # 1-hour split read from the offloaded body too, so the split is no false conflict.
        accepted = with_offloaded_ttl(accepted, read_object, [uri for (uri,) in keys["bodies"]])
        stored = storage.read_table(spark, storage.table_path(settings.out, "invocations"), INVOCATIONS)
        deduped = dedupe(accepted, stored)
        summary.redelivered, summary.already_stored = deduped.redelivered, deduped.already_stored
        # The lookups' keys were gathered with the line counts: the new rows are computed once, as written.
        enriched = enrich(deduped.rows, catalog, profiles, settings.tag_aliases, keys)
        ledger = conform(enriched.select("*", *(v.alias(k) for k, v in stamp.items())), INVOCATIONS)

    with _timed(summary, "merge invocations", progress):
        staged = publication.stage(ledger, "invocations", "usage_date", LEDGER_ORDER)
        added = publication.read_staged(INVOCATIONS, staged)
        unpriced = F.col("pricing_status").isin(*UNPRICED_STATUSES).cast("long")
        counts = added.groupBy("usage_date").agg(F.count(F.lit(1)).alias("n"), F.sum(unpriced).alias("u")).collect()
        written = {r["usage_date"]: int(r["n"]) for r in counts}
        summary.rows_written = sum(written.values())
        summary.unpriced_rows = sum(int(r["u"] or 0) for r in counts)
        summary.affected_dates = sorted(written)
        _stage_conflicts(spark, settings.out, deduped.conflicts, stamp, summary, publication)
    deduped.release()

    with _timed(summary, "aggregate", progress):
        _stage_dates(spark, settings, added, written, summary, publication)
    processed = spark.createDataFrame(
        [
            (key, o.size, summary.run_id, key in summary.corrupt_files, o.delivery_date.isoformat())
            for o in todo
            for key in [source_key(o.path)]
        ],
        T.StructType([*PROCESSED_FILES.fields, T.StructField(STATE_PARTITION, T.StringType())]),
    )
    publication.stage(processed, storage.STATE, STATE_PARTITION, ["source_file"])
    parsed.unpersist()


def _stage_conflicts(
    spark: SparkSession,
    out: str,
    conflicts: DataFrame | None,
    stamp: Mapping[str, F.Column],
    summary: RunSummary,
    publication: Publication,
) -> None:
    """Record each conflicting copy once: a re-run finds the same conflicts and adds nothing."""
    if conflicts is None:
        return
    found = conform(
        conflicts.select("*", stamp["run_id"].alias("run_id"), stamp["ingested_at"].alias("detected_at")),
        REQUEST_CONFLICTS,
    ).cache()
    summary.conflicts = found.count()
    if summary.conflicts:
        key = ["request_id", "dropped_source_file", "dropped_line_number"]
        stored = storage.read_table(spark, storage.table_path(out, "request_conflicts"), REQUEST_CONFLICTS)
        new = found if stored is None else found.join(stored.select(*key), key, "left_anti")
        publication.stage(new, "request_conflicts", "usage_date", key)
    found.unpersist()


def _stage_dates(
    spark: SparkSession,
    settings: EtlSettings,
    added: DataFrame,
    written: Mapping[str, int],
    summary: RunSummary,
    publication: Publication,
) -> None:
    """Tags and roll-ups of the dates the run adds rows to, compaction of crowded dates, and their checks."""
    dates = summary.affected_dates
    if not dates:
        return
    root = storage.table_path(settings.out, "invocations")
    committed = publication.committed_by_value("invocations", "usage_date", dates)
    stored = [f for files in committed.values() for f in files]
    before = row_counts(storage.read_files(spark, root, INVOCATIONS, stored)) if stored else {}
    # Each run adds one file per date; a date that would hold too many is rewritten into one.
    crowded = [day for day in dates if len(committed[day]) + 1 > settings.compact_at_files]
    if crowded:
        stage_rewritten(publication, publication.read_final("invocations", INVOCATIONS, "usage_date", crowded), crowded)
        summary.compacted_dates = crowded
    fresh_tags = invocation_tags(added.where(~F.col("usage_date").isin(crowded)))
    publication.stage(fresh_tags, "invocation_tags", "usage_date", TAG_ORDER)
    summary.problems += finish_dates(publication, dates, before, written)


def _rewrite(
    settings: EtlSettings,
    catalog: Sequence[PriceRow],
    profiles: Mapping[str, ResolvedProfile],
    summary: RunSummary,
    publication: Publication,
    progress: Callable[[str], None],
) -> None:
    """Repricing or compaction of the stored dates in ``[since, until]`` (usage dates; all when open)."""
    reprice = settings.mode == REPRICE
    with _timed(summary, "reprice" if reprice else "compact", progress):
        result = rewrite_dates(
            publication,
            settings.since,
            settings.until,
            (lambda df: enrich(df, catalog, profiles, settings.tag_aliases)) if reprice else None,
        )
    summary.affected_dates = result.dates
    summary.problems += result.problems
    if reprice:
        summary.rows_repriced = result.rows_repriced
        summary.window_cost_before, summary.window_cost_after = result.cost_before, result.cost_after
    else:
        summary.compacted_dates = result.dates
