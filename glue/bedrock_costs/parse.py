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

import json
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

# The runtime operations Bedrock writes invocation logs for, and the outcome of a request. The data-quality
# rulesets in template.yaml list the same values (tests/contract holds them together).
OPERATIONS = ("Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream")
REQUEST_STATUSES = ("success", "error")

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


# A streamed body repeats fields across chunks: each kind of field is read from the last chunk that has it.
# First segment of a path inside a chunk -> what that chunk must carry.
_STREAM_VIEWS = {
    _METRICS: _METRICS,
    "message": "message.usage",
    "usage": "usage.output_tokens",
    "delta": "delta.stop_reason",
}


def stream_views(chunks: Column) -> Column:
    """One struct holding, per kind of stream field, the last chunk that carries it (computed once per line)."""
    return F.struct(*(_last(chunks, present).alias(first) for first, present in _STREAM_VIEWS.items()))


def _field(record: Column, views: Column, path: str) -> Column:
    """The typed value at a warning path: in the record, or in the last stream chunk that has it."""
    if path.startswith(f"{_CHUNK}."):
        inner = path.removeprefix(f"{_CHUNK}.")
        return _path(views.getField(inner.split(".", 1)[0]), inner)
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


def _field_checks(dtype: T.StructType, path: str, json_path: str) -> list[tuple[str, str, str, str, bool]]:
    """(warning path, JSON path, parent's JSON path, key, is a count) of every field of ``dtype`` whose type
    can be wrong (strings take any value); fields inside arrays are left to their own checks.
    """
    checks = []
    for f in dtype.fields:
        if f.name == "_corrupt_record" or isinstance(f.dataType, T.StringType):
            continue
        child, child_json = _child(path, f.name), f"{json_path}['{f.name}']"
        checks.append((child, child_json, json_path, f.name, isinstance(f.dataType, T.LongType)))
        if isinstance(f.dataType, T.StructType):
            checks += _field_checks(f.dataType, child, child_json)
    return checks


_RECORD_CHECKS = _field_checks(LOG_RECORD, "", "$")
_CHUNK_CHECKS = _field_checks(STREAM_CHUNK, _CHUNK, "$")


def _type_warnings(value: Column, text: Column, checks: list[tuple[str, str, str, str, bool]]) -> Column:
    """``<path>:<code>`` for every checked field whose JSON in ``text`` is present but null in the parsed
    ``value``: Spark could not read it as its type. Only evaluated for lines Spark flagged.

    It is one higher-order function over a table of the fields, so the expression stays small (a large one
    slows the planning of every query on the lines) and is interpreted only where it runs. An integer that
    does not fit 64 bits is out of range; ``"600"`` in quotes, ``12.5`` or an object are of the wrong type.
    """
    typed = F.to_json(value)  # the parsed values as JSON; null fields are left out
    table = _constant(
        [
            {"path": path, "json": json_path, "parent": parent, "quoted": f'"{key}":"', "count": count}
            for path, json_path, parent, key, count in checks
        ],
        "array<struct<path: string, json: string, parent: string, quoted: string, count: boolean>>",
    )

    def at(document: Column, json_path: Column) -> Column:
        return F.call_function("get_json_object", document, json_path)

    def failed(check: Column) -> Column:
        return at(text, check["json"]).isNotNull() & at(typed, check["json"]).isNull()

    def warning(check: Column) -> Column:
        big = (
            check["count"]
            & at(text, check["json"]).rlike(r"^-?\d+$")
            & ~at(text, check["parent"]).contains(check["quoted"])  # re-serialized: no space after the colon
        )
        return F.concat(check["path"], F.when(big, F.lit(":out_of_range")).otherwise(F.lit(":wrong_type")))

    return F.transform(F.filter(table, failed), warning)


def _constant(value: object, ddl: str) -> Column:
    """A constant of any shape as one literal (a JSON text Spark folds at planning), not a tree of thousands
    of literal nodes that every query on the lines would analyse and optimize again.
    """
    return F.from_json(F.lit(json.dumps(value)), ddl)


def _unreadable_chunk(chunk: Column) -> Column:
    """A chunk object Spark could not read as a whole; bare strings such as ``"[DONE]"`` are no chunk."""
    return F.coalesce(chunk.getField("_corrupt_record").startswith("{"), F.lit(False))


def _chunk_warnings(chunks: Column) -> Column:
    """Type warnings of the parsed stream chunks (Spark keeps each flagged chunk's text beside it)."""
    flagged = F.filter(chunks, _unreadable_chunk)
    return F.flatten(F.transform(flagged, lambda c: _type_warnings(c, c.getField("_corrupt_record"), _CHUNK_CHECKS)))


def _range_checks(record: Column, views: Column) -> list[tuple[str, Column]]:
    """(path, whether it holds a number outside ``0..MAX_TOKEN_COUNT``) for every token count source."""

    def outside(value: Column) -> Column:
        return F.coalesce((value < 0) | (value > MAX_TOKEN_COUNT), F.lit(False))

    checks = [
        (path, outside(_field(record, views, path)))
        for path in (*(p for paths in TOKEN_SOURCES.values() for p in paths), *_TTL_1H_SOURCES)
    ]
    details = _path(record, _TTL_DETAILS)
    checks.append((_DETAIL_COUNT, F.exists(details, lambda d: outside(d.getField("inputTokens")))))
    return checks


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


