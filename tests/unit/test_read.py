"""``read``: gzip trailers, the completeness check, tails of local files, and line numbering in Spark."""

from __future__ import annotations

import gzip
import struct

import pytest
from records import converse, log_key, to_line, write_gz, write_raw

from bedrock_costs.discover import discover_local, parse_log_key
from bedrock_costs.read import (
    LINE_PARTITIONS_PER_CORE,
    FileCheck,
    check_files,
    file_stats,
    gzip_expected_size,
    gzip_text_size,
    number_lines,
    read_lines,
    read_local_object,
    read_local_tails,
    source_key,
)


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        pytest.param(b"", None, id="empty"),
        pytest.param(b"\x01\x02\x03\x04\x05\x06\x07", None, id="seven-bytes"),
        pytest.param(b"crc!" + struct.pack("<I", 1234), 1234, id="eight-bytes"),
        pytest.param(b"....more....crc!" + struct.pack("<I", 2**32 - 1), 2**32 - 1, id="max"),
        pytest.param(gzip.compress(b"x" * 5000, mtime=0)[-8:], 5000, id="real-trailer"),
    ],
)
def test_gzip_expected_size(tail, expected):
    assert gzip_expected_size(tail) == expected


def check_of(data: bytes) -> FileCheck:
    """What Spark's line reader sees of ``data`` (lines split on LF, CRLF or CR), against its true size."""
    lines = data.splitlines()
    return FileCheck("f", len(lines), sum(len(line) for line in lines), gzip_expected_size(gzip.compress(data)))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'{"a":1}\n{"b":2}\n{"c":3}\n', id="lf"),
        pytest.param(b'{"a":1}\n{"b":2}\n{"c":3}', id="no-final-newline"),
        pytest.param(b'{"a":1}\r\n{"b":2}\r\n{"c":3}\r\n', id="crlf"),
        pytest.param(b'{"a":1}\n\n\n{"b":2}\n', id="blank-lines"),
        pytest.param(b'{"a":1}\n', id="one-line"),
        pytest.param(b'{"a":1}', id="one-line-no-newline"),
        pytest.param(b"", id="empty-object"),
        pytest.param(
            b'{"a":1}\r\n{"b":2}\r\n{"c":3}',
            id="crlf-no-final-newline",
        ),
    ],
)
def test_file_check_complete_for_whole_objects(data):
    assert check_of(data).complete


@pytest.mark.parametrize(
    ("check", "complete"),
    [
        pytest.param(FileCheck("f", 1, 2**32 + 9, 10), True, id="size-mod-2**32"),
        pytest.param(FileCheck("f", 3, 2**33 + 6, 9), True, id="size-mod-2**32-twice"),
        pytest.param(FileCheck("f", 3, 6, 100), False, id="fewer-bytes-than-promised"),
        pytest.param(FileCheck("f", 3, 6, 11), False, id="size-no-line-ending-explains"),
        pytest.param(FileCheck("f", 0, 0, 5), False, id="nothing-read"),
        pytest.param(FileCheck("f", 3, 6, None), False, id="no-trailer"),
    ],
)
def test_file_check_complete(check, complete):
    assert check.complete is complete


def test_file_check_reasons():
    assert "no trailer" in FileCheck("f", 0, 0, None).reason()
    reason = FileCheck("f", 3, 6, 100).reason()
    assert "3 line(s), 6 bytes" in reason
    assert "promises 100 bytes" in reason


KEY = "AWSLogs/1/BedrockModelInvocationLogs/r/2025/01/01/00/x.json.gz"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"s3://bucket/prefix/{KEY}", KEY),
        (f"/tmp/copy/{KEY}", KEY),
        (KEY, KEY),
        ("C:\\logs\\AWSLogs\\1\\x.json.gz", "AWSLogs\\1\\x.json.gz"),
        ("/tmp/elsewhere/x.json.gz", "/tmp/elsewhere/x.json.gz"),
    ],
)
def test_source_key(path, expected):
    assert source_key(path) == expected


def test_read_local_tails(tmp_path):
    big = write_raw(tmp_path / log_key("2025/08/22/09", "big.json.gz"), bytes(range(40)))
    small = write_raw(tmp_path / log_key("2025/08/22/09", "small.json.gz"), b"abc")
    empty = write_raw(tmp_path / log_key("2025/08/22/09", "empty.json.gz"), b"")
    objects = [parse_log_key(str(p), p.stat().st_size) for p in (big, small, empty)]

    assert read_local_tails(objects) == {str(big): bytes(range(32, 40)), str(small): b"abc", str(empty): b""}
    assert read_local_tails(objects[:1], nbytes=3) == {str(big): bytes(range(37, 40))}


