"""Parse log lines into one flat row per request: ids, identity, token classes, latency, outcome.

Token classes follow Bedrock's semantics: ``input.inputTokenCount`` is the *uncached* input only, cache
reads and writes are counted separately, and 1-hour-TTL cache writes (priced higher than 5-minute ones)
are only visible in the response body. Top-level counts win; body usage fields are the fallback for
records written before the top-level cache counts existed, and for streamed bodies the last chunk's
``amazon-bedrock-invocationMetrics`` is used.

Only a line that is not a JSON object, or has no ``requestId`` or no full RFC 3339 timestamp, is rejected.
A field of an unexpected JSON type (a float latency, a string ``requestMetadata``, a token count in quotes)
is nulled and named in ``parse_warnings`` as ``<json path>:wrong_type``; a token count outside
``0..MAX_TOKEN_COUNT`` as ``<json path>:out_of_range``; a duplicated ``requestMetadata`` key as
``requestMetadata:duplicate_key``. A token class whose source is such a field is unknown (null), never
read from a fallback, so pricing flags the request instead of pricing a wrong number.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from bedrock_costs.schemas import JSON_OBJECT, LOG_RECORD, MAX_TOKEN_COUNT, STREAM_CHUNK, STREAM_FIELD

REJECT_REASONS = {
    "blank_line": "the line is empty",
    "malformed_json": "the line is not a JSON object (malformed, truncated or another JSON type)",
    "not_invocation_log": "schemaType is not ModelInvocationLog",
    "missing_request_id": "the record has no requestId",
    "bad_timestamp": "the record's timestamp is missing or not a full RFC 3339 date-time with a zone",
}
WARNING_CODES = {
    "wrong_type": "the field has an unexpected JSON type; it was read as null",
    "out_of_range": f"the token count is negative, above {MAX_TOKEN_COUNT:,} or beyond a 64-bit integer",
    "duplicate_key": "requestMetadata repeats a key; the last value in the line is kept",
}

_METRICS = "amazon-bedrock-invocationMetrics"
_GUARDRAIL = "amazon-bedrock-guardrailAction"
_BODY = "output.outputBodyJson"
_CHUNK = f"{_BODY}[]"  # a path inside any chunk of a streamed body
# Date, 'T' or space, time with seconds, optional fraction, and a zone: "2026" or a bare date is no event time.
_RFC3339 = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"

# Where each token class can come from, best first (JSON paths as they appear in parse_warnings).
TOKEN_SOURCES: dict[str, tuple[str, ...]] = {
    "input_tokens": (
        "input.inputTokenCount",
        f"{_BODY}.usage.inputTokens",
        f"{_BODY}.usage.input_tokens",
        f"{_CHUNK}.{_METRICS}.inputTokenCount",
        f"{_CHUNK}.message.usage.input_tokens",
        f"{_BODY}.prompt_token_count",
        f"{_BODY}.inputTextTokenCount",
    ),
    "cache_read_tokens": (
        "input.cacheReadInputTokenCount",
        f"{_BODY}.usage.cacheReadInputTokens",
        f"{_BODY}.usage.cache_read_input_tokens",
        f"{_CHUNK}.{_METRICS}.cacheReadInputTokenCount",
        f"{_CHUNK}.message.usage.cache_read_input_tokens",
    ),
    "cache_write_tokens": (
        "input.cacheWriteInputTokenCount",
        f"{_BODY}.usage.cacheWriteInputTokens",
        f"{_BODY}.usage.cache_creation_input_tokens",
        f"{_CHUNK}.{_METRICS}.cacheWriteInputTokenCount",
        f"{_CHUNK}.message.usage.cache_creation_input_tokens",
    ),
    "output_tokens": (
        "output.outputTokenCount",
        f"{_BODY}.usage.outputTokens",
        f"{_BODY}.usage.output_tokens",
        f"{_CHUNK}.{_METRICS}.outputTokenCount",
        f"{_CHUNK}.usage.output_tokens",
        f"{_BODY}.generation_token_count",
    ),
}
# Where the 1-hour part of the cache writes can come from.
_TTL_DETAILS = f"{_BODY}.usage.cacheDetails"
_TTL_1H_SOURCES = (
    f"{_BODY}.usage.cache_creation.ephemeral_1h_input_tokens",
    f"{_CHUNK}.message.usage.cache_creation.ephemeral_1h_input_tokens",
)


def _path(column: Column, dotted: str) -> Column:
    for part in dotted.split("."):
        column = column.getField(part)
    return column


def _last(chunks: Column, present: str) -> Column:
    """The last chunk whose ``present`` path is not null (streams repeat fields across chunks)."""
    return F.element_at(F.filter(chunks, lambda c: _path(c, present).isNotNull()), -1)


def _field(record: Column, chunks: Column, path: str) -> Column:
    """The typed value at a warning path: in the record, or in the last stream chunk that has it."""
    if path.startswith(f"{_CHUNK}."):
        inner = path.removeprefix(f"{_CHUNK}.")
        return _path(_last(chunks, inner), inner)
    return _path(record, path)


def _ttl_1h(details: Column) -> Column:
    one_hour = F.filter(details, lambda d: d.getField("ttl") == "1h")
    return F.aggregate(
        one_hour, F.lit(0).cast("long"), lambda acc, d: acc + F.coalesce(d.getField("inputTokens"), F.lit(0))
    )


def stream_ends(record: Column) -> Column:
    """The raw chunks of a streamed body that carry usage: the first two and the last four.

    The chunks in between are content deltas (generated text), so they are neither parsed nor kept.
    """
    raw = record.output.getField(STREAM_FIELD)
    return F.when(F.size(raw) <= 6, raw).otherwise(F.concat(F.slice(raw, 1, 2), F.slice(raw, -4, 4)))


def stream_chunks(ends: Column) -> Column:
    return F.transform(ends, lambda c: F.from_json(c, STREAM_CHUNK, {"columnNameOfCorruptRecord": "_corrupt_record"}))


def _no_warnings() -> Column:
    return F.array().cast(T.ArrayType(T.StringType()))


def _child(path: str, name: str) -> str:
    """The warning path of field ``name`` under ``path``; the renamed stream body keeps its logged name."""
    name = "outputBodyJson" if name == STREAM_FIELD else name
    return f"{path}.{name}" if path else name


def _type_warnings(value: Column, text: Column, dtype: T.DataType, path: str, number: Column | None = None) -> Column:
    """``<path>:<code>`` for every field under ``path`` whose JSON ``text`` is present but could not be read
    as ``dtype`` (the typed ``value`` is null). Only called for lines Spark flagged as partly unreadable.

    ``number`` says whether the JSON value is a number (``text`` alone cannot tell ``600`` from ``"600"``):
    an integer that does not fit 64 bits is out of range, anything else of the wrong type.
    """
    wrong = text.isNotNull() & value.isNull()
    code = F.lit(f"{path}:wrong_type")
    if number is not None:
        code = F.when(number & text.rlike(r"^-?\d+$"), F.lit(f"{path}:out_of_range")).otherwise(code)
    if isinstance(dtype, T.StructType):
        parts = [
            _type_warnings(
                value.getField(f.name),
                F.get_json_object(text, f"$['{f.name}']"),
                f.dataType,
                _child(path, f.name),
                _is_number(text, f.name) if isinstance(f.dataType, T.LongType) else None,
            )
            for f in dtype.fields
            if f.name != "_corrupt_record" and not isinstance(f.dataType, T.StringType)
        ]
        inner = F.concat(*parts) if parts else _no_warnings()
    elif isinstance(dtype, T.ArrayType) and isinstance(dtype.elementType, T.StructType):
        texts = F.from_json(text, T.ArrayType(T.StringType()))
        inner = F.flatten(F.zip_with(value, texts, lambda v, t: _type_warnings(v, t, dtype.elementType, f"{path}[]")))
    else:
        inner = _no_warnings()
    return F.when(wrong, F.array(code)).otherwise(F.coalesce(inner, _no_warnings()))


def _is_number(text: Column, name: str) -> Column:
    """Whether field ``name`` of the JSON object ``text`` is a number: a double reads any number, no string."""
    return F.from_json(text, T.StructType([T.StructField(name, T.DoubleType())]))[name].isNotNull()


def _chunk_warnings(ends: Column, chunks: Column) -> Column:
    """Type warnings of the parsed stream chunks; bare strings such as ``"[DONE]"`` are no chunk."""
    return F.flatten(
        F.zip_with(
            ends,
            chunks,
            lambda raw, chunk: F.when(
                raw.startswith("{") & chunk.getField("_corrupt_record").isNotNull(),
                _type_warnings(chunk, raw, STREAM_CHUNK, _CHUNK),
            ).otherwise(_no_warnings()),
        )
    )


def _range_warnings(record: Column, chunks: Column) -> Column:
    """``<path>:out_of_range`` for every token count source holding a number outside ``0..MAX_TOKEN_COUNT``."""

    def outside(value: Column) -> Column:
        return (value < 0) | (value > MAX_TOKEN_COUNT)

    checks = [
        (path, outside(_field(record, chunks, path)))
        for path in (*(p for paths in TOKEN_SOURCES.values() for p in paths), *_TTL_1H_SOURCES)
    ]
    details = _path(record, _TTL_DETAILS)
    checks.append((f"{_TTL_DETAILS}[].inputTokens", F.exists(details, lambda d: outside(d.getField("inputTokens")))))
    flagged = [F.when(bad, F.lit(f"{path}:out_of_range")) for path, bad in checks]
    any_bad = reduce(operator.or_, (F.coalesce(bad, F.lit(False)) for _, bad in checks))
    return F.when(any_bad, F.array_compact(F.array(*flagged))).otherwise(_no_warnings())


def _unique_keys(metadata: Column) -> Column:
    """``requestMetadata`` with one value per key: the last one in the line, as JSON parsers commonly do.

    Spark's JSON reader keeps every repeated key, and such a map doubles a tag's cost in
    ``invocation_tags`` and cannot be read by other Parquet readers (DuckDB).
    """
    entries = F.map_entries(metadata)
    kept = F.filter(
        entries,
        lambda entry, i: (
            ~F.exists(
                F.slice(entries, i + 2, F.greatest(F.size(entries), F.lit(1))),
                lambda later: later["key"] == entry["key"],
            )
        ),
    )
    return F.when(_has_duplicate_keys(metadata), F.map_from_entries(kept)).otherwise(metadata)


def _has_duplicate_keys(metadata: Column) -> Column:
    return F.size(F.array_distinct(F.map_keys(metadata))) < F.size(F.map_keys(metadata))


def _first_known(record: Column, chunks: Column, paths: tuple[str, ...], bad: Callable[[str], Column]) -> Column:
    """The first source that is present; null when that source is unreadable (never the next one)."""
    value: Column = F.lit(None).cast("long")
    for path in reversed(paths):
        column = _field(record, chunks, path)
        value = F.when(bad(path), F.lit(None).cast("long")).when(column.isNotNull(), column).otherwise(value)
    return value


def request_columns(record: Column, chunks: Column, warnings: Column) -> list[Column]:
    """Flat per-request columns from the parsed ``LOG_RECORD`` struct, its parsed stream chunks and the
    line's ``parse_warnings``.
    """
    body = _path(record, _BODY)
    usage = body.usage
    failed = record.errorCode.isNotNull()
    has_warnings = F.size(warnings) > 0

    def bad(path: str) -> Column:
        """Whether a warning names this path, a field inside it, or the object it sits in."""

        def related(warning: Column) -> Column:
            where = F.substring_index(warning, ":", 1)
            return (
                (where == path)
                | F.lit(path).startswith(F.concat(where, F.lit(".")))
                | F.lit(path).startswith(F.concat(where, F.lit("[")))
                | where.startswith(f"{path}.")
                | where.startswith(f"{path}[")
            )

        return has_warnings & F.exists(warnings, related)

    def unreadable(column: str) -> Column:
        return reduce(operator.or_, map(bad, TOKEN_SOURCES[column]))

    def tokens(column: str, default: Column | None = None) -> Column:
        value = _first_known(record, chunks, TOKEN_SOURCES[column], bad)
        if default is not None:
            value = F.when(value.isNull() & ~unreadable(column), default).otherwise(value)
        return F.when(failed, F.coalesce(value, F.lit(0))).otherwise(value).cast("long")

    zero = F.lit(0).cast("long")
    input_tokens = tokens("input_tokens")
    # A record without any cache count has no cache use; an unreadable one is unknown.
    cache_read = tokens("cache_read_tokens", default=zero)
    cache_write = tokens("cache_write_tokens", default=zero)
    output_tokens = tokens("output_tokens")
    # No output count at all (embeddings) adds nothing; an unreadable one leaves the total unknown.
    total_tokens = F.when(~failed & unreadable("output_tokens"), F.lit(None)).otherwise(
        input_tokens + cache_read + cache_write + F.coalesce(output_tokens, zero)
    )
    ttl_unreadable = reduce(operator.or_, map(bad, (_TTL_DETAILS, *_TTL_1H_SOURCES)))
    from_body = F.coalesce(_ttl_1h(usage.cacheDetails), *(_field(record, chunks, p) for p in _TTL_1H_SOURCES))
    inline_body = body.isNotNull() | record.output.getField(STREAM_FIELD).isNotNull()
    # The 1-hour part is only in the response body: without it (offloaded, or text delivery off) it is
    # unknown, never silently zero. An inline body without TTL details holds 5-minute writes only.
    cache_write_1h = (
        F.when(cache_write.isNull(), F.lit(None))
        .when(cache_write == 0, zero)
        .when(ttl_unreadable, F.lit(None))
        .when(from_body.isNotNull(), F.least(cache_write, from_body))
        .when(inline_body, zero)
        .cast("long")
    )
    stream_stop = _field(record, chunks, f"{_CHUNK}.delta.stop_reason")
    stop_reason = F.coalesce(body.stopReason, body.stop_reason, stream_stop)
    guardrail = (
        F.coalesce(stop_reason == "guardrail_intervened", F.lit(False))
        | F.coalesce(body.getField(_GUARDRAIL) == "INTERVENED", F.lit(False))
        | F.coalesce(F.exists(chunks, lambda c: c.getField(_GUARDRAIL) == "INTERVENED"), F.lit(False))
    )
    tier = F.lower(body.serviceTier.type)
    timestamp = record.timestamp
    latency = F.coalesce(body.metrics.latencyMs, _field(record, chunks, f"{_CHUNK}.{_METRICS}.invocationLatency"))
    return [
        F.trim(record.requestId).alias("request_id"),
        F.when(timestamp.rlike(_RFC3339), F.to_timestamp(timestamp)).alias("event_time"),
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
        total_tokens.cast("long").alias("total_tokens"),
        latency.cast("long").alias("latency_ms"),
        stop_reason.alias("stop_reason"),
        guardrail.alias("guardrail_intervened"),
        _unique_keys(record.requestMetadata).alias("request_metadata"),
        record.output.outputBodyS3Path.alias("output_body_s3_path"),
        F.when(has_warnings, F.array_sort(F.array_distinct(warnings))).alias("parse_warnings"),
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
        .when(F.col("_trailing") | F.col("_not_json"), "malformed_json")
        .when(F.col("_schema_type").isNotNull() & (F.col("_schema_type") != "ModelInvocationLog"), "not_invocation_log")
        .when(request_id.isNull() | (request_id == ""), "missing_request_id")
        .when(F.col("event_time").isNull(), "bad_timestamp")
    )


def parse_lines(lines: DataFrame) -> DataFrame:
    """Raw lines → one row per line with the request columns and ``reject_reason`` (null when accepted).

    The stream body is renamed before parsing because a Spark schema cannot hold one field as both an
    object (Converse, InvokeModel) and an array (InvokeModelWithResponseStream). The key cannot occur
    inside a JSON string: there its quotes would be escaped. A byte-order mark before a line is dropped.
    """
    value = F.col("value")
    unmarked = F.when(value.startswith("\ufeff"), F.expr("substring(value, 2)")).otherwise(value)
    blank = (F.col("line_bytes") == 0) | (~value.startswith("{") & value.rlike(r"^\s*$"))
    corrupt_column = {"columnNameOfCorruptRecord": "_corrupt_record"}
    keys = ["source_file", "row_id", "line_bytes", "_blank", "_trailing"]
    # Separate projections so that each parse runs once: Spark does not inline a costly expression
    # (regexp_replace, from_json, to_timestamp) that is referenced several times.
    text = lines.select(
        "source_file",
        "row_id",
        "line_bytes",
        blank.alias("_blank"),
        _trailing_content(value).alias("_trailing"),
        F.regexp_replace(unmarked, r'"outputBodyJson"\s*:\s*\[', f'"{STREAM_FIELD}":[').alias("_text"),
    )
    parsed = text.select(*keys, "_text", F.from_json("_text", LOG_RECORD, corrupt_column).alias("_r"))
    corrupt = F.col("_r._corrupt_record").isNotNull()
    # Spark keeps what it could read of a line with a field of the wrong type and flags the line; only
    # such lines are parsed again, to tell a broken line from a wrong type and to name the fields.
    not_json = F.from_json("_text", JSON_OBJECT, corrupt_column)["_corrupt_record"].isNotNull()
    ends = parsed.select(
        *keys,
        "_text",
        "_r",
        F.when(corrupt, not_json).otherwise(F.lit(False)).alias("_not_json"),
        stream_ends(F.col("_r")).alias("_ends"),
    )
    chunked = ends.select(*keys, "_text", "_r", "_not_json", "_ends", stream_chunks(F.col("_ends")).alias("_chunks"))
    record, chunks = F.col("_r"), F.col("_chunks")
    metadata = record.getField("requestMetadata")
    warnings = F.concat(
        F.when(corrupt & ~F.col("_not_json"), _type_warnings(record, F.col("_text"), LOG_RECORD, "")).otherwise(
            _no_warnings()
        ),
        F.coalesce(_chunk_warnings(F.col("_ends"), chunks), _no_warnings()),
        _range_warnings(record, chunks),
        F.when(_has_duplicate_keys(metadata), F.array(F.lit("requestMetadata:duplicate_key"))).otherwise(
            _no_warnings()
        ),
    )
    warned = chunked.select(*keys, "_not_json", "_r", "_chunks", warnings.alias("_warnings"))
    requests = warned.select(
        *keys,
        "_not_json",
        record.schemaType.alias("_schema_type"),
        *request_columns(record, chunks, F.col("_warnings")),
    )
    flags = ["_blank", "_trailing", "_not_json", "_schema_type"]
    return requests.select(
        "source_file", "row_id", "line_bytes", _reject_reason().alias("reject_reason"), *requests.columns[3:]
    ).drop(*flags)
