"""End to end: `bcr etl` on generated logs, reconciled against the generator's ground truth."""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from etl_helpers import SCHEMAS, etl, runs, snapshot
from pyspark.sql import functions as F

from bcr.cli import main
from bcr.commands.etl import DEFAULT_CACHE, find_objects, unread_bytes
from bedrock_costs import storage
from bedrock_costs.pipeline import select_objects
from bedrock_costs.schemas import DAILY_COSTS, INVOCATIONS, REJECTED_RECORDS


@pytest.fixture(scope="module")
def first_run(etl_tables: Path) -> Path:
    """The session's `bcr etl` run on the corpus (tests/conftest.py), shared with the Glue job's tests."""
    return etl_tables


def test_every_line_is_accounted_for(first_run: Path, corpus: Path, spark) -> None:
    manifest = json.loads((corpus / "_generator_manifest.json").read_text())
    run = runs(spark, first_run)[0]
    corrupt_lines = sum(manifest["corrupt_lines"].values())
    assert run.lines_read == manifest["lines"]
    assert run.rows_written == manifest["unique_requests"]
    assert run.duplicates_dropped == manifest["duplicate_lines"]
    assert run.rejected_lines == corrupt_lines
    assert run.files_corrupt == len(manifest["corrupt_files"])
    assert run.reconciled


def test_token_classes_match_ground_truth(first_run: Path, corpus: Path, spark) -> None:
    truth = json.loads((corpus / "_generator_manifest.json").read_text())["truth"]
    inv = spark.read.schema(INVOCATIONS).parquet(str(first_run / "invocations"))
    ok = inv.where("status = 'success'")
    sums = ok.agg(
        *(
            F.sum(c).alias(c)
            for c in (
                "input_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
                "cache_write_1h_tokens",
                "output_tokens",
            )
        )
    ).first()
    for column in ("input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens"):
        assert sums[column] == truth[column], column
    assert ok.count() == truth["requests"]
    assert inv.where("status = 'error'").count() == truth["failed_requests"]
    by_op = {r["operation"]: r["count"] for r in ok.groupBy("operation").count().collect()}
    assert by_op == truth["requests_by_operation"]
    assert inv.where("guardrail_intervened").count() >= truth["guardrail_intervened"]


def test_nothing_priced_silently_at_zero(first_run: Path, spark) -> None:
    inv = spark.read.schema(INVOCATIONS).parquet(str(first_run / "invocations"))
    statuses = {r["pricing_status"]: r["count"] for r in inv.groupBy("pricing_status").count().collect()}
    assert statuses["priced"] > 0
    assert statuses["unpriced_model"] > 0  # the generator's unlisted model
    assert statuses["unresolved_profile"] > 0  # the profile missing from inference_profiles.json
    assert statuses["not_token_priced"] > 0  # provisioned throughput
    unpriced = inv.where(~F.col("pricing_status").isin("priced", "not_billed"))
    assert unpriced.where(F.col("total_cost").isNotNull()).count() == 0
    assert inv.where("pricing_status = 'priced' AND total_tokens > 0 AND total_cost <= 0").count() == 0
    assert inv.where("pricing_status = 'priced' AND price_key IS NULL").count() == 0
    # Application profiles in the profile map are priced like the model they route to.
    resolved = inv.where("model_id_raw LIKE '%application-inference-profile%' AND pricing_status = 'priced'")
    assert (
        resolved.where("model_id IS NOT NULL AND inference_scope IN ('geo', 'in_region')").count()
        == resolved.count()
        > 0
    )


def test_daily_costs_add_up_to_the_ledger(first_run: Path, spark) -> None:
    inv = spark.read.schema(INVOCATIONS).parquet(str(first_run / "invocations"))
    daily = spark.read.schema(DAILY_COSTS).parquet(str(first_run / "daily_costs"))
    for column in ("total_cost", "cache_read_cost", "total_tokens"):
        assert inv.agg(F.sum(column)).first()[0] == daily.agg(F.sum(column)).first()[0]
    assert daily.agg(F.sum("request_count")).first()[0] == inv.count()
    total = inv.agg(F.sum("total_cost")).first()[0]
    assert isinstance(total, Decimal) and total > 0


def test_no_prompt_or_response_text_in_any_output(first_run: Path, spark, capsys: pytest.CaptureFixture[str]) -> None:
    for name, schema in SCHEMAS.items():
        df = spark.read.schema(schema).parquet(str(first_run / name))
        text = df.select(F.to_json(F.struct(*df.columns)).alias("j"))
        assert text.where(F.col("j").contains("PRIVATE-")).count() == 0, name
    leaked = [p for p in first_run.rglob("*") if p.is_file() and b"PRIVATE-" in p.read_bytes()]
    assert leaked == []