def test_read_lines_numbers_lines_per_file_and_detects_truncation(spark, tmp_path):
    lines = [to_line(converse(f"req-{i:03d}", i + 1, 10)) for i in range(300)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    files = {
        "a.json.gz": b"alpha-1\nalpha-2\nalpha-3\n",
        "b.json.gz": b"bravo-1\r\nbravo-2\r\n",
        "c.json.gz": b"charlie-1\n\ncharlie-3",
        "e.json.gz": b"",
    }
    for name, data in files.items():
        write_gz(tmp_path / log_key("2025/08/22/09", name), data)
    write_gz(tmp_path / log_key("2025/08/22/10", "d.json.gz", region="eu-west-1"), b"delta-1\n")
    truncated = write_raw(tmp_path / log_key("2025/08/22/10", "t.json.gz"), whole[: len(whole) // 2])
    objects = discover_local(tmp_path)
    assert len(objects) == 6

    read = read_lines(spark, objects)
    stats = file_stats(read)
    numbered = number_lines(read, stats).collect()

    got: dict[str, list[tuple[int, int, str]]] = {}
    for row in numbered:
        got.setdefault(row["source_file"].rsplit("/", 1)[1], []).append(
            (row["line_number"], row["line_bytes"], row["value"])
        )
    got = {name: sorted(rows) for name, rows in got.items()}
    assert got["a.json.gz"] == [(1, 7, "alpha-1"), (2, 7, "alpha-2"), (3, 7, "alpha-3")]
    assert got["b.json.gz"] == [(1, 7, "bravo-1"), (2, 7, "bravo-2")]
    assert got["c.json.gz"] == [(1, 9, "charlie-1"), (2, 0, ""), (3, 9, "charlie-3")]
    assert got["d.json.gz"] == [(1, 7, "delta-1")]
    assert "e.json.gz" not in got
    # The truncated object keeps its complete lines, numbered from 1, and nothing else.
    kept = got["t.json.gz"]
    assert 0 < len(kept) < len(lines)
    assert kept == [(n, len(lines[n - 1]), lines[n - 1]) for n in range(1, len(kept) + 1)]
    assert {row["source_file"] for row in numbered} == {
        source_key(obj.path) for obj in objects if not obj.path.endswith("e.json.gz")
    }

    checks = {c.source_file.rsplit("/", 1)[1]: c for c in check_files(objects, read_local_tails(objects), stats)}
    assert {name: c.complete for name, c in checks.items()} == {
        "a.json.gz": True,
        "b.json.gz": True,
        "c.json.gz": True,
        "d.json.gz": True,
        "e.json.gz": True,
        "t.json.gz": False,
    }
    assert (checks["a.json.gz"].lines, checks["a.json.gz"].bytes_read, checks["a.json.gz"].expected_bytes) == (
        3,
        21,
        24,
    )
    assert (checks["e.json.gz"].lines, checks["e.json.gz"].bytes_read) == (0, 0)
    assert checks["t.json.gz"].lines == len(kept)
    assert checks["t.json.gz"].source_file == source_key(str(truncated))


def members(*parts: bytes) -> bytes:
    """A multi-member gzip object: each part compressed on its own and concatenated (``cat a.gz b.gz``)."""
    return b"".join(gzip.compress(part, mtime=0) for part in parts)


LINE = b'{"a":1}\n'


@pytest.mark.parametrize(
    ("data", "size"),
    [
        pytest.param(gzip.compress(LINE * 3, mtime=0), 24, id="one-member"),
        pytest.param(members(LINE, LINE * 2, b""), 24, id="three-members-one-empty"),
        pytest.param(gzip.compress(b"\xef\xbb\xbf" + LINE, mtime=0), 8, id="bom-not-counted"),
        pytest.param(members(b"\xef\xbb", b"\xbf" + LINE), 8, id="bom-split-across-members"),
        pytest.param(members(LINE, b"\xef\xbb\xbf" + LINE), 19, id="bom-inside-is-text"),
        pytest.param(gzip.compress(b"", mtime=0), 0, id="empty-member"),
    ],
)
def test_gzip_text_size_of_whole_objects(data, size):
    assert gzip_text_size(data) == size


def _flip_crc(data: bytes) -> bytes:
    return data[:-8] + bytes([data[-8] ^ 0xFF]) + data[-7:]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="zero-bytes"),
        pytest.param(members(LINE * 50, LINE * 50)[:-30], id="last-member-cut"),
        pytest.param(members(LINE * 50)[:12], id="header-only"),
        pytest.param(_flip_crc(members(LINE * 5)), id="crc-mismatch"),
        pytest.param(members(LINE) + b"\x00\x00\x00\x00", id="trailing-zeros"),
        pytest.param(members(LINE) + b"garbage", id="trailing-garbage"),
        pytest.param(LINE, id="not-gzip"),
    ],
)
def test_gzip_text_size_of_damaged_objects(data):
    assert gzip_text_size(data) is None


