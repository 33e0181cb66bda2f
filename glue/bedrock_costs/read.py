"""Read delivered log objects into one row per line, and check each gzip object arrived whole.

Spark's line reader keeps the lines of a truncated gzip it could decompress (``ignoreCorruptFiles``)
but says nothing about the damage. The gzip trailer does: its last four bytes hold the uncompressed
size (mod 2**32), so comparing it with the bytes actually read tells a complete object from a damaged
one without decompressing anything twice.

Two kinds of good object fail that quick test: a multi-member gzip (concatenated streams, which Spark
reads whole but whose trailer gives only the last member's size) and an object that starts with a UTF-8
byte-order mark (which Hadoop's line reader drops). Only those rare mismatches are read again in full and
inflated member by member, every member's CRC and size checked, before an object is called damaged.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bedrock_costs.discover import LogObject

TailReader = Callable[[Sequence[LogObject]], Mapping[str, bytes]]
ObjectReader = Callable[[str], bytes | None]
"""The whole object at a local path or ``s3://`` URI, or ``None`` when it cannot be read."""

UTF8_BOM = b"\xef\xbb\xbf"
# Partitions of read lines per core (read_lines): few enough that per-partition set-up stays small, enough
# that the objects' uneven sizes even out over the cores.
LINE_PARTITIONS_PER_CORE = 4


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


def read_local_object(path: str) -> bytes | None:
    """A local file's bytes (the ``ObjectReader`` of local runs), ``None`` if it is gone or unreadable."""
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def local_object_reader(root: str | Path) -> ObjectReader:
    """The ``ObjectReader`` of a run on a local copy of the log bucket: local paths as they are, and an
    ``s3://`` URI (an offloaded body named in a record) as its key under ``root``, never outside it.
    """
    base = Path(root).resolve()

    def read(path: str) -> bytes | None:
        if path.startswith("s3://"):
            key = source_key(path)
            local = (base / key).resolve()
            if not key.startswith("AWSLogs/") or not local.is_relative_to(base):
                return None
            path = str(local)
        return read_local_object(path)

    return read


def _raw_file_key() -> F.Column:
    """``source_key`` of the file a row came from, as the object's raw key.

    ``input_file_name()`` is a URI, so a space or ``%`` in a key comes back percent-encoded; decoding it
    gives the same key the listing, the quarantine and the processed-file state use. ``url_decode`` would
    also turn ``+`` into a space, so a literal ``+`` is protected first.
    """
    uri = F.regexp_extract(F.input_file_name(), r"(AWSLogs/.*)$", 1)
    return F.url_decode(F.replace(uri, F.lit("+"), F.lit("%2B")))


def read_lines(spark: SparkSession, objects: Sequence[LogObject]) -> DataFrame:
    """One row per line: ``source_file``, ``row_id`` (ordered within a file), ``line_bytes``, ``value``.

    Line numbers are derived later from ``row_id`` on the narrow parsed frame (see ``number_lines``)
    so the raw text, which holds prompts, is read once and never cached.

    The lines come in a few large partitions (``LINE_PARTITIONS_PER_CORE`` per core). Spark packs small
    objects into partitions of many files each (the benchmark's 1,762 objects into 56), and what follows
    pays a set-up per partition: the parse's steps that Spark cannot fuse into one generated stage (JSON
    parsing, functions over arrays) generate their code for every partition they run on. Gathered right
    after the read, before the parse, the lines pay that set-up a few times instead of dozens; every later
    pass over the parsed lines costs a few tasks too.
    """
    # Damage is tolerated for this read only (see the module docstring), never for the tables.
    reader = spark.read.option("ignoreCorruptFiles", "true")
    lines = reader.text([obj.path for obj in objects]).select(
        _raw_file_key().alias("source_file"),
        F.monotonically_increasing_id().alias("row_id"),
        F.octet_length("value").alias("line_bytes"),
        "value",
    )
    return lines.coalesce(LINE_PARTITIONS_PER_CORE * spark.sparkContext.defaultParallelism)


