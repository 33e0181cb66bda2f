"""S3 delivery layout: listing, gzip tails and the download cache against a real HTTP moto server on 127.0.0.1,
plus Stubber tests for what moto does not model (access denied, a connection dropped mid-body)."""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer

from bedrock_costs.discover import LogObject, discover_local, parse_log_key
from bedrock_costs.s3_source import (
    SourceError,
    download_objects,
    list_log_objects,
    object_reader,
    parse_s3_uri,
    read_object,
    read_tails,
)

BUCKET = "bcr-test-logs"
URI = f"s3://{BUCKET}/team"
ACCOUNT_A, ACCOUNT_B = "111111111111", "222222222222"
SINCE, UNTIL = date(2025, 3, 1), date(2025, 3, 2)
CLOSED_PORT = "http://127.0.0.1:9"


def log_key(account: str, region: str, hour: datetime, serial: int = 0, prefix: str = "team/") -> str:
    folder = f"{prefix}AWSLogs/{account}/BedrockModelInvocationLogs/{region}/{hour:%Y/%m/%d/%H}"
    return f"{folder}/{hour:%Y%m%dT%H}{serial:02d}00000Z_{serial:016x}.json.gz"


def hour(day: int, hh: int, month: int = 3) -> datetime:
    return datetime(2025, month, day, hh, tzinfo=UTC)


IN_WINDOW = [
    log_key(ACCOUNT_A, "us-east-1", hour(1, 0)),
    log_key(ACCOUNT_A, "us-east-1", hour(1, 10)),
    log_key(ACCOUNT_A, "eu-west-1", hour(2, 23)),
    log_key(ACCOUNT_B, "us-east-1", hour(2, 12), serial=1),
    log_key(ACCOUNT_B, "us-east-1", hour(2, 12), serial=2),
    log_key(ACCOUNT_B, "eu-west-1", hour(3, 0)),  # the hour after `until`: may hold 23:59 records
]
BEFORE = log_key(ACCOUNT_A, "us-east-1", datetime(2025, 2, 28, 23, tzinfo=UTC))
AFTER = [log_key(ACCOUNT_B, "eu-west-1", hour(3, 1)), log_key(ACCOUNT_B, "us-east-1", hour(1, 0, month=4))]
ALL_LOGS = sorted([*IN_WINDOW, BEFORE, *AFTER])
NOISE = [
    log_key(ACCOUNT_A, "us-east-1", hour(1, 10)).rsplit("/", 1)[0] + "/data/7f0c2d9e_input.json.gz",
    "team/amazon-bedrock-logs-permission-check",
    f"team/AWSLogs/{ACCOUNT_A}/BedrockModelInvocationLogs/amazon-bedrock-logs-permission-check",
    f"team/AWSLogs/{ACCOUNT_A}/CloudTrail/us-east-1/2025/03/01/{ACCOUNT_A}_CloudTrail_us-east-1.json.gz",
    log_key(ACCOUNT_A, "us-east-1", hour(1, 10), prefix="other/"),
]
# Laid out like a log batch, but month 13 is no delivery hour: reported and skipped, never fatal.
STRAY = f"team/AWSLogs/{ACCOUNT_A}/BedrockModelInvocationLogs/us-east-1/2025/13/01/00/x.json.gz"


def batch(key: str) -> bytes:
    """A small gzipped log batch whose length differs per key."""
    records = [{"requestId": f"{key}-{n}", "modelId": "amazon.nova-micro-v1:0"} for n in range(1 + len(key) % 5)]
    return gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode(), mtime=0)


def s3_client(endpoint_url: str | None = None, **config) -> object:
    """A client from its own session with fake keys: no real identity, no shared default session."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return session.client("s3", endpoint_url=endpoint_url, config=Config(**config) if config else None)


def recorded(client, operation: str) -> list[dict]:
    """Parameters of every ``operation`` call the client makes from now on."""
    calls: list[dict] = []
    client.meta.events.register(f"provide-client-params.s3.{operation}", lambda params, **_: calls.append(dict(params)))
    return calls


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch, tmp_path):
    """Keep real credentials, profiles and endpoints out of every test."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="module")
