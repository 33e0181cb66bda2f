"""``parse.parse_lines``: every operation and body shape, every reject reason, and no prompt text kept.

All cases run through one DataFrame; every accepted record is parsed twice, in the 2024 and the 2025+ key
order, and both must give the same row.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest
import records as r
from pyspark.sql import functions as F

from bedrock_costs.parse import REJECT_REASONS, parse_lines

OLD = "~old-order"
COLUMNS = (
    "status",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "total_tokens",
    "latency_ms",
    "stop_reason",
    "guardrail_intervened",
)


def without(rec: dict, *paths: str) -> dict:
    """A copy of ``rec`` without the dotted ``paths`` (e.g. ``input.inputTokenCount``)."""
    rec = copy.deepcopy(rec)
    for path in paths:
        *parents, leaf = path.split(".")
        node = rec
        for parent in parents:
            node = node[parent]
        del node[leaf]
    return rec


def with_body_usage(rec: dict, **usage: int) -> dict:
    rec = copy.deepcopy(rec)
    rec["output"]["outputBodyJson"]["usage"].update(usage)
    return rec


# id -> (record, expected columns in COLUMNS order). Hand-computed from the builders' arguments.
ACCEPTED = {
    "converse-top-level-cache": (
        r.converse("converse-top-level-cache", 1000, 500, cache_read=2000, cache_write=3000),
        ("success", 1000, 2000, 3000, 0, 500, 6500, 812, "end_turn", False),
    ),
    "converse-body-cache-details": (
        r.converse(
            "converse-body-cache-details",
            1000,
            500,
            cache_read=2000,
            cache_write=3000,
            top_level_cache=False,
            cache_details=[(2000, "5m"), (600, "1h"), (400, "1h")],
        ),
        ("success", 1000, 2000, 3000, 1000, 500, 6500, 812, "end_turn", False),
    ),
    "converse-top-level-wins": (
        with_body_usage(
            r.converse("converse-top-level-wins", 10, 20, cache_read=30, cache_write=40),
            inputTokens=9999,
            outputTokens=9999,
            cacheReadInputTokens=9999,
            cacheWriteInputTokens=9999,
        ),
        ("success", 10, 30, 40, 0, 20, 100, 812, "end_turn", False),
    ),
    "converse-1h-capped-at-writes": (
        r.converse("converse-1h-capped-at-writes", 5, 5, cache_read=0, cache_write=100, cache_details=[(300, "1h")]),
        ("success", 5, 0, 100, 100, 5, 110, 812, "end_turn", False),
    ),
    "converse-stream": (
        r.converse("converse-stream", 10, 20, operation="ConverseStream", stop_reason="max_tokens", latency_ms=99),
        ("success", 10, 0, 0, 0, 20, 30, 99, "max_tokens", False),
    ),
    "invoke-anthropic-1h": (
        r.invoke_anthropic(
            "invoke-anthropic-1h", 3, 400, cache_read=1200, cache_write=31814, cache_1h=20000, guardrail_action="NONE"
        ),
        ("success", 3, 1200, 31814, 20000, 400, 33417, None, "end_turn", False),
    ),
    "invoke-anthropic-top-level-cache": (
        r.invoke_anthropic(
            "invoke-anthropic-top-level-cache", 7, 8, cache_read=9, cache_write=10, top_level_cache=True
        ),
        ("success", 7, 9, 10, 0, 8, 34, None, "end_turn", False),
    ),
    "invoke-stream": (
        r.invoke_stream_anthropic(
            "invoke-stream", 12, 345, cache_read=100, cache_write=50, cache_1h=20, deltas=80, stop_reason="max_tokens"
        ),
        ("success", 12, 100, 50, 20, 345, 507, 2345, "max_tokens", False),
    ),
    "invoke-stream-body-only": (
        r.invoke_stream_anthropic(
            "invoke-stream-body-only",
            12,
            345,
            top_level_counts=False,
            cache_read=100,
            cache_write=50,
            cache_1h=20,
            deltas=120,
            stop_reason="tool_use",
        ),
        ("success", 12, 100, 50, 20, 345, 507, 2345, "tool_use", False),
    ),
    "invoke-stream-short-no-done": (
        r.invoke_stream_anthropic("invoke-stream-short-no-done", 4, 6, top_level_counts=False, deltas=1, done=False),
        ("success", 4, 0, 0, 0, 6, 10, 2345, "end_turn", False),
    ),
    "invoke-stream-guardrail": (
        r.invoke_stream_anthropic(
            "invoke-stream-guardrail", 30, 2, guardrail_action="INTERVENED", stop_reason="guardrail_intervened"
        ),
        ("success", 30, 0, 0, 0, 2, 32, 2345, "guardrail_intervened", True),
    ),
    "titan-embedding": (
        r.titan_embedding("titan-embedding", 7),
        ("success", 7, 0, 0, 0, None, 7, None, None, False),
    ),
    "converse-body-only": (
        without(r.converse("converse-body-only", 11, 22), "input.inputTokenCount", "output.outputTokenCount"),
        ("success", 11, 0, 0, 0, 22, 33, 812, "end_turn", False),
    ),
    "invoke-anthropic-body-only": (
        without(
            r.invoke_anthropic("invoke-anthropic-body-only", 13, 14, cache_read=15, cache_write=16, cache_1h=6),
            "input.inputTokenCount",
            "output.outputTokenCount",
        ),
        ("success", 13, 15, 16, 6, 14, 58, None, "end_turn", False),
    ),
    "titan-embedding-body-only": (
        without(r.titan_embedding("titan-embedding-body-only", 9), "input.inputTokenCount"),
        ("success", 9, 0, 0, 0, None, 9, None, None, False),
    ),
    "llama": (r.llama("llama", 30, 40), ("success", 30, 0, 0, 0, 40, 70, None, "stop", False)),
    "llama-body-only": (
        without(r.llama("llama-body-only", 31, 41), "input.inputTokenCount", "output.outputTokenCount"),
        ("success", 31, 0, 0, 0, 41, 72, None, "stop", False),
    ),
    "text-delivery-off": (
        r.counts_only("text-delivery-off", 5, 6),
        ("success", 5, 0, 0, 0, 6, 11, None, None, False),
    ),
    "no-counts-at-all": (
        r.record("no-counts-at-all"),
        ("success", None, 0, 0, 0, None, None, None, None, False),
    ),
    "offloaded-bodies": (
        r.offloaded("offloaded-bodies", 150000, 900),
        ("success", 150000, 0, 0, 0, 900, 150900, None, None, False),
    ),
    "failed": (r.failed("failed"), ("error", 0, 0, 0, 0, 0, 0, None, None, False)),
    "guardrail-converse": (
        r.converse("guardrail-converse", 0, 0, stop_reason="guardrail_intervened"),
        ("success", 0, 0, 0, 0, 0, 0, 812, "guardrail_intervened", True),
    ),
    "guardrail-anthropic": (
        r.invoke_anthropic("guardrail-anthropic", 10, 0, guardrail_action="INTERVENED"),
        ("success", 10, 0, 0, 0, 0, 10, None, "end_turn", True),
    ),
    "tier-flex": (
        r.converse("tier-flex", 1, 2, service_tier="flex"),
        ("success", 1, 0, 0, 0, 2, 3, 812, "end_turn", False),
    ),
    "tier-priority-upper": (
        r.converse("tier-priority-upper", 1, 2, service_tier="PRIORITY"),
        ("success", 1, 0, 0, 0, 2, 3, 812, "end_turn", False),
    ),
    "tier-default": (
        r.converse("tier-default", 1, 2, service_tier="default"),
        ("success", 1, 0, 0, 0, 2, 3, 812, "end_turn", False),
    ),
    "rerouted-with-metadata": (
        r.counts_only(
            "rerouted-with-metadata",
            1,
            1,
            model_id=f"us.{r.SONNET}",
            inferenceRegion="us-west-2",
            requestMetadata={"TenantID": "acme", "env": "prod"},
            timestamp="2025-08-22T23:59:59.250Z",
        ),
        ("success", 1, 0, 0, 0, 1, 2, None, None, False),
    ),
}
SERVICE_TIERS = {"tier-flex": "flex", "tier-priority-upper": "priority", "tier-default": "standard"}

VALID = r.to_line(r.converse("truncated", 1, 1))
REJECTED = {
    "blank-empty": ("", "blank_line"),
    "blank-spaces": ("    ", "blank_line"),
    "truncated-json": (VALID[: len(VALID) // 2], "malformed_json"),
    "not-json": ("this is not json", "malformed_json"),
    "json-array": ("[]", "malformed_json"),
    "json-array-of-records": (f"[{VALID}]", "malformed_json"),
    "json-number": ("5", "malformed_json"),
    "json-string": ('"ModelInvocationLog"', "malformed_json"),
    "json-null": ("null", "malformed_json"),
    # A syntax error inside a nested object: Spark keeps the requestId it read before it.
    "nested-syntax-error": (
        '{"requestId":"syntax-1","timestamp":"2025-08-22T09:41:06Z","input":{"a":1,,}}',
        "malformed_json",
    ),
    "wrong-schema-type": (
        r.to_line(r.record("schema-1", schemaType="ModelInvocationLogV2")),
        "not_invocation_log",
    ),
    "missing-request-id": (r.to_line(r.record(None)), "missing_request_id"),
    "empty-request-id": (r.to_line(r.record("")), "missing_request_id"),
    "blank-request-id": (r.to_line(r.record("   ")), "missing_request_id"),
    "missing-timestamp": (r.to_line(without(r.record("ts-1"), "timestamp")), "bad_timestamp"),
    "timestamp-garbage": (r.to_line(r.record("ts-2", timestamp="yesterday")), "bad_timestamp"),
    "timestamp-month-13": (r.to_line(r.record("ts-3", timestamp="2025-13-01T00:00:00Z")), "bad_timestamp"),
    "timestamp-epoch": (r.to_line(r.record("ts-4", timestamp=1755855666)), "bad_timestamp"),
    # Spark's own parser would read these as midnight, or as local time.
    "timestamp-year-only": (r.to_line(r.record("ts-5", timestamp="2026")), "bad_timestamp"),
    "timestamp-date-only": (r.to_line(r.record("ts-6", timestamp="2026-01-01")), "bad_timestamp"),
    "timestamp-no-zone": (r.to_line(r.record("ts-7", timestamp="2025-08-22T09:41:06")), "bad_timestamp"),
    "timestamp-no-seconds": (r.to_line(r.record("ts-8", timestamp="2025-08-22T09:41Z")), "bad_timestamp"),
}


def with_field(rec: dict, path: str, value: object) -> dict:
    """A copy of ``rec`` with the dotted ``path`` set to ``value`` (parents must exist)."""
    rec = copy.deepcopy(rec)
    *parents, leaf = path.split(".")
    node = rec
    for parent in parents:
        node = node[parent]
    node[leaf] = value
    return rec


def stream_with_metrics(request_id: str, **metrics: object) -> dict:
    """A body-only InvokeModelWithResponseStream record whose final invocation metrics are overridden."""
    rec = r.invoke_stream_anthropic(request_id, 12, 345, top_level_counts=False, cache_read=100, cache_write=50)
    chunks = rec["output"]["outputBodyJson"]
    stop = next(c for c in chunks if isinstance(c, dict) and c.get("type") == "message_stop")
    stop["amazon-bedrock-invocationMetrics"].update(metrics)
    return rec


def duplicate_metadata_line(request_id: str) -> str:
    """``json.dumps`` cannot repeat a key, a caller's header can: splice the repeated key in by hand."""
    line = r.to_line(r.counts_only(request_id, 5, 6, requestMetadata={"team": "first", "env": "prod"}))
    return line.replace('"team": "first"', '"team": "first", "TenantID": "acme", "team": "last"')


