"""Builders of realistic Bedrock invocation-log records (one dict per request) for the stage unit tests.

Shapes follow ``reference/bedrock-invocation-log-format.md`` §2: the top-level record, the Converse /
ConverseStream assembled response, Anthropic InvokeModel bodies, InvokeModelWithResponseStream chunk arrays,
Titan embeddings, Llama, metadata-only records, offloaded bodies and failed calls. Every piece of prompt or
response text is ``SENTINEL`` so a test can prove that no text reaches a parsed column.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

SENTINEL = "SENTINEL-prompt-text-do-not-keep"
ACCOUNT = "123456789012"
REGION = "us-east-1"
TIMESTAMP = "2025-08-22T09:41:06Z"
SONNET = "anthropic.claude-sonnet-4-20250514-v1:0"
ROLE_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/AppRole/app-session"

# 2024 deliveries put the schema fields first; 2025-08 onwards put them last (key order drifted, §2.3).
OLD_ORDER = (
    "schemaType",
    "schemaVersion",
    "timestamp",
    "accountId",
    "identity",
    "region",
    "requestId",
    "operation",
    "modelId",
    "errorCode",
    "input",
    "output",
)
NEW_ORDER = (
    "timestamp",
    "accountId",
    "region",
    "requestId",
    "operation",
    "modelId",
    "errorCode",
    "input",
    "output",
    "requestMetadata",
    "inferenceRegion",
    "identity",
    "schemaType",
    "schemaVersion",
)


def record(
    request_id: str | None,
    *,
    operation: str = "Converse",
    model_id: str = SONNET,
    timestamp: str = TIMESTAMP,
    input: dict[str, Any] | None = None,
    output: dict[str, Any] | None = None,
    identity_arn: str = ROLE_ARN,
    **extra: Any,
) -> dict[str, Any]:
    """A complete top-level record; ``extra`` adds or overrides fields (``requestMetadata``, ``errorCode``...)."""
    rec: dict[str, Any] = {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": timestamp,
        "accountId": ACCOUNT,
        "identity": {"arn": identity_arn},
        "region": REGION,
        "requestId": request_id,
        "operation": operation,
        "modelId": model_id,
        "input": input if input is not None else {},
        "output": output if output is not None else {},
    }
    rec.update(extra)
    return {key: value for key, value in rec.items() if value is not None}


def to_line(rec: dict[str, Any], order: str = "new") -> str:
    """One JSON line with the keys in the 2024 (``old``) or 2025+ (``new``) order; other keys go last."""
    keys = OLD_ORDER if order == "old" else NEW_ORDER
    ordered = {key: rec[key] for key in keys if key in rec}
    ordered.update({key: value for key, value in rec.items() if key not in ordered})
    return json.dumps(ordered)


def log_input(
    tokens: int | None = None,
    *,
    cache_read: int | None = None,
    cache_write: int | None = None,
    body: Any = None,
    s3_path: str | None = None,
) -> dict[str, Any]:
    """The record's ``input`` object; counts and bodies are only present when given."""
    fields = {
        "inputContentType": "application/json",
        "inputBodyJson": body,
        "inputBodyS3Path": s3_path,
        "inputTokenCount": tokens,
        "cacheReadInputTokenCount": cache_read,
        "cacheWriteInputTokenCount": cache_write,
    }
    return {key: value for key, value in fields.items() if value is not None}


def log_output(tokens: int | None = None, *, body: Any = None, s3_path: str | None = None) -> dict[str, Any]:
    fields = {
        "outputContentType": "application/json",
        "outputBodyJson": body,
        "outputBodyS3Path": s3_path,
        "outputTokenCount": tokens,
    }
    return {key: value for key, value in fields.items() if value is not None}


# --- request bodies: every text field holds the sentinel ---------------------------------------------------


def converse_request() -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": [{"text": SENTINEL}]},
            {"role": "assistant", "content": [{"text": SENTINEL}]},
            {"role": "user", "content": [{"text": SENTINEL}, {"cachePoint": {"type": "default"}}]},
        ],
        "system": [{"text": SENTINEL}],
        "inferenceConfig": {"maxTokens": 1024, "temperature": 0.2},
        "toolConfig": {"tools": [{"toolSpec": {"name": "lookup", "description": SENTINEL}}]},
    }


def anthropic_request() -> dict[str, Any]:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": SENTINEL, "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": SENTINEL}]}],
    }


# --- response bodies --------------------------------------------------------------------------------------


