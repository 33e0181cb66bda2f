"""``offloaded``: the 1-hour cache-write split from response bodies Bedrock offloaded to the data/ prefix."""

from __future__ import annotations

import gzip
import json

import pytest
import records as r

from bedrock_costs.offloaded import UNREACHABLE, read_ttl_1h, ttl_1h_from_body, with_offloaded_ttl
from bedrock_costs.read import local_object_reader

DATA = f"s3://logs/{r.log_key('2025/08/22/09', 'data')}"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            r.converse_response(1, 2, cache_write=900, cache_details=[(300, "5m"), (600, "1h")]), 600, id="converse"
        ),
        pytest.param(r.converse_response(1, 2, cache_write=900, cache_details=[(900, "5m")]), 0, id="converse-5m-only"),
        pytest.param(r.anthropic_response(3, 4, cache_write=500, cache_1h=200), 200, id="anthropic"),
        pytest.param(r.anthropic_stream(3, 4, cache_write=500, cache_1h=120), 120, id="stream"),
        pytest.param(r.anthropic_response(3, 4, cache_write=500), 0, id="no-ttl-split-reported"),
        pytest.param(r.converse_response(1, 2, cache_write=9, cache_details=[("9", "1h")]), None, id="string-count"),
        pytest.param(r.converse_response(1, 2, cache_write=9, cache_details=[(-9, "1h")]), None, id="negative-count"),
        pytest.param({"usage": {"cacheDetails": "1h"}}, None, id="details-not-a-list"),
        pytest.param({"usage": {"cache_creation": {"ephemeral_1h_input_tokens": True}}}, None, id="bool-count"),
    ],
)
def test_ttl_1h_from_body(body, expected):
    assert ttl_1h_from_body(body) == expected


def test_read_ttl_1h_follows_only_the_data_layout_and_tolerates_damage():
    body = json.dumps(r.anthropic_response(3, 4, cache_write=500, cache_1h=200)).encode()
    objects = {
        f"{DATA}/a_output.json.gz": gzip.compress(body),
        f"{DATA}/plain_output.json": body,
        f"{DATA}/broken_output.json.gz": gzip.compress(body)[:-20],
        f"{DATA}/text_output.json.gz": gzip.compress(b"not json"),
        "s3://logs/elsewhere/a_output.json.gz": gzip.compress(body),
    }
    asked: list[str] = []

    def reader(uri: str) -> bytes | None:
        asked.append(uri)
        return objects.get(uri)

    assert read_ttl_1h(f"{DATA}/a_output.json.gz", reader) == 200
    assert read_ttl_1h(f"{DATA}/plain_output.json", reader) == 200
    assert read_ttl_1h(f"{DATA}/broken_output.json.gz", reader) is None
    assert read_ttl_1h(f"{DATA}/text_output.json.gz", reader) is None
    assert read_ttl_1h(f"{DATA}/missing_output.json.gz", reader) is None
    assert read_ttl_1h("s3://logs/elsewhere/a_output.json.gz", reader) is None
    assert "s3://logs/elsewhere/a_output.json.gz" not in asked


def test_the_local_reader_maps_bucket_keys_into_the_log_folder_only(tmp_path):
    logs = tmp_path / "logs"
    inside = r.write_raw(logs / r.log_key("2025/08/22/09", "data/x_output.json.gz"), b"body")
    r.write_raw(tmp_path / "secret.txt", b"secret")
    read = local_object_reader(logs)
    assert read(f"s3://any-bucket/prefix/{r.log_key('2025/08/22/09', 'data/x_output.json.gz')}") == b"body"
    assert read(str(inside)) == b"body"
    assert read("s3://any-bucket/AWSLogs/../../secret.txt") is None
    assert read("s3://any-bucket/secret.txt") is None
    assert read(f"{DATA}/missing_output.json.gz") is None


FRAME = (
    "request_id string, cache_write_tokens long, cache_write_1h_tokens long, output_body_s3_path string, "
    "parse_warnings array<string>"
)


def test_only_unknown_splits_of_offloaded_bodies_are_read(spark):
    bodies = {
        f"{DATA}/known_output.json.gz": gzip.compress(
            json.dumps(r.converse_response(1, 1, cache_details=[(70, "1h")])).encode()
        )
    }
    asked: list[str] = []

    def reader(uri: str) -> bytes | None:
        asked.append(uri)
        return bodies.get(uri)

    frame = spark.createDataFrame(
        [
            ("filled", 100, None, f"{DATA}/known_output.json.gz", None),
            ("capped", 50, None, f"{DATA}/known_output.json.gz", None),
            ("gone", 100, None, f"{DATA}/gone_output.json.gz", ["identity:wrong_type"]),
            ("split-known", 100, 30, f"{DATA}/other_output.json.gz", None),
            ("no-writes", 0, 0, f"{DATA}/other2_output.json.gz", None),
            ("text-off", 100, None, None, None),
        ],
        FRAME,
    )
    rows = {row.request_id: row for row in with_offloaded_ttl(frame, reader).collect()}
    assert sorted(asked) == [f"{DATA}/gone_output.json.gz", f"{DATA}/known_output.json.gz"]
    assert {rid: (row.cache_write_1h_tokens, row.parse_warnings) for rid, row in rows.items()} == {
        "filled": (70, None),
        "capped": (50, None),
        "gone": (None, ["identity:wrong_type", UNREACHABLE]),
        "split-known": (30, None),
        "no-writes": (0, None),
        "text-off": (None, None),
    }


def test_without_a_reader_offloaded_splits_stay_unknown(spark):
    frame = spark.createDataFrame([("a", 10, None, f"{DATA}/a_output.json.gz", None)], FRAME)
    (row,) = with_offloaded_ttl(frame, None).collect()
    assert (row.cache_write_1h_tokens, row.parse_warnings) == (None, [UNREACHABLE])


def test_nothing_to_read_leaves_the_frame_as_it_was(spark):
    frame = spark.createDataFrame([("a", 10, 3, None, None)], FRAME)
    assert with_offloaded_ttl(frame, None) is frame