TIER_1H_OFFLOADED = r.record(
    "offloaded-cache-write",
    input=r.log_input(7, cache_read=0, cache_write=900),
    output=r.log_output(
        40, s3_path=f"s3://logs/{r.log_key('2025/08/22/09', 'data/offloaded-cache-write_output.json.gz')}"
    ),
)
# id -> (line, expected columns in COLUMNS order, parse_warnings): kept with the field nulled, never rejected.
WARNED = {
    "token-count-string": (
        r.to_line(r.converse("token-count-string", 11, 22) | {"input": r.log_input("many", body={})}),
        ("success", None, 0, 0, 0, 22, None, 812, "end_turn", False),
        ["input.inputTokenCount:wrong_type"],
    ),
    # Numbers in quotes are a type change too: the count is unknown, not guessed.
    "token-count-quoted": (
        r.to_line(with_field(r.counts_only("token-count-quoted", 5, 6), "output.outputTokenCount", "6")),
        ("success", 5, 0, 0, 0, None, None, None, None, False),
        ["output.outputTokenCount:wrong_type"],
    ),
    "token-count-float": (
        r.to_line(with_field(r.counts_only("token-count-float", 5, 6), "input.inputTokenCount", 12.5)),
        ("success", None, 0, 0, 0, 6, None, None, None, False),
        ["input.inputTokenCount:wrong_type"],
    ),
    "latency-float": (
        r.to_line(with_field(r.converse("latency-float", 10, 20), "output.outputBodyJson.metrics.latencyMs", 812.5)),
        ("success", 10, 0, 0, 0, 20, 30, None, "end_turn", False),
        ["output.outputBodyJson.metrics.latencyMs:wrong_type"],
    ),
    "metadata-not-object": (
        r.to_line(r.counts_only("metadata-not-object", 1, 2, requestMetadata="team=a")),
        ("success", 1, 0, 0, 0, 2, 3, None, None, False),
        ["requestMetadata:wrong_type"],
    ),
    # The top-level count wins over the body's, so the body's unreadable one does not matter.
    "body-usage-wrong-type": (
        r.to_line(with_body_usage(r.converse("body-usage-wrong-type", 1, 1), inputTokens="1")),
        ("success", 1, 0, 0, 0, 1, 2, 812, "end_turn", False),
        ["output.outputBodyJson.usage.inputTokens:wrong_type"],
    ),
    # ... but where the body is the source, its unreadable count is not replaced by a later fallback.
    "body-only-usage-wrong-type": (
        r.to_line(
            with_body_usage(
                without(r.converse("body-only-usage-wrong-type", 3, 4), "input.inputTokenCount"), inputTokens=[3]
            )
        ),
        ("success", None, 0, 0, 0, 4, None, 812, "end_turn", False),
        ["output.outputBodyJson.usage.inputTokens:wrong_type"],
    ),
    "identity-not-object-old-order": (
        r.to_line(r.counts_only("identity-not-object-old-order", 1, 1, identity="arn:aws:iam::1:user/x"), "old"),
        ("success", 1, 0, 0, 0, 1, 2, None, None, False),
        ["identity:wrong_type"],
    ),
    "output-not-object": (
        r.to_line(r.record("output-not-object", input=r.log_input(9), output="offloaded")),
        ("success", 9, None, None, None, None, None, None, None, False),
        ["output:wrong_type"],
    ),
    "cache-write-string": (
        r.to_line(
            with_body_usage(
                with_field(
                    r.converse("cache-write-string", 1, 2, cache_read=0, cache_write=900),
                    "input.cacheWriteInputTokenCount",
                    "900",
                ),
                cacheWriteInputTokens="900",
            )
        ),
        ("success", 1, 0, None, None, 2, None, 812, "end_turn", False),
        ["input.cacheWriteInputTokenCount:wrong_type", "output.outputBodyJson.usage.cacheWriteInputTokens:wrong_type"],
    ),
    "stream-metric-string": (
        r.to_line(stream_with_metrics("stream-metric-string", outputTokenCount="345")),
        ("success", 12, 100, 50, 0, None, None, 2345, "end_turn", False),
        ["output.outputBodyJson[].amazon-bedrock-invocationMetrics.outputTokenCount:wrong_type"],
    ),
    "ttl-detail-string": (
        r.to_line(
            r.converse(
                "ttl-detail-string", 1, 2, cache_read=0, cache_write=1000, cache_details=[(400, "5m"), ("600", "1h")]
            )
        ),
        ("success", 1, 0, 1000, None, 2, 1003, 812, "end_turn", False),
        ["output.outputBodyJson.usage.cacheDetails[].inputTokens:wrong_type"],
    ),
    "negative-count": (
        r.to_line(r.counts_only("negative-count", -5, 6)),
        ("success", None, 0, 0, 0, 6, None, None, None, False),
        ["input.inputTokenCount:out_of_range"],
    ),
    # 5e18 fits a long; summed with the other classes it would wrap negative.
    "count-5e18": (
        r.to_line(r.counts_only("count-5e18", 5 * 10**18, 6)),
        ("success", None, 0, 0, 0, 6, None, None, None, False),
        ["input.inputTokenCount:out_of_range"],
    ),
    "count-1e12": (
        r.to_line(r.counts_only("count-1e12", 7, 10**12)),
        ("success", 7, 0, 0, 0, None, None, None, None, False),
        ["output.outputTokenCount:out_of_range"],
    ),
    "count-beyond-64-bits": (
        r.to_line(r.counts_only("count-beyond-64-bits", 10**20, 6)),
        ("success", None, 0, 0, 0, 6, None, None, None, False),
        ["input.inputTokenCount:out_of_range"],
    ),
    "duplicate-metadata-key": (
        duplicate_metadata_line("duplicate-metadata-key"),
        ("success", 5, 0, 0, 0, 6, 11, None, None, False),
        ["requestMetadata:duplicate_key"],
    ),
}
# Records whose 1-hour cache split cannot be read from the line: null, never silently 5-minute.
UNKNOWN_TTL = {
    "offloaded-cache-write": (
        r.to_line(TIER_1H_OFFLOADED),
        ("success", 7, 0, 900, None, 40, 947, None, None, False),
    ),
    "text-off-cache-write": (
        r.to_line(
            r.record(
                "text-off-cache-write", input=r.log_input(7, cache_read=5, cache_write=900), output=r.log_output(40)
            )
        ),
        ("success", 7, 5, 900, None, 40, 952, None, None, False),
    ),
    "bom-before-the-record": (
        "\ufeff" + r.to_line(r.counts_only("bom-before-the-record", 3, 4)),
        ("success", 3, 0, 0, 0, 4, 7, None, None, False),
    ),
}
# Lines that look almost right: whitespace other than spaces, and text after the record.
ALMOST_RECORDS = {
    "tab-only": "\t",
    "two-records-on-one-line": r.to_line(r.counts_only("concat-1", 1, 1)) + r.to_line(r.counts_only("concat-2", 1, 1)),
    "trailing-garbage": r.to_line(r.counts_only("trailing-1", 1, 1)) + " garbage",
}


