"""Benchmark `bcr etl`: records/s and MB/s on a generated corpus, against Spark's own floor, and the time the
data-quality rulesets take on the tables it wrote.

Not a test: it prints figures. Usage:
``scripts/dev bench [--records N] [--workdir DIR] [--whole-runs-only] [--repeat N]``.

The *floor* is what plain PySpark needs for the least this job must do: read the fields the ledger needs
with an explicit schema and write them as date-partitioned Parquet, in a fresh JVM with the same session
settings. The first `bcr etl` run is measured the same way (a whole process on an empty output), so their
ratio judges the pipeline against Spark itself rather than against the clock. Two more floors judge the
other figures the same way: the *warm floor* is that read-and-write again in the JVM of the warm run (which
excludes Spark start-up and JIT warm-up, as a Glue job or a long-lived session behaves after its first
minute), and the *idle floor* is a fresh process that starts Spark, reads the processed-object state and
writes one row: the least any Spark run that records itself costs, against the run with nothing new.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, timedelta
from pathlib import Path
from typing import TypeVar

from bcr.generate import generate_logs
from bcr.preview.render import write_report
from bcr.quicksight.documents import DEFAULT_ROOT
from bedrock_costs import storage
from bedrock_costs.catalog import DEFAULT_CATALOG, load_catalog
from bedrock_costs.class_archive import is_archive
from bedrock_costs.discover import discover_local
from bedrock_costs.history import HISTORY_TABLES
from bedrock_costs.pipeline import EtlSettings, RunSummary, run_pipeline
from bedrock_costs.profiles import load_profile_file
from bedrock_costs.quality.rulesets import load_rulesets
from bedrock_costs.quality.tables import evaluate_rulesets, table_datasets
from bedrock_costs.read import local_object_reader, read_local_tails
from bedrock_costs.schemas import PIPELINE_RUNS, PROCESSED_FILES
from bedrock_costs.spark import local_class_archive, local_session


def corpus(workdir: Path, records: int, seed: int, days: int = 3) -> tuple[Path, dict]:
    """Generate the corpus once per (records, seed, days); later runs reuse it."""
    logs = workdir / (f"logs-{records}-{seed}" if days == 3 else f"logs-{records}-{seed}-{days}d")
    manifest = logs / "_generator_manifest.json"
    if not manifest.exists():
        shutil.rmtree(logs, ignore_errors=True)
        start = time.perf_counter()
        generate_logs(logs, records=records, seed=seed, days=days)
        print(f"generated {records} records in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    return logs, json.loads(manifest.read_text())


# The fields a ledger row is built from: everything else in a record is skipped by the JSON reader.
FLOOR_SCHEMA = (
    "timestamp string, requestId string, accountId string, region string, operation string, modelId string, "
    "errorCode string, identity struct<arn: string>, requestMetadata map<string, string>, "
    "input struct<inputTokenCount: long, cacheReadInputTokenCount: long, cacheWriteInputTokenCount: long>, "
    "output struct<outputTokenCount: long>"
)


def floor(logs: Path, out: Path) -> None:
    """Spark's own read-and-write floor for this corpus (run in a fresh process by ``main``)."""
    from pyspark.sql import functions as F

    spark = local_session()
    paths = [obj.path for obj in discover_local(logs)]
    records = spark.read.schema(FLOOR_SCHEMA).json(paths)
    flat = records.select(
        "requestId",
        F.to_timestamp("timestamp").alias("event_time"),
        "accountId",
        "region",
        "operation",
        "modelId",
        "errorCode",
        F.col("identity.arn").alias("principal_arn"),
        "requestMetadata",
        "input.*",
        "output.outputTokenCount",
        F.date_format(F.to_timestamp("timestamp"), "yyyy-MM-dd").alias("usage_date"),
    )
    flat.write.mode("overwrite").partitionBy("usage_date").parquet(str(out))


def idle_floor(tables: Path, out: Path) -> None:
    """Spark's own floor for a run that finds nothing new (run in a fresh process by ``main``): start Spark,
    read the processed-object state, write one row."""
    spark = local_session()
    spark.read.schema(PROCESSED_FILES).parquet(storage.table_path(str(tables), storage.STATE)).count()
    spark.createDataFrame([(1,)], "n long").write.mode("overwrite").parquet(str(out))


