"""The output lock: one holder at a time, a refusal that names it, stale locks recoverable, on disk and S3."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer

from bedrock_costs.lock import LocalLockStore, LockHeld, LockOwner, S3LockStore, hold, is_stale, lock_store_for

BUCKET = "cost-tables"


def _dead_pid() -> int:
    """The pid of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _owner(run_id: str, host: str | None = None, pid: int | None = None, age: timedelta = timedelta(0)) -> LockOwner:
    me = LockOwner.current(run_id)
    since = (datetime.now(UTC) - age).replace(microsecond=0).isoformat()
    return LockOwner(run_id, host or me.host, me.pid if pid is None else pid, since)


@pytest.fixture(scope="module")
def s3_client() -> Iterator[object]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    yield client
    server.stop()


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    if request.param == "local":
        return LocalLockStore(tmp_path / "tables" / "_lock.json")
    client = request.getfixturevalue("s3_client")
    return S3LockStore(client, BUCKET, f"{tmp_path.name}/_lock.json")


def test_a_second_holder_is_refused_with_the_first_ones_name(store) -> None:
    first = _owner("run-1")
    with hold(store, first):
        with pytest.raises(LockHeld) as refused, hold(store, _owner("run-2")):
            pass
        assert refused.value.owner == first
        for part in ("run-1", first.host, f"pid {first.pid}", first.since, "--break-lock"):
            assert part in str(refused.value)
    assert store.read() is None  # released on exit
    with hold(store, _owner("run-3")):
        assert LockOwner.from_json(store.read()[0]).run_id == "run-3"


def test_a_stale_lock_is_taken_over_and_break_lock_takes_a_live_one(store) -> None:
    notes: list[str] = []
    assert store.create(_owner("dead", pid=_dead_pid()).to_json())
    with hold(store, _owner("next"), notify=notes.append):
        assert LockOwner.from_json(store.read()[0]).run_id == "next"
    assert "dead" in notes[0] and "stale" in notes[0]

    assert store.create(_owner("alive").to_json())  # this process: alive
    with pytest.raises(LockHeld), hold(store, _owner("refused")):
        pass
    with hold(store, _owner("breaker"), break_lock=True, notify=notes.append):
        pass
    assert "--break-lock" in notes[-1] and store.read() is None


def test_age_decides_for_a_lock_from_another_host() -> None:
    assert not is_stale(_owner("r", host="glue-worker-1", age=timedelta(hours=1)), timedelta(hours=6))
    assert is_stale(_owner("r", host="glue-worker-1", age=timedelta(hours=7)), timedelta(hours=6))
    # On this host the process decides, however old the lock.
    assert not is_stale(_owner("r", age=timedelta(days=3)), timedelta(hours=6))
    assert is_stale(_owner("r", pid=_dead_pid()), timedelta(hours=6))
    assert is_stale(LockOwner.from_json("{truncated"), timedelta(hours=6))


def test_release_leaves_a_lock_that_another_run_took(store) -> None:
    mine = _owner("mine")
    with hold(store, mine):
        _, version = store.read()
        assert store.delete(version)
        assert store.create(_owner("theirs").to_json())
    assert LockOwner.from_json(store.read()[0]).run_id == "theirs"


def test_s3_lock_requests_are_conditional() -> None:
    """The exact requests, validated against the S3 service model by the stubber."""
    client = boto3.client("s3", region_name="us-east-1")
    store = S3LockStore(client, BUCKET, "tables/_lock.json")
    body = _owner("run-1").to_json()
    with Stubber(client) as stub:
        stub.add_response(
            "put_object", {}, {"Bucket": BUCKET, "Key": "tables/_lock.json", "Body": body.encode(), "IfNoneMatch": "*"}
        )
        stub.add_client_error("put_object", service_error_code="PreconditionFailed", http_status_code=412)
        stub.add_response("delete_object", {}, {"Bucket": BUCKET, "Key": "tables/_lock.json", "IfMatch": '"abc"'})
        stub.add_client_error("delete_object", service_error_code="PreconditionFailed", http_status_code=412)
        assert store.create(body) is True
        assert store.create(body) is False
        assert store.delete('"abc"') is True
        assert store.delete('"abc"') is False
        stub.assert_no_pending_responses()


def test_the_lock_lives_with_the_tables() -> None:
    s3 = lock_store_for("s3://bucket/reports/tables", s3_client=boto3.client("s3", region_name="us-east-1"))
    assert s3.where == "s3://bucket/reports/tables/_lock.json"
    assert lock_store_for("/data/tables").where == "/data/tables/_lock.json"