@pytest.fixture(scope="module")
def parsed(spark):
    """Parse every case in one DataFrame; rows keyed by case id (old-order copies suffixed ``OLD``)."""
    cases: list[tuple[str, str]] = []
    for case_id, (rec, _) in ACCEPTED.items():
        cases.append((case_id, r.to_line(rec, "new")))
        cases.append((case_id + OLD, r.to_line(rec, "old")))
    cases += [(case_id, line) for case_id, (line, _) in REJECTED.items()]
    cases += [(case_id, line) for case_id, (line, *_) in (WARNED | UNKNOWN_TTL).items()]
    cases += list(ALMOST_RECORDS.items())
    frame = parse_lines(r.lines_frame(spark, [line for _, line in cases]))
    rows = frame.withColumn("_event", F.date_format("event_time", "yyyy-MM-dd'T'HH:mm:ss.SSS")).collect()
    return {cases[row["row_id"]][0]: row.asDict(recursive=True) for row in rows}


@pytest.mark.parametrize("case_id", list(ACCEPTED))
def test_accepted_record(parsed, case_id):
    rec, expected = ACCEPTED[case_id]
    row = parsed[case_id]
    assert row["reject_reason"] is None
    assert row["request_id"] == case_id
    assert row["operation"] == rec["operation"]
    assert row["model_id_raw"] == rec["modelId"]
    assert (row["account_id"], row["region"], row["principal_arn"]) == (r.ACCOUNT, r.REGION, r.ROLE_ARN)
    assert tuple(row[column] for column in COLUMNS) == expected
    assert row["service_tier"] == SERVICE_TIERS.get(case_id, "standard")
    assert row["source_file"] == "AWSLogs/test.json.gz"