def year_of_history(tables: Path, days: int = 365, runs_a_day: int = 24) -> None:
    """Give ``tables`` the run history a year of hourly runs leaves before its first run: each closed day one
    file (history.py) holding ``runs_a_day`` copies of the first run's rows, each with its own id and time."""
    from pyspark.sql import functions as F

    spark = local_session()
    runs = days * runs_a_day
    stored_runs = spark.read.schema(PIPELINE_RUNS).parquet(str(tables / "pipeline_runs"))
    first_day = stored_runs.agg(F.min("run_date")).first()[0]
    # The hours of the days before the first run's day.
    at = F.timestamp_seconds(F.unix_timestamp(F.lit(first_day), "yyyy-MM-dd") - (F.lit(runs) - F.col("id")) * 3600)
    fake = {
        "run_id": F.concat(F.date_format("at", "yyyyMMdd'T'HHmmss'Z'"), F.lit("-year-"), F.col("id").cast("string")),
        "run_date": F.date_format("at", "yyyy-MM-dd"),
        "started_at": F.col("at"),
        "finished_at": F.col("at"),
        "evaluated_at": F.col("at"),
    }
    hours = spark.range(runs).select("id", at.alias("at"))
    written = tables / "_year"
    for table, (schema, order) in HISTORY_TABLES.items():
        stored = spark.read.schema(schema).parquet(str(tables / table))
        rows = stored.where(F.col("run_id") == stored.agg(F.min("run_id")).first()[0])
        copies = rows.crossJoin(hours).select(*(fake.get(c, F.col(c)).alias(c) for c in schema.names))
        storage.write_partitioned(copies, str(written / table), "run_date", order)
        for day in (written / table).glob("run_date=*"):
            day.rename(tables / table / day.name)
    shutil.rmtree(written)


Measured = TypeVar("Measured")


Pair = tuple[float, tuple[float, str]]
"""A floor's seconds, then the (seconds, output) of the run it judges, measured back to back: their ratio is
taken under the same load, which moves on a shared machine from one minute to the next."""


def floor_and_first(logs: Path, workdir: Path, first_out: Path) -> Pair:
    """The floor, then the first `bcr etl` into an emptied ``first_out``."""
    floor_out = workdir / "floor"
    for out in (floor_out, first_out):
        shutil.rmtree(out, ignore_errors=True)
    floor_s, _ = whole_process(__file__, "--floor", str(logs), str(floor_out))
    return floor_s, whole_process(*etl_args(logs, first_out))


def idle_floor_and_run(logs: Path, workdir: Path, tables: Path) -> Pair:
    """The idle floor, then a `bcr etl` that finds nothing new in ``tables``."""
    idle_s, _ = whole_process(__file__, "--idle-floor", str(tables), str(workdir / "floor-idle"))
    return idle_s, whole_process(*etl_args(logs, tables))


def against_floor(pairs: Sequence[Pair], floor_name: str) -> tuple[str, str, float, str]:
    """(the floor's figure, the run's figure with its ratio to the floor, the run's seconds and output): the
    medians of repeated pairs, with their ranges."""
    floors, runs = [f for f, _ in pairs], [run for _, run in pairs]
    ratios = [run_s / floor_s for floor_s, (run_s, _) in pairs]
    run_s, output = middle(runs)
    return (
        f"{middle(floors):6.1f} s{spread(floors)}",
        f"{run_s:6.1f} s{spread([s for s, _ in runs])}  {middle(ratios):.2f}x the {floor_name}{spread(ratios, 'x', 2)}",
        run_s,
        output,
    )


