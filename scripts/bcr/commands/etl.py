"""`bcr etl`: run the cost ETL on local logs, or on S3 logs downloaded into a local cache first."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from datetime import date
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from bcr.errors import UsageError
from bedrock_costs import storage
from bedrock_costs.catalog import DEFAULT_CATALOG, CatalogError, PriceRow, load_catalog
from bedrock_costs.discover import LogObject, discover_local
from bedrock_costs.lock import LockHeld
from bedrock_costs.pipeline import (
    COMPACT,
    INGEST,
    REPRICE,
    STATE_PARTITION,
    EtlSettings,
    RunFailed,
    RunSummary,
    objects_to_read,
    run_pipeline,
)
from bedrock_costs.profiles import ProfileError, ResolvedProfile, load_profile_file
from bedrock_costs.quality.gate import DEFAULT_POLICY, POLICIES, WARNED, QualityGate
from bedrock_costs.quality.rulesets import DEFAULT_TEMPLATE
from bedrock_costs.read import ObjectReader, local_object_reader, read_local_object, read_local_tails
from bedrock_costs.s3_source import SourceError, download_objects, list_log_objects, object_reader, parse_s3_uri
from bedrock_costs.summary import print_run
from bedrock_costs.tags import parse_tag_aliases

DEFAULT_CACHE = Path.home() / ".cache" / "bcr" / "s3"
# Up to this much unread log data (gzip) a run's JVM compiles with C1 only (spark.local_session's quick_jit).
# On the development machine, against both compilers: a no-new-data run took a quarter less, a first run over
# 4,166 records (5.9 MB) a fifth less, over 41,666 (58 MB) 5 % longer, over 1,000,000 (1.4 GB) 1.7 times as long.
QUICK_JIT_MAX_BYTES = 16 * 1024 * 1024


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-20") from None


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by `bcr etl` and `bcr demo`."""
    parser.add_argument("--pricing", type=Path, default=DEFAULT_CATALOG, help="price catalog CSV (default: shipped)")
    parser.add_argument("--profiles", type=Path, help="application inference profiles JSON (bcr profiles fetch)")
    parser.add_argument(
        "--tag-aliases",
        help='JSON overriding which requestMetadata keys feed a tag column, e.g. \'{"tenant": ["org"]}\'',
    )
    parser.add_argument(
        "--dq-policy",
        choices=POLICIES,
        default=DEFAULT_POLICY,
        help="when a data-quality rule fails: fail (publish nothing, exit 1) or warn (publish, warn; default)",
    )
    parser.add_argument(
        "--dq-param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a threshold parameter of the template's rulesets, e.g. DqMinPricedRequestShare=0.9",
    )


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "etl",
        help="price Bedrock invocation logs into cost tables",
        description="Read Bedrock model invocation logs (S3 delivery layout), price every request and merge "
        "the results into Parquet tables. Only objects not processed before are read. Exit 0: done and "
        "reconciled; 1: the run failed or did not reconcile (nothing published); 2: wrong usage, or another "
        "run holds the output's lock.",
    )
    parser.add_argument("--logs", help="folder laid out like the log bucket, or s3://bucket/prefix")
    parser.add_argument("--out", required=True, help="folder for the tables (created if missing)")
    parser.add_argument(
        "--since", type=_day, help="first delivery date to read (UTC, inclusive); with --reprice/--compact a usage date"
    )
    parser.add_argument("--until", type=_day, help="last date to read (UTC, inclusive; its late deliveries too)")
    parser.add_argument("--reprocess", action="store_true", help="read objects again even if already processed")
    parser.add_argument(
        "--retry-damaged", action="store_true", help="read damaged objects again even after their retries ran out"
    )
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--reprice",
        action="store_true",
        help="instead of reading logs, price the stored rows of the window again with the current catalog, "
        "profile map and tag aliases",
    )
    modes.add_argument(
        "--compact", action="store_true", help="instead of reading logs, rewrite each date into one file"
    )
    parser.add_argument(
        "--break-lock",
        action="store_true",
        help="take the output's lock even if another run holds it (it must be dead)",
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="local cache for S3 objects")
    add_run_arguments(parser)
    parser.set_defaults(handler=_run)