def converse_response(
    input_tokens: int,
    output_tokens: int,
    *,
    cache_read: int | None = None,
    cache_write: int | None = None,
    cache_details: Sequence[tuple[int, str]] | None = None,
    stop_reason: str = "end_turn",
    latency_ms: int = 812,
    service_tier: str | None = None,
) -> dict[str, Any]:
    """The assembled Converse/ConverseStream response; ``cache_details`` is ``[(tokens, "5m"|"1h"), ...]``."""
    usage: dict[str, Any] = {
        "inputTokens": input_tokens,
        "outputTokens": output_tokens,
        "totalTokens": input_tokens + output_tokens + (cache_read or 0) + (cache_write or 0),
    }
    if cache_read is not None:
        usage["cacheReadInputTokens"] = cache_read
    if cache_write is not None:
        usage["cacheWriteInputTokens"] = cache_write
    if cache_details is not None:
        usage["cacheDetails"] = [{"inputTokens": tokens, "ttl": ttl} for tokens, ttl in cache_details]
    body: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": [{"text": SENTINEL}]}},
        "stopReason": stop_reason,
        "metrics": {"latencyMs": latency_ms},
        "usage": usage,
    }
    if service_tier is not None:
        body["serviceTier"] = {"type": service_tier}
    if stop_reason == "guardrail_intervened":
        body["trace"] = {"guardrail": {"modelOutput": [SENTINEL], "inputAssessment": {"gr-1": {"topicPolicy": {}}}}}
    return body


def anthropic_usage(
    input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0, cache_1h: int | None = None
) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "output_tokens": output_tokens,
    }
    if cache_1h is not None:
        usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": cache_write - cache_1h,
            "ephemeral_1h_input_tokens": cache_1h,
        }
    return usage


