"""`bcr generate`: write realistic sample Bedrock invocation logs, offline and reproducibly.

Demos, end-to-end tests and the benchmark all need logs without an AWS account; the same arguments
always give the same bytes, and the manifest next to the logs holds the totals an ETL run must reproduce.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from bcr.errors import UsageError
from bcr.generate import MANIFEST_NAME, PROFILES_NAME, GenerateResult, check_arguments, generate_logs

# Smaller runs finish in a few seconds: progress lines would only be noise.
_PROGRESS_MIN_RECORDS = 50_000


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "generate",
        help="write sample Bedrock model invocation logs (offline, deterministic)",
        description=(
            "Write gzipped Bedrock model invocation logs in the S3 delivery layout, with every modelId shape, "
            "cache token classes, guardrails, failures, offloaded bodies and duplicates, plus "
            f"{PROFILES_NAME} and a ground-truth {MANIFEST_NAME}. The same arguments give the same bytes."
        ),
    )
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        help="folder to write into: new, empty, or an earlier `bcr generate` output (which is replaced)",
    )
    parser.add_argument("--records", type=int, default=2000, help="requests to generate (default: 2000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument(
        "--start", default="2026-11-20", help="first UTC day of the requests, YYYY-MM-DD (default: 2026-11-20)"
    )
    parser.add_argument("--days", type=int, default=3, help="number of days the requests span (default: 3)")
    parser.add_argument(
        "--corrupt",
        action="store_true",
        help="also write bad lines, a truncated gzip object and a .json.gz object that is not gzip",
    )
    parser.add_argument(
        "--mean-record-bytes",
        type=int,
        default=4500,
        help="mean uncompressed size of one record line (default: 4500)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        start = date.fromisoformat(args.start)
    except ValueError:
        raise UsageError(f"--start must be a date like 2026-11-20 (got {args.start!r})") from None
    try:
        check_arguments(args.out, args.records, args.days, args.mean_record_bytes)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    began = time.perf_counter()
    result = generate_logs(
        args.out,
        records=args.records,
        seed=args.seed,
        start=start,
        days=args.days,
        corrupt=args.corrupt,
        mean_record_bytes=args.mean_record_bytes,
        progress=_Progress() if args.records >= _PROGRESS_MIN_RECORDS else None,
    )
    print(_summary(result, time.perf_counter() - began))
    return 0


class _Progress:
    """Prints one stderr line each time another tenth of the records is written."""

    def __init__(self) -> None:
        self._shown = 0

    def __call__(self, done: int, total: int) -> None:
        tenth = done * 10 // total
        if tenth > self._shown:
            self._shown = tenth
            print(f"bcr generate: {tenth * 10}% ({done:,} of {total:,} records)", file=sys.stderr, flush=True)


def _summary(result: GenerateResult, seconds: float) -> str:
    records = result.params["records"]
    on_disk = sum(path.stat().st_size for path in result.files)
    bad = sum(result.corrupt_lines.values())
    lost = f", {result.truncated_lines_lost:,} lost in the truncated object" if result.truncated_file else ""
    return (
        f"Wrote {records:,} requests ({result.unique_requests:,} readable{lost}) as {result.lines:,} lines in "
        f"{len(result.files):,} log objects: {result.duplicate_lines:,} duplicate lines, {bad:,} corrupt lines, "
        f"{len(result.corrupt_files):,} corrupt objects, {result.data_objects:,} offloaded bodies; "
        f"{result.bytes_uncompressed / 1e6:,.1f} MB uncompressed, {on_disk / 1e6:,.1f} MB on disk, "
        f"in {seconds:.1f} s ({records / max(seconds, 1e-9):,.0f} records/s). "
        f"Logs under {result.out / 'AWSLogs'}; ground truth in {result.out / MANIFEST_NAME}; "
        f"application inference profiles in {result.out / PROFILES_NAME}."
    )