def load_pricing(path: Path) -> list[PriceRow]:
    """The price catalog, or one line naming the file and what is wrong with it."""
    if not path.is_file():
        raise UsageError(f"--pricing: {path} does not exist")
    try:
        return load_catalog(path)
    except CatalogError as exc:
        raise UsageError(f"--pricing: {exc}; `bcr pricing check --catalog {path}` lists every problem") from exc
    except OSError as exc:
        raise UsageError(f"--pricing: {path}: {exc.strerror}") from exc


def load_inputs(args: argparse.Namespace) -> tuple[list[PriceRow], dict[str, ResolvedProfile], dict[str, Any]]:
    """Catalog, profile map and tag aliases, each failing with one line that names the file."""
    catalog = load_pricing(args.pricing)
    try:
        profiles = load_profile_file(args.profiles) if args.profiles else {}
    except ProfileError as exc:
        raise UsageError(f"--profiles: {exc}") from exc
    try:
        aliases = parse_tag_aliases(args.tag_aliases)
    except ValueError as exc:
        raise UsageError(f"--tag-aliases: {exc}") from exc
    return catalog, profiles, aliases


def _s3_client() -> Any:
    return boto3.client("s3", config=Config(connect_timeout=5, retries={"total_max_attempts": 3, "mode": "standard"}))


def fetch_s3_logs(uri: str, cache: Path, since: date | None, until: date | None) -> list[LogObject]:
    """List the window's objects in S3 and mirror the missing ones into ``cache``."""
    try:
        parse_s3_uri(uri)
        client = _s3_client()
        objects = list_log_objects(client, uri, since, until, skipped=report_skipped)
        print(f"[etl] {len(objects)} log objects in {uri}; syncing to {cache}", file=sys.stderr)
        return download_objects(client, objects, cache, progress=_download_progress)
    except (ValueError, SourceError) as exc:
        raise UsageError(f"--logs: {exc}") from exc
    except OSError as exc:
        raise UsageError(f"--cache {cache}: cannot write there ({exc.strerror})") from exc


