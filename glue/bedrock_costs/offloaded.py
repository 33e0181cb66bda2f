"""Stage: read the 1-hour part of cache writes from response bodies Bedrock offloaded to S3.

A response body above 100 KB is not in the log record: Bedrock writes it to the same bucket under the hour
folder's ``data/`` prefix and the record carries ``output.outputBodyS3Path``. The TTL split of cache writes
(1-hour writes cost more than 5-minute ones) is only in that body, so without it a request's cache writes
cannot be priced. Only the usage numbers are taken from the body; its text is never kept or logged. A body
that cannot be read leaves the split unknown (``pricing_status`` ``cache_ttl_unknown``) and the request
names the path in ``parse_warnings``.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bedrock_costs.read import ObjectReader
from bedrock_costs.schemas import MAX_TOKEN_COUNT

UNREACHABLE = "output.outputBodyS3Path:unreachable"
# Where Bedrock puts a record's offloaded bodies: the delivery hour folder's data/ prefix.
_BODY_KEY = re.compile(
    r"^s3://[^/]+/(?:.+/)?AWSLogs/[^/]+/BedrockModelInvocationLogs/[^/]+/\d{4}/\d{2}/\d{2}/\d{2}/data/[^/]+$"
)
_WORKERS = 8


def _count(value: Any) -> int | None:
    """A token count as JSON gives it, or ``None`` when it is not a plausible count."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKEN_COUNT:
        return None
    return value


def ttl_1h_from_body(body: Any) -> int | None:
    """1-hour cache-write tokens in a response body: Converse ``usage.cacheDetails``, Anthropic InvokeModel
    ``usage.cache_creation``, or a stream's ``message_start`` usage. 0 when the body reports no TTL split
    (5-minute writes only); ``None`` when a TTL field is unreadable.
    """
    chunks = body if isinstance(body, list) else [body]
    usages = [chunk.get("usage") for chunk in chunks if isinstance(chunk, dict)]
    usages += [
        chunk["message"].get("usage")
        for chunk in chunks
        if isinstance(chunk, dict) and isinstance(chunk.get("message"), dict)
    ]
    for usage in (u for u in usages if isinstance(u, dict)):
        details = usage.get("cacheDetails")
        if details is not None:
            if not isinstance(details, list) or not all(isinstance(d, dict) for d in details):
                return None
            counts = [_count(d.get("inputTokens", 0)) for d in details if d.get("ttl") == "1h"]
            return None if None in counts else sum(c for c in counts if c is not None)
        creation = usage.get("cache_creation")
        if isinstance(creation, dict) and "ephemeral_1h_input_tokens" in creation:
            return _count(creation["ephemeral_1h_input_tokens"])
    return 0


def read_ttl_1h(uri: str, read_object: ObjectReader) -> int | None:
    """The 1-hour cache-write tokens of one offloaded body, or ``None`` when it cannot be read.

    Only paths in Bedrock's ``data/`` layout are followed; the reader decides which bucket it may read.
    """
    if not _BODY_KEY.match(uri):
        return None
    data = read_object(uri)
    if data is None:
        return None
    try:
        text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        return ttl_1h_from_body(json.loads(text))
    except (OSError, EOFError, zlib.error, ValueError):
        return None


def needs_body() -> Column:
    """True for a parsed request whose 1-hour cache-write split can only come from its offloaded body."""
    return (
        F.col("cache_write_1h_tokens").isNull()
        & (F.col("cache_write_tokens") > 0)
        & F.col("output_body_s3_path").isNotNull()
    )


def with_offloaded_ttl(
    batch: DataFrame, read_object: ObjectReader | None, uris: Iterable[str] | None = None
) -> DataFrame:
    """Fill ``cache_write_1h_tokens`` where it is unknown and the response body was offloaded.

    Expects the parse's ``output_body_s3_path`` and ``parse_warnings``. Grain unchanged. Requests whose body
    cannot be read keep the unknown split and get ``output.outputBodyS3Path:unreachable`` in their warnings.
    ``uris``: the bodies the batch needs (``needs_body``), when already gathered.
    """
    needs = needs_body()
    if uris is None:
        uris = [row[0] for row in batch.where(needs).select("output_body_s3_path").distinct().collect()]
    uris = sorted(set(uris))
    if not uris:
        return batch
    found: Mapping[str, int | None] = dict.fromkeys(uris)
    if read_object is not None:
        with ThreadPoolExecutor(_WORKERS) as pool:
            found = dict(zip(uris, pool.map(lambda uri: read_ttl_1h(uri, read_object), uris), strict=True))
    table = batch.sparkSession.createDataFrame(list(found.items()), "output_body_s3_path string, _ttl_1h long")
    joined = batch.join(F.broadcast(table), "output_body_s3_path", "left")
    ttl = F.col("_ttl_1h")
    unreachable = needs & ttl.isNull()
    warnings = F.array_sort(F.concat(F.coalesce(F.col("parse_warnings"), F.array()), F.array(F.lit(UNREACHABLE))))
    return joined.withColumns(
        {
            # least() skips nulls: an unreadable body must leave the split unknown, not all 1-hour.
            "cache_write_1h_tokens": F.when(
                needs & ttl.isNotNull(), F.least(F.col("cache_write_tokens"), ttl)
            ).otherwise(F.col("cache_write_1h_tokens")),
            "parse_warnings": F.when(unreachable, warnings).otherwise(F.col("parse_warnings")),
        }
    ).drop("_ttl_1h")