def endpoint():
    """moto's S3 over real HTTP, bound to loopback on a free port, with the test layout uploaded once."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    client = s3_client(url)
    client.create_bucket(Bucket=BUCKET)
    for key in [*ALL_LOGS, *NOISE, STRAY]:
        client.put_object(Bucket=BUCKET, Key=key, Body=b"" if "permission-check" in key else batch(key))
    yield url
    server.stop()


@pytest.fixture
def s3(endpoint):
    return s3_client(endpoint)


def paths(keys: list[str]) -> list[str]:
    return sorted(f"s3://{BUCKET}/{key}" for key in keys)


# --- listing --------------------------------------------------------------------------------------------------


def test_window_lists_only_the_days_it_needs(s3):
    listings = recorded(s3, "ListObjectsV2")
    found = list_log_objects(s3, URI, SINCE, UNTIL)
    assert [obj.path for obj in found] == paths(IN_WINDOW)
    first = found[0]
    assert (first.account_id, first.region, first.delivery_hour) == (ACCOUNT_A, "eu-west-1", hour(2, 23))
    assert first.size == len(batch(IN_WINDOW[2]))
    assert all(call.get("Delimiter") == "/" for call in listings)
    opened = {call["Prefix"] for call in listings}
    assert not any(
        fragment in prefix for prefix in opened for fragment in ("2025/02/28/", "2025/03/03/01/", "2025/04/01/")
    )
    assert f"team/AWSLogs/{ACCOUNT_B}/BedrockModelInvocationLogs/eu-west-1/2025/03/03/00/" in opened


def test_without_a_window_lists_every_log_but_no_noise(s3):
    assert [obj.path for obj in list_log_objects(s3, f"s3://{BUCKET}/team/")] == paths(ALL_LOGS)


def test_open_ended_windows(s3):
    since_only = list_log_objects(s3, URI, since=UNTIL)
    assert [obj.path for obj in since_only] == paths([k for k in IN_WINDOW if "/03/01/" not in k] + AFTER)
    until_only = list_log_objects(s3, URI, until=SINCE)
    assert [obj.path for obj in until_only] == paths([BEFORE, *(k for k in IN_WINDOW if "/03/01/" in k)])


@pytest.mark.parametrize("since", [None, date(2025, 12, 1)], ids=["no-window", "window-reaching-month-13"])
def test_a_key_that_is_not_a_delivery_hour_is_reported_and_skipped(s3, since):
    skipped: list[tuple[str, str]] = []
    found = list_log_objects(s3, URI, since=since, skipped=lambda path, why: skipped.append((path, why)))
    assert [obj.path for obj in found] == ([] if since else paths(ALL_LOGS))
    assert skipped == [
        (f"s3://{BUCKET}/{STRAY}", "delivery folder 2025/13/01/00 is not a UTC date and hour (month must be in 1..12)")
    ]


def test_a_uri_naming_an_object_is_refused(s3):
    s3.put_object(Bucket=BUCKET, Key="exports/logs.tar.gz", Body=b"not a prefix")
    with pytest.raises(SourceError, match=r"is an object, not a prefix"):
        list_log_objects(s3, f"s3://{BUCKET}/exports/logs.tar.gz")
    assert list_log_objects(s3, f"s3://{BUCKET}/exports/") == []


def test_a_bucket_without_logs_gives_an_empty_list(s3):
    assert list_log_objects(s3, f"s3://{BUCKET}/nothing-here", SINCE, UNTIL) == []


# --- tails and downloads --------------------------------------------------------------------------------------


def test_tails_are_the_gzip_trailers(s3):
    found = list_log_objects(s3, URI, SINCE, UNTIL)
    empty = LogObject(f"s3://{BUCKET}/never-requested.json.gz", 0, ACCOUNT_A, "us-east-1", hour(1, 0))
    tails = read_tails(s3, [*found, empty])
    assert tails.pop(empty.path) == b""
    for obj in found:
        data = batch(obj.path.removeprefix(f"s3://{BUCKET}/"))
        assert tails[obj.path] == data[-8:]
        assert int.from_bytes(tails[obj.path][4:], "little") == len(gzip.decompress(data))


def test_download_mirrors_bucket_and_key_and_leaves_no_partials(s3, tmp_path):
    found = list_log_objects(s3, URI, SINCE, UNTIL)
    progress: list[tuple[int, int]] = []
    local = download_objects(s3, found, tmp_path, progress=lambda done, total: progress.append((done, total)))

    assert progress == [(n, len(found)) for n in range(1, len(found) + 1)]
    assert [obj.path for obj in local] == [str(tmp_path / obj.path.removeprefix("s3://")) for obj in found]
    for remote, cached in zip(found, local, strict=True):
        assert (cached.size, cached.account_id, cached.region, cached.delivery_hour, cached.etag) == (
            remote.size,
            remote.account_id,
            remote.region,
            remote.delivery_hour,
            remote.etag,
        )
        assert Path(cached.path).read_bytes() == batch(remote.path.removeprefix(f"s3://{BUCKET}/"))
        assert Path(cached.path).with_name(f".{Path(cached.path).name}.etag").read_text() == remote.etag
    assert sorted(discover_local(tmp_path / BUCKET, SINCE, UNTIL)) == sorted(local)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part")]


def test_a_cached_copy_is_trusted_only_with_its_size_and_etag(s3, tmp_path):
    found = list_log_objects(s3, URI, SINCE, UNTIL)
    assert all(obj.etag for obj in found)
    local = download_objects(s3, found, tmp_path)
    gets = recorded(s3, "GetObject")
    assert download_objects(s3, found, tmp_path) == local
    assert gets == []

    truncated, unstamped, rewritten = (Path(obj.path) for obj in local[:3])
    truncated.write_bytes(truncated.read_bytes()[:-8])
    unstamped.with_name(f".{unstamped.name}.etag").unlink()
    # Same size, other bytes: a size check alone would keep the stale copy.
    rewritten_key = found[2].path.removeprefix(f"s3://{BUCKET}/")
    original = batch(rewritten_key)
    s3.put_object(Bucket=BUCKET, Key=rewritten_key, Body=original[:-9] + bytes([original[-9] ^ 1]) + original[-8:])
    try:
        relisted = list_log_objects(s3, URI, SINCE, UNTIL)
        assert relisted[2].size == found[2].size and relisted[2].etag != found[2].etag
        download_objects(s3, relisted, tmp_path)
        assert sorted(call["Key"] for call in gets) == sorted(
            obj.path.removeprefix(f"s3://{BUCKET}/") for obj in found[:3]
        )
        assert all(call.get("IfMatch") for call in gets)
        assert rewritten.read_bytes() != original
        assert truncated.stat().st_size == found[0].size
    finally:
        s3.put_object(Bucket=BUCKET, Key=rewritten_key, Body=original)


def test_an_object_that_changed_after_the_listing_is_not_cached(s3, tmp_path):
    (obj,) = list_log_objects(s3, URI, SINCE, SINCE)[:1]
    stale = replace(obj, etag='"0123456789abcdef0123456789abcdef"')
    with pytest.raises(SourceError, match="changed after it was listed"):
        download_objects(s3, [stale], tmp_path)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_the_same_key_in_two_buckets_is_cached_twice(tmp_path):
    client = s3_client()
    key = IN_WINDOW[0]
    objects = [parse_log_key(f"s3://{bucket}/{key}", 3) for bucket in ("bucket-a", "bucket-b")]
    objects = [replace(obj, etag=f'"{obj.path[5:13]}"') for obj in objects]
    local = []
    for obj, body in zip(objects, (b"aaa", b"bbb"), strict=True):
        bucket = obj.path.split("/")[2]
        with Stubber(client) as stub:
            stub.add_response(
                "get_object",
                {"Body": StreamingBody(io.BytesIO(body), 3), "ContentLength": 3},
                {"Bucket": bucket, "Key": key, "IfMatch": f'"{bucket}"'},
            )
            local += download_objects(client, [obj], tmp_path)
    assert [Path(obj.path).read_bytes() for obj in local] == [b"aaa", b"bbb"]
    assert local[0].path != local[1].path


def test_a_dropped_connection_leaves_no_file(tmp_path):
    client = s3_client()
    obj = parse_log_key(f"s3://{BUCKET}/{IN_WINDOW[0]}", 100)
    with Stubber(client) as stub:
        stub.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(b"\x1f\x8b partial"), 100), "ContentLength": 100},
            {"Bucket": BUCKET, "Key": IN_WINDOW[0]},
        )
        with pytest.raises(SourceError, match=r"cannot download s3://.*: .*"):
            download_objects(client, [obj], tmp_path)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_key_leading_outside_the_cache_is_refused(tmp_path):
    obj = LogObject(f"s3://{BUCKET}/../../escape.json.gz", 10, ACCOUNT_A, "us-east-1", hour(1, 0))
    with pytest.raises(SourceError, match=r"leads outside"):
        download_objects(s3_client(), [obj], tmp_path / "cache")


# --- errors ---------------------------------------------------------------------------------------------------


def test_whole_objects_of_the_log_bucket_only(s3):
    key = IN_WINDOW[0]
    gets = recorded(s3, "GetObject")
    read = object_reader(s3, BUCKET)
    assert read(f"s3://{BUCKET}/{key}") == batch(key)
    assert read(f"s3://{BUCKET}/team/no-such-key") is None
    assert read(f"s3://another-bucket/{key}") is None
    assert [call["Bucket"] for call in gets] == [BUCKET, BUCKET]
    with pytest.raises(SourceError, match="the object is gone"):
        read_object(s3, f"s3://{BUCKET}/team/no-such-key")


def test_missing_bucket(s3):
    with pytest.raises(SourceError, match=r"cannot list s3://no-such-bucket/team/AWSLogs/: the bucket does not exist"):
        list_log_objects(s3, "s3://no-such-bucket/team", SINCE, UNTIL)


def test_unreachable_endpoint():
    client = s3_client(CLOSED_PORT, connect_timeout=1, retries={"total_max_attempts": 1})
    with pytest.raises(SourceError, match=r"S3 at http://127\.0\.0\.1:9 is unreachable"):
        list_log_objects(client, URI)
    obj = parse_log_key(f"s3://{BUCKET}/{IN_WINDOW[0]}", 100)
    with pytest.raises(SourceError, match=r"cannot read s3://.*unreachable"):
        read_tails(client, [obj])


def test_access_denied_names_the_missing_permission():
    client = s3_client()
    obj = parse_log_key(f"s3://{BUCKET}/{IN_WINDOW[0]}", 100)
    with Stubber(client) as stub:
        stub.add_client_error("list_objects_v2", "AccessDenied", "Access Denied", 403)
        with pytest.raises(
            SourceError, match=rf"access denied; the caller needs s3:ListBucket on arn:aws:s3:::{BUCKET}$"
        ):
            list_log_objects(client, URI, SINCE, UNTIL)
        stub.add_client_error("get_object", "AccessDenied", "Access Denied", 403)
        with pytest.raises(SourceError, match=rf"the caller needs s3:GetObject on arn:aws:s3:::{BUCKET}/\*$"):
            read_tails(client, [obj])


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket", ("bucket", "")),
        ("s3://bucket/", ("bucket", "")),
        ("s3://bucket/logs", ("bucket", "logs/")),
        ("s3://bucket/a/b/", ("bucket", "a/b/")),
    ],
)
def test_parse_s3_uri(uri, expected):
    assert parse_s3_uri(uri) == expected


@pytest.mark.parametrize("uri", ["https://bucket/logs", "bucket/logs", "s3://", "s3:///logs", "/tmp/logs"])
def test_non_s3_uris_are_rejected(uri):
    with pytest.raises(ValueError, match=r"s3://bucket/prefix"):
        parse_s3_uri(uri)
    with pytest.raises(SourceError, match=r"s3://bucket/prefix"):
        list_log_objects(s3_client(), uri)


def test_a_uri_inside_the_layout_points_at_the_right_one():
    with pytest.raises(SourceError, match=rf"pass the prefix above it: s3://{BUCKET}/team/$"):
        list_log_objects(s3_client(), f"s3://{BUCKET}/team/AWSLogs/{ACCOUNT_A}/")
