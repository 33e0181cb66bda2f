"""Shared by the end-to-end tests: run `bcr etl`, read the tables back, and forge log objects."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import datetime
from pathlib import Path

from bcr.cli import main
from bedrock_costs.schemas import (
    DAILY_COSTS,
    INVOCATION_TAGS,
    INVOCATIONS,
    PIPELINE_RUNS,
    REJECTED_RECORDS,
    REQUEST_CONFLICTS,
)

SCHEMAS = {
    "invocations": INVOCATIONS,
    "daily_costs": DAILY_COSTS,
    "invocation_tags": INVOCATION_TAGS,
    "rejected_records": REJECTED_RECORDS,
}
# Which run wrote a row, and when: differs between two histories that hold the same data.
LINEAGE = ("run_id", "ingested_at", "detected_at")


PROFILES = "inference_profiles.json"
# What a run's summary and the demo's cost summary print (bedrock_costs/summary.py), in every front end.
SUMMARY_HEADINGS = (
    "reconciled",
    "Total spend",
    "Spend by model",
    "Spend by tenant",
    "Spend by caller",
    "Pricing status",
)


def etl(logs: Path | str, out: Path, *extra: str) -> int:
    return main(["etl", "--logs", str(logs), "--out", str(out), "--profiles", str(Path(logs) / PROFILES), *extra])


def snapshot(spark, out: Path) -> dict[str, list[tuple]]:
    """Every row of every fact table, sorted: equal snapshots mean identical tables."""
    tables = {}
    for name, schema in SCHEMAS.items():
        rows = spark.read.schema(schema).parquet(str(out / name)).collect() if (out / name).exists() else []
        tables[name] = sorted(tuple(str(v) for v in row) for row in rows)
    return tables


def content(spark, out: Path) -> dict[str, list[tuple]]:
    """Like ``snapshot`` without lineage columns, conflicts included: what two histories must agree on."""
    tables = {}
    for name, schema in {**SCHEMAS, "request_conflicts": REQUEST_CONFLICTS}.items():
        if not (out / name).exists():
            tables[name] = []
            continue
        df = spark.read.schema(schema).parquet(str(out / name))
        rows = df.drop(*(c for c in LINEAGE if c in df.columns)).collect()
        tables[name] = sorted(tuple(str(v) for v in row) for row in rows)
    return tables


def runs(spark, out: Path) -> list:
    return (
        spark.read.schema(PIPELINE_RUNS).parquet(str(out / "pipeline_runs")).orderBy("started_at", "run_id").collect()
    )


def file_hashes(out: Path) -> dict[str, str]:
    """Bytes of every table file, except the run records (``pipeline_runs``, ``dq_results``), which even a
    failed run writes."""
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.relative_to(out).parts[0] not in ("pipeline_runs", "dq_results")
    }


def log_objects(logs: Path) -> list[Path]:
    return sorted(p for p in logs.rglob("*.json.gz") if "data" not in p.parts)


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode().splitlines() if line.strip()]


def write_object(logs: Path, records: list[dict], delivered: datetime, name: str) -> Path:
    """A log object in the delivery layout of the first record's account and region."""
    first = records[0]
    folder = (
        logs
        / "AWSLogs"
        / first["accountId"]
        / "BedrockModelInvocationLogs"
        / first["region"]
        / f"{delivered:%Y/%m/%d/%H}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{delivered:%Y%m%dT%H%M%S}000Z_{name}.json.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode(), mtime=0))
    return path
