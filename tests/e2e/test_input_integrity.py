"""End to end: input that is odd but valid is read whole, and input that is wrong never becomes a wrong number.

Every case writes hand-made records (``records.py``, shaped per the log-format reference) into the S3
delivery layout, runs ``bcr etl`` and checks the exit code and the tables; expected values are worked out
here from the records, not by the code under test.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import records as r
from pyspark.sql import functions as F

from bcr.cli import main
from bedrock_costs.schemas import INVOCATIONS, PIPELINE_RUNS, REJECTED_RECORDS

HOUR = "2025/08/22/09"


def write_object(logs: Path, name: str, data: bytes, hour: str = HOUR) -> str:
    """Write one log object; returns its raw key (what every table must call it)."""
    key = r.log_key(hour, name)
    r.write_raw(logs / key, data)
    return key


def gz_lines(*records: dict) -> bytes:
    return gzip.compress("".join(r.to_line(rec) + "\n" for rec in records).encode(), mtime=0)


def etl(logs: Path, out: Path, *extra: str) -> int:
    return main(["etl", "--logs", str(logs), "--out", str(out), *extra])


def table(spark, out: Path, name: str, schema) -> list:
    return spark.read.schema(schema).parquet(str(out / name)).collect()


def test_multi_member_gzip_bom_and_odd_key_names_are_read_whole(tmp_path: Path, spark) -> None:
    logs, out = tmp_path / "logs", tmp_path / "out"
    # `cat a.gz b.gz`: the trailer gives only the second member's size.
    multi = write_object(
        logs, "multi.json.gz", gz_lines(r.counts_only("m-1", 10, 1)) + gz_lines(r.counts_only("m-2", 20, 2))
    )
    bom = write_object(
        logs,
        "bom.json.gz",
        gzip.compress(b"\xef\xbb\xbf" + (r.to_line(r.counts_only("b-1", 30, 3)) + "\n").encode(), mtime=0),
    )
    spaced = write_object(logs, "20250822T094200000Z_0 %41+b.json.gz", gz_lines(r.counts_only("s-1", 40, 4)))

    assert etl(logs, out) == 0

    rows = {row.request_id: row for row in table(spark, out, "invocations", INVOCATIONS)}
    assert {rid: (row.source_file, row.line_number) for rid, row in rows.items()} == {
        "m-1": (multi, 1),
        "m-2": (multi, 2),
        "b-1": (bom, 1),
        "s-1": (spaced, 1),
    }
    assert rows["b-1"].input_tokens == 30
    rejected = table(spark, out, "rejected_records", REJECTED_RECORDS) if (out / "rejected_records").exists() else []
    assert rejected == []
    run = table(spark, out, "pipeline_runs", PIPELINE_RUNS)[0]
    assert (run.files_corrupt, run.lines_read, run.rows_written, run.reconciled) == (0, 4, 4, True)
    # The processed state names the same raw keys: a second run finds nothing new.
    assert etl(logs, out) == 0
    runs = spark.read.schema(PIPELINE_RUNS).parquet(str(out / "pipeline_runs")).orderBy("started_at", "run_id")
    assert runs.select(F.col("files_new")).collect()[-1][0] == 0