def test_rerun_without_new_files_changes_nothing(first_run: Path, corpus: Path, spark) -> None:
    before = snapshot(spark, first_run)
    assert etl(corpus, first_run) == 0
    assert snapshot(spark, first_run) == before
    first, last = runs(spark, first_run)[0], runs(spark, first_run)[-1]
    assert (last.files_new, last.rows_written) == (0, 0)
    # Only the damaged objects are read again (a bounded retry); what they still yield is already stored.
    assert last.files_retried == first.files_corrupt > 0
    assert last.lines_read == last.already_stored


def test_the_unread_estimate_agrees_with_what_the_run_reads(first_run: Path, corpus: Path, tmp_path, spark) -> None:
    """``unread_bytes`` sums the state up with DuckDB before the JVM starts; Spark's ``select_objects`` is
    what the run reads. They agree, also on the damaged objects a run reads again."""
    objects = find_objects(str(corpus), DEFAULT_CACHE, None, None)
    sizes = {o.path: o.size for o in objects}
    for retry_damaged in (False, True):
        todo, _ = select_objects(spark, str(first_run), objects, reprocess=False, retry_damaged=retry_damaged)
        assert unread_bytes(first_run, objects, retry_damaged) == sum(sizes[o.path] for o in todo)
    # Every listed object read once at least, and the damaged ones are few: the run reads little.
    assert unread_bytes(first_run, objects, retry_damaged=False) < sum(sizes.values()) / 10
    grown = dataclasses.replace(objects[0], size=objects[0].size + 1)  # rewritten since: read again
    assert unread_bytes(first_run, [grown], retry_damaged=False) == grown.size
    assert unread_bytes(tmp_path / "nothing-yet", objects, retry_damaged=False) == sum(sizes.values())
    damaged = tmp_path / "damaged"
    shutil.copytree(first_run / storage.STATE, damaged / storage.STATE)
    next((damaged / storage.STATE).rglob("*.parquet")).write_bytes(b"PAR1 not parquet PAR1")
    assert unread_bytes(damaged, objects, retry_damaged=False) == sum(sizes.values())


def test_a_run_over_little_unread_data_gets_the_quick_jit(
    first_run: Path, corpus: Path, tmp_path: Path, monkeypatch, capsys, spark
) -> None:
    from bcr.commands import etl as command
    from bedrock_costs import spark as sessions

    chosen = []
    session = sessions.local_session
    monkeypatch.setattr(sessions, "local_session", lambda **kw: chosen.append(kw["quick_jit"]) or session(**kw))
    out = tmp_path / "tables"
    shutil.copytree(first_run, out)
    objects = find_objects(str(corpus), DEFAULT_CACHE, None, None)
    monkeypatch.setattr(command, "QUICK_JIT_MAX_BYTES", unread_bytes(out, objects, retry_damaged=False))
    assert etl(corpus, out) == 0  # what it reads is at the limit
    assert "(C1 JIT" in capsys.readouterr().err
    monkeypatch.setattr(command, "QUICK_JIT_MAX_BYTES", unread_bytes(out, objects, retry_damaged=False) - 1)
    assert etl(corpus, out) == 0  # one byte over it
    assert etl(corpus, out, "--reprocess") == 0  # reads everything
    assert "(C1 JIT" not in capsys.readouterr().err
    assert chosen == [True, False, False]


def test_reprocessing_the_same_files_is_idempotent(first_run: Path, corpus: Path, spark) -> None:
    before = snapshot(spark, first_run)
    assert etl(corpus, first_run, "--reprocess") == 0
    assert snapshot(spark, first_run) == before
    last = runs(spark, first_run)[-1]
    assert last.rows_written == 0
    assert last.duplicates_dropped == last.lines_read - last.rejected_lines
    assert last.reconciled