def middle(values: Sequence[Measured]) -> Measured:
    """The median (the lower one of an even count), so that a run's tuple is one that happened, with its output."""
    return sorted(values)[(len(values) - 1) // 2]


def spread(values: Sequence[float], unit: str = "s", digits: int = 1) -> str:
    """`` (median of n, range a–b)`` of repeated measurements; nothing for one."""
    if len(values) < 2:
        return ""
    return f" (median of {len(values)}, range {min(values):.{digits}f}–{max(values):.{digits}f} {unit})"


def class_archive_ready(workdir: Path, seed: int) -> str:
    """Have the JVM's class archive written before anything is timed (class_archive.py: the first local process
    writes it as it exits), by a small `bcr etl`: every measured process then maps it, as every run after a
    user's first one does.
    """
    archive = local_class_archive()
    if archive is None:
        return "off (BCR_CLASS_ARCHIVE, or a Java before 13)"
    if is_archive(archive):
        return f"mapped by every process ({archive})"
    logs, _ = corpus(workdir, 1_000, seed)
    shutil.rmtree(workdir / "warm-up", ignore_errors=True)
    seconds, _ = whole_process(*etl_args(logs, workdir / "warm-up"))
    if not is_archive(archive):
        return "not written (see class_archive.py); every process loads its classes"
    return f"written by a {seconds:.0f} s warm-up run, then mapped by every process"


def whole_process(*args: str) -> tuple[float, str]:
    """Wall time and standard output of a fresh Python process (and so a fresh JVM) running ``args``."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout


def stage_times(etl_output: str) -> str:
    """The stage timings line a `bcr etl` run prints."""
    return next((line.strip() for line in etl_output.splitlines() if line.strip().startswith("time:")), "")


def timed_run(spark, logs: Path, out: Path) -> tuple[float, RunSummary]:
    shutil.rmtree(out, ignore_errors=True)
    objects = discover_local(logs)
    start = time.perf_counter()
    summary = run_pipeline(
        spark,
        objects,
        EtlSettings(out=str(out)),
        load_catalog(DEFAULT_CATALOG),
        load_profile_file(logs / "inference_profiles.json"),
        read_local_tails,
        read_object=local_object_reader(logs),
    )
    return time.perf_counter() - start, summary


def timed_floor(logs: Path, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    floor(logs, out)
    return time.perf_counter() - start


def timed_quality(spark, tables: Path) -> tuple[float, int, int]:
    """Seconds to evaluate every ruleset (as of an hour after the newest request), rules run, rules passed."""
    datasets = table_datasets(spark, str(tables), load_catalog(DEFAULT_CATALOG))
    newest = datasets["invocations"].agg({"event_time": "max"}).first()[0].replace(tzinfo=UTC)
    start = time.perf_counter()
    results = evaluate_rulesets(load_rulesets(), datasets, now=newest + timedelta(hours=1))
    seconds = time.perf_counter() - start
    rules = [rule for result in results for rule in result.results]
    return seconds, len(rules), sum(rule.passed for rule in rules)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("bench-output"))
    parser.add_argument("--floor", nargs=2, type=Path, metavar=("LOGS", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--idle-floor", nargs=2, type=Path, metavar=("TABLES", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--year-of-history", type=Path, metavar="OUT", help=argparse.SUPPRESS)
    parser.add_argument(
        "--hourly",
        action="store_true",
        help="instead: one day of --records requests, then an hour's worth (1/24) added to it, against the "
        "same hour into empty tables",
    )
    parser.add_argument(
        "--whole-runs-only",
        action="store_true",
        help="only the floor, the first `bcr etl`, the idle floor and the no-new-data runs (whole processes): for "
        "large corpora",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure the whole processes this many times (each floor and its run back to back) and print "
        "the medians with their range: this machine's speed moves from minute to minute",
    )
    parser.add_argument(
        "--definitions", type=Path, default=DEFAULT_ROOT, help="dashboard definitions for the report figures"
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, not {args.repeat}")
    if args.floor:
        floor(*args.floor)
        return
    if args.idle_floor:
        idle_floor(*args.idle_floor)
        return
    if args.year_of_history:
        year_of_history(args.year_of_history)
        return
    print(f"JVM class archive: {class_archive_ready(args.workdir, args.seed)}", flush=True)
    if args.hourly:
        hourly(args.workdir, args.records, args.seed)
        return
    logs, manifest = corpus(args.workdir, args.records, args.seed)
    compressed = sum(p.stat().st_size for p in logs.rglob("*.json.gz") if "/data/" not in str(p))
    uncompressed = manifest["bytes_uncompressed"]
    print(
        f"corpus: {manifest['lines']} lines in {manifest['files']} objects, {uncompressed / 1e6:.0f} MB "
        f"({compressed / 1e6:.0f} MB gzip), {uncompressed / max(manifest['lines'], 1):.0f} B/line; "
        f"{os.cpu_count()} cores",
        flush=True,
    )

    first_out = args.workdir / "tables-first"
    pairs = [floor_and_first(logs, args.workdir, first_out) for _ in range(args.repeat)]
    floor_text, first_text, first_s, first_run = against_floor(pairs, "floor")
    print(f"floor (plain PySpark read + partitioned write, whole process): {floor_text}")
    print(
        f"first `bcr etl` (whole process, empty output):                {first_text}, "
        f"{manifest['lines'] / first_s:.0f} lines/s"
    )
    print(f"  {stage_times(first_run)}")
    idle_pairs = [idle_floor_and_run(logs, args.workdir, first_out) for _ in range(args.repeat)]
    idle_floor_text, idle_text, _, idle_run = against_floor(idle_pairs, "idle floor")
    print(f"idle floor (start Spark, read the state, write one row; whole process): {idle_floor_text}")
    print(f"no new files (whole `bcr etl` process incl. Spark start): {idle_text}")
    print(f"  {stage_times(idle_run)}", flush=True)
    year_out = args.workdir / "tables-year"
    shutil.rmtree(year_out, ignore_errors=True)
    shutil.copytree(first_out, year_out)
    whole_process(__file__, "--year-of-history", str(year_out))
    year = [whole_process(*etl_args(logs, year_out)) for _ in range(args.repeat)]
    year_s, year_run = middle(year)
    print(
        f"no new files after a year of hourly runs (8,760 more in pipeline_runs): {year_s:.1f} s"
        f"{spread([s for s, _ in year])}"
    )
    print(f"  {stage_times(year_run)}", flush=True)
    if args.whole_runs_only:
        return

    start = time.perf_counter()
    spark = local_session()
    spark_start = time.perf_counter() - start
    cold, _ = timed_run(spark, logs, args.workdir / "tables-cold")
    warm, summary = timed_run(spark, logs, args.workdir / "tables")
    quality, rules, passed = timed_quality(spark, args.workdir / "tables")
    timed_floor(logs, args.workdir / "floor")  # Spark's own read-and-write once in this JVM: compiles its queries
    warm_floor = timed_floor(logs, args.workdir / "floor")

    lines = summary.lines_read
    print(f"spark start:          {spark_start:6.1f} s")
    print(f"first run in this JVM: {cold:5.1f} s  {lines / cold:8.0f} records/s")
    print(
        f"warm run:             {warm:6.1f} s  {lines / warm:8.0f} records/s  {uncompressed / 1e6 / warm:6.1f} MB/s "
        f"({compressed / 1e6 / warm:.1f} MB/s gzip)"
    )
    print("  stages: " + ", ".join(f"{k} {v:.1f}s" for k, v in summary.stage_seconds.items()))
    print(
        f"warm floor (the floor again in this JVM): {warm_floor:.1f} s  {lines / warm_floor:8.0f} records/s; "
        f"the warm run is {warm / warm_floor:.2f}x it"
    )
    print(f"reconciled: {summary.reconciled}")
    print(f"data quality: {rules} rules on the whole tables in {quality:.1f} s ({passed} passed)")
    report_figures(args.workdir / "tables", args.definitions, args.workdir / "report.html")


def etl_args(logs: Path, out: Path) -> tuple[str, ...]:
    """A whole `bcr etl` process on ``logs`` into ``out``."""
    return (
        "-m",
        "bcr.cli",
        "etl",
        "--logs",
        str(logs),
        "--profiles",
        str(logs / "inference_profiles.json"),
        "--out",
        str(out),
    )


def hourly(workdir: Path, records: int, seed: int) -> None:
    """What an hourly run costs on a day that already holds ``records`` rows, against the same new rows
    into empty tables: a run's cost should follow its new rows, not the day's.
    """
    day, _ = corpus(workdir, records, seed, days=1)
    hour, hour_manifest = corpus(workdir, max(records // 24, 1), seed + 1, days=1)
    alone_out, day_out = workdir / "hourly-alone", workdir / "hourly-day"
    for out in (alone_out, day_out):
        shutil.rmtree(out, ignore_errors=True)
    day_s, _ = whole_process(*etl_args(day, day_out))
    added_s, _ = whole_process(*etl_args(hour, day_out))
    alone_s, _ = whole_process(*etl_args(hour, alone_out))
    again_s, _ = whole_process(*etl_args(hour, day_out))
    hour_records = hour_manifest["lines"]
    print(f"day: {records} records in one date, first run {day_s:.1f} s (whole process)")
    print(f"hour: {hour_records} new records of the same date")
    print(f"  into that day:      {added_s:6.1f} s")
    print(f"  into empty tables:  {alone_s:6.1f} s  (the new rows' own cost; ratio {added_s / alone_s:.2f})")
    print(f"  the same hour again (nothing new): {again_s:.1f} s")


def report_figures(tables: Path, definitions: Path, out: Path) -> None:
    """How long `bcr report` takes on the benchmark's tables and how big the page is."""
    if not definitions.is_dir():
        print(f"report: no dashboard definitions at {definitions}, skipped")
        return
    start = time.perf_counter()
    result = write_report(tables, definitions, out)
    print(
        f"report:               {time.perf_counter() - start:6.1f} s  {result.bytes / 1e6:.2f} MB page "
        f"({result.visuals} visuals on {result.sheets} sheets)"
    )


if __name__ == "__main__":
    main()