def test_read_local_object(tmp_path):
    path = write_raw(tmp_path / "x.json.gz", b"abc")
    assert read_local_object(str(path)) == b"abc"
    assert read_local_object(str(tmp_path / "missing.json.gz")) is None


# Objects a naive trailer check flags as damaged although every line arrives: names are raw S3 keys.
GOOD_BUT_ODD = {
    "multi-member.json.gz": members(b'{"n":1}\n{"n":2}\n', b'{"n":3}\n'),
    "bom.json.gz": gzip.compress(b'\xef\xbb\xbf{"n":4}\n{"n":5}\n', mtime=0),
    "with space.json.gz": gzip.compress(b'{"n":6}\n', mtime=0),
    "percent%41 and+plus.json.gz": gzip.compress(b'{"n":7}\n', mtime=0),
    "caf\u00e9.json.gz": gzip.compress(b'{"n":8}\n', mtime=0),
}


def test_multi_member_bom_and_odd_names_are_complete_and_keep_their_raw_key(spark, tmp_path):
    for name, data in GOOD_BUT_ODD.items():
        write_raw(tmp_path / log_key("2025/08/22/09", name), data)
    cut = members(b'{"n":9}\n' * 400, b'{"n":10}\n' * 400)
    write_raw(tmp_path / log_key("2025/08/22/09", "multi-member-cut.json.gz"), cut[: len(cut) - 40])
    objects = discover_local(tmp_path)

    read = read_lines(spark, objects)
    stats = file_stats(read)
    values = {
        (row["source_file"].rsplit("/", 1)[1], row["value"])
        for row in read.collect()
        if "cut" not in row["source_file"]
    }
    # Hadoop's line reader drops the byte-order mark at the start of an object.
    assert values == {
        ("multi-member.json.gz", '{"n":1}'),
        ("multi-member.json.gz", '{"n":2}'),
        ("multi-member.json.gz", '{"n":3}'),
        ("bom.json.gz", '{"n":4}'),
        ("bom.json.gz", '{"n":5}'),
        ("with space.json.gz", '{"n":6}'),
        ("percent%41 and+plus.json.gz", '{"n":7}'),
        ("caf\u00e9.json.gz", '{"n":8}'),
    }
    assert set(stats) == {source_key(obj.path) for obj in objects}

    quick = {
        c.source_file.rsplit("/", 1)[1]: c.complete for c in check_files(objects, read_local_tails(objects), stats)
    }
    # The trailer alone cannot tell: the multi-member and BOM objects disagree with it.
    assert not quick["multi-member.json.gz"] and not quick["bom.json.gz"]
    checks = check_files(objects, read_local_tails(objects), stats, read_local_object)
    assert {c.source_file.rsplit("/", 1)[1]: c.complete for c in checks} == {
        **dict.fromkeys(GOOD_BUT_ODD, True),
        "multi-member-cut.json.gz": False,
    }


def test_many_small_objects_are_read_in_a_few_partitions_and_numbered_per_file(spark, tmp_path):
    """Spark packs small objects 32 to a partition; the parse then pays a set-up per partition, so the
    lines come in at most ``LINE_PARTITIONS_PER_CORE`` partitions per core, each file still numbered 1..n.
    """
    for n in range(300):
        lines = [f"object-{n:03d}-line-{i}" for i in range(1, n % 4 + 2)]
        write_gz(tmp_path / log_key(f"2025/08/22/{n % 24:02d}", f"o{n:03d}.json.gz"), "\n".join(lines).encode())
    objects = discover_local(tmp_path)
    limit = LINE_PARTITIONS_PER_CORE * spark.sparkContext.defaultParallelism
    assert spark.read.text([o.path for o in objects]).rdd.getNumPartitions() > limit  # what Spark would do

    read = read_lines(spark, objects)
    assert read.rdd.getNumPartitions() == limit
    numbered = number_lines(read, file_stats(read)).collect()
    got: dict[str, list[tuple[int, str]]] = {}
    for row in numbered:
        got.setdefault(row["source_file"].rsplit("/", 1)[1], []).append((row["line_number"], row["value"]))
    assert len(got) == 300
    for n in range(300):
        expected = [(i, f"object-{n:03d}-line-{i}") for i in range(1, n % 4 + 2)]
        assert sorted(got[f"o{n:03d}.json.gz"]) == expected
