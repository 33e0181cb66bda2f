"""Read delivered log objects into one row per line, and check each gzip object arrived whole.

Spark's line reader keeps the lines of a truncated gzip it could decompress (``ignoreCorruptFiles``)
but says nothing about the damage. The gzip trailer does: its last four bytes hold the uncompressed
size (mod 2**32), so comparing it with the bytes actually read tells a complete object from a damaged
one without decompressing anything twice.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bedrock_costs.discover import LogObject

TailReader = Callable[[Sequence[LogObject]], Mapping[str, bytes]]


def source_key(path: str) -> str:
    """The object key from ``AWSLogs/`` on: the same for an S3 object and its local copy."""
    index = path.replace("\\", "/").find("AWSLogs/")
    return path[index:] if index >= 0 else path


def read_local_tails(objects: Sequence[LogObject], nbytes: int = 8) -> dict[str, bytes]:
    """Last ``nbytes`` of each local file, keyed by path."""
    tails: dict[str, bytes] = {}
    for obj in objects:
        with Path(obj.path).open("rb") as handle:
            if obj.size > nbytes:
                handle.seek(obj.size - nbytes)
            tails[obj.path] = handle.read()
    return tails


def read_lines(spark: SparkSession, objects: Sequence[LogObject]) -> DataFrame:
    """One row per line: ``source_file``, ``row_id`` (ordered within a file), ``line_bytes``, ``value``.

    Line numbers are derived later from ``row_id`` on the narrow parsed frame (see ``number_lines``)
    so the raw text, which holds prompts, is read once and never cached.
    """
    # Damage is tolerated for this read only (see the module docstring), never for the tables.
    reader = spark.read.option("ignoreCorruptFiles", "true")
    return reader.text([obj.path for obj in objects]).select(
        F.regexp_extract(F.input_file_name(), r"(AWSLogs/.*)$", 1).alias("source_file"),
        F.monotonically_increasing_id().alias("row_id"),
        F.octet_length("value").alias("line_bytes"),
        "value",
    )


@dataclass(frozen=True)
class FileStats:
    """What was read from one object: its line count, bytes and the id of its first row."""

    lines: int
    bytes_read: int
    first_row: int


def file_stats(parsed: DataFrame) -> dict[str, FileStats]:
    """``source_file -> FileStats`` in one small aggregate over the parsed frame."""
    rows = parsed.groupBy("source_file").agg(
        F.count(F.lit(1)).alias("n"), F.sum("line_bytes").alias("b"), F.min("row_id").alias("first")
    )
    return {r["source_file"]: FileStats(int(r["n"]), int(r["b"] or 0), int(r["first"])) for r in rows.collect()}


def number_lines(parsed: DataFrame, stats: Mapping[str, FileStats]) -> DataFrame:
    """Replace ``row_id`` with a 1-based ``line_number``: gzip objects are not split, so a file's rows
    carry consecutive ids starting at its first row's.
    """
    firsts = parsed.sparkSession.createDataFrame(
        [(name, s.first_row) for name, s in stats.items()], "source_file string, _first_row long"
    )
    line = (F.col("row_id") - F.col("_first_row") + 1).alias("line_number")
    return parsed.join(F.broadcast(firsts), "source_file").select("*", line).drop("_first_row", "row_id")


@dataclass(frozen=True)
class FileCheck:
    """How much of one object was read, against what its gzip trailer promises."""

    source_file: str
    lines: int
    bytes_read: int
    expected_bytes: int | None

    @property
    def complete(self) -> bool:
        if self.expected_bytes is None:
            return False
        mod = 2**32
        # Lines are read without their terminator: "\n" or "\r\n" after every line, or after all but the last.
        n, read = self.lines, self.bytes_read
        candidates = (read + n, read + n - 1, read + 2 * n, read + 2 * n - 2)
        return any(c % mod == self.expected_bytes for c in candidates if c >= 0)

    def reason(self) -> str:
        if self.expected_bytes is None:
            return "object is too short to be gzip (no trailer)"
        return (
            f"gzip stream is damaged or truncated: {self.lines} line(s), {self.bytes_read} bytes could be read "
            f"but the trailer promises {self.expected_bytes} bytes; complete lines before the damage were kept"
        )


def gzip_expected_size(tail: bytes) -> int | None:
    """Uncompressed size (mod 2**32) from a gzip trailer, or ``None`` if there is no plausible trailer."""
    if len(tail) < 8:
        return None
    return int(struct.unpack("<I", tail[-4:])[0])


def check_files(
    objects: Sequence[LogObject], tails: Mapping[str, bytes], stats: Mapping[str, FileStats]
) -> list[FileCheck]:
    """Compare every object's trailer with what was read from it (nothing, if it is missing from ``stats``)."""
    checks = []
    for obj in objects:
        key = source_key(obj.path)
        read = stats.get(key, FileStats(0, 0, 0))
        checks.append(FileCheck(key, read.lines, read.bytes_read, gzip_expected_size(tails.get(obj.path, b""))))
    return checks
