"""Explicit schemas: what we read from a log line, and the contract of every table we write.

Reading with an explicit schema avoids a schema-inference pass over the logs and, just as important,
means prompt and response text is never materialised: ``inputBodyJson`` is not in the schema, so the
JSON parser skips it, and of ``outputBodyJson`` only the usage/metrics fields are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pyspark.sql import types as T

S = T.StringType()
L = T.LongType()
D = T.DateType()
COST = T.DecimalType(38, 18)
RATE = T.DecimalType(24, 18)  # USD per token; 6 integer digits keep token × rate within Spark's 38 digits
# The largest token count taken at face value. The biggest context windows are a few million tokens, so a
# larger count is a broken record; it also keeps sums of token columns and token × rate far from overflow.
MAX_TOKEN_COUNT = 10**10


def _struct(**fields: T.DataType) -> T.StructType:
    return T.StructType([T.StructField(name, dtype) for name, dtype in fields.items()])


def _longs(*names: str) -> T.StructType:
    return _struct(**dict.fromkeys(names, L))


_ANTHROPIC_USAGE = _struct(
    input_tokens=L,
    output_tokens=L,
    cache_read_input_tokens=L,
    cache_creation_input_tokens=L,
    cache_creation=_longs("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"),
)
_INVOCATION_METRICS = _longs(
    "inputTokenCount",
    "outputTokenCount",
    "invocationLatency",
    "firstByteLatency",
    "cacheReadInputTokenCount",
    "cacheWriteInputTokenCount",
)

# Union of the response shapes that carry usage: Converse/ConverseStream (camelCase), Anthropic
# InvokeModel (snake_case), Llama, Titan embeddings. Absent fields are simply null.
OUTPUT_BODY = _struct(
    usage=T.StructType(
        [
            *_longs("inputTokens", "outputTokens", "totalTokens", "cacheReadInputTokens", "cacheWriteInputTokens"),
            T.StructField("cacheDetails", T.ArrayType(_struct(inputTokens=L, ttl=S))),
            *_ANTHROPIC_USAGE,
        ]
    ),
    stopReason=S,
    stop_reason=S,
    metrics=_longs("latencyMs"),
    serviceTier=_struct(type=S),
    prompt_token_count=L,
    generation_token_count=L,
    inputTextTokenCount=L,
    **{"amazon-bedrock-guardrailAction": S, "amazon-bedrock-invocationMetrics": _INVOCATION_METRICS},
)

# One element of an InvokeModelWithResponseStream body (an array of model-native chunks).
STREAM_CHUNK = _struct(
    type=S,
    message=_struct(usage=_ANTHROPIC_USAGE),
    delta=_struct(stop_reason=S),
    usage=_ANTHROPIC_USAGE,
    **{"amazon-bedrock-guardrailAction": S, "amazon-bedrock-invocationMetrics": _INVOCATION_METRICS},
    _corrupt_record=S,
)

# The stream body is renamed from outputBodyJson to this field before parsing (see parse.py), because
# one JSON field cannot be both an object and an array in a Spark schema.
STREAM_FIELD = "outputBodyStream"

LOG_RECORD = _struct(
    schemaType=S,
    timestamp=S,
    accountId=S,
    region=S,
    inferenceRegion=S,
    requestId=S,
    operation=S,
    modelId=S,
    errorCode=S,
    identity=_struct(arn=S),
    requestMetadata=T.MapType(S, S),
    input=_longs("inputTokenCount", "cacheReadInputTokenCount", "cacheWriteInputTokenCount"),
    output=T.StructType(
        [
            T.StructField("outputTokenCount", L),
            T.StructField("outputBodyJson", OUTPUT_BODY),
            T.StructField("outputBodyS3Path", S),
            # Stream chunks are kept as raw JSON strings: an array may mix objects with bare strings
            # such as "[DONE]", which would null the whole array under a struct element type.
            T.StructField(STREAM_FIELD, T.ArrayType(S)),
        ]
    ),
    _corrupt_record=S,
)
# Every field a string: any JSON object parses, so a line this schema rejects is not JSON (or not an object).
JSON_OBJECT = _struct(requestId=S, _corrupt_record=S)

SEMANTIC_TAGS = ("tenant", "application", "cost_center", "team", "environment", "end_user")
TOKEN_COLUMNS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "total_tokens",
)
COST_COLUMNS = ("input_cost", "cache_read_cost", "cache_write_cost", "output_cost", "total_cost", "cache_savings")

INVOCATIONS = T.StructType(
    [
        T.StructField("request_id", S, False),
        T.StructField("event_time", T.TimestampType(), False),
        *_struct(
            account_id=S,
            region=S,
            inference_region=S,
            operation=S,
            status=S,
            error_code=S,
            model_id_raw=S,
            model_id=S,
            model_provider=S,
            model_name=S,
            inference_scope=S,
            geo=S,
            inference_profile_id=S,
            service_tier=S,
            principal_arn=S,
            principal_type=S,
            principal_name=S,
            session_name=S,
            **dict.fromkeys(TOKEN_COLUMNS, L),
            latency_ms=L,
            stop_reason=S,
            guardrail_intervened=T.BooleanType(),
            **dict.fromkeys(SEMANTIC_TAGS, S),
            request_metadata=T.MapType(S, S),
            pricing_status=S,
            price_key=S,
            **dict.fromkeys(COST_COLUMNS, COST),
            source_file=S,
            line_number=L,
            parse_warnings=T.ArrayType(S),
            run_id=S,
            ingested_at=T.TimestampType(),
        ),
        T.StructField("usage_date", S, False),
    ]
)

DAILY_GROUP_KEYS = (
    "account_id",
    "region",
    "model_id",
    "model_provider",
    "inference_scope",
    "service_tier",
    "operation",
    "principal_type",
    "principal_name",
    "tenant",
    "application",
    "cost_center",
    "team",
    "environment",
    "pricing_status",
)

DAILY_COSTS = T.StructType(
    [
        *_struct(**dict.fromkeys(DAILY_GROUP_KEYS, S)),
        *_longs("request_count", "error_count", "guardrail_intervened_count", *TOKEN_COLUMNS),
        *_struct(**dict.fromkeys(COST_COLUMNS, COST)),
        *_struct(latency_ms_avg=T.DoubleType(), latency_ms_p50=L, latency_ms_p90=L, latency_ms_max=L),
        T.StructField("usage_date", S, False),
    ]
)

INVOCATION_TAGS = _struct(
    request_id=S, tag_key=S, tag_value=S, total_cost=COST, total_tokens=L, pricing_status=S, usage_date=S
)

REJECTED_RECORDS = _struct(
    source_file=S,
    line_number=L,
    reason_code=S,
    reason=S,
    request_id=S,
    run_id=S,
    ingested_at=T.TimestampType(),
    delivery_date=S,
)

# One row per run, failed and interrupted runs included. ``status``: succeeded, failed (``error`` says why;
# nothing was published) or interrupted (the process died before committing; recorded by the next run).
# The line equation: lines_read = rows_written + redelivered_in_batch + already_stored + rejected_lines.
PIPELINE_RUNS = _struct(
    run_id=S,
    mode=S,
    status=S,
    error=S,
    started_at=T.TimestampType(),
    finished_at=T.TimestampType(),
    window_since=S,
    window_until=S,
    files_discovered=L,
    files_new=L,
    files_retried=L,
    files_corrupt=L,
    lines_read=L,
    rows_written=L,
    redelivered_in_batch=L,
    already_stored=L,
    duplicates_dropped=L,
    rejected_lines=L,
    conflicts=L,
    unpriced_rows=L,
    rows_repriced=L,
    window_cost_before=COST,
    window_cost_after=COST,
    window_cost_change=COST,
    reconciled=T.BooleanType(),
    affected_dates=T.ArrayType(S),
    compacted_dates=T.ArrayType(S),
    recovered_runs=T.ArrayType(S),
    stage_seconds=T.MapType(S, T.DoubleType()),
    # The data-quality gate (quality/gate.py): passed, warned (failed under policy warn, published),
    # failed (failed under policy fail, nothing published) or skipped (not evaluated: the run failed before,
    # or no gate); how many rules it evaluated and how many did not pass. Details: dq_results.
    dq_outcome=S,
    dq_rules_evaluated=L,
    dq_rules_failed=L,
    run_date=S,
)

# One row per rule per data-quality evaluation of a run, gated or not (quality/gate.py): the rule as
# Glue Data Quality reports it (``Rule_<n>``, its text, PASS/FAIL/ERROR, why), the value compared with the
# threshold, every evaluated metric as JSON text, the policy in force and which engine evaluated it
# (``local``: the DQDL evaluator of ``bcr etl``; ``glue``: awsgluedq's EvaluateDataQuality in the job).
DQ_RESULTS = _struct(
    run_id=S,
    ruleset=S,
    rule_name=S,
    rule=S,
    outcome=S,
    failure_reason=S,
    measured_value=T.DoubleType(),
    expected=S,
    evaluated_metrics=S,
    policy=S,
    engine=S,
    evaluated_at=T.TimestampType(),
    run_date=S,
)

# A re-delivered request id whose copies differ: which copy the ledger kept and why (resolution
# ``stored_copy_kept`` or ``first_delivery_kept``), and the fields that differ. Partitioned by the kept
# copy's usage_date.
REQUEST_CONFLICTS = _struct(
    request_id=S,
    kept_source_file=S,
    kept_line_number=L,
    dropped_source_file=S,
    dropped_line_number=L,
    dropped_usage_date=S,
    differing_fields=T.ArrayType(S),
    resolution=S,
    run_id=S,
    detected_at=T.TimestampType(),
    usage_date=S,
)

PROCESSED_FILES = _struct(source_file=S, size=L, run_id=S, corrupt=T.BooleanType())


@dataclass(frozen=True)
class Table:
    """A table the job publishes: its Parquet schema (partition column included) and partition column.

    The Glue Data Catalog declares exactly these (``template.yaml``, regenerated by ``bcr template tables``).
    """

    name: str
    schema: T.StructType
    partition: str
    description: str


PUBLISHED_TABLES = (
    Table("invocations", INVOCATIONS, "usage_date", "One row per Bedrock request: model, caller, tags, tokens, cost"),
    Table("daily_costs", DAILY_COSTS, "usage_date", "Requests, tokens and cost per day and reporting dimension"),
    Table("invocation_tags", INVOCATION_TAGS, "usage_date", "One row per request and requestMetadata key"),
    Table("rejected_records", REJECTED_RECORDS, "delivery_date", "Log lines and objects quarantined, with the reason"),
    Table(
        "request_conflicts",
        REQUEST_CONFLICTS,
        "usage_date",
        "Re-delivered request ids whose copies differ: the copy kept, why, and the fields that differ",
    ),
    Table("pipeline_runs", PIPELINE_RUNS, "run_date", "One row per ETL run, failed ones too: status, counts, timings"),
    Table("dq_results", DQ_RESULTS, "run_date", "One row per data-quality rule per run: outcome, measured value, why"),
)
# Table name -> schema: what the DQ rulesets and the dashboard's datasets may read from each table.
TABLE_SCHEMAS: Mapping[str, T.StructType] = {table.name: table.schema for table in PUBLISHED_TABLES}