def anthropic_response(
    input_tokens: int,
    output_tokens: int,
    *,
    cache_read: int = 0,
    cache_write: int = 0,
    cache_1h: int | None = None,
    stop_reason: str = "end_turn",
    guardrail_action: str | None = None,
) -> dict[str, Any]:
    """An Anthropic Messages API response as InvokeModel logs it."""
    body: dict[str, Any] = {
        "id": "msg_bdrk_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-20250514",
        "content": [{"type": "text", "text": SENTINEL}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": anthropic_usage(input_tokens, output_tokens, cache_read, cache_write, cache_1h),
    }
    if guardrail_action is not None:
        body["amazon-bedrock-guardrailAction"] = guardrail_action
        body["amazon-bedrock-trace"] = {"guardrail": {"input": {"gr-1": {"topicPolicy": {}}}}}
    return body


def anthropic_stream(
    input_tokens: int,
    output_tokens: int,
    *,
    cache_read: int = 0,
    cache_write: int = 0,
    cache_1h: int | None = None,
    deltas: int = 40,
    latency_ms: int = 2345,
    stop_reason: str = "end_turn",
    done: bool = True,
    guardrail_action: str | None = None,
) -> list[Any]:
    """InvokeModelWithResponseStream body: the model-native chunk array, metrics on ``message_stop``.

    ``message_start`` reports only a provisional output count (1), as Anthropic streams do; the real one
    is on ``message_delta`` and in ``amazon-bedrock-invocationMetrics``.
    """
    start_usage = anthropic_usage(input_tokens, 1, cache_read, cache_write, cache_1h)
    chunks: list[Any] = [
        {"type": "message_start", "message": {"id": "msg_bdrk_02", "role": "assistant", "usage": start_usage}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    chunks += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": SENTINEL}}
        for _ in range(deltas)
    ]
    chunks += [
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": stop_reason}, "usage": {"output_tokens": output_tokens}},
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {
                "inputTokenCount": input_tokens,
                "outputTokenCount": output_tokens,
                "invocationLatency": latency_ms,
                "firstByteLatency": 321,
                "cacheReadInputTokenCount": cache_read,
                "cacheWriteInputTokenCount": cache_write,
            },
        },
    ]
    if guardrail_action is not None:
        for chunk in chunks[-2:]:
            chunk["amazon-bedrock-guardrailAction"] = guardrail_action
    if done:
        chunks.append("[DONE]")
    return chunks


# --- whole records per operation / body shape ----------------------------------------------------------------


def converse(
    request_id: str,
    input_tokens: int,
    output_tokens: int,
    *,
    cache_read: int | None = None,
    cache_write: int | None = None,
    top_level_cache: bool = True,
    cache_details: Sequence[tuple[int, str]] | None = None,
    stop_reason: str = "end_turn",
    latency_ms: int = 812,
    service_tier: str | None = None,
    operation: str = "Converse",
    **extra: Any,
) -> dict[str, Any]:
    """Converse / ConverseStream; with ``top_level_cache=False`` the cache counts are only in the body."""
    top_read, top_write = (cache_read, cache_write) if top_level_cache else (None, None)
    body = converse_response(
        input_tokens,
        output_tokens,
        cache_read=cache_read,
        cache_write=cache_write,
        cache_details=cache_details,
        stop_reason=stop_reason,
        latency_ms=latency_ms,
        service_tier=service_tier,
    )
    return record(
        request_id,
        operation=operation,
        input=log_input(input_tokens, cache_read=top_read, cache_write=top_write, body=converse_request()),
        output=log_output(output_tokens, body=body),
        **extra,
    )


def invoke_anthropic(
    request_id: str,
    input_tokens: int,
    output_tokens: int,
    *,
    cache_read: int = 0,
    cache_write: int = 0,
    cache_1h: int | None = None,
    top_level_cache: bool = False,
    stop_reason: str = "end_turn",
    guardrail_action: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """InvokeModel on an Anthropic model (the 2025-08 Sonnet 4 records carry no top-level cache counts)."""
    top_read, top_write = (cache_read, cache_write) if top_level_cache else (None, None)
    body = anthropic_response(
        input_tokens,
        output_tokens,
        cache_read=cache_read,
        cache_write=cache_write,
        cache_1h=cache_1h,
        stop_reason=stop_reason,
        guardrail_action=guardrail_action,
    )
    return record(
        request_id,
        operation="InvokeModel",
        input=log_input(input_tokens, cache_read=top_read, cache_write=top_write, body=anthropic_request()),
        output=log_output(output_tokens, body=body),
        **extra,
    )


def invoke_stream_anthropic(
    request_id: str,
    input_tokens: int,
    output_tokens: int,
    *,
    top_level_counts: bool = True,
    cache_read: int = 0,
    cache_write: int = 0,
    cache_1h: int | None = None,
    **stream: Any,
) -> dict[str, Any]:
    """InvokeModelWithResponseStream; ``top_level_counts=False`` leaves only the body's metrics/usage."""
    chunks = anthropic_stream(
        input_tokens, output_tokens, cache_read=cache_read, cache_write=cache_write, cache_1h=cache_1h, **stream
    )
    if top_level_counts:
        log_in = log_input(input_tokens, cache_read=cache_read, cache_write=cache_write, body=anthropic_request())
        log_out = log_output(output_tokens, body=chunks)
    else:
        log_in, log_out = log_input(body=anthropic_request()), log_output(body=chunks)
    return record(
        request_id,
        operation="InvokeModelWithResponseStream",
        input=log_in,
        output=log_out,
    )


def titan_embedding(request_id: str, input_tokens: int) -> dict[str, Any]:
    """Titan text embeddings: an input count, no output count, a vector when embedding delivery is on."""
    return record(
        request_id,
        operation="InvokeModel",
        model_id="amazon.titan-embed-text-v2:0",
        input=log_input(input_tokens, body={"inputText": SENTINEL, "dimensions": 256, "normalize": True}),
        output=log_output(body={"embedding": [0.01, -0.02, 0.03], "inputTextTokenCount": input_tokens}),
    )


def llama(request_id: str, input_tokens: int, output_tokens: int) -> dict[str, Any]:
    body = {
        "generation": SENTINEL,
        "prompt_token_count": input_tokens,
        "generation_token_count": output_tokens,
        "stop_reason": "stop",
    }
    return record(
        request_id,
        operation="InvokeModel",
        model_id="meta.llama3-1-70b-instruct-v1:0",
        input=log_input(input_tokens, body={"prompt": SENTINEL, "max_gen_len": 512, "temperature": 0.5}),
        output=log_output(output_tokens, body=body),
    )


def counts_only(request_id: str, input_tokens: int, output_tokens: int, **extra: Any) -> dict[str, Any]:
    """Text delivery off: metadata and counts, no bodies at all."""
    return record(request_id, input=log_input(input_tokens), output=log_output(output_tokens), **extra)


def offloaded(request_id: str, input_tokens: int, output_tokens: int) -> dict[str, Any]:
    """Bodies above 100 KB: S3 references instead of inline JSON."""
    folder = f"s3://logs/AWSLogs/{ACCOUNT}/BedrockModelInvocationLogs/{REGION}/2025/08/22/09/data"
    return record(
        request_id,
        input=log_input(input_tokens, cache_read=0, cache_write=0, s3_path=f"{folder}/{request_id}_input.json.gz"),
        output=log_output(output_tokens, s3_path=f"{folder}/{request_id}_output.json.gz"),
    )


def failed(request_id: str, error_code: str = "ThrottlingException") -> dict[str, Any]:
    """A failed invocation: ``errorCode`` and empty input/output."""
    return record(request_id, errorCode=error_code)


# --- Spark and file helpers -----------------------------------------------------------------------------------

LINES_SCHEMA = "source_file string, row_id long, line_bytes int, value string"


def lines_frame(spark: Any, lines: Iterable[str], source_file: str = "AWSLogs/test.json.gz") -> Any:
    """A DataFrame shaped like ``read.read_lines`` output, one row per line, ``row_id`` = position."""
    rows = [(source_file, row_id, len(line.encode()), line) for row_id, line in enumerate(lines)]
    return spark.createDataFrame(rows, LINES_SCHEMA)


def log_key(hour: str, name: str, account: str = ACCOUNT, region: str = REGION) -> str:
    """``AWSLogs/<acct>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/<name>`` for ``hour`` = ``YYYY/MM/DD/HH``."""
    return f"AWSLogs/{account}/BedrockModelInvocationLogs/{region}/{hour}/{name}"


def write_raw(path: Path, raw: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    return path


def write_gz(path: Path, data: bytes) -> Path:
    return write_raw(path, gzip.compress(data, mtime=0))
