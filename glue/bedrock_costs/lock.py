"""One run at a time per output location: a lock object created only if absent.

Two runs merging into the same tables would each publish what they computed from the other's absence, so a
run takes the lock before it reads any table and keeps it until its output is published. The lock body
names its holder (run id, host, pid, since when), so a refused run can say who holds it.

Stores: a local file created with ``O_EXCL`` (``bcr etl``), and an S3 object written with
``If-None-Match: *`` (the Glue job; ``MaxConcurrentRuns: 1`` already keeps one job from overlapping
itself, the object also guards against a second job or stack writing the same tables). A lock left by a
killed run is stale when its process is gone (same host) or, seen from another host, when it is older than
``stale_after``; ``break_lock`` takes it regardless.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

LOCK_NAME = "_lock.json"
DEFAULT_STALE_AFTER = timedelta(hours=6)


@dataclass(frozen=True)
class LockOwner:
    """Who holds the lock: written into the lock so a refused run can name it."""

    run_id: str
    host: str
    pid: int
    since: str  # ISO-8601 UTC

    @classmethod
    def current(cls, run_id: str) -> LockOwner:
        now = datetime.now(UTC).replace(microsecond=0)
        return cls(run_id=run_id, host=socket.gethostname(), pid=os.getpid(), since=now.isoformat())

    @classmethod
    def from_json(cls, text: str) -> LockOwner:
        try:
            data = json.loads(text)
            return cls(
                run_id=str(data["run_id"]), host=str(data["host"]), pid=int(data["pid"]), since=str(data["since"])
            )
        except (ValueError, KeyError, TypeError):
            # Only a run killed while writing its lock leaves it unreadable: an empty ``since`` makes it stale.
            return cls(run_id="unknown", host="unknown", pid=0, since="")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def describe(self) -> str:
        return f"run {self.run_id} on {self.host} (pid {self.pid}) since {self.since}"


class LockHeld(RuntimeError):
    """Another run holds the output's lock: the caller exits 2 and names it."""

    def __init__(self, where: str, owner: LockOwner) -> None:
        super().__init__(
            f"{where} is locked by {owner.describe()}; wait for it to finish, or if that run is dead "
            "pass --break-lock (Glue: --break_lock true)"
        )
        self.owner = owner


class LockStore(Protocol):
    """Where the lock lives. ``read`` returns (body, version); ``delete`` removes only that version."""

    where: str

    def create(self, body: str) -> bool: ...

    def read(self) -> tuple[str, str] | None: ...

    def delete(self, version: str) -> bool: ...


class LocalLockStore:
    """A lock file in a local output folder, created atomically with ``O_EXCL``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)

    def create(self, body: str) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.path.open("x", encoding="utf-8") as handle:
                handle.write(body)
        except FileExistsError:
            return False
        return True

    def read(self) -> tuple[str, str] | None:
        try:
            body = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return body, body

    def delete(self, version: str) -> bool:
        current = self.read()
        if current is None or current[1] != version:
            return False
        self.path.unlink(missing_ok=True)
        return True


class S3LockStore:
    """A lock object in S3: conditional create (``If-None-Match: *``) and conditional delete (``If-Match``)."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self.client, self.bucket, self.key = client, bucket, key
        self.where = f"s3://{bucket}/{key}"

    def create(self, body: str) -> bool:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=body.encode("utf-8"), IfNoneMatch="*")
        except ClientError as exc:
            # 412: the lock exists; 409: another create raced ours (S3 asks to retry, and the retry sees it).
            if _code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                return False
            raise
        return True

    def read(self) -> tuple[str, str] | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        return response["Body"].read().decode("utf-8", errors="replace"), response["ETag"]

    def delete(self, version: str) -> bool:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=version)
        except ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "412", "NoSuchKey", "404"):
                return False
            raise
        return True


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(owner: LockOwner, stale_after: timedelta, now: datetime | None = None) -> bool:
    """Whether a lock was left by a run that is gone.

    On the lock's own host the holder's process decides (a long run keeps its lock however long it
    takes); from another host, or on Glue where every run has its own, only the lock's age can:
    older than ``stale_after`` (set it above the longest a run may take, e.g. the job's timeout).
    """
    if owner.host == socket.gethostname() and owner.pid > 0:
        return not _pid_running(owner.pid)
    try:
        since = datetime.fromisoformat(owner.since)
    except ValueError:
        return True
    return (now or datetime.now(UTC)) - since > stale_after


@contextmanager
def hold(
    store: LockStore,
    owner: LockOwner,
    break_lock: bool = False,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    notify: Callable[[str], None] = lambda _message: None,
) -> Iterator[None]:
    """Hold the lock for the block; raise ``LockHeld`` when another live run has it."""
    _acquire(store, owner, break_lock, stale_after, notify)
    try:
        yield
    finally:
        current = store.read()
        if current is not None and LockOwner.from_json(current[0]).run_id == owner.run_id:
            store.delete(current[1])


def _acquire(
    store: LockStore, owner: LockOwner, break_lock: bool, stale_after: timedelta, notify: Callable[[str], None]
) -> None:
    body = owner.to_json()
    # Two attempts: the holder may release between our create and our read.
    for _ in range(2):
        if store.create(body):
            return
        current = store.read()
        if current is None:
            continue
        holder = LockOwner.from_json(current[0])
        if not (break_lock or is_stale(holder, stale_after)):
            raise LockHeld(store.where, holder)
        why = "--break-lock" if break_lock else "stale"
        notify(f"taking over the lock of {holder.describe()} ({why})")
        # Delete only the version judged stale: a run that took it meanwhile keeps it.
        store.delete(current[1])
        if store.create(body):
            return
    current = store.read()
    raise LockHeld(store.where, LockOwner.from_json(current[0]) if current else owner)


def lock_store_for(out: str, s3_client: Any | None = None) -> LockStore:
    """The lock for an output location: an S3 object for ``s3://`` outputs, else a local file."""
    if out.startswith("s3://"):
        bucket, _, prefix = out.removeprefix("s3://").partition("/")
        if s3_client is None:
            import boto3  # only the Glue job and S3 users need it

            s3_client = boto3.client("s3")
        key = f"{prefix.rstrip('/')}/{LOCK_NAME}" if prefix.strip("/") else LOCK_NAME
        return S3LockStore(s3_client, bucket, key)
    return LocalLockStore(Path(out.removeprefix("file:")) / LOCK_NAME)