@pytest.mark.parametrize("case_id", list(ACCEPTED))
def test_key_order_does_not_matter(parsed, case_id):
    new, old = dict(parsed[case_id]), dict(parsed[case_id + OLD])
    for row in (new, old):
        del row["row_id"], row["line_bytes"]
    assert old == new


def test_event_time_region_and_metadata(parsed):
    row = parsed["rerouted-with-metadata"]
    assert row["_event"] == "2025-08-22T23:59:59.250"
    assert (row["region"], row["inference_region"]) == ("us-east-1", "us-west-2")
    assert row["request_metadata"] == {"TenantID": "acme", "env": "prod"}
    plain = parsed["converse-top-level-cache"]
    assert plain["_event"] == "2025-08-22T09:41:06.000"
    assert plain["inference_region"] == plain["region"] == "us-east-1"
    assert plain["request_metadata"] is None
    assert isinstance(plain["event_time"], datetime)


def test_failed_call(parsed):
    row = parsed["failed"]
    assert (row["status"], row["error_code"]) == ("error", "ThrottlingException")
    assert all(parsed[case_id]["error_code"] is None for case_id in ACCEPTED if case_id != "failed")


@pytest.mark.parametrize(("case_id", "reason"), [(case_id, reason) for case_id, (_, reason) in REJECTED.items()])
def test_rejected_line(parsed, case_id, reason):
    assert parsed[case_id]["reject_reason"] == reason