def test_late_file_is_picked_up_and_its_redelivery_dropped(corpus: Path, tmp_path: Path, spark) -> None:
    logs = tmp_path / "logs"
    shutil.copytree(corpus, logs)
    objects = sorted(p for p in logs.rglob("*.json.gz") if "/data/" not in str(p))
    held_back = objects[len(objects) // 2]
    late = held_back.read_bytes()
    held_back.unlink()
    out = tmp_path / "tables"
    assert etl(logs, out) == 0
    first = runs(spark, out)[0]
    held_back.write_bytes(late)
    assert etl(logs, out) == 0
    second = runs(spark, out)[-1]
    assert second.files_new == 1
    assert second.rows_written > 0
    assert second.reconciled
    # The late file holds exactly the requests missing after the first run.
    full = tmp_path / "full"
    assert etl(logs, full) == 0
    assert snapshot(spark, out)["daily_costs"] == snapshot(spark, full)["daily_costs"]
    assert first.rows_written + second.rows_written == runs(spark, full)[0].rows_written


def test_backfill_window_reads_only_its_days(corpus: Path, tmp_path: Path, spark) -> None:
    out = tmp_path / "tables"
    assert etl(corpus, out, "--since", "2026-11-21", "--until", "2026-11-21") == 0
    in_window = [
        p
        for p in corpus.rglob("*.json.gz")
        if "/data/" not in str(p) and ("/2026/11/21/" in str(p) or "/2026/11/22/00/" in str(p))
    ]
    assert runs(spark, out)[0].files_new == len(in_window)
    inv = spark.read.schema(INVOCATIONS).parquet(str(out / "invocations"))
    # Other days appear only through deliveries at the window's edges (23:59 lands in 00:00) and through
    # at-least-once re-deliveries of older records.
    edges = inv.where("usage_date != '2026-11-21'")
    redelivered = edges.where(~F.col("source_file").rlike("/2026/11/(21/00|22/00)/")).count()
    assert redelivered <= json.loads((corpus / "_generator_manifest.json").read_text())["duplicate_lines"]
    assert inv.where("usage_date = '2026-11-21'").count() > edges.count()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--logs", "/nonexistent/logs"], "--logs"),
        (["--since", "2026-11-22", "--until", "2026-11-21"], "after --until"),
        (["--tag-aliases", '{"tennant": ["x"]}'], "unknown tag column"),
        (["--tag-aliases", "{not json"], "not valid JSON"),
        (["--pricing", "/nonexistent.csv"], "--pricing"),
        (["--out", "s3://bucket/tables"], "Glue job writes"),
        (["--out", "/etc/hostname"], "is a file"),
        (["--reprice", ""], "leave out --logs"),
        (["--logs", None], "--logs is required"),
    ],
)
def test_wrong_parameters_exit_2_with_a_clear_message(
    args: list[str], message: str, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {"--logs": str(corpus), "--out": str(tmp_path / "out")}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    # A value None leaves the option out, "" passes the bare flag.
    argv = ["etl", *(x for flag, value in base.items() if value is not None for x in (flag, value) if x)]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_catalog_and_profile_files_are_reported_by_line(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "prices.csv"
    catalog.write_text("model_id,region\nx,y\n")
    assert main(["etl", "--logs", str(corpus), "--out", str(tmp_path / "o"), "--pricing", str(catalog)]) == 2
    assert "prices.csv" in capsys.readouterr().err
    profiles = tmp_path / "profiles.json"
    profiles.write_text("{broken")
    assert main(["etl", "--logs", str(corpus), "--out", str(tmp_path / "o"), "--profiles", str(profiles)]) == 2
    assert "profiles.json" in capsys.readouterr().err


def test_bad_date_is_a_usage_error(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["etl", "--logs", str(corpus), "--out", str(tmp_path), "--since", "21/11/2026"])
    assert exit_info.value.code == 2


def test_tables_are_partitioned_by_usage_date(first_run: Path) -> None:
    for name in ("invocations", "daily_costs", "invocation_tags"):
        partitions = sorted(p.name for p in (first_run / name).iterdir() if p.is_dir())
        assert partitions and all(p.startswith("usage_date=2026-11-") for p in partitions), name
    assert storage.TABLES


def test_a_folder_without_logs_is_a_recorded_empty_run(tmp_path: Path, spark) -> None:
    (tmp_path / "logs").mkdir()
    assert main(["etl", "--logs", str(tmp_path / "logs"), "--out", str(tmp_path / "out")]) == 0
    run = runs(spark, tmp_path / "out")[0]
    assert (run.files_discovered, run.lines_read, run.reconciled) == (0, 0, True)


def test_an_object_with_only_bad_lines_is_quarantined_whole(tmp_path: Path, spark) -> None:
    hour = tmp_path / "logs/AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2026/11/20/10"
    hour.mkdir(parents=True)
    (hour / "20261120T100000000Z_0000000000000000.json.gz").write_bytes(
        gzip.compress(b'not json\n\n{"requestId":"r-1","timestamp":"nope"}\n', mtime=0)
    )
    assert main(["etl", "--logs", str(tmp_path / "logs"), "--out", str(tmp_path / "out")]) == 0
    run = runs(spark, tmp_path / "out")[0]
    assert (run.lines_read, run.rows_written, run.rejected_lines, run.reconciled) == (3, 0, 3, True)
    rejected = spark.read.schema(REJECTED_RECORDS).parquet(str(tmp_path / "out" / "rejected_records")).collect()
    assert sorted((r.line_number, r.reason_code) for r in rejected) == [
        (1, "malformed_json"),
        (2, "blank_line"),
        (3, "bad_timestamp"),
    ]
    assert [r.request_id for r in rejected if r.reason_code == "bad_timestamp"] == ["r-1"]
