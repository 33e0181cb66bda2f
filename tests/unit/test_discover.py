"""``discover``: which keys are log batches, the delivery-hour window, and listing a local copy of the bucket."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from records import log_key, write_gz, write_raw

from bedrock_costs.discover import LogObject, UnparsableKeyError, discover_local, in_window, parse_log_key

ACCT = "891377031307"
NAME = "20241120T164851056Z_9b86bf4994c4ab1c.json.gz"
HOUR_DIR = f"AWSLogs/{ACCT}/BedrockModelInvocationLogs/us-east-1/2024/11/20/16"


@pytest.mark.parametrize(
    "path",
    [
        f"s3://bucket/us-east-1/{HOUR_DIR}/{NAME}",
        f"s3://bucket/{HOUR_DIR}/{NAME}",
        f"{HOUR_DIR}/{NAME}",
        f"/home/me/logs/prefix/{HOUR_DIR}/{NAME}",
    ],
)
def test_parse_log_key_reads_account_region_and_delivery_hour(path):
    obj = parse_log_key(path, 1234)
    assert obj == LogObject(
        path=path,
        size=1234,
        account_id=ACCT,
        region="us-east-1",
        delivery_hour=datetime(2024, 11, 20, 16, tzinfo=UTC),
    )
    assert obj.delivery_date == date(2024, 11, 20)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(f"s3://bucket/{HOUR_DIR}/data/19926a63-3c07-4481-864c-49516d208539_input.json.gz", id="data-body"),
        pytest.param(f"s3://bucket/{HOUR_DIR}/data/19926a63_input_media_00.pdf", id="data-media"),
        pytest.param("s3://bucket/prefix/amazon-bedrock-logs-permission-check", id="permission-marker"),
        pytest.param(
            f"s3://bucket/AWSLogs/{ACCT}/BedrockModelInvocationLogs/amazon-bedrock-logs-permission-check",
            id="permission-marker-under-awslogs",
        ),
        pytest.param(f"s3://bucket/{HOUR_DIR}/amazon-bedrock-logs-permission-check.json.gz", id="marker-in-hour-dir"),
        pytest.param(f"s3://bucket/{HOUR_DIR}/20241120T164851056Z_9b86bf4994c4ab1c.json", id="not-gzip"),
        pytest.param(f"s3://bucket/{HOUR_DIR}/20241120T164851056Z_9b86bf4994c4ab1c.gz", id="gz-not-json"),
        pytest.param(
            f"s3://bucket/AWSLogs/{ACCT}/CloudTrail/us-east-1/2024/11/20/{ACCT}_CloudTrail_us-east-1_x.json.gz",
            id="cloudtrail",
        ),
        pytest.param(
            f"s3://bucket/AWSLogs/{ACCT}/elasticloadbalancing/us-east-1/2024/11/20/16/x.json.gz", id="other-service"
        ),
        pytest.param(
            f"s3://bucket/AWSLogs/{ACCT}/BedrockModelInvocationLogs/us-east-1/2024/11/20/{NAME}", id="no-hour-folder"
        ),
        pytest.param(f"s3://bucket/{HOUR_DIR}/", id="folder"),
    ],
)
def test_parse_log_key_skips_everything_that_is_not_a_log_batch(path):
    assert parse_log_key(path, 0) is None


def at(hour: str) -> LogObject:
    """A log object delivered at ``YYYY-MM-DDTHH``."""
    delivered = datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    return LogObject(f"{hour}.json.gz", 1, ACCT, "us-east-1", delivered)


@pytest.mark.parametrize(
    ("hour", "since", "until", "expected"),
    [
        ("2024-11-19T23", date(2024, 11, 20), date(2024, 11, 21), False),
        ("2024-11-20T00", date(2024, 11, 20), date(2024, 11, 21), True),
        ("2024-11-21T23", date(2024, 11, 20), date(2024, 11, 21), True),
        # Records of 23:59 on `until` are delivered in the next day's first hour.
        ("2024-11-22T00", date(2024, 11, 20), date(2024, 11, 21), True),
        ("2024-11-22T01", date(2024, 11, 20), date(2024, 11, 21), False),
        ("2024-11-20T12", date(2024, 11, 20), date(2024, 11, 20), True),
        ("2024-11-21T00", date(2024, 11, 20), date(2024, 11, 20), True),
        ("2024-11-21T01", date(2024, 11, 20), date(2024, 11, 20), False),
        ("2020-01-01T00", None, None, True),
        ("2024-11-19T23", date(2024, 11, 20), None, False),
        ("2099-12-31T23", date(2024, 11, 20), None, True),
        ("2000-01-01T00", None, date(2024, 11, 20), True),
        ("2024-11-21T01", None, date(2024, 11, 20), False),
    ],
)
def test_in_window(hour, since, until, expected):
    assert in_window(at(hour), since, until) is expected


def test_discover_local(tmp_path):
    root = tmp_path / "bucket" / "us-east-1"
    wanted = [
        write_gz(root / log_key("2024/11/20/16", "20241120T164851056Z_aaaa.json.gz", account=ACCT), b"{}\n"),
        write_gz(root / log_key("2024/11/20/00", "20241120T000001000Z_bbbb.json.gz", account=ACCT), b"{}\n{}\n"),
        write_gz(root / log_key("2024/11/21/00", "20241121T000512000Z_cccc.json.gz", region="eu-west-1"), b"{}\n"),
        write_gz(root / log_key("2024/11/20/09", "20241120T090000000Z_dddd.json.gz", account="210987654321"), b""),
    ]
    skipped = [
        write_gz(root / log_key("2024/11/19/23", "20241119T235900000Z_early.json.gz"), b"{}\n"),
        write_gz(root / log_key("2024/11/21/01", "20241121T010000000Z_late.json.gz"), b"{}\n"),
        write_gz(root / log_key("2024/11/20/16", "data/0000-1111_input.json.gz"), b"{}"),
        write_raw(root / log_key("2024/11/20/16", "notes.txt"), b"hi"),
        write_raw(root / "amazon-bedrock-logs-permission-check", b""),
        write_gz(root / f"AWSLogs/{ACCT}/CloudTrail/us-east-1/2024/11/20/16/trail.json.gz", b"{}"),
    ]

    found = discover_local(tmp_path, since=date(2024, 11, 20), until=date(2024, 11, 20))

    assert [obj.path for obj in found] == sorted(str(path) for path in wanted)
    assert {obj.path: obj.size for obj in found} == {str(path): path.stat().st_size for path in wanted}
    by_name = {obj.path.rsplit("/", 1)[1]: obj for obj in found}
    assert by_name["20241121T000512000Z_cccc.json.gz"].region == "eu-west-1"
    assert by_name["20241120T090000000Z_dddd.json.gz"].account_id == "210987654321"
    assert not {str(path) for path in skipped} & {obj.path for obj in found}
    assert len(discover_local(tmp_path)) == len(wanted) + 2, "no window: the early and late batches too"


def test_discover_local_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        discover_local(tmp_path / "nowhere")


def test_discover_local_keeps_a_key_prefix_named_data(tmp_path):
    batch = write_gz(tmp_path / "data" / log_key("2024/11/20/16", "20241120T164851056Z_aaaa.json.gz"), b"{}\n")
    assert [obj.path for obj in discover_local(tmp_path)] == [str(batch)]


@pytest.mark.parametrize(
    ("folder", "why"),
    [
        ("2026/13/01/00", "month must be in 1..12"),
        ("2026/02/30/00", "day is out of range for month"),
        ("2026/11/20/24", "hour must be in 0..23"),
        ("0000/11/20/00", "year 0 is out of range"),
    ],
)
def test_a_log_key_whose_folders_are_no_hour_is_unparsable(folder, why):
    with pytest.raises(UnparsableKeyError, match=f"delivery folder {folder} is not a UTC date and hour .{why}"):
        parse_log_key(f"s3://bucket/AWSLogs/{ACCT}/BedrockModelInvocationLogs/us-east-1/{folder}/{NAME}", 1)


def test_discover_local_reports_and_skips_unparsable_keys(tmp_path):
    good = write_gz(tmp_path / log_key("2024/11/20/16", NAME), b"{}\n")
    stray = write_gz(tmp_path / log_key("2024/13/20/16", NAME), b"{}\n")
    skipped: list[tuple[str, str]] = []
    found = discover_local(tmp_path, skipped=lambda path, why: skipped.append((path, why)))
    assert [obj.path for obj in found] == [str(good)]
    assert [path for path, _ in skipped] == [str(stray)]


def test_discover_local_refuses_a_file(tmp_path):
    batch = write_gz(tmp_path / log_key("2024/11/20/16", NAME), b"{}\n")
    with pytest.raises(NotADirectoryError, match="is a file"):
        discover_local(batch)
