"""Benchmark `bcr etl`: records/s and MB/s on a generated corpus, plus the cost of a run with nothing new.

Not a test: it prints figures. Usage: ``scripts/dev bench [--records N] [--workdir DIR]``.
The warm figure excludes Spark start-up and JIT warm-up (a first run in the same JVM pays for those),
which is how a Glue job or a long-lived session behaves after its first minute.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bcr.commands.report import default_definitions
from bcr.generate import generate_logs
from bcr.preview.render import write_report
from bedrock_costs.catalog import DEFAULT_CATALOG, load_catalog
from bedrock_costs.discover import discover_local
from bedrock_costs.pipeline import EtlSettings, RunSummary, run_pipeline
from bedrock_costs.profiles import load_profile_file
from bedrock_costs.read import read_local_tails
from bedrock_costs.spark import local_session


def corpus(workdir: Path, records: int, seed: int) -> tuple[Path, dict]:
    """Generate the corpus once per (records, seed); later runs reuse it."""
    logs = workdir / f"logs-{records}-{seed}"
    manifest = logs / "_generator_manifest.json"
    if not manifest.exists():
        shutil.rmtree(logs, ignore_errors=True)
        start = time.perf_counter()
        generate_logs(logs, records=records, seed=seed)
        print(f"generated {records} records in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    return logs, json.loads(manifest.read_text())


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
    )
    return time.perf_counter() - start, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("bench-output"))
    parser.add_argument("--definitions", type=Path, help="dashboard definitions for the report figures")
    args = parser.parse_args()
    logs, manifest = corpus(args.workdir, args.records, args.seed)
    compressed = sum(p.stat().st_size for p in logs.rglob("*.json.gz") if "/data/" not in str(p))
    uncompressed = manifest["bytes_uncompressed"]

    start = time.perf_counter()
    spark = local_session()
    spark_start = time.perf_counter() - start
    cold, _ = timed_run(spark, logs, args.workdir / "tables-cold")
    warm, summary = timed_run(spark, logs, args.workdir / "tables")

    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bcr.cli", "etl", "--logs", str(logs), "--out", str(args.workdir / "tables")],
        check=True,
        capture_output=True,
    )
    incremental = time.perf_counter() - start

    lines = summary.lines_read
    print(
        f"corpus: {lines} records in {manifest['files']} objects, {uncompressed / 1e6:.0f} MB "
        f"({compressed / 1e6:.0f} MB gzip), {uncompressed / max(lines, 1):.0f} B/record"
    )
    print(f"spark start:          {spark_start:6.1f} s")
    print(f"first run (cold JVM): {cold:6.1f} s  {lines / cold:8.0f} records/s")
    print(
        f"warm run:             {warm:6.1f} s  {lines / warm:8.0f} records/s  {uncompressed / 1e6 / warm:6.1f} MB/s "
        f"({compressed / 1e6 / warm:.1f} MB/s gzip)"
    )
    print("  stages: " + ", ".join(f"{k} {v:.1f}s" for k, v in summary.stage_seconds.items()))
    print(f"no new files (whole `bcr etl` process incl. Spark start): {incremental:.1f} s")
    print(f"reconciled: {summary.reconciled}")
    report_figures(args.workdir / "tables", args.definitions or default_definitions(), args.workdir / "report.html")


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
