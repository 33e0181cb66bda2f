"""End to end: the ledger's guarantees under injected faults.

Each test breaks one guarantee on purpose (a lost row, a damaged table file, a damaged log object, a
re-delivery on another day, conflicting copies, a concurrent run, a process killed mid-merge, a repricing
after a catalog fix) and checks the exit code and the tables: unchanged when the run must publish nothing
(file bytes compared), and equal to an independent clean run once the fault is gone.
"""

from __future__ import annotations

import copy
import csv
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from etl_helpers import (
    PROFILES,
    content,
    etl,
    file_hashes,
    log_objects,
    read_records,
    runs,
    snapshot,
    write_object,
)
from pyspark.sql import functions as F

from bcr.cli import main
from bcr.generate import generate_logs
from bedrock_costs import pipeline, rewrite, storage
from bedrock_costs.catalog import DEFAULT_CATALOG, load_catalog
from bedrock_costs.discover import discover_local
from bedrock_costs.lock import LOCK_NAME, LockOwner
from bedrock_costs.pipeline import EtlSettings, run_pipeline
from bedrock_costs.profiles import load_profile_file
from bedrock_costs.read import read_local_tails
from bedrock_costs.schemas import INVOCATIONS, REJECTED_RECORDS, REQUEST_CONFLICTS


@pytest.fixture(scope="module")
def small_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two days of clean logs: small enough for the many runs these tests make."""
    root = tmp_path_factory.mktemp("small-logs")
    generate_logs(root, records=300, seed=23, days=2)
    return root


@pytest.fixture(scope="module")
def reference_out(small_logs: Path, tmp_path_factory: pytest.TempPathFactory, spark) -> Path:
    """The tables of one clean run over all of ``small_logs``."""
    out = tmp_path_factory.mktemp("reference")
    assert etl(small_logs, out) == 0
    return out


@pytest.fixture(scope="module")
def reference(reference_out: Path, spark) -> dict[str, list[tuple]]:
    """What every repaired history must equal (lineage aside)."""
    return content(spark, reference_out)


@pytest.fixture(scope="module")
def partial_history(small_logs: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(logs, out, held-back key): tables built from all objects of ``small_logs`` but one."""
    root = tmp_path_factory.mktemp("partial")
    logs = root / "logs"
    shutil.copytree(small_logs, logs)
    objects = log_objects(logs)
    # An object delivered on a day that has others, so its rows land on dates the tables already hold.
    held_back = next(o for o in objects if sum(p.parts[-5:-2] == o.parts[-5:-2] for p in objects) > 1)
    held_back.unlink()
    assert etl(logs, root / "tables") == 0
    return logs, root / "tables", held_back.relative_to(logs)


@pytest.fixture
def history(partial_history, small_logs: Path, tmp_path: Path) -> tuple[Path, Path, Path, bytes]:
    """A private copy of ``partial_history``: (logs, out, where the held-back object goes, its bytes)."""
    logs, out, key = partial_history
    shutil.copytree(logs, tmp_path / "logs")
    shutil.copytree(out, tmp_path / "tables")
    return tmp_path / "logs", tmp_path / "tables", tmp_path / "logs" / key, (small_logs / key).read_bytes()


def _without(hashes: dict[str, str], *prefixes: str) -> dict[str, str]:
    return {path: digest for path, digest in hashes.items() if not path.startswith(prefixes)}


# 1. A reconciliation that can fail -------------------------------------------------------------------------


def _lose_one_ledger_row(monkeypatch: pytest.MonkeyPatch) -> None:
    real = storage.write_partitioned

    def lossy(df, root, column, order):  # the staged invocations file silently misses a row
        if root.endswith("-invocations"):
            first = df.select("request_id").first()
            df = df.where(F.col("request_id") != first[0]) if first else df
        real(df, root, column, order)

    monkeypatch.setattr(storage, "write_partitioned", lossy)


