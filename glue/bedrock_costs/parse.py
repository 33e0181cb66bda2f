"""Parse log lines into one flat row per request: ids, identity, token classes, latency, outcome.

Token classes follow Bedrock's semantics: ``input.inputTokenCount`` is the *uncached* input only, cache
reads and writes are counted separately, and 1-hour-TTL cache writes (priced higher than 5-minute ones)
are only visible in the response body. Top-level counts win; body usage fields are the fallback for
records written before the top-level cache counts existed, and for streamed bodies the last chunk's
``amazon-bedrock-invocationMetrics`` is used. Lines that cannot become a request get a reject reason.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bedrock_costs.schemas import LOG_RECORD, STREAM_CHUNK, STREAM_FIELD

REJECT_REASONS = {
    "blank_line": "the line is empty",
    "malformed_json": "the line is not a JSON object (malformed, truncated or another JSON type)",
    "invalid_field_type": "a field has an unexpected JSON type (e.g. a token count that is not a number)",
    "not_invocation_log": "schemaType is not ModelInvocationLog",
    "missing_request_id": "the record has no requestId",
    "bad_timestamp": "the record's timestamp is missing or not an RFC 3339 date-time",
}

# The runtime operations Bedrock writes invocation logs for, and the outcome of a request. The data-quality
# rulesets in template.yaml list the same values (tests/contract holds them together).
OPERATIONS = ("Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream")
REQUEST_STATUSES = ("success", "error")

_METRICS = "amazon-bedrock-invocationMetrics"
_GUARDRAIL = "amazon-bedrock-guardrailAction"


def _last(array: Column, present: str) -> Column:
    """The last element whose ``present`` path is not null (streams repeat fields across chunks)."""
    return F.element_at(F.filter(array, lambda c: _path(c, present).isNotNull()), -1)


def _path(column: Column, dotted: str) -> Column:
    for part in dotted.split("."):
        column = column.getField(part)
    return column


def _stream_columns(chunks: Column) -> dict[str, Column]:
    metrics = _path(_last(chunks, _METRICS), _METRICS)
    start = _path(_last(chunks, "message.usage"), "message.usage")
    return {
        "metrics": metrics,
        "start": start,
        "output_tokens": _path(_last(chunks, "usage.output_tokens"), "usage.output_tokens"),
        "stop_reason": _path(_last(chunks, "delta.stop_reason"), "delta.stop_reason"),
        "guardrail": F.exists(chunks, lambda c: c.getField(_GUARDRAIL) == "INTERVENED"),
    }


def _ttl_1h(details: Column) -> Column:
    one_hour = F.filter(details, lambda d: d.getField("ttl") == "1h")
    return F.aggregate(
        one_hour, F.lit(0).cast("long"), lambda acc, d: acc + F.coalesce(d.getField("inputTokens"), F.lit(0))
    )


def stream_chunks(record: Column) -> Column:
    """Parse the chunks of a streamed body that carry usage: the first two and the last four.

    The chunks in between are content deltas (generated text), so they are neither parsed nor kept.
    """
    raw = record.output.getField(STREAM_FIELD)
    ends = F.when(F.size(raw) <= 6, raw).otherwise(F.concat(F.slice(raw, 1, 2), F.slice(raw, -4, 4)))
    return F.transform(ends, lambda c: F.from_json(c, STREAM_CHUNK))


def request_columns(record: Column, chunks: Column) -> list[Column]:
    """Flat per-request columns from the parsed ``LOG_RECORD`` struct and its parsed stream chunks."""
    body = record.output.outputBodyJson
    usage = body.usage
    stream = _stream_columns(chunks)
    failed = record.errorCode.isNotNull()

    def tokens(*candidates: Column, default: Column | None = None) -> Column:
        value = F.coalesce(*candidates, default) if default is not None else F.coalesce(*candidates)
        return F.when(failed, F.coalesce(value, F.lit(0))).otherwise(value).cast("long")

    zero = F.lit(0)
    input_tokens = tokens(
        record.input.inputTokenCount,
        usage.inputTokens,
        usage.input_tokens,
        stream["metrics"].inputTokenCount,
        stream["start"].input_tokens,
        body.prompt_token_count,
        body.inputTextTokenCount,
    )
    cache_read = tokens(
        record.input.cacheReadInputTokenCount,
        usage.cacheReadInputTokens,
        usage.cache_read_input_tokens,
        stream["metrics"].cacheReadInputTokenCount,
        stream["start"].cache_read_input_tokens,
        default=zero,
    )
    cache_write = tokens(
        record.input.cacheWriteInputTokenCount,
        usage.cacheWriteInputTokens,
        usage.cache_creation_input_tokens,
        stream["metrics"].cacheWriteInputTokenCount,
        stream["start"].cache_creation_input_tokens,
        default=zero,
    )
    cache_write_1h = F.least(
        cache_write,
        F.coalesce(
            _ttl_1h(usage.cacheDetails),
            usage.cache_creation.ephemeral_1h_input_tokens,
            stream["start"].cache_creation.ephemeral_1h_input_tokens,
            zero,
        ),
    ).cast("long")
    output_tokens = tokens(
        record.output.outputTokenCount,
        usage.outputTokens,
        usage.output_tokens,
        stream["metrics"].outputTokenCount,
        stream["output_tokens"],
        body.generation_token_count,
    )
    stop_reason = F.coalesce(body.stopReason, body.stop_reason, stream["stop_reason"])
    guardrail = (
        F.coalesce(stop_reason == "guardrail_intervened", F.lit(False))
        | F.coalesce(body.getField(_GUARDRAIL) == "INTERVENED", F.lit(False))
        | F.coalesce(stream["guardrail"], F.lit(False))
    )
    tier = F.lower(body.serviceTier.type)
    return [
        F.trim(record.requestId).alias("request_id"),
        F.to_timestamp(record.timestamp).alias("event_time"),
        record.accountId.alias("account_id"),
        record.region.alias("region"),
        F.coalesce(record.inferenceRegion, record.region).alias("inference_region"),
        record.operation.alias("operation"),
        F.when(failed, "error").otherwise("success").alias("status"),
        record.errorCode.alias("error_code"),
        record.modelId.alias("model_id_raw"),
        F.when(tier.isNull() | (tier == "default"), "standard").otherwise(tier).alias("service_tier"),
        record.identity.arn.alias("principal_arn"),
        input_tokens.alias("input_tokens"),
        cache_read.alias("cache_read_tokens"),
        cache_write.alias("cache_write_tokens"),
        cache_write_1h.alias("cache_write_1h_tokens"),
        output_tokens.alias("output_tokens"),
        (input_tokens + cache_read + cache_write + F.coalesce(output_tokens, zero)).alias("total_tokens"),
        F.coalesce(body.metrics.latencyMs, stream["metrics"].invocationLatency).cast("long").alias("latency_ms"),
        stop_reason.alias("stop_reason"),
        guardrail.alias("guardrail_intervened"),
        record.requestMetadata.alias("request_metadata"),
    ]


def _trailing_content(value: Column) -> Column:
    """Whether text follows the first JSON object: ``from_json`` would silently ignore it.

    A line must end with the record's closing brace, and a second record glued on (``}{"timestamp":``)
    cannot be hidden inside the first: there an unescaped quote after ``{`` would have closed a string.
    """
    # One cheap byte search (contains, not instr: it skips ahead on the first byte instead of decoding
    # characters); the exact pattern is only checked on the rare lines that contain it.
    maybe_glued = value.contains('}{"')
    glued = maybe_glued & value.rlike(r'\}\{"(timestamp|schemaType|accountId|requestId)"')
    # endswith is a constant-time byte compare; the regex only runs on lines that fail it.
    closed = value.endswith("}") | value.rlike(r"\}\s*$")
    return ~closed | glued


def _reject_reason() -> Column:
    """Why a parsed line cannot become a request (null when it can); reads the staged flag columns."""
    request_id = F.col("request_id")
    return (
        F.when(F.col("_blank"), "blank_line")
        .when(F.col("_trailing") | (F.col("_corrupt") & request_id.isNull()), "malformed_json")
        .when(F.col("_corrupt"), "invalid_field_type")
        .when(F.col("_schema_type").isNotNull() & (F.col("_schema_type") != "ModelInvocationLog"), "not_invocation_log")
        .when(request_id.isNull() | (request_id == ""), "missing_request_id")
        .when(F.col("event_time").isNull(), "bad_timestamp")
    )


def parse_lines(lines: DataFrame) -> DataFrame:
    """Raw lines → one row per line with the request columns and ``reject_reason`` (null when accepted).

    The stream body is renamed before parsing because a Spark schema cannot hold one field as both an
    object (Converse, InvokeModel) and an array (InvokeModelWithResponseStream). The key cannot occur
    inside a JSON string: there its quotes would be escaped.
    """
    renamed = F.regexp_replace("value", r'"outputBodyJson"\s*:\s*\[', f'"{STREAM_FIELD}":[')
    record = F.from_json(renamed, LOG_RECORD, {"columnNameOfCorruptRecord": "_corrupt_record"})
    # Separate projections so that each parse runs once: Spark does not inline a costly expression
    # (from_json, to_timestamp) that is referenced several times.
    blank = (F.col("line_bytes") == 0) | (~F.col("value").startswith("{") & F.col("value").rlike(r"^\s*$"))
    staged = lines.select(
        "source_file",
        "row_id",
        "line_bytes",
        blank.alias("_blank"),
        _trailing_content(F.col("value")).alias("_trailing"),
        record.alias("_r"),
    ).withColumn("_chunks", stream_chunks(F.col("_r")))
    requests = staged.select(
        "source_file",
        "row_id",
        "line_bytes",
        "_blank",
        "_trailing",
        F.col("_r._corrupt_record").isNotNull().alias("_corrupt"),
        F.col("_r.schemaType").alias("_schema_type"),
        *request_columns(F.col("_r"), F.col("_chunks")),
    )
    flags = ["_blank", "_trailing", "_corrupt", "_schema_type"]
    return requests.select(
        "source_file", "row_id", "line_bytes", _reject_reason().alias("reject_reason"), *requests.columns[3:]
    ).drop(*flags)