@dataclass(frozen=True)
class FileStats:
    """What was read from one object: its line count, bytes and the id of its first row, plus what the
    caller asked ``file_stats`` to gather (distinct values, counts of matching lines).
    """

    lines: int
    bytes_read: int
    first_row: int
    distinct: Mapping[str, frozenset[tuple]] = field(default_factory=dict)
    counted: Mapping[str, int] = field(default_factory=dict)


def file_stats(
    parsed: DataFrame, distinct: Mapping[str, F.Column] | None = None, counted: Mapping[str, F.Column] | None = None
) -> dict[str, FileStats]:
    """``source_file -> FileStats`` in one small aggregate over the parsed frame.

    ``distinct`` names array columns whose elements (structs; a null array adds nothing) are gathered as
    distinct tuples, ``counted`` boolean columns whose true lines are counted: every small fact a run needs
    from its batch comes back with the line counts, in the same Spark job, instead of one job each.
    """
    distinct, counted = distinct or {}, counted or {}
    rows = parsed.groupBy("source_file").agg(
        F.count(F.lit(1)).alias("n"),
        F.sum("line_bytes").alias("b"),
        F.min("row_id").alias("first"),
        *(F.array_distinct(F.flatten(F.collect_set(column))).alias(f"_d_{name}") for name, column in distinct.items()),
        *(F.count_if(column).alias(f"_c_{name}") for name, column in counted.items()),
    )
    return {
        r["source_file"]: FileStats(
            int(r["n"]),
            int(r["b"] or 0),
            int(r["first"]),
            {name: frozenset(tuple(v) for v in r[f"_d_{name}"]) for name in distinct},
            {name: int(r[f"_c_{name}"]) for name in counted},
        )
        for r in rows.collect()
    }


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
            return "object is not a complete gzip stream (no trailer, or a member is damaged or cut short)"
        return (
            f"gzip stream is damaged or truncated: {self.lines} line(s), {self.bytes_read} bytes could be read "
            f"but the trailer promises {self.expected_bytes} bytes; complete lines before the damage were kept"
        )


def gzip_expected_size(tail: bytes) -> int | None:
    """Uncompressed size (mod 2**32) from a gzip trailer, or ``None`` if there is no plausible trailer."""
    if len(tail) < 8:
        return None
    return int(struct.unpack("<I", tail[-4:])[0])


def gzip_text_size(data: bytes) -> int | None:
    """Bytes a line reader sees in a whole gzip object: every member inflated and its CRC and size checked,
    minus a leading UTF-8 byte-order mark (Hadoop's line reader drops it). ``None`` when any member is
    damaged, cut short or followed by bytes that are not another member.
    """
    rest = memoryview(data)
    size, head = 0, b""
    if not rest:
        return None
    while rest:
        member = zlib.decompressobj(wbits=31)  # gzip framing: checks each member's CRC-32 and ISIZE
        pending = rest
        try:
            while not member.eof:
                out = member.decompress(pending, 1 << 20)
                pending = member.unconsumed_tail
                if not out and not pending and not member.eof:
                    return None  # the member is cut short
                size += len(out)
                if len(head) < len(UTF8_BOM):
                    head = (head + out)[: len(UTF8_BOM)]
        except zlib.error:
            return None
        rest = memoryview(member.unused_data)
    return size - len(UTF8_BOM) if head == UTF8_BOM else size


def check_files(
    objects: Sequence[LogObject],
    tails: Mapping[str, bytes],
    stats: Mapping[str, FileStats],
    read_object: ObjectReader | None = None,
) -> list[FileCheck]:
    """Compare every object's trailer with what was read from it (nothing, if it is missing from ``stats``).

    With ``read_object``, an object whose trailer disagrees is read whole and inflated member by member
    (``gzip_text_size``): a multi-member object or one with a byte-order mark is then complete, a damaged
    one is not.
    """
    checks = []
    for obj in objects:
        key = source_key(obj.path)
        read = stats.get(key, FileStats(0, 0, 0))
        check = FileCheck(key, read.lines, read.bytes_read, gzip_expected_size(tails.get(obj.path, b"")))
        if not check.complete and read_object is not None:
            data = read_object(obj.path)
            check = replace(check, expected_bytes=None if data is None else gzip_text_size(data))
        checks.append(check)
    return checks