def test_every_reject_reason_is_covered():
    assert {reason for _, reason in REJECTED.values()} == set(REJECT_REASONS)


@pytest.mark.parametrize("case_id", list(WARNED))
def test_an_unreadable_field_is_nulled_and_named_not_rejected(parsed, case_id):
    _, expected, warnings = WARNED[case_id]
    row = parsed[case_id]
    assert (row["reject_reason"], row["request_id"]) == (None, case_id)
    assert tuple(row[column] for column in COLUMNS) == expected
    assert row["parse_warnings"] == sorted(warnings)


def test_a_nulled_field_leaves_the_rest_of_the_record(parsed):
    assert parsed["identity-not-object-old-order"]["principal_arn"] is None
    assert parsed["metadata-not-object"]["request_metadata"] is None
    assert parsed["latency-float"]["model_id_raw"] == r.SONNET
    assert parsed["latency-float"]["_event"] == "2025-08-22T09:41:06.000"


def test_a_repeated_metadata_key_keeps_the_last_value(parsed):
    assert parsed["duplicate-metadata-key"]["request_metadata"] == {"team": "last", "TenantID": "acme", "env": "prod"}


@pytest.mark.parametrize("case_id", list(UNKNOWN_TTL))
def test_unknown_ttl_split_and_bom(parsed, case_id):
    row = parsed[case_id]
    assert (row["reject_reason"], row["parse_warnings"]) == (None, None)
    assert tuple(row[column] for column in COLUMNS) == UNKNOWN_TTL[case_id][1]