def _miscount_daily_costs(monkeypatch: pytest.MonkeyPatch) -> None:
    real = rewrite.daily_costs
    monkeypatch.setattr(
        rewrite, "daily_costs", lambda df: real(df).withColumn("request_count", F.col("request_count") + 1)
    )


@pytest.mark.parametrize(
    ("fault", "message"),
    [(_lose_one_ledger_row, "lines read"), (_miscount_daily_costs, "daily_costs counts")],
    ids=["lost-ledger-row", "wrong-roll-up"],
)
def test_a_run_whose_counts_do_not_add_up_fails_and_publishes_nothing(
    fault, message: str, history, reference, monkeypatch: pytest.MonkeyPatch, capsys, spark
) -> None:
    logs, out, held_back, data = history
    held_back.write_bytes(data)
    before = file_hashes(out)
    fault(monkeypatch)
    assert etl(logs, out) == 1
    assert message in capsys.readouterr().err
    assert file_hashes(out) == before
    failed = runs(spark, out)[-1]
    assert (failed.status, failed.reconciled) == ("failed", False)
    assert message in failed.error
    monkeypatch.undo()
    assert etl(logs, out) == 0
    assert content(spark, out) == reference


# 2. Tolerance only where it belongs ------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["invocations", "_state/processed_files"])
def test_a_damaged_table_file_fails_the_run_and_changes_nothing(table: str, history, reference, capsys, spark) -> None:
    logs, out, held_back, data = history
    damaged = sorted((out / table).rglob("*.parquet"))[0]
    good = damaged.read_bytes()
    damaged.write_bytes(good[: len(good) // 2])
    damaged.with_name(f".{damaged.name}.crc").unlink()  # as on S3: only Parquet itself can tell
    held_back.write_bytes(data)  # a late object for the stored dates arrives
    before = file_hashes(out)
    assert etl(logs, out) == 1
    err = capsys.readouterr().err
    assert damaged.name in err and "Traceback" not in err
    assert file_hashes(out) == before
    assert runs(spark, out)[-1].status == "failed"
    damaged.write_bytes(good)  # restored from a backup: nothing was lost
    assert etl(logs, out) == 0
    assert content(spark, out) == reference


def test_a_damaged_log_object_is_retried_and_a_clean_retry_replaces_its_quarantine(
    small_logs: Path, tmp_path: Path, reference, monkeypatch: pytest.MonkeyPatch, spark
) -> None:
    monkeypatch.setattr(pipeline, "DAMAGED_READS", 2)  # the rule, with one run less
    logs = tmp_path / "logs"
    shutil.copytree(small_logs, logs)
    target = max(log_objects(logs), key=lambda path: path.stat().st_size)
    good = target.read_bytes()
    # Same size, broken in the middle: as if the object had been read while damaged in transit.
    target.write_bytes(good[: len(good) // 2] + bytes(len(good) - len(good) // 2))
    out = tmp_path / "tables"
    key = str(target.relative_to(logs))

    def quarantined() -> list[str]:
        rejected = spark.read.schema(REJECTED_RECORDS).parquet(str(out / "rejected_records"))
        rows = rejected.where(F.col("source_file") == key).collect()
        return sorted(r.reason_code for r in rows)

    assert etl(logs, out) == 0
    assert runs(spark, out)[-1].files_corrupt == 1
    assert "corrupt_gzip" in quarantined()
    for _ in range(pipeline.DAMAGED_READS - 1):
        assert etl(logs, out) == 0
        assert (runs(spark, out)[-1].files_retried, runs(spark, out)[-1].files_corrupt) == (1, 1)
    assert etl(logs, out) == 0  # retries ran out: the object stays quarantined
    assert (runs(spark, out)[-1].files_retried, runs(spark, out)[-1].lines_read) == (0, 0)

    target.write_bytes(good)
    assert etl(logs, out, "--retry-damaged") == 0
    retry = runs(spark, out)[-1]
    assert (retry.files_retried, retry.files_corrupt, retry.reconciled) == (1, 0, True)
    assert retry.rows_written > 0 and retry.already_stored > 0
    assert quarantined() == []
    assert content(spark, out) == reference
    assert etl(logs, out) == 0
    assert runs(spark, out)[-1].files_retried == 0


# 3. One id, one row, across the whole ledger ---------------------------------------------------------------


def _conflicts(spark, out: Path) -> list:
    return spark.read.schema(REQUEST_CONFLICTS).parquet(str(out / "request_conflicts")).collect()


def test_a_redelivery_dated_another_day_is_kept_once_and_recorded(history, spark) -> None:
    logs, out, _, _ = history
    stored = read_records(log_objects(logs)[0])[0]
    when = datetime.fromisoformat(stored["timestamp"].replace("Z", "+00:00"))
    later = when + timedelta(days=1, hours=1)
    redelivery = copy.deepcopy(stored) | {"timestamp": later.strftime("%Y-%m-%dT%H:%M:%SZ")}
    write_object(logs, [redelivery], later + timedelta(minutes=5), "redelivery")
    before = content(spark, out)
    assert etl(logs, out) == 0
    run = runs(spark, out)[-1]
    assert (run.files_new, run.rows_written, run.already_stored, run.conflicts, run.reconciled) == (1, 0, 1, 1, True)
    after = content(spark, out)
    assert {k: v for k, v in after.items() if k != "request_conflicts"} == {
        k: v for k, v in before.items() if k != "request_conflicts"
    }
    (conflict,) = _conflicts(spark, out)
    assert conflict.request_id == stored["requestId"]
    assert (conflict.resolution, conflict.differing_fields) == ("stored_copy_kept", ["event_time"])
    assert (conflict.usage_date, conflict.dropped_usage_date) == (f"{when:%Y-%m-%d}", f"{later:%Y-%m-%d}")


def test_conflicting_copies_in_one_batch_keep_the_first_delivery(history, spark) -> None:
    """Two copies of a new id, the second dated a day nothing else in the batch touches (once a crash)."""
    logs, out, _, _ = history
    base = next(
        r for r in read_records(log_objects(logs)[0]) if r["input"].get("inputTokenCount") and "errorCode" not in r
    )
    first = copy.deepcopy(base) | {"requestId": "conflict-0001", "timestamp": "2026-11-20T23:59:00Z"}
    second = copy.deepcopy(first) | {"timestamp": "2026-11-25T08:00:00Z", "modelId": "amazon.nova-micro-v1:0"}
    second["input"] = {**first["input"], "inputTokenCount": first["input"]["inputTokenCount"] + 1000}
    write_object(logs, [first], datetime(2026, 11, 21, 0, tzinfo=UTC), "aaaa")
    write_object(logs, [second], datetime(2026, 11, 25, 8, tzinfo=UTC), "bbbb")
    assert etl(logs, out) == 0
    run = runs(spark, out)[-1]
    assert (run.rows_written, run.redelivered_in_batch, run.conflicts, run.reconciled) == (1, 1, 1, True)
    inv = spark.read.schema(INVOCATIONS).parquet(str(out / "invocations"))
    kept = inv.where(F.col("request_id") == "conflict-0001").collect()
    assert [(r.usage_date, r.input_tokens) for r in kept] == [("2026-11-20", first["input"]["inputTokenCount"])]
    assert not (out / "invocations" / "usage_date=2026-11-25").exists()
    (conflict,) = _conflicts(spark, out)
    assert conflict.resolution == "first_delivery_kept"
    assert conflict.differing_fields == ["event_time", "model_id_raw", "input_tokens"]
    assert conflict.kept_source_file.endswith("_aaaa.json.gz") and conflict.dropped_source_file.endswith(
        "_bbbb.json.gz"
    )
    # Deterministic and idempotent: reading everything again changes nothing, conflicts included.
    tables = content(spark, out) | {"snapshot": snapshot(spark, out)}
    assert etl(logs, out, "--reprocess") == 0
    assert content(spark, out) | {"snapshot": snapshot(spark, out)} == tables


# 4. A safe merge: a killed run is repaired by the next --------------------------------------------------------

_KILLED_AT_COMMIT = """
import os, signal, sys, time
from pathlib import Path
from bedrock_costs import commit

go = Path(sys.argv[1])

def commit_never(self):  # everything is staged; wait for the test, then die like a killed process
    go.with_suffix(".staged").touch()
    while not go.exists():
        time.sleep(0.1)
    os.kill(os.getpid(), signal.SIGKILL)

commit.Publication.commit = commit_never
from bcr.cli import main
sys.exit(main(sys.argv[2:]))
"""

_KILLED_WHILE_PUBLISHING = """
import os, signal, sys
from bedrock_costs import storage

real, moves = storage.rename, []

def rename_then_die(spark, source, target):  # the fourth file never reaches its table
    moves.append(target)
    if len(moves) == 4:
        os.kill(os.getpid(), signal.SIGKILL)
    real(spark, source, target)

storage.rename = rename_then_die
from bcr.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _etl_argv(logs: Path, out: Path) -> list[str]:
    return ["etl", "--logs", str(logs), "--out", str(out), "--profiles", str(logs / PROFILES)]


def test_a_concurrent_run_is_refused_and_a_run_killed_before_commit_is_rolled_back(
    history, reference, tmp_path: Path, capsys, spark
) -> None:
    logs, out, held_back, data = history
    held_back.write_bytes(data)
    before = file_hashes(out)
    go = tmp_path / "go"
    killed = subprocess.Popen(
        [sys.executable, "-c", _KILLED_AT_COMMIT, str(go), *_etl_argv(logs, out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while not go.with_suffix(".staged").exists():
            assert killed.poll() is None and time.monotonic() < deadline, "the run to be killed did not get to commit"
            time.sleep(0.2)
        # A second run while the first holds the lock: refused, naming the holder.
        capsys.readouterr()
        assert etl(logs, out) == 2
        refusal = capsys.readouterr().err.strip().splitlines()[-1]
        assert f"pid {killed.pid}" in refusal and socket.gethostname() in refusal
        go.touch()
        assert killed.wait(timeout=60) == -signal.SIGKILL
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait()
    # Killed before its commit: no table changed; its staging folder and its lock are left behind.
    assert _without(file_hashes(out), "_staging", LOCK_NAME) == before
    holder = LockOwner.from_json((out / LOCK_NAME).read_text())
    assert holder.pid == killed.pid
    assert list((out / "_staging").iterdir()) == [out / "_staging" / holder.run_id]

    assert etl(logs, out) == 0  # takes over the dead run's lock, rolls it back, then does its work
    assert "stale" in capsys.readouterr().err
    history_rows = {r.run_id: r for r in runs(spark, out)}
    assert history_rows[holder.run_id].status == "interrupted"
    assert runs(spark, out)[-1].recovered_runs == [f"{holder.run_id}: rolled_back"]
    assert content(spark, out) == reference
    assert not (out / LOCK_NAME).exists() and list((out / "_staging").iterdir()) == []


def test_a_run_killed_while_publishing_is_completed_by_the_next_run(history, reference, spark) -> None:
    logs, out, held_back, data = history
    held_back.write_bytes(data)
    before = file_hashes(out)
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_WHILE_PUBLISHING, *_etl_argv(logs, out)], capture_output=True, timeout=600
    )
    assert killed.returncode == -signal.SIGKILL
    (staging,) = (out / "_staging").iterdir()
    assert (staging / "_manifest.json").exists()
    assert _without(file_hashes(out), "_staging", LOCK_NAME) != before  # half published

    assert etl(logs, out) == 0
    last = runs(spark, out)[-1]
    assert last.recovered_runs == [f"{staging.name}: completed"]
    assert (last.files_new, last.rows_written) == (0, 0)  # the killed run's objects are recorded as read
    assert {r.run_id: r.status for r in runs(spark, out)}[staging.name] == "succeeded"
    assert content(spark, out) == reference
    assert not (out / LOCK_NAME).exists() and list((out / "_staging").iterdir()) == []


def _total_cost(ledger: dict) -> Decimal:
    return sum((row.total_cost for row in ledger.values() if row.total_cost is not None), Decimal(0))


# 5. Repricing ------------------------------------------------------------------------------------------------


def test_repricing_after_a_catalog_and_profile_fix_prices_the_stored_rows(
    small_logs: Path, tmp_path: Path, reference_out: Path, reference, spark
) -> None:
    inv_ref = spark.read.schema(INVOCATIONS).parquet(str(reference_out / "invocations"))
    top = inv_ref.where("pricing_status = 'priced'").groupBy("model_id").count().orderBy(F.desc("count")).first()[0]
    broken = tmp_path / "prices.csv"
    with DEFAULT_CATALOG.open(newline="") as source, broken.open("w", newline="") as target:
        rows = csv.DictReader(source)
        writer = csv.DictWriter(target, rows.fieldnames)
        writer.writeheader()
        writer.writerows(row for row in rows if row["model_id"] != top)
    out = tmp_path / "tables"
    # No profile map and a catalog missing the most used model.
    assert main(["etl", "--logs", str(small_logs), "--out", str(out), "--pricing", str(broken)]) == 0

    def ledger() -> dict[str, tuple]:
        df = spark.read.schema(INVOCATIONS).parquet(str(out / "invocations"))
        return {r.request_id: r for r in df.collect()}

    before = ledger()
    statuses = {r.pricing_status for r in before.values()}
    assert {"unpriced_model", "unresolved_profile"} <= statuses
    day = min(r.usage_date for r in before.values())

    fix = ["etl", "--reprice", "--out", str(out), "--profiles", str(small_logs / PROFILES)]
    assert main([*fix, "--since", day, "--until", day]) == 0  # one day first: the others stay as they were
    one_day = ledger()
    assert all(one_day[i] == before[i] for i in before if before[i].usage_date != day)
    assert any(one_day[i] != before[i] for i in before if before[i].usage_date == day)

    assert main(fix) == 0
    after = ledger()
    assert content(spark, out) == reference
    kept = ("request_id", "input_tokens", "output_tokens", "total_tokens", "source_file", "line_number", "run_id")
    assert all(getattr(after[i], c) == getattr(before[i], c) for i in before for c in kept)
    run = runs(spark, out)[-1]
    changed = sum(1 for i in before if after[i] != one_day[i])
    assert (run.mode, run.status, run.rows_repriced) == ("reprice", "succeeded", changed)
    assert run.window_cost_change == _total_cost(after) - _total_cost(one_day) > 0

    unchanged = file_hashes(out)
    assert main(fix) == 0  # idempotent: nothing to change, nothing rewritten
    assert file_hashes(out) == unchanged
    assert runs(spark, out)[-1].rows_repriced == 0


# Compaction keeps every row and is byte-identical on re-run --------------------------------------------------


def _partition_files(out: Path, table: str) -> dict[str, list[str]]:
    return {
        folder.name: sorted(f.name for f in folder.glob("*.parquet"))
        for folder in sorted((out / table).iterdir())
        if folder.is_dir()
    }


def test_compaction_rewrites_each_date_into_one_file_identically(history, reference, tmp_path: Path, spark) -> None:
    logs, out, held_back, data = history
    held_back.write_bytes(data)
    assert etl(logs, out) == 0  # the late object adds a second file to the dates it touches
    assert any(len(files) > 1 for files in _partition_files(out, "invocations").values())
    twin = tmp_path / "twin"
    shutil.copytree(out, twin)
    for tables in (out, twin):
        assert main(["etl", "--compact", "--out", str(tables)]) == 0
        for table in ("invocations", "invocation_tags"):
            assert all(len(files) == 1 for files in _partition_files(tables, table).values())
    assert content(spark, out) == reference

    def data_bytes(tables: Path) -> list[str]:
        hashes = file_hashes(tables)
        return sorted(h for p, h in hashes.items() if p.startswith(("invocations/", "invocation_tags/")))

    assert data_bytes(out) == data_bytes(twin)  # the same rows give the same bytes
    unchanged = file_hashes(out)
    assert main(["etl", "--compact", "--out", str(out)]) == 0
    assert file_hashes(out) == unchanged


def test_a_date_crowded_with_files_is_compacted_by_the_run_that_adds_to_it(history, reference, spark) -> None:
    logs, out, held_back, data = history
    held_back.write_bytes(data)
    summary = run_pipeline(
        spark,
        discover_local(logs),
        EtlSettings(out=str(out), compact_at_files=1),
        load_catalog(DEFAULT_CATALOG),
        load_profile_file(logs / PROFILES),
        read_local_tails,
    )
    assert summary.reconciled and summary.compacted_dates == summary.affected_dates != []
    files = _partition_files(out, "invocations")
    assert all(len(files[f"usage_date={day}"]) == 1 for day in summary.compacted_dates)
    assert content(spark, out) == reference


def _history_rows(spark, out: Path, table: str) -> list[tuple]:
    return sorted(tuple(str(v) for v in row) for row in spark.read.parquet(str(out / table)).collect())


def test_the_run_history_of_a_closed_day_is_compacted_with_a_run_that_passes(history, spark) -> None:
    """Two runs' history files moved to a past day; a run failing its gate leaves them be, the next run
    rewrites the day into one file per table, and every row is kept."""
    logs, out, _held_back, _data = history
    assert etl(logs, out) == 0  # a second run: two files of history today
    closed = "2026-01-05"
    for table in ("pipeline_runs", "dq_results"):
        days = [f for f in (out / table).iterdir() if f.is_dir()]  # today (and yesterday, run across midnight)
        (out / table / f"run_date={closed}").mkdir()
        for file in [f for day in days for f in day.iterdir()]:
            file.rename(out / table / f"run_date={closed}" / file.name)
        for day in days:
            day.rmdir()
        assert len(list((out / table / f"run_date={closed}").glob("*.parquet"))) == 2
    before = {table: _history_rows(spark, out, table) for table in ("pipeline_runs", "dq_results")}

    assert etl(logs, out, "--dq-policy", "fail") == 1  # nothing new, and the sample is days old: freshness fails
    for table in ("pipeline_runs", "dq_results"):
        assert len(list((out / table / f"run_date={closed}").glob("*.parquet"))) == 2  # nothing published

    assert etl(logs, out) == 0
    for table, rows in before.items():
        assert len(list((out / table / f"run_date={closed}").glob("*.parquet"))) == 1
        kept = [row for row in _history_rows(spark, out, table) if row[-1] == closed]
        assert kept == rows  # the two runs' rows, none lost or added
    assert len(runs(spark, out)) == 4  # the two moved, the failed one, the last one


# 6. One run at a time ----------------------------------------------------------------------------------------


def test_a_run_finding_a_live_lock_exits_2_and_break_lock_takes_it(history, reference, capsys, spark) -> None:
    logs, out, held_back, data = history
    held_back.write_bytes(data)
    holder = LockOwner.current("20991231T000000Z-feedbeef")  # this very process: alive
    (out / LOCK_NAME).write_text(holder.to_json())
    before = file_hashes(out)
    capsys.readouterr()
    assert etl(logs, out) == 2
    err = capsys.readouterr().err
    for part in (holder.run_id, holder.host, f"pid {holder.pid}", holder.since, "--break-lock"):
        assert part in err
    assert file_hashes(out) == before
    assert etl(logs, out, "--break-lock") == 0
    assert "taking over the lock" in capsys.readouterr().err
    assert not (out / LOCK_NAME).exists()
    assert content(spark, out) == reference