# Every path a type or range warning can name, and the codes it can carry.
_DETAIL_COUNT = f"{_TTL_DETAILS}[].inputTokens"
_ALL_PATHS = frozenset(path for path, *_ in (*_RECORD_CHECKS, *_CHUNK_CHECKS)) | {_DETAIL_COUNT}
_FIELD_CODES = ("wrong_type", "out_of_range")


def _related(path: str) -> list[str]:
    """``path``, the objects it sits in, and the fields inside it: a warning on any of them makes it unknown."""
    return [
        other
        for other in _ALL_PATHS
        if other == path or path.startswith((f"{other}.", f"{other}[")) or other.startswith((f"{path}.", f"{path}["))
    ]


def _first_known(record: Column, views: Column, paths: tuple[str, ...], bad: Callable[[str], Column]) -> Column:
    """The first source that is present; null when that source is unreadable (never the next one)."""
    value: Column = F.lit(None).cast("long")
    for path in reversed(paths):
        column = _field(record, views, path)
        value = F.when(bad(path), F.lit(None).cast("long")).when(column.isNotNull(), column).otherwise(value)
    return value


# Every source a count can come from, and the warnings that make it unreadable.
_SOURCES = (*(path for paths in TOKEN_SOURCES.values() for path in paths), _TTL_DETAILS, *_TTL_1H_SOURCES)


def unreadable_sources(warnings: Column) -> Column:
    """The count sources a line's warnings make unreadable (null when it has none): a warning on the source,
    on a field inside it, or on the object it sits in. One array per line, so that each token class only
    asks ``array_contains`` instead of matching every warning again.
    """
    spoiled_by = _constant(
        {source: [f"{p}:{code}" for p in sorted(_related(source)) for code in _FIELD_CODES] for source in _SOURCES},
        "map<string, array<string>>",
    )
    return F.when(
        F.size(warnings) > 0,
        F.filter(F.map_keys(spoiled_by), lambda source: F.arrays_overlap(warnings, spoiled_by[source])),
    )


def token_columns(record: Column, views: Column, unreadable: Column) -> list[Column]:
    """The token classes of a request, and whether its output count and 1-hour split are unreadable, from the
    parsed record, its ``stream_views`` and its ``unreadable_sources``. A projection of their own: the 1-hour
    split and the total use them again, and repeating them would repeat their work.
    """
    failed = record.errorCode.isNotNull()

    def bad(*paths: str) -> Column:
        return F.coalesce(F.arrays_overlap(unreadable, F.array(*map(F.lit, paths))), F.lit(False))

    def tokens(column: str, default: Column | None = None) -> Column:
        value = _first_known(record, views, TOKEN_SOURCES[column], bad)
        if default is not None:
            value = F.when(value.isNull() & ~bad(*TOKEN_SOURCES[column]), default).otherwise(value)
        return F.when(failed, F.coalesce(value, F.lit(0))).otherwise(value).cast("long").alias(column)

    zero = F.lit(0).cast("long")
    return [
        tokens("input_tokens"),
        # A record without any cache count has no cache use; an unreadable one is unknown.
        tokens("cache_read_tokens", default=zero),
        tokens("cache_write_tokens", default=zero),
        tokens("output_tokens"),
        (~failed & bad(*TOKEN_SOURCES["output_tokens"])).alias("_output_unreadable"),
        bad(_TTL_DETAILS, *_TTL_1H_SOURCES).alias("_ttl_unreadable"),
    ]


