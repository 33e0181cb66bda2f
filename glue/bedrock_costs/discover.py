"""Find Bedrock invocation-log objects in the S3 delivery layout.

Bedrock writes ``<prefix>/AWSLogs/<account>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/<file>.json.gz``.
The same prefix also holds offloaded bodies under ``.../HH/data/`` (also ``.json.gz``!) and a zero-byte
``amazon-bedrock-logs-permission-check`` marker, which are not log records and must be skipped.
The ``HH`` folder is the *delivery* hour, not the event hour, so event dates always come from the record.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

_LOG_KEY = re.compile(
    r"(?:^|/)AWSLogs/(?P<account>[^/]+)/BedrockModelInvocationLogs/(?P<region>[^/]+)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})/(?P<name>[^/]+)$"
)
PERMISSION_MARKER = "amazon-bedrock-logs-permission-check"

SkipReporter = Callable[[str, str], None]
"""Told ``(path, why)`` for every key in the delivery layout that cannot be read as a delivery hour."""


class UnparsableKeyError(ValueError):
    """A key laid out like a log batch whose date or hour folder is not a real UTC hour (``.../2026/13/01/00/``)."""


def log_skipped(path: str, why: str) -> None:
    """Default ``SkipReporter``: a warning in the job's log (stderr locally, CloudWatch on Glue)."""
    logging.getLogger(__name__).warning("skipped %s: %s", path, why)


@dataclass(frozen=True, order=True)
class LogObject:
    """One delivered log object; ``path`` is a local path or an ``s3://`` URI."""

    path: str
    size: int
    account_id: str
    region: str
    delivery_hour: datetime
    etag: str | None = field(default=None, compare=False)  # S3's ETag from the listing; None for local files

    @property
    def delivery_date(self) -> date:
        return self.delivery_hour.date()


def parse_log_key(path: str, size: int) -> LogObject | None:
    """Return the log object a key or path names, or ``None`` for anything that is not a log batch.

    Raises :class:`UnparsableKeyError` for a log-batch key whose folders are not a real date and hour.
    """
    match = _LOG_KEY.search(path.replace(os.sep, "/"))
    if match is None:
        return None
    name = match["name"]
    if name.startswith(PERMISSION_MARKER) or not name.endswith(".json.gz"):
        return None
    y, m, d, h = match["y"], match["m"], match["d"], match["h"]
    try:
        hour = datetime(int(y), int(m), int(d), int(h), tzinfo=UTC)
    except ValueError as exc:
        raise UnparsableKeyError(f"delivery folder {y}/{m}/{d}/{h} is not a UTC date and hour ({exc})") from None
    return LogObject(path=path, size=size, account_id=match["account"], region=match["region"], delivery_hour=hour)


def parse_log_keys(
    keys: Iterable[tuple[str, int]], since: date | None, until: date | None, skipped: SkipReporter
) -> list[LogObject]:
    """The log objects among ``(path, size)`` pairs that fall in the window, sorted; an unparsable key is
    reported to ``skipped`` and left out, never fatal: one stray object must not stop the run.
    """
    found = []
    for path, size in keys:
        try:
            obj = parse_log_key(path, size)
        except UnparsableKeyError as exc:
            skipped(path, str(exc))
            continue
        if obj is not None and in_window(obj, since, until):
            found.append(obj)
    return sorted(found)


def in_window(obj: LogObject, since: date | None, until: date | None) -> bool:
    """Whether a delivery hour falls in ``[since, until]`` (inclusive dates, UTC).

    Records are delivered up to about an hour after they happen, so a window ending on ``until`` also
    reads the first hour of the next day: a record at 23:59 may sit in the next day's 00 folder.
    """
    if since is not None and obj.delivery_date < since:
        return False
    if until is None:
        return True
    return obj.delivery_hour < datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(hours=25)


def discover_local(
    root: str | Path, since: date | None = None, until: date | None = None, skipped: SkipReporter = log_skipped
) -> list[LogObject]:
    """List log objects under a local folder laid out like the S3 bucket, sorted by path."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"log folder {root} does not exist")
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is a file: give the folder that holds AWSLogs/ (or an s3:// prefix)")

    def files() -> Iterator[tuple[str, int]]:
        for dirpath, dirnames, filenames in os.walk(root):
            # An hour folder's data/ holds offloaded bodies, not log batches: do not even list it.
            hour_folder = re.fullmatch(r"\d{2}", Path(dirpath).name) is not None
            dirnames[:] = sorted(d for d in dirnames if not (hour_folder and d == "data"))
            for name in filenames:
                full = Path(dirpath) / name
                yield str(full), full.stat().st_size

    return parse_log_keys(files(), since, until, skipped)