def test_the_offloaded_body_path_is_kept_for_the_ttl_lookup(parsed):
    assert parsed["offloaded-cache-write"]["output_body_s3_path"] == TIER_1H_OFFLOADED["output"]["outputBodyS3Path"]
    assert parsed["text-off-cache-write"]["output_body_s3_path"] is None


def test_clean_records_have_no_warnings(parsed):
    assert {case_id: parsed[case_id]["parse_warnings"] for case_id in ACCEPTED} == dict.fromkeys(ACCEPTED)


def test_line_bytes_is_the_utf8_length(parsed):
    assert parsed["blank-spaces"]["line_bytes"] == 4
    assert parsed["json-array"]["line_bytes"] == 2


def _strings(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif value is not None:
        yield str(value)


def test_no_prompt_or_response_text_in_any_column(parsed):
    """Every body text field holds the sentinel; no parsed column may carry it, for any line."""
    assert r.SENTINEL in json.dumps(ACCEPTED["invoke-stream"][0])
    leaks = {
        (case_id, column)
        for case_id, row in parsed.items()
        for column, value in row.items()
        if any(r.SENTINEL in text for text in _strings(value))
    }
    assert leaks == set()


def test_tab_only_line_is_blank(parsed):
    assert parsed["tab-only"]["reject_reason"] == "blank_line"


@pytest.mark.parametrize("case_id", ["two-records-on-one-line", "trailing-garbage"])
def test_trailing_content_after_the_record_is_malformed(parsed, case_id):
    assert parsed[case_id]["reject_reason"] == "malformed_json"