def request_columns(record: Column, streamed: Column, chunks: Column, views: Column, warnings: Column) -> list[Column]:
    """Flat per-request columns from the parsed ``LOG_RECORD`` struct, whether the body was a stream, its
    parsed chunks (and their ``stream_views``), the line's warnings and the ``token_columns``.
    """
    body = _path(record, _BODY)
    usage = body.usage
    failed = record.errorCode.isNotNull()
    zero = F.lit(0).cast("long")
    input_tokens, cache_read, cache_write, output_tokens = (
        F.col(c) for c in ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")
    )
    # No output count at all (embeddings) adds nothing; an unreadable one leaves the total unknown.
    total_tokens = F.when(F.col("_output_unreadable"), F.lit(None)).otherwise(
        input_tokens + cache_read + cache_write + F.coalesce(output_tokens, zero)
    )
    from_body = F.coalesce(_ttl_1h(usage.cacheDetails), *(_field(record, views, p) for p in _TTL_1H_SOURCES))
    inline_body = body.isNotNull() | streamed
    # The 1-hour part is only in the response body: without it (offloaded, or text delivery off) it is
    # unknown, never silently zero. An inline body without TTL details holds 5-minute writes only.
    cache_write_1h = (
        F.when(cache_write.isNull(), F.lit(None))
        .when(cache_write == 0, zero)
        .when(F.col("_ttl_unreadable"), F.lit(None))
        .when(from_body.isNotNull(), F.least(cache_write, from_body))
        .when(inline_body, zero)
        .cast("long")
    )
    stream_stop = _field(record, views, f"{_CHUNK}.delta.stop_reason")
    stop_reason = F.coalesce(body.stopReason, body.stop_reason, stream_stop)
    guardrail = (
        F.coalesce(stop_reason == "guardrail_intervened", F.lit(False))
        | F.coalesce(body.getField(_GUARDRAIL) == "INTERVENED", F.lit(False))
        | F.coalesce(F.exists(chunks, lambda c: c.getField(_GUARDRAIL) == "INTERVENED"), F.lit(False))
    )
    tier = F.lower(body.serviceTier.type)
    timestamp = record.timestamp
    latency = F.coalesce(body.metrics.latencyMs, _field(record, views, f"{_CHUNK}.{_METRICS}.invocationLatency"))
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
        input_tokens,
        cache_read,
        cache_write,
        cache_write_1h.alias("cache_write_1h_tokens"),
        output_tokens,
        total_tokens.cast("long").alias("total_tokens"),
        latency.cast("long").alias("latency_ms"),
        stop_reason.alias("stop_reason"),
        guardrail.alias("guardrail_intervened"),
        _unique_keys(record.requestMetadata).alias("request_metadata"),
        record.output.outputBodyS3Path.alias("output_body_s3_path"),
        F.when(F.size(warnings) > 0, F.array_sort(F.array_distinct(warnings))).alias("parse_warnings"),
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
    record = F.col("_r")
    corrupt = record.getField("_corrupt_record").isNotNull()
    # Spark keeps what it could read of a line with a field of the wrong type and flags the line; only
    # such lines are parsed again, to tell a broken line from a wrong type and to name the fields. The line
    # text is dropped right after: every later projection copies its row, and the text is most of it.
    not_json = F.from_json("_text", JSON_OBJECT, corrupt_column)["_corrupt_record"].isNotNull()
    details = _path(record, _TTL_DETAILS)
    type_warnings = F.concat(
        _type_warnings(record, F.col("_text"), _RECORD_CHECKS),
        # A cache detail whose count Spark could not read: its entry stays, the count is null.
        F.when(
            F.exists(details, lambda d: d.getField("inputTokens").isNull()),
            F.array(F.lit(f"{_DETAIL_COUNT}:wrong_type")),
        ).otherwise(_no_warnings()),
    )
    ends = parsed.select(
        *keys,
        # The raw stream chunks are most of a streamed line: once the usage-bearing ends are out, drop them.
        record.dropFields(f"output.{STREAM_FIELD}").alias("_rec"),
        F.when(corrupt, not_json).otherwise(F.lit(False)).alias("_not_json"),
        F.when(corrupt, type_warnings).alias("_type_warnings"),
        stream_chunks(stream_ends(record)).alias("_chunks"),
    )
    viewed = ends.select(
        *keys, "_rec", "_not_json", "_type_warnings", "_chunks", stream_views(F.col("_chunks")).alias("_views")
    )
    record, chunks, views = F.col("_rec"), F.col("_chunks"), F.col("_views")
    corrupt = record.getField("_corrupt_record").isNotNull()
    metadata = record.getField("requestMetadata")
    ranges = _range_checks(record, views)
    duplicates = _has_duplicate_keys(metadata)
    # Almost every line is clean: the warnings are only assembled when one of these cheap tests fires.
    unreadable_chunks = F.coalesce(F.exists(chunks, _unreadable_chunk), F.lit(False))
    maybe = corrupt | unreadable_chunks | duplicates | reduce(operator.or_, (bad for _, bad in ranges))
    warnings = F.concat(
        F.coalesce(F.col("_type_warnings"), _no_warnings()),
        F.when(unreadable_chunks, _chunk_warnings(chunks)).otherwise(_no_warnings()),
        F.array_compact(F.array(*(F.when(bad, F.lit(f"{path}:out_of_range")) for path, bad in ranges))),
        F.when(duplicates, F.array(F.lit("requestMetadata:duplicate_key"))).otherwise(_no_warnings()),
    )
    warned = viewed.select(*keys, "_not_json", "_rec", "_chunks", "_views", F.when(maybe, warnings).alias("_w"))
    spoiled = warned.select(
        *keys, "_not_json", "_rec", "_chunks", "_views", "_w", unreadable_sources(F.col("_w")).alias("_bad")
    )
    counted = spoiled.select(
        *keys, "_not_json", "_rec", "_chunks", "_views", "_w", *token_columns(record, views, F.col("_bad"))
    )
    requests = counted.select(
        *keys,
        "_not_json",
        record.schemaType.alias("_schema_type"),
        *request_columns(record, chunks.isNotNull(), chunks, views, F.col("_w")),
    )
    flags = ["_blank", "_trailing", "_not_json", "_schema_type"]
    return requests.select(
        "source_file", "row_id", "line_bytes", _reject_reason().alias("reject_reason"), *requests.columns[3:]
    ).drop(*flags)