def _download_progress(done: int, total: int) -> None:
    if total and (done == total or done % max(1, total // 10) == 0):
        print(f"[etl] downloaded {done}/{total}", file=sys.stderr)


def report_skipped(path: str, why: str) -> None:
    print(f"[etl] skipped {path}: {why}", file=sys.stderr)


def find_objects(logs: str, cache: Path, since: date | None, until: date | None) -> list[LogObject]:
    if logs.startswith("s3://"):
        return fetch_s3_logs(logs, cache, since, until)
    try:
        return discover_local(logs, since, until, skipped=report_skipped)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise UsageError(f"--logs: {exc}") from exc


def unread_bytes(out: Path, objects: Sequence[LogObject], retry_damaged: bool) -> int:
    """How much of ``objects`` a run will read, known before Spark starts (to choose its JIT): the state
    summed up by DuckDB instead of Spark (whose first query in a fresh JVM takes seconds), the same choice
    (``objects_to_read``). A state that cannot be read here counts every object as unread; the run itself
    reads it with Spark, and reports what is wrong with it.
    """
    root = out / storage.STATE
    days = sorted({o.delivery_date.isoformat() for o in objects})
    files = [str(f) for day in days for f in sorted((root / f"{STATE_PARTITION}={day}").glob("*.parquet"))]
    history: dict[tuple[str, int], tuple[bool, int]] = {}
    if files:
        import duckdb

        summed = "select source_file, size, bool_or(not corrupt), count(*) from read_parquet(?) group by all"
        with suppress(duckdb.Error):
            history = {(f, n): (clean, reads) for f, n, clean, reads in duckdb.execute(summed, [files]).fetchall()}
    todo, _ = objects_to_read(objects, history, retry_damaged)
    return sum(o.size for o in todo)


def object_reader_for(logs: str) -> ObjectReader:
    """Whole objects for the run: local files (logs and their offloaded bodies under the same folder), or,
    for S3 logs, the mirrored log objects locally and offloaded bodies from the log bucket itself.
    """
    if not logs.startswith("s3://"):
        return local_object_reader(logs)
    from_bucket = object_reader(_s3_client(), parse_s3_uri(logs)[0])
    return lambda path: from_bucket(path) if path.startswith("s3://") else read_local_object(path)


def _check_writable(folder: Path) -> None:
    """Create the output folder and prove a file can be written there, before Spark fails less clearly."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UsageError(f"--out {folder}: cannot write there ({exc.strerror})") from exc


def _mode(args: argparse.Namespace) -> str:
    if getattr(args, "reprice", False):
        return REPRICE
    return COMPACT if getattr(args, "compact", False) else INGEST


def quality_gate(args: argparse.Namespace, catalog: list[PriceRow]) -> QualityGate | None:
    """The template's rulesets (thresholds as given) under the chosen policy; None without a template."""
    from bcr.commands.quality import selected_rulesets  # that module imports this one

    if not DEFAULT_TEMPLATE.is_file():  # installed without the repository
        print(f"[etl] no {DEFAULT_TEMPLATE}: data quality not evaluated", file=sys.stderr)
        return None
    definitions = selected_rulesets(DEFAULT_TEMPLATE, getattr(args, "dq_param", []), [])
    return QualityGate(definitions, catalog, getattr(args, "dq_policy", DEFAULT_POLICY))


def run_etl(args: argparse.Namespace, logs: str | None, out: str) -> RunSummary:
    """Shared by `bcr etl` and `bcr demo`: inputs, session, pipeline, printed run summary.

    Raises ``UsageError`` for wrong parameters and a held lock, ``RunFailed`` when the run failed.
    """
    since, until = getattr(args, "since", None), getattr(args, "until", None)
    mode = _mode(args)
    if since and until and since > until:
        raise UsageError(f"--since {since} is after --until {until}")
    if mode == INGEST and not logs:
        raise UsageError("--logs is required (unless --reprice or --compact)")
    if mode != INGEST and logs:
        raise UsageError(f"--{mode} works on the stored tables: leave out --logs")
    if "://" in out:
        raise UsageError(f"--out {out}: local runs write to a folder; on AWS the Glue job writes the tables to S3")
    if Path(out).exists() and not Path(out).is_dir():
        raise UsageError(f"--out {out} is a file, not a folder")
    catalog, profiles, aliases = load_inputs(args)
    gate = quality_gate(args, catalog)
    objects = find_objects(logs, getattr(args, "cache", DEFAULT_CACHE), since, until) if logs else []
    if mode == REPRICE and not args.profiles:
        print("[etl] --reprice without --profiles: application profile requests become unresolved", file=sys.stderr)
    if logs and not objects:
        print(f"[etl] no Bedrock log objects found under {logs}", file=sys.stderr)
    _check_writable(Path(out))
    from bedrock_costs.spark import local_session  # start the JVM only once inputs are valid

    retry_damaged = getattr(args, "retry_damaged", False)
    quick = (
        mode == INGEST
        and not getattr(args, "reprocess", False)
        and unread_bytes(Path(out), objects, retry_damaged) <= QUICK_JIT_MAX_BYTES
    )
    start = time.perf_counter()
    spark = local_session(quick_jit=quick)
    jit = f" (C1 JIT: at most {QUICK_JIT_MAX_BYTES >> 20} MB of unread logs)" if quick else ""
    print(f"[etl] Spark ready in {time.perf_counter() - start:.1f}s{jit}", file=sys.stderr)
    settings = EtlSettings(
        out=str(Path(out).resolve()),
        since=since,
        until=until,
        reprocess=getattr(args, "reprocess", False),
        retry_damaged=retry_damaged,
        mode=mode,
        break_lock=getattr(args, "break_lock", False),
        tag_aliases=aliases,
    )
    try:
        summary = run_pipeline(
            spark,
            objects,
            settings,
            catalog,
            profiles,
            read_local_tails,
            progress=lambda stage: print(f"[etl] {stage}", file=sys.stderr),
            read_object=object_reader_for(logs) if logs else None,
            quality_gate=gate,
        )
    except LockHeld as exc:
        raise UsageError(str(exc)) from exc
    except RunFailed as exc:
        print_run(exc.summary, settings.out)
        raise
    print_run(summary, settings.out)
    if summary.quality is not None and summary.dq_outcome == WARNED:
        print(f"WARNING: {summary.quality.describe()}", file=sys.stderr)
    return summary


def _run(args: argparse.Namespace) -> int:
    summary = run_etl(args, args.logs, args.out)
    return 0 if summary.reconciled else 1
