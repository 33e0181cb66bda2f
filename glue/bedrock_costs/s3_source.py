"""List, probe and download Bedrock invocation-log objects in S3, always through an injected client.

The Glue job lists new log objects straight from S3; locally ``bcr etl --logs s3://...`` first mirrors the
selected hours into a cache, because local Spark has no S3 connector. A windowed listing walks the delivery
layout with ``Delimiter="/"``: a short window costs a few calls per account and region instead of a scan of the
bucket's whole history, and each hour's ``data/`` folder (offloaded bodies, often far more numerous than the log
batches) comes back as one common prefix instead of key by key.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as EndpointUnreachable

from bedrock_costs.discover import LogObject, SkipReporter, log_skipped, parse_log_keys
from bedrock_costs.read import ObjectReader

_WORKERS = 8
_CHUNK = 1 << 20
_LOGS_DIR = "BedrockModelInvocationLogs"
# Folders below <prefix>AWSLogs/: account, BedrockModelInvocationLogs, region, YYYY, MM, DD, HH.
_HOUR_DEPTH = 7
_FIRST_DATE_PART = 3


_Key = tuple[str, int, str | None]  # key, size, ETag


class SourceError(RuntimeError):
    """An S3 problem the user can fix, told in one line: what failed and what to grant or check."""


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix`` into ``("bucket", "prefix/")``; the prefix is ``""`` or ends with ``/``."""
    scheme, separator, rest = uri.partition("://")
    if scheme != "s3" or not separator:
        raise ValueError(f"{uri!r} is not an s3:// URI (expected s3://bucket/prefix)")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ValueError(f"{uri!r} names no bucket (expected s3://bucket/prefix)")
    return bucket, prefix if not prefix or prefix.endswith("/") else f"{prefix}/"


def list_log_objects(
    client: Any,
    uri: str,
    since: date | None = None,
    until: date | None = None,
    skipped: SkipReporter = log_skipped,
) -> list[LogObject]:
    """Log objects under ``<uri>AWSLogs/`` delivered in ``[since, until]`` (see ``discover.in_window``), sorted.

    A key in the layout whose folders are not a real hour is reported to ``skipped`` and left out.
    """
    try:
        bucket, prefix = parse_s3_uri(uri)
    except ValueError as exc:
        raise SourceError(str(exc)) from exc
    if "AWSLogs" in prefix.split("/"):
        above = prefix.split("AWSLogs/", 1)[0]
        raise SourceError(f"{uri} points inside the delivery layout; pass the prefix above it: s3://{bucket}/{above}")
    root = f"{prefix}AWSLogs/"
    try:
        if since is None and until is None:
            keys = _list(client, bucket, root, delimiter=None)[1]
        else:
            keys = _walk(client, bucket, root, since, until)
        if not keys and prefix and _is_object(client, bucket, prefix.rstrip("/")):
            raise SourceError(f"{uri} is an object, not a prefix: give the s3:// prefix that holds AWSLogs/")
    except (ClientError, BotoCoreError) as exc:
        raise _source_error(
            exc, client, f"list s3://{bucket}/{root}", f"s3:ListBucket on arn:aws:s3:::{bucket}"
        ) from exc
    etags = {f"s3://{bucket}/{key}": etag for key, _, etag in keys}
    found = parse_log_keys(((f"s3://{bucket}/{key}", size) for key, size, _ in keys), since, until, skipped)
    return [replace(obj, etag=etags[obj.path]) for obj in found]


def read_object(client: Any, uri: str) -> bytes:
    """The whole object at ``s3://bucket/key``; a :class:`SourceError` says what to grant when it cannot be read."""
    try:
        bucket, key = _bucket_key(uri)
    except ValueError as exc:
        raise SourceError(str(exc)) from exc
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        raise _source_error(exc, client, f"read {uri}", f"s3:GetObject on arn:aws:s3:::{bucket}/{key}") from exc


def read_text(client: Any, uri: str) -> str:
    """The UTF-8 text of one object, e.g. the tag-alias config the Glue job reads."""
    try:
        return read_object(client, uri).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{uri} is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc


def read_tails(client: Any, objects: Sequence[LogObject], nbytes: int = 8) -> dict[str, bytes]:
    """The last ``nbytes`` of each object by path: the gzip trailer (CRC32 + ISIZE) tells truncated files apart."""
    if nbytes < 1:
        raise ValueError("nbytes must be at least 1")

    def tail(obj: LogObject) -> bytes:
        if obj.size == 0:
            return b""
        bucket, key = _bucket_key(obj.path)
        try:
            return client.get_object(Bucket=bucket, Key=key, Range=f"bytes=-{nbytes}")["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise _source_error(exc, client, f"read {obj.path}", f"s3:GetObject on arn:aws:s3:::{bucket}/*") from exc

    with ThreadPoolExecutor(_WORKERS) as pool:
        return dict(zip((obj.path for obj in objects), pool.map(tail, objects), strict=True))


def object_reader(client: Any, bucket: str) -> ObjectReader:
    """The run's ``ObjectReader`` on S3: whole objects of the log bucket only, ``None`` when one cannot be read.

    Bedrock writes a record's offloaded bodies to the bucket it delivers the record to; a path that
    names another bucket is not followed.
    """

    def read(uri: str) -> bytes | None:
        if not uri.startswith(f"s3://{bucket}/"):
            return None
        try:
            return read_object(client, uri)
        except SourceError:
            return None

    return read


def download_objects(
    client: Any,
    objects: Sequence[LogObject],
    cache_dir: Path,
    progress: Callable[[int, int], None] | None = None,
) -> list[LogObject]:
    """Mirror each object to ``cache_dir/<bucket>/<key>`` and return it with its local path, in the input order.

    A cached copy is used only when its size and the ETag stored beside it (``.<name>.etag``) match the
    listing; anything else is fetched again, on the condition that the object still has the listed ETag.
    Each file appears by rename and its ETag is written after it, so an interrupted run leaves complete
    files (and hidden ``.part`` leftovers that discovery ignores) whose ETag is either right or missing.
    ``progress(done, total)`` is called from the calling thread.
    """
    cache_dir = Path(cache_dir).resolve()

    def fetch(obj: LogObject) -> LogObject:
        bucket, key = _bucket_key(obj.path)
        target = (cache_dir / bucket / key).resolve()
        if not target.is_relative_to(cache_dir / bucket):
            raise SourceError(f"refusing to download {obj.path}: its key leads outside {cache_dir}")
        etag_file = target.with_name(f".{target.name}.etag")
        if not _cached(target, etag_file, obj):
            try:
                _download(client, bucket, key, target, etag_file, obj.etag)
            except (ClientError, BotoCoreError) as exc:
                raise _source_error(
                    exc, client, f"download {obj.path}", f"s3:GetObject on arn:aws:s3:::{bucket}/*"
                ) from exc
        return replace(obj, path=str(target))

    with ThreadPoolExecutor(_WORKERS) as pool:
        futures = [pool.submit(fetch, obj) for obj in objects]
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                future.result()
                if progress is not None:
                    progress(done, len(futures))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return [future.result() for future in futures]


def _cached(target: Path, etag_file: Path, obj: LogObject) -> bool:
    """Whether the cached copy is the listed object: same size and the same ETag (never size alone)."""
    if obj.etag is None or not (target.is_file() and target.stat().st_size == obj.size):
        return False
    try:
        return etag_file.read_text(encoding="utf-8") == obj.etag
    except OSError:
        return False


def _walk(client: Any, bucket: str, root: str, since: date | None, until: date | None) -> list[_Key]:
    """Descend account → region → year → month → day → hour, opening only folders that can hold the window."""
    low = (since.year, since.month, since.day, 0) if since else None
    after = until + timedelta(days=1) if until else None  # in_window also reads hour 00 of the next day
    high = (after.year, after.month, after.day, 0) if after else None
    folders_of = partial(_folders, client, bucket)
    with ThreadPoolExecutor(_WORKERS) as pool:
        folders = [root]
        for _ in range(_HOUR_DEPTH):
            children = [child for listed in pool.map(folders_of, folders) for child in listed]
            folders = [child for child in children if _may_hold(child[len(root) :].split("/")[:-1], low, high)]
        listed_hours = pool.map(partial(_list, client, bucket, delimiter="/"), folders)
        return [key for _, keys in listed_hours for key in keys]


def _may_hold(parts: list[str], low: tuple[int, ...] | None, high: tuple[int, ...] | None) -> bool:
    """Whether folder ``<root><parts>/`` can hold log objects delivered between hours ``low`` and ``high``."""
    if len(parts) == 2:
        return parts[1] == _LOGS_DIR
    date_parts = parts[_FIRST_DATE_PART:]
    if not all(part.isdecimal() for part in date_parts):
        return False
    stamp = tuple(int(part) for part in date_parts)
    return (low is None or stamp >= low[: len(stamp)]) and (high is None or stamp <= high[: len(stamp)])


def _is_object(client: Any, bucket: str, key: str) -> bool:
    """Whether ``key`` names an object (asked only when a prefix listed nothing)."""
    listed = client.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
    return bool(listed) and listed[0]["Key"] == key


def _folders(client: Any, bucket: str, prefix: str) -> list[str]:
    return _list(client, bucket, prefix, delimiter="/")[0]


def _list(client: Any, bucket: str, prefix: str, delimiter: str | None) -> tuple[list[str], list[_Key]]:
    """(common prefixes, (key, size, ETag) triples) under ``prefix``, across all pages."""
    params = {"Bucket": bucket, "Prefix": prefix} | ({"Delimiter": delimiter} if delimiter else {})
    folders: list[str] = []
    keys: list[_Key] = []
    for page in client.get_paginator("list_objects_v2").paginate(**params):
        folders += [entry["Prefix"] for entry in page.get("CommonPrefixes", [])]
        keys += [(entry["Key"], entry["Size"], entry.get("ETag")) for entry in page.get("Contents", [])]
    return folders, keys


def _bucket_key(path: str) -> tuple[str, str]:
    bucket, _, key = path.removeprefix("s3://").partition("/")
    if not path.startswith("s3://") or not bucket or not key:
        raise ValueError(f"{path!r} is not an s3://bucket/key object path")
    return bucket, key


def _download(client: Any, bucket: str, key: str, target: Path, etag_file: Path, etag: str | None) -> None:
    """Stream into a hidden temp file next to the target, then rename: readers never see a partial log.

    With the listed ``etag`` the GET only succeeds for that version of the object, so the ETag written
    beside the file is the ETag of its bytes.
    """
    etag_file.unlink(missing_ok=True)
    body = client.get_object(Bucket=bucket, Key=key, **({"IfMatch": etag} if etag else {}))["Body"]
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(target, body.iter_chunks(_CHUNK))
    if etag:
        _write_atomically(etag_file, [etag.encode()])


def _write_atomically(target: Path, chunks: Iterable[bytes]) -> None:
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        temp.replace(target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _source_error(exc: Exception, client: Any, action: str, permission: str) -> SourceError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "unknown error")
        if code == "NoSuchBucket":
            return SourceError(f"cannot {action}: the bucket does not exist (NoSuchBucket)")
        if code in ("AccessDenied", "403"):
            return SourceError(f"cannot {action}: access denied; the caller needs {permission}")
        if code in ("NoSuchKey", "404"):
            return SourceError(f"cannot {action}: the object is gone (NoSuchKey); list the logs again")
        if code in ("PreconditionFailed", "412"):
            return SourceError(f"cannot {action}: the object changed after it was listed; run again")
        return SourceError(f"cannot {action}: {code}: {error.get('Message', '')}")
    if isinstance(exc, NoCredentialsError):
        return SourceError(f"cannot {action}: no AWS credentials found; set AWS_PROFILE to one allowed {permission}")
    if isinstance(exc, EndpointUnreachable | HTTPClientError):
        return SourceError(f"cannot {action}: S3 at {client.meta.endpoint_url} is unreachable ({exc})")
    return SourceError(f"cannot {action}: {exc}")
